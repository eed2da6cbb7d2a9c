/**
 * `pnpm bench`: every benchmark in one command. Prints markdown tables as it goes; a full run (no
 * `--quick`, no `--only`) also writes RESULTS.md and results.svg beside this file.
 *
 *   pnpm bench                     full run (a few minutes on 2 cores)
 *   pnpm bench -- --quick          a few seconds, for smoke testing; writes nothing
 *   pnpm bench -- --only=validate  some parts only: validate, http, keyset, introspection, dpop, memory
 *   pnpm bench -- --algs=RS256     some algorithms only (in-process part)
 *   pnpm bench -- --frameworks=express  some frameworks only (HTTP part)
 *   pnpm bench -- --slices=FILE    also writes every measured slice's operations and time (in-process and HTTP) as JSON
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { FRAMEWORKS, type Framework, PEER_NAMES } from './http/apps.js';
import { drawChart, type Panel } from './lib/chart.js';
import { floorLayerRatio } from './lib/floor-layer.js';
import type { RunRatio } from './lib/measure.js';
import { formatNumber, formatTable, type Table } from './lib/report.js';
import { BENCH_ALGORITHMS, type BenchAlgorithm } from './lib/tokens.js';
import type { MemoryResult } from './memory/worker.js';
import { runDpopScenario } from './scenarios/dpop.js';
import {
  CEILING,
  CEILING_AGAIN,
  type HttpResult,
  httpRatio,
  NOOP,
  PEER_FRESH,
  PEER_REUSED,
  runHttpScenarios,
  TG_FRESH_AT_ONCE,
  TG_FRESH_HTTP,
  TG_FRESH_OFF_THREAD,
  TG_PROTECT_REUSED,
  TG_REUSED,
} from './scenarios/http.js';
import { runIntrospectionScenarios } from './scenarios/introspection.js';
import { runKeySetScenarios } from './scenarios/keyset.js';
import { runMemoryScenario } from './scenarios/memory.js';
import {
  FASTJWT,
  FASTJWT_CACHE_REPEATED,
  FLOOR,
  runValidateScenarios,
  TG_FRESH,
  TG_REPEATED,
  type ValidateResult,
  validateRatio,
} from './scenarios/validate.js';

const PARTS = ['validate', 'http', 'keyset', 'introspection', 'dpop', 'memory'] as const;
type Part = (typeof PARTS)[number];

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyArg = args.find((arg) => arg.startsWith('--only='));
const only = onlyArg === undefined ? undefined : new Set(onlyArg.slice('--only='.length).split(','));
for (const part of only ?? []) {
  if (!(PARTS as readonly string[]).includes(part))
    throw new TypeError(`--only: unknown part ${part} (${PARTS.join(', ')})`);
}
const frameworksArg = args.find((arg) => arg.startsWith('--frameworks='));
const frameworks =
  frameworksArg === undefined
    ? undefined
    : // Each once: a framework named twice would start its servers twice and mix their slices.
      ([...new Set(frameworksArg.slice('--frameworks='.length).split(','))] as Framework[]);
for (const framework of frameworks ?? []) {
  if (!FRAMEWORKS.includes(framework))
    throw new TypeError(`--frameworks: unknown framework ${framework} (${FRAMEWORKS.join(', ')})`);
}
const slicesArg = args.find((arg) => arg.startsWith('--slices='))?.slice('--slices='.length);
// Refused now, not after a run of several minutes.
if (slicesArg === '') throw new TypeError('--slices: a file name is needed (--slices=FILE)');
const algsArg = args.find((arg) => arg.startsWith('--algs='));
const algorithms =
  algsArg === undefined ? undefined : (algsArg.slice('--algs='.length).split(',') as BenchAlgorithm[]);
for (const alg of algorithms ?? []) {
  if (!BENCH_ALGORITHMS.includes(alg))
    throw new TypeError(`--algs: unknown algorithm ${alg} (${BENCH_ALGORITHMS.join(', ')})`);
}
const selected = (part: Part): boolean => only === undefined || only.has(part);

const SETTINGS = quick
  ? {
      validate: { poolSize: 100, repeatOps: 5_000, rounds: 1 },
      http: {
        rounds: 1,
        durationSec: 0.3,
        poolSize: 100,
        connections: 10,
        warmupRequests: 20,
        warmupRound: false,
      },
      keyset: { stormSeconds: 0.5 },
      introspection: { concurrent: 50, cachedOps: 500, uncachedOps: 10, rounds: 1 },
      dpop: { requests: 50, rounds: 1 },
      memory: { tokens: 20_000, tokenLength: 800 },
    }
  : {
      // Four warm-up rounds (8,000 fresh tokens per contender; tokenguard's four contenders share its
      // functions, which see 24,000): V8 optimizes tokenguard's functions over its first 20,000 or so (the
      // last are small ones, such as readScopes's by-name path, optimized once they have run often); with one, the first measured rounds ran partly unoptimized code (callgrind:
      // 2% more instructions per RS256 validation on the main thread, and TurboFan compiling on another
      // thread all through them). 100,000 repeated validations per round (was 200,000) save some of the time
      // the warm-up adds: the whole run took 461 s in session 20, against 386 s with one warm-up round.
      validate: { poolSize: 2_000, repeatOps: 100_000, rounds: 5, warmupRounds: 4 },
      // Seven shorter rounds rather than three longer ones: the configurations take turns more often,
      // so the bursts in which a shared machine runs slower fall on each alike (within one run,
      // rounds of one ratio were seen 30% apart).
      http: {
        rounds: 7,
        durationSec: 1,
        poolSize: 2_000,
        connections: 10,
        warmupRequests: 500,
        freshWarmupRequests: 20_000,
        warmupRound: true,
      },
      keyset: {},
      introspection: {},
      dpop: { requests: 1_000, rounds: 5 },
      memory: { tokens: 1_000_000, tokenLength: 800 },
    };

const tables: Table[] = [];
const show = (table: Table): void => {
  tables.push(table);
  console.log(`${formatTable(table)}\n`);
};
const elapsed: string[] = [];
async function part<T>(name: Part, body: () => Promise<T>): Promise<T | undefined> {
  if (!selected(name)) return undefined;
  console.error(`[bench] ${name}...`);
  const start = performance.now();
  const result = await body();
  const seconds = (performance.now() - start) / 1000;
  elapsed.push(`${name} ${seconds.toFixed(0)} s`);
  console.error(`[bench] ${name} done in ${seconds.toFixed(1)} s`);
  return result;
}

const started = performance.now();
const validate = await part('validate', async () => {
  const result = await runValidateScenarios({
    ...SETTINGS.validate,
    ...(algorithms === undefined ? {} : { algorithms }),
  });
  for (const table of result.tables) show(table);
  return result;
});
const http = await part('http', async () => {
  const result = await runHttpScenarios({
    ...SETTINGS.http,
    ...(frameworks === undefined ? {} : { frameworks }),
  });
  for (const table of result.tables) show(table);
  return result;
});
await part('keyset', async () => show(await runKeySetScenarios(SETTINGS.keyset)));
await part('introspection', async () => show(await runIntrospectionScenarios(SETTINGS.introspection)));
await part('dpop', async () => show((await runDpopScenario(SETTINGS.dpop)).table));
const memory = await part('memory', async () => {
  const { table, result } = await runMemoryScenario(SETTINGS.memory);
  show(table);
  return result;
});
const totalSeconds = (performance.now() - started) / 1000;

const targets = targetTable(validate, http, memory);
show(targets);
console.error(`[bench] total ${totalSeconds.toFixed(0)} s (${elapsed.join(', ')})`);
if (slicesArg !== undefined) {
  // Every rate and ratio of the tables can be taken again from these (see runRatio in lib/measure.ts).
  const byKey = <K>(map: Map<K, Map<string, unknown>> | undefined) =>
    Object.fromEntries([...(map ?? new Map())].map(([key, byName]) => [key, Object.fromEntries(byName)]));
  writeFileSync(slicesArg, JSON.stringify({ validate: byKey(validate?.slices), http: byKey(http?.slices) }));
  console.error(`[bench] wrote every slice's operations and time to ${slicesArg}`);
}

if (!quick && only === undefined && algorithms === undefined && frameworks === undefined) {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const date = new Date().toISOString().slice(0, 10);
  const header = [
    '# Benchmark results',
    '',
    `Produced by \`pnpm bench\` on ${date}: Node ${process.version}, ${cpu}, ${cpus().length} cores, ${process.platform}/${process.arch}. The whole run took ${totalSeconds.toFixed(0)} s (${elapsed.join(', ')}).`,
    '',
    'These figures come from one run on a shared 2-core machine that other work was using at the same time: absolute numbers drift, so read the ratios, each measured in the same run as its baseline with the contenders interleaved (contenders take turns in short slices within each of several rounds, in an order where each follows each other one equally often; a rate is operations over time, every round together, and a ratio the quotient of two rates; an A/A row per framework shows the error of the method itself).',
    '',
    '![headline ratios](results.svg)',
    '',
  ].join('\n');
  writeFileSync(
    new URL('./RESULTS.md', import.meta.url),
    `${header}\n${tables.map(formatTable).join('\n\n')}\n`,
  );
  writeFileSync(
    new URL('./results.svg', import.meta.url),
    chart(validate, http, `${date}, Node ${process.version}, ${cpu}`),
  );
  console.error('[bench] wrote benchmarks/RESULTS.md and benchmarks/results.svg');
}

function targetTable(
  v: ValidateResult | undefined,
  h: HttpResult | undefined,
  m: MemoryResult | undefined,
): Table {
  const rows: string[][] = [];
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  if (v !== undefined) {
    for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
      if (!v.rates.has(alg)) continue; // not measured (--algs)
      const ratio = validateRatio(v, alg, TG_FRESH, FLOOR);
      const fastJwt = validateRatio(v, alg, FASTJWT, FLOOR).value;
      rows.push([
        `fresh token validate() / floor, ${alg}`,
        '≥ 0.95',
        `${ratio.value.toFixed(2)} ${spread(ratio)}; fast-jwt ${fastJwt.toFixed(2)}`,
        verdict(ratio.value >= 0.95),
      ]);
    }
    const rs = v.rates.get('RS256');
    const repeated = rs?.get(TG_REPEATED) ?? Number.NaN;
    rows.push([
      'repeated RS256 token, validations/s',
      '≥ 2,000,000',
      `${formatNumber(repeated)} (fast-jwt cache: ${formatNumber(rs?.get(FASTJWT_CACHE_REPEATED) ?? Number.NaN)})`,
      verdict(repeated >= 2_000_000),
    ]);
  }
  if (h !== undefined) {
    // The HTTP tokens are RS256: the floor's cost per token, in process, is what verifying one costs at best.
    const floorUs = 1e6 / (v?.rates.get('RS256')?.get(FLOOR) ?? Number.NaN);
    for (const framework of h.figures.keys()) {
      const f = h.figures.get(framework);
      const rps = (label: string) => f?.get(label)?.requestsPerSec ?? Number.NaN;
      const ratio = (label: string, base: string) => httpRatio(h, framework, label, base);
      const ceiling = ratio(TG_REUSED, CEILING);
      const floorLayer = (): string => {
        const estimate = floorLayerRatio(f?.get(CEILING), f?.get(NOOP), floorUs, rps(PEER_FRESH));
        return Number.isFinite(estimate)
          ? `; no-op middleware + the floor's verification, estimated: ${estimate.toFixed(2)}×`
          : '';
      };
      rows.push([
        `HTTP ${framework}, reused token / no-auth ceiling`,
        '≥ 0.85',
        `${ceiling.value.toFixed(2)} ${spread(ceiling)}; a middleware that does nothing: ${ratio(NOOP, CEILING).value.toFixed(2)}; A/A, a second no-auth server: ${ratio(CEILING_AGAIN, CEILING).value.toFixed(2)}`,
        verdict(ceiling.value >= 0.85),
      ]);
      if (f?.has(TG_PROTECT_REUSED)) {
        // The same check as the route's one handler: no middleware chain, as on the ceiling's route.
        const protect = ratio(TG_PROTECT_REUSED, CEILING);
        rows.push([
          `HTTP ${framework}, reused token, auth.protect(handler) / no-auth ceiling`,
          '≥ 0.85',
          `${protect.value.toFixed(2)} ${spread(protect)}`,
          verdict(protect.value >= 0.85),
        ]);
      }
      for (const [label, how] of [
        [TG_FRESH_HTTP, ''],
        [TG_FRESH_OFF_THREAD, ', verifyOffThread'],
      ] as const) {
        const versus = ratio(label, PEER_FRESH);
        // What the framework allows: the ratio an auth layer costing nothing would reach.
        // The adapter verifies fresh tokens together at the end of the phase; validate() at once, for reference.
        const bound =
          how === ''
            ? `; verified at once: ${ratio(TG_FRESH_AT_ONCE, PEER_FRESH).value.toFixed(2)}×; no auth at all: ${ratio(CEILING, PEER_FRESH).value.toFixed(2)}×${floorLayer()}`
            : '';
        rows.push([
          `HTTP ${framework}, fresh token per request${how} / ${PEER_NAMES[framework]}`,
          '≥ 1.5×',
          `${versus.value.toFixed(2)}× (rounds ${versus.roundLow.toFixed(2)}–${versus.roundHigh.toFixed(2)}×${bound})`,
          verdict(versus.value >= 1.5),
        ]);
      }
    }
  }
  if (m !== undefined) {
    rows.push([
      `memory: RSS growth after ${formatNumber(m.tokens)} distinct tokens`,
      'bounded',
      `${(m.rssAfterMb - m.rssBeforeMb).toFixed(1)} MB (cache ${formatNumber(m.cacheEntries)} / ${formatNumber(m.cacheMaxEntries)} entries)`,
      verdict(m.cacheEntries <= m.cacheMaxEntries),
    ]);
  }
  return {
    title: 'Targets (issue #7)',
    columns: ['target', 'goal', 'reached', 'verdict'],
    rows,
    notes: [
      `Reached: the ratio of the two sides' rates, each its operations over its time in every round (both sides ran in the same slices, in a balanced order, so other work on the machine took the same share of each one's time on average), then the lowest and highest of the same ratio taken round by round (the spread shows how much the machine moved it). The verdict is on the ratio over the whole run. For reference: fast-jwt (no cache) against the same floor, the fastest synchronous peer; a middleware that does nothing against the ceiling, what the framework costs to run any middleware; a second no-auth server against the ceiling (A/A), how far the method strays with nothing to tell apart; tokenguard validate() called from a plain middleware, which verifies each fresh token at once instead of with the others read in the same phase; the no-auth ceiling against the peer with fresh tokens, the ratio an auth layer that cost nothing would reach on that framework; and an estimate of what a layer verifying each fresh token on the event loop at the floor's cost (the in-process RS256 floor's time per token, added to the server CPU per request of the no-op middleware, or of the ceiling when that is higher) would reach, taking req/s as inversely proportional to server CPU: a reference for what the framework and the crypto leave to an auth layer in that run, not a bound: the adapters verify a phase's tokens in a row with warm caches (and RS256 for less than the floor's verify), so they can land above it, and the host's noise moves both.`,
    ],
  };
}

/** `(rounds low–high)`: the range of a ratio taken round by round. */
function spread({ roundLow, roundHigh }: RunRatio): string {
  return `(rounds ${roundLow.toFixed(2)}–${roundHigh.toFixed(2)})`;
}

function chart(v: ValidateResult | undefined, h: HttpResult | undefined, subtitle: string): string {
  const panels: Panel[] = [];
  const ratio = (value: number) => value.toFixed(2);
  if (v !== undefined) {
    const bars = [];
    for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
      if (!v.rates.has(alg)) continue; // not measured (--algs)
      for (const [name, label] of [
        [TG_FRESH, 'tokenguard'],
        ['fast-jwt, no cache', 'fast-jwt'],
        ['jose jwtVerify', 'jose'],
        ['aws-jwt-verify verifySync', 'aws-jwt-verify'],
      ] as const) {
        bars.push({
          label: `${alg} ${label}`,
          value: validateRatio(v, alg, name, FLOOR).value,
          ours: name === TG_FRESH,
        });
      }
    }
    panels.push({
      title: 'validate() with fresh tokens ÷ node:crypto floor (higher is better)',
      bars,
      target: 0.95,
      format: ratio,
    });
    const rs = v.rates.get('RS256');
    panels.push({
      title: 'Repeated RS256 token, million validations/s',
      bars: [
        {
          label: 'tokenguard (verified-token cache)',
          value: (rs?.get(TG_REPEATED) ?? Number.NaN) / 1e6,
          ours: true,
        },
        {
          label: 'fast-jwt (its cache)',
          value: (rs?.get(FASTJWT_CACHE_REPEATED) ?? Number.NaN) / 1e6,
          ours: false,
        },
      ],
      target: 2,
      format: (value) => `${value.toFixed(2)}M`,
    });
  }
  if (h !== undefined) {
    const reused = [];
    const fresh = [];
    for (const framework of FRAMEWORKS) {
      if (!h.figures.has(framework)) continue;
      const versusCeiling = (label: string) => httpRatio(h, framework, label, CEILING).value;
      reused.push(
        { label: `${framework}: tokenguard`, value: versusCeiling(TG_REUSED), ours: true },
        ...(h.figures.get(framework)?.has(TG_PROTECT_REUSED)
          ? [
              {
                label: `${framework}: tokenguard protect()`,
                value: versusCeiling(TG_PROTECT_REUSED),
                ours: true,
              },
            ]
          : []),
        { label: `${framework}: ${PEER_NAMES[framework]}`, value: versusCeiling(PEER_REUSED), ours: false },
      );
      fresh.push(
        { label: `${framework}: tokenguard`, value: versusCeiling(TG_FRESH_HTTP), ours: true },
        {
          label: `${framework}: tokenguard verifyOffThread`,
          value: versusCeiling(TG_FRESH_OFF_THREAD),
          ours: true,
        },
        { label: `${framework}: ${PEER_NAMES[framework]}`, value: versusCeiling(PEER_FRESH), ours: false },
      );
    }
    panels.push({
      title: 'HTTP, reused token: req/s ÷ the framework without auth',
      bars: reused,
      target: 0.85,
      format: ratio,
    });
    panels.push({
      title: 'HTTP, fresh token per request: req/s ÷ the framework without auth',
      bars: fresh,
      format: ratio,
    });
  }
  return drawChart('tokenguard benchmarks: headline ratios', subtitle, panels);
}
