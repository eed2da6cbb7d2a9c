/**
 * What one auth layer costs over another, per request, to a fraction of a microsecond: the apps of
 * `http/profile-server.ts` side by side, one process each, driven in turn in short slices over
 * keep-alive sockets (a reused token), each slice's event-loop CPU time read from Linux's per-thread
 * schedstat (nanoseconds). Each round runs every configuration once, in an order that alternates, and
 * gives each configuration's cost minus the first one's in that round; the median of those paired
 * differences over the rounds is robust to the bursts of other work that make a whole run's req/s
 * move by ±10% on a shared machine. For a change on the request path, `pnpm bench` gives the ratios;
 * this says whether the change moved the cost at all. Linux only.
 *
 * A configuration is a mode of `http/apps.ts`, or `mode@DIR` for that mode as another checkout of
 * the repository builds it (its packages built, its dependencies installed), such as the commit
 * before a change (`git worktree add /tmp/before HEAD~1`): both then run in the same rounds.
 *
 * `--fresh`: a token never sent before on every request, as `pnpm bench`'s fresh-token rows (each
 * server gets the same tokens in the same order; they are signed before the servers start, about a
 * millisecond each, so keep `--warmup` + `--rounds` × `--slice` to some tens of thousands).
 *
 *   npx tsx http/paired.ts fastify noop,tokenguard,tokenguard@/tmp/before [--rounds=40]
 *       [--slice=2000] [--connections=4] [--warmup=4000] [--fresh]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { flag } from '../lib/flags.js';
import { generateBenchKey, signPool } from '../lib/tokens.js';
import { AUTH_MODES, type AuthMode, FRAMEWORKS } from './apps.js';
import { startBenchIssuer } from './issuer.js';
import { exchange, openSockets } from './keep-alive.js';

const positional = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const [framework = 'fastify', modeList = 'noop,tokenguard'] = positional;
const configurations = modeList.split(',').map((name) => {
  const at = name.indexOf('@');
  return at === -1
    ? { name, mode: name, checkout: undefined }
    : { name, mode: name.slice(0, at), checkout: name.slice(at + 1) };
});
const rounds = Number(flag('rounds', '40'));
const sliceRequests = Number(flag('slice', '2000'));
const connections = Number(flag('connections', '4'));
const warmup = Number(flag('warmup', '4000'));
if (!(FRAMEWORKS as readonly string[]).includes(framework)) throw new TypeError(`framework: ${framework}`);
for (const { mode } of configurations) {
  if (!AUTH_MODES.includes(mode as AuthMode)) throw new TypeError(`mode: ${mode}`);
}
if (configurations.length < 2) throw new TypeError('name at least two modes: the first is the baseline');
for (const [name, value] of [
  ['rounds', rounds],
  ['slice', sliceRequests],
  ['connections', connections],
  ['warmup', warmup],
] as const) {
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`--${name}: a positive integer`);
}

const key = generateBenchKey('RS256');
const issuer = await startBenchIssuer({ keys: [key.jwk] });
const fresh = process.argv.includes('--fresh');
/** Every request's Authorization value: one for all (reused), or one per request (`--fresh`). */
const authorizations = signPool(key, fresh ? warmup + rounds * sliceRequests : 1, 0, {
  iss: issuer.issuer,
}).map((token) => `Bearer ${token}`);
const serverPath = fileURLToPath(new URL('./profile-server.ts', import.meta.url));

interface Server {
  readonly name: string;
  readonly child: ChildProcess;
  readonly sockets: Socket[];
  readonly port: number;
  /** Requests sent to it so far: with `--fresh`, the next one's token is `authorizations[sent]`. */
  sent: number;
}

const servers: Server[] = [];
try {
  for (const configuration of configurations) servers.push(await startServer(configuration));
  for (const server of servers) await drive(server, warmup);
  /** costs[i][round]: µs of event-loop CPU per request. */
  const costs: number[][] = configurations.map(() => []);
  for (let round = 0; round < rounds; round++) {
    const order = servers.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) {
      const server = servers[i] as Server;
      const before = mainThreadNs(server);
      await drive(server, sliceRequests);
      (costs[i] as number[])[round] = (mainThreadNs(server) - before) / 1000 / sliceRequests;
    }
  }
  report(costs);
} finally {
  for (const server of servers) {
    for (const socket of server.sockets) socket.destroy();
    server.child.kill();
  }
  await issuer.close();
}

function report(costs: number[][]): void {
  const baseline = costs[0] as number[];
  console.log(
    `${framework}, ${rounds} rounds of ${sliceRequests} requests per configuration, ${connections} connections, ${fresh ? 'a fresh token per request' : 'one token'}; event-loop CPU µs/req`,
  );
  console.log('| configuration | median µs/req | − baseline, median of rounds | interquartile range |');
  console.log('| --- | ---: | ---: | ---: |');
  configurations.forEach(({ name }, i) => {
    const own = costs[i] as number[];
    const differences = own.map((value, round) => value - (baseline[round] as number));
    const [low, middle, high] = quartiles(differences);
    const shown = i === 0 ? 'baseline' : `${signed(middle)}`;
    const spread = i === 0 ? '' : `${signed(low)} to ${signed(high)}`;
    console.log(`| ${name} | ${quartiles(own)[1].toFixed(2)} | ${shown} | ${spread} |`);
  });
}

function signed(value: number): string {
  return `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(2)}`;
}

function quartiles(values: readonly number[]): [number, number, number] {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return [at(0.25), at(0.5), at(0.75)];
}

/** CPU time of the server's main thread (its event loop) so far, ns: schedstat's first field. */
function mainThreadNs(server: Server): number {
  const pid = server.child.pid as number;
  return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]);
}

async function startServer(configuration: (typeof configurations)[number]): Promise<Server> {
  const { name, mode, checkout } = configuration;
  const path =
    checkout === undefined ? serverPath : `${checkout.replace(/\/$/, '')}/benchmarks/http/profile-server.ts`;
  // Run from its own benchmarks folder: tsx and the packages resolve from there.
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path, framework, mode, issuer.issuer, issuer.jwksUri, ''],
    { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], cwd: fileURLToPath(new URL('.', `file://${path}`)) },
  );
  const { port } = await new Promise<{ port: number }>((resolve, reject) => {
    child.once('message', (message) => resolve(message as { port: number }));
    child.once('exit', (code) => reject(new Error(`${name} server exited with ${code}`)));
  });
  const sockets = await openSockets(port, connections).catch((error: unknown) => {
    // Not among `servers` yet: the `finally` that ends the others would not end this one.
    child.kill();
    throw error;
  });
  return { name, child, sockets, port, sent: 0 };
}

/** `count` requests over the server's keep-alive sockets; every answer must be a 200. */
async function drive(server: Server, count: number): Promise<void> {
  let sent = 0;
  await Promise.all(
    server.sockets.map(async (socket) => {
      while (sent < count) {
        sent++;
        const authorization = authorizations[fresh ? server.sent : 0] as string;
        server.sent++;
        await exchange(socket, server.port, authorization).catch((error: Error) => {
          throw new Error(`${server.name}: ${error.message}`);
        });
      }
    }),
  );
}
