/**
 * The server side of `http/profile.ts`: one benchmark app in a process of its own (started by the
 * driver, possibly under valgrind), told over IPC when the measured requests start and end.
 *
 * Messages: `{ type: 'gc' }` collects garbage (with `--expose-gc`); `{ type: 'start' }` zeroes the
 * counters and, when given a profile path, starts the V8 sampling profiler; `{ type: 'stop' }`
 * answers `{ type: 'stopped', cpuUs, systemUs, minorFaults, contextSwitches }` over the measured
 * requests, writes the `.cpuprofile` and exits.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { AUTH_MODES, type AuthMode, buildApp, FRAMEWORKS, type Framework } from './apps.js';

type Message = { type: 'gc' } | { type: 'start' } | { type: 'stop' };

const [framework = 'express', mode = 'none', issuerUrl = '', jwksUri = '', profileOut = ''] =
  process.argv.slice(2);
if (!(FRAMEWORKS as readonly string[]).includes(framework)) throw new TypeError(`framework: ${framework}`);
if (!AUTH_MODES.includes(mode as AuthMode)) throw new TypeError(`mode: ${mode}`);

const app = await buildApp(framework as Framework, mode as AuthMode, {
  issuer: issuerUrl,
  jwksUri,
  close: async () => {},
});
const server = createServer(app.listener);
// The drivers keep their sockets open while they drive other servers (paired.ts's rounds, a long
// warm-up of several servers): Node's 5-second keep-alive timeout would close them meanwhile.
server.keepAliveTimeout = 0;
// The driver is gone (an error past its cleanup, killed): the server would otherwise listen for ever.
process.once('disconnect', () => process.exit(0));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const session = profileOut === '' ? undefined : new Session();
let cpuBefore = process.cpuUsage();
let usageBefore = process.resourceUsage();
let mainThreadBefore = mainThreadCpuUs();

/**
 * CPU time of the main thread alone (the event loop), in µs, from Linux's per-thread stat (clock ticks,
 * 10 ms each: meant for runs of seconds); undefined elsewhere. `process.cpuUsage()` also counts libuv's
 * thread pool and V8's GC and compiler threads.
 */
function mainThreadCpuUs(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    // Fields after the command name (in parentheses, may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
  } catch {
    return undefined;
  }
}

process.on('message', (message: Message) => {
  void handle(message).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
});

async function handle(message: Message): Promise<void> {
  if (message.type === 'gc') {
    // A full collection (run with `--expose-gc`) also drops optimized code: warm up again after it.
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ type: 'collected' });
    return;
  }
  if (message.type === 'start') {
    if (session !== undefined) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 100 });
      await session.post('Profiler.start');
    }
    cpuBefore = process.cpuUsage();
    usageBefore = process.resourceUsage();
    mainThreadBefore = mainThreadCpuUs();
    // A mark for traces (--trace-opt, --trace-gc ...) printed on the same stream.
    process.stdout.write('[profile] measured requests start\n');
    process.send?.({ type: 'started' });
    return;
  }
  const cpu = process.cpuUsage(cpuBefore);
  const usage = process.resourceUsage();
  const mainThread = mainThreadCpuUs();
  process.stdout.write('[profile] measured requests end\n');
  if (session !== undefined) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(profileOut, JSON.stringify(profile));
  }
  process.send?.({
    type: 'stopped',
    cpuUs: cpu.user + cpu.system,
    systemUs: cpu.system,
    mainThreadUs:
      mainThread === undefined || mainThreadBefore === undefined ? undefined : mainThread - mainThreadBefore,
    minorFaults: usage.minorPageFault - usageBefore.minorPageFault,
    contextSwitches:
      usage.voluntaryContextSwitches -
      usageBefore.voluntaryContextSwitches +
      usage.involuntaryContextSwitches -
      usageBefore.involuntaryContextSwitches,
  });
  server.closeAllConnections();
  server.close();
  await app.close();
  process.disconnect();
}

process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port });
