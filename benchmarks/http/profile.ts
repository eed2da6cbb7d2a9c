/**
 * Where a benchmark app's server time goes, per request: starts one app (`http/profile-server.ts`)
 * in a child process, warms it, then drives a bounded number of requests over loopback from here
 * (raw keep-alive sockets, so the client costs little) and reports the server's cost per request.
 *
 *   npx tsx http/profile.ts express tokenguard reused [--requests=2000] [--warmup=500]
 *       [--connections=4] [--tool=cpu|callgrind|profile] [--out=FILE] [--node-args=--a,--b]
 *       [--valgrind-args=--cache-sim=yes]
 *
 * - `cpu` (default): the server's CPU time (user + system) per measured request, of every thread and
 *   of the main thread alone (on Linux: what the event loop spent, without libuv's thread pool and
 *   V8's helper threads), and the wall-clock time per request.
 * - `callgrind`: the server runs under valgrind, instrumented only while the measured requests run;
 *   instructions per request (repeatable, unlike time, on a shared machine; every thread counts, so
 *   JIT compilation and GC are in them) and the callgrind file (`--out`) for `callgrind_annotate`.
 * - `profile`: the V8 sampling profiler over the measured requests; prints self time by function.
 *
 * `fresh` sends a different token on every request (none of them seen in the warm-up); `reused`
 * one token throughout, as the HTTP scenario does.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { flag } from '../lib/flags.js';
import { generateBenchKey, signPool } from '../lib/tokens.js';
import { startBenchIssuer } from './issuer.js';
import { exchange, openSockets } from './keep-alive.js';

/** The repository root, cut from script URLs in the profile summary. */
const REPOSITORY = new URL('../../', import.meta.url).href;
const positional = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const [framework = 'express', mode = 'tokenguard', tokens = 'reused'] = positional;
const requests = Number(flag('requests', '2000'));
const warmup = Number(flag('warmup', '500'));
const connections = Number(flag('connections', '4'));
const tool = flag('tool', 'cpu');
const out = flag('out', tool === 'callgrind' ? '/tmp/tg-http.callgrind' : '/tmp/tg-http.cpuprofile');
if (!['reused', 'fresh'].includes(tokens)) throw new TypeError(`tokens: ${tokens} (reused or fresh)`);
if (!['cpu', 'callgrind', 'profile'].includes(tool)) throw new TypeError(`--tool: ${tool}`);

const key = generateBenchKey('RS256');
const issuer = await startBenchIssuer({ keys: [key.jwk] });
const pool = signPool(key, tokens === 'fresh' ? warmup + requests : 1, 0, { iss: issuer.issuer });
const tokenAt = (i: number): string => pool[tokens === 'fresh' ? i : 0] as string;

const serverPath = fileURLToPath(new URL('./profile-server.ts', import.meta.url));
const serverArgs = [
  ...flag('node-args', '').split(',').filter(Boolean),
  '--expose-gc',
  '--import',
  'tsx',
  serverPath,
  framework,
  mode,
  issuer.issuer,
  issuer.jwksUri,
  tool === 'profile' ? out : '',
];
const child: ChildProcess =
  tool === 'callgrind'
    ? spawn(
        'valgrind',
        [
          '--tool=callgrind',
          '--instr-atstart=no',
          `--callgrind-out-file=${out}`,
          ...flag('valgrind-args', '').split(',').filter(Boolean),
          process.execPath,
          ...serverArgs,
        ],
        { stdio: ['ignore', 'inherit', 'ignore', 'ipc'] },
      )
    : spawn(process.execPath, serverArgs, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });

const nextMessage = <T>(): Promise<T> =>
  new Promise((resolve, reject) => {
    child.once('message', (message) => resolve(message as T));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });

const { port } = await nextMessage<{ port: number }>();
// The same connections for the warm-up and the measured requests: no connection set-up measured.
const sockets = await openSockets(port, connections);
// Half the warm-up, a full GC (the heap every measurement starts from), the other half: optimized
// code the collection dropped is compiled again before the measurement.
const half = Math.floor(warmup / 2);
await drive(0, half);
child.send({ type: 'gc' });
await nextMessage();
await drive(half, warmup - half);
child.send({ type: 'start' });
await nextMessage();
// Bounded: a valgrind that stopped answering must not hold the run.
if (tool === 'callgrind')
  execFileSync('callgrind_control', ['-i', 'on', String(child.pid)], { timeout: 60_000 });
const measuredFrom = performance.now();
await drive(warmup, requests);
const wallUs = (performance.now() - measuredFrom) * 1000;
if (tool === 'callgrind')
  execFileSync('callgrind_control', ['-i', 'off', String(child.pid)], { timeout: 60_000 });
for (const socket of sockets) socket.destroy();
child.send({ type: 'stop' });
const { cpuUs, systemUs, mainThreadUs, minorFaults, contextSwitches } = await nextMessage<{
  cpuUs: number;
  systemUs: number;
  mainThreadUs?: number;
  minorFaults: number;
  contextSwitches: number;
}>();
await new Promise<void>((resolve) => child.once('exit', () => resolve()));
await issuer.close();

// The first event of the totals line is Ir (instructions executed).
const instructions =
  tool === 'callgrind' ? Number(/^totals:\s+(\d+)/m.exec(readFileSync(out, 'utf8'))?.[1]) : undefined;
const perRequest = (value: number): string => (value / requests).toFixed(1);
console.log(
  [
    `${framework} ${mode} ${tokens}: ${requests} requests, ${connections} connections`,
    `server CPU ${perRequest(cpuUs)} µs/req (system ${perRequest(systemUs)})${tool === 'cpu' ? '' : ` (under ${tool})`}`,
    mainThreadUs === undefined ? '' : `main thread ${perRequest(mainThreadUs)} µs/req`,
    `wall ${perRequest(wallUs)} µs/req`,
    `${perRequest(minorFaults)} page faults/req, ${perRequest(contextSwitches)} context switches/req`,
    instructions === undefined ? '' : `${perRequest(instructions / 1000)} k instructions/req (${out})`,
  ]
    .filter(Boolean)
    .join(', '),
);
if (tool === 'profile') printProfile(out);

/** Sends requests `first .. first + count` over the keep-alive sockets; every answer must be 200. */
async function drive(first: number, count: number): Promise<void> {
  let next = first;
  const end = first + count;
  await Promise.all(
    sockets.map(async (socket) => {
      while (next < end) await exchange(socket, port, `Bearer ${tokenAt(next++)}`);
    }),
  );
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** Self time by function (top 40) and by package, from a `.cpuprofile`. */
function printProfile(file: string): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = (byId.get(id) as ProfileNode).callFrame;
    const where = url
      .replace(/^file:\/\//, '')
      .replace(/^.*node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?/, '');
    const name = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    const pkg =
      url === ''
        ? functionName
        : (/node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ??
          (url.startsWith('node:') ? 'node:*' : url.replace(REPOSITORY, '')));
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  }
  const top = (map: Map<string, number>, n: number) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => `${(us / requests).toFixed(2).padStart(8)} µs/req  ${name}`)
      .join('\n');
  console.log(
    `\nself time by package:\n${top(byPackage, 25)}\n\nself time by function:\n${top(byFunction, 40)}`,
  );
}
