/**
 * Instructions per validation of the in-process contenders, counted by callgrind: a measure that a
 * shared, noisy host does not move (the wall-clock ratios of `pnpm bench` move by a few percent from run
 * to run; these by well under one). Each contender runs in a process of its own under valgrind, built as
 * `pnpm bench` builds it (`contendersFor` of the validate scenario), is warmed on tokens of its own,
 * and is instrumented only while it validates the measured tokens, each once (fresh tokens).
 *
 *   npx tsx in-process/instructions.ts [--algs=RS256,ES256,EdDSA] [--ops=2000] [--warmup=20000]
 *       [--contenders=floor,tokenguard,fast-jwt,aws] [--out=DIR] [--node-args=--a,--b] [--after-gc]
 *       [--before=RS256,PS256] [--valgrind-args=--cache-sim=yes]
 *
 * Prints a markdown table: instructions per validation on the main thread (the JavaScript, node:crypto
 * and OpenSSL work of each validation, the young-generation collections it causes) and on every thread
 * (V8's compiler and GC helper threads too), with each contender's ratio to the floor. What is left is
 * the time an instruction takes: caches, branch prediction, the machine's other work, which only the
 * wall-clock run measures. The callgrind files (one per thread) stay in `--out` for `callgrind_annotate`.
 * `--after-gc`: a full collection right before the measured validations, as before each round of
 * `pnpm bench`. `--before`: each contender first validates `--warmup` fresh tokens of each of these
 * algorithms (keys of their own) in the same process, as in `pnpm bench`, which runs the algorithms one
 * after another in one process: code that has seen several algorithms can run slower than code that
 * has seen one. `--valgrind-args`: more callgrind options, such as `--cache-sim=yes`, whose cache
 * misses (`callgrind_annotate --show=Ir,I1mr,D1mr`) say what instruction counts leave out (measured once
 * for ES256: ~550 more instruction-cache misses per validation for tokenguard than for the floor, whose
 * code is smaller). Takes about a minute per contender and algorithm.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flag } from '../lib/flags.js';
import {
  BENCH_ALGORITHMS,
  type BenchAlgorithm,
  type BenchKey,
  generateBenchKey,
  signPool,
} from '../lib/tokens.js';
import { AWS, FASTJWT, FLOOR, TG_FRESH } from '../scenarios/validate.js';
import type { BeforeInput, ChildInput, KeyInput } from './instructions-child.js';

const CONTENDERS: Readonly<Record<string, string>> = {
  floor: FLOOR,
  tokenguard: TG_FRESH,
  'fast-jwt': FASTJWT,
  aws: AWS,
};

const algs = flag('algs', 'RS256,ES256,EdDSA').split(',') as BenchAlgorithm[];
const ops = Number(flag('ops', '2000'));
// V8 optimizes tokenguard's functions one by one over its first 20,000 or so fresh tokens (Node 20; the
// last are small functions such as readScopes and checkBinding, optimized once they have run often): with
// a shorter warm-up the count includes unoptimized code (RS256 after 8,000: 362.8k instructions; after
// 20,000: 359.7k).
const warmup = Number(flag('warmup', '20000'));
const contenders = flag('contenders', 'floor,tokenguard,fast-jwt,aws').split(',');
const outDir = flag('out', join(tmpdir(), 'tg-instructions'));
const afterGc = process.argv.includes('--after-gc');
// TurboFan compiles on the main thread (`--no-concurrent-recompilation`): under valgrind, which runs one
// thread at a time, a function compiled on a helper thread was at times still unoptimized when the
// measured validations ran (tokenguard's RS256 counts ranged over 380k-421k instructions from run to run,
// its profile full of Sparkplug builtins; with this flag, 364.2k-364.8k over three runs). `--node-args=
// --concurrent-recompilation` turns it back on (the later flag wins).
const nodeArgs = ['--no-concurrent-recompilation', ...flag('node-args', '').split(',').filter(Boolean)];
const valgrindArgs = flag('valgrind-args', '').split(',').filter(Boolean);
const beforeAlgs = flag('before', '').split(',').filter(Boolean) as BenchAlgorithm[];
for (const alg of [...algs, ...beforeAlgs]) {
  if (!(BENCH_ALGORITHMS as readonly string[]).includes(alg))
    throw new TypeError(`--algs or --before: ${alg} (${BENCH_ALGORITHMS.join(', ')})`);
}
for (const name of contenders) {
  if (CONTENDERS[name] === undefined)
    throw new TypeError(`--contenders: ${name} (${Object.keys(CONTENDERS)})`);
}
if (!contenders.includes('floor')) throw new TypeError('--contenders: the floor is the baseline, keep it');
if (!(Number.isInteger(ops) && ops > 0 && Number.isInteger(warmup) && warmup >= 0)) {
  throw new TypeError('--ops and --warmup: whole numbers (ops at least 1)');
}
mkdirSync(outDir, { recursive: true });
const childPath = fileURLToPath(new URL('./instructions-child.ts', import.meta.url));

/** Instructions on the main thread and on every thread over the measured validations. */
interface Count {
  readonly main: number;
  readonly all: number;
}

/** Bounds each exchange with the child: valgrind is slow, but a stuck child must not hang the run. */
const STEP_TIMEOUT_MS = 10 * 60_000;

function nextMessage(child: ChildProcess, type: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${type}' from the child in time`)), STEP_TIMEOUT_MS);
    const onMessage = (message: { type?: string }) => {
      if (message.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve();
    };
    child.on('message', onMessage);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the child exited with ${code} before '${type}'`));
    });
  });
}

async function count(inputPath: string, prefix: string): Promise<Count> {
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--instr-atstart=no',
      ...valgrindArgs,
      '--separate-threads=yes',
      `--callgrind-out-file=${prefix}`,
      process.execPath,
      ...nodeArgs,
      '--expose-gc',
      '--import',
      'tsx',
      childPath,
      inputPath,
    ],
    { stdio: ['ignore', 'inherit', 'ignore', 'ipc'] },
  );
  try {
    await nextMessage(child, 'ready');
    execFileSync('callgrind_control', ['-i', 'on', String(child.pid)], { stdio: 'ignore', timeout: 60_000 });
    const done = nextMessage(child, 'done');
    child.send({ type: 'go' });
    await done;
    execFileSync('callgrind_control', ['-i', 'off', String(child.pid)], { stdio: 'ignore', timeout: 60_000 });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.send({ type: 'stop' });
    await exited;
  } finally {
    child.kill('SIGKILL');
  }
  // One file per thread, `<prefix>-01` the main thread; the totals line's first event is Ir.
  const files = readdirSync(outDir).filter((file) => join(outDir, file).startsWith(`${prefix}-`));
  const totals = (file: string): number =>
    Number(/^totals:\s+(\d+)/m.exec(readFileSync(join(outDir, file), 'utf8'))?.[1] ?? 0);
  const main = files.find((file) => join(outDir, file) === `${prefix}-01`);
  if (main === undefined) throw new Error(`no callgrind file for the main thread at ${prefix}-01`);
  return { main: totals(main) / ops, all: files.reduce((sum, file) => sum + totals(file), 0) / ops };
}

function keyInputOf(key: BenchKey): KeyInput {
  return {
    alg: key.alg,
    kid: key.kid,
    privateKey:
      key.alg === 'HS256'
        ? (key.secret as Buffer).toString('hex')
        : (key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string),
    publicPem: key.publicPem,
    jwk: key.jwk,
  };
}

// The same keys and tokens for every contender: `warmup` fresh tokens per earlier algorithm.
const before: BeforeInput[] = beforeAlgs.map((alg) => {
  const key = generateBenchKey(alg);
  return { ...keyInputOf(key), tokens: signPool(key, warmup) };
});

const rows: string[] = [];
for (const alg of algs) {
  const key = generateBenchKey(alg);
  const tokens = signPool(key, warmup + ops);
  const counts = new Map<string, Count>();
  for (const name of contenders) {
    const contender = CONTENDERS[name] as string;
    // aws-jwt-verify has no PS256 or HS256.
    const skipped = (other: BenchAlgorithm) => name === 'aws' && (other === 'PS256' || other === 'HS256');
    if (skipped(alg)) continue;
    const input: ChildInput = {
      ...keyInputOf(key),
      contender,
      warmup,
      afterGc,
      tokens,
      before: before.filter((earlier) => !skipped(earlier.alg)),
    };
    const inputPath = join(outDir, `${alg}-${name}.json`);
    writeFileSync(inputPath, JSON.stringify(input));
    const prefix = join(outDir, `${alg}-${name}.callgrind`);
    for (const file of readdirSync(outDir)) {
      if (join(outDir, file).startsWith(`${prefix}-`)) writeFileSync(join(outDir, file), '');
    }
    const measured = await count(inputPath, prefix);
    counts.set(name, measured);
    console.error(
      `[instructions] ${alg} ${name}: ${Math.round(measured.main)} main thread, ${Math.round(measured.all)} all threads`,
    );
  }
  const floor = counts.get('floor') as Count;
  for (const [name, measured] of counts) {
    const k = (value: number): string => `${(value / 1000).toFixed(1)}k`;
    rows.push(
      `| ${alg} | ${CONTENDERS[name]} | ${k(measured.main)} | ${(floor.main / measured.main).toFixed(3)} | ${k(measured.all)} | ${(floor.all / measured.all).toFixed(3)} |`,
    );
  }
}
console.log(
  [
    `Instructions per validation, fresh tokens (${ops} measured after ${warmup} of warm-up${beforeAlgs.length > 0 ? `, each contender having validated ${warmup} tokens of ${beforeAlgs.join(', ')} before` : ''}), counted by callgrind; the ratio is the floor's count over the contender's (above 1: fewer instructions than the floor).`,
    '',
    '| alg | contender | main thread | floor / it | all threads | floor / it |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n'),
);
