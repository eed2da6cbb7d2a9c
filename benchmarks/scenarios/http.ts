import {
  type AuthMode,
  FRAMEWORKS,
  type Framework,
  modesOf,
  PEER_NAMES,
  type RunningApp,
  startApp,
} from '../http/apps.js';
import type { BenchIssuer } from '../http/issuer.js';
import { startIssuerProcess } from '../http/issuer-process.js';
import { LoadClient } from '../http/load-client.js';
import {
  collectYoungGarbage,
  median,
  type RunRatio,
  runRatio,
  type SliceSample,
  type SliceSamples,
  settleBetweenSlices,
  turnOrder,
} from '../lib/measure.js';
import { httpVerdict, preflight, preflightTokens } from '../lib/preflight.js';
import { formatNumber, type Table } from '../lib/report.js';
import { type BenchKey, generateBenchKey, signPool } from '../lib/tokens.js';

export interface HttpSettings {
  readonly rounds: number;
  readonly durationSec: number;
  /**
   * Distinct RS256 tokens per round; a fresh-token configuration sends each once, other tokens in
   * every round (its server lives through every round, so no token is a cache hit).
   */
  readonly poolSize: number;
  readonly connections: number;
  /**
   * Requests that warm each server (JIT, key caches) before the rounds (fresh-token configurations:
   * that many distinct tokens); reused-token configurations send them again each round, to size
   * their slices.
   */
  readonly warmupRequests: number;
  /**
   * Distinct tokens that warm each fresh-token server before the rounds (default `warmupRequests`):
   * V8 optimizes a verifier's functions one by one as they get hot, tokenguard's over its first
   * 20,000 or so fresh tokens on Node 20, so the rounds see the steady state a deployed API is in.
   */
  readonly freshWarmupRequests?: number;
  /** Run one untimed round of every configuration first. */
  readonly warmupRound: boolean;
  /** Default: all of {@link FRAMEWORKS}. */
  readonly frameworks?: readonly Framework[];
}

interface Config {
  readonly framework: Framework;
  readonly mode: AuthMode;
  readonly fresh: boolean;
  readonly label: string;
}

export interface HttpFigures {
  readonly requestsPerSec: number;
  /**
   * CPU time of the server's process per request (user + system, from `process.cpuUsage()`): what
   * the auth layer costs, unlike req/s unaffected by how the loaded machine schedules the client.
   */
  readonly cpuUsPerRequest: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** One round's figures of a configuration, with the requests they were taken over. */
interface HttpRoundFigures extends HttpFigures {
  readonly requests: number;
}

export interface HttpResult {
  readonly tables: Table[];
  /** By framework, then by config label. */
  readonly figures: Map<Framework, Map<string, HttpFigures>>;
  /** Every measured slice's requests and seconds, by framework, then by config label: what rates come from. */
  readonly slices: Map<Framework, SliceSamples>;
}

/**
 * The ratio of configuration `label`'s req/s to `base`'s on `framework` over the whole run
 * ({@link runRatio}): the two took turns in the same slices of every round.
 *
 * @example
 * ```ts
 * const versusCeiling = httpRatio(result, 'hono', TG_REUSED, CEILING).value;
 * ```
 */
export function httpRatio(result: HttpResult, framework: Framework, label: string, base: string): RunRatio {
  const slices = result.slices.get(framework);
  return runRatio(slices?.get(label), slices?.get(base));
}

export const CEILING = 'no auth (ceiling)';
/** A second server exactly like the ceiling's: its ratio to the ceiling shows the method's own error. */
export const CEILING_AGAIN = 'no auth, a second server (A/A check)';
/** The framework's own cost of running a middleware: the floor an auth layer cannot go under. */
export const NOOP = 'a middleware that does nothing';
export const TG_REUSED = 'tokenguard, reused token';
/** Hono only: the adapter's `auth.protect(handler)`, the route's one handler (the ceiling's route has one too). */
export const TG_PROTECT_REUSED = "tokenguard auth.protect(handler), the route's one handler, reused token";
export const TG_FRESH_HTTP = 'tokenguard, fresh token per request';
export const PEER_REUSED = 'peer, reused token';
export const PEER_FRESH = 'peer, fresh token per request';
export const TG_FRESH_OFF_THREAD = 'tokenguard verifyOffThread, fresh token per request';
export const TG_FRESH_AT_ONCE =
  'tokenguard validate() in a plain middleware (verified at once), fresh token per request';
/** The peer configuration each tokenguard configuration is compared with. */
const PEER_OF: Readonly<Record<string, string>> = {
  [TG_REUSED]: PEER_REUSED,
  [TG_PROTECT_REUSED]: PEER_REUSED,
  [TG_FRESH_HTTP]: PEER_FRESH,
  [TG_FRESH_OFF_THREAD]: PEER_FRESH,
  [TG_FRESH_AT_ONCE]: PEER_FRESH,
};

/** The configurations in the order of the table: the A/A check right after the ceiling it is checked against. */
function shownInOrder(configs: readonly Config[]): Config[] {
  const again = configs.filter((config) => config.label === CEILING_AGAIN);
  return configs.flatMap((config) =>
    config.label === CEILING_AGAIN ? [] : config.label === CEILING ? [config, ...again] : [config],
  );
}

/** Each framework's configurations, made once: a configuration is the key of its server. */
const CONFIGS = new Map<Framework, Config[]>(
  FRAMEWORKS.map((framework) => [framework, configsOf(framework)]),
);

function configsFor(framework: Framework): Config[] {
  return CONFIGS.get(framework) as Config[];
}

function configsOf(framework: Framework): Config[] {
  return [
    { framework, mode: 'none', fresh: false, label: CEILING },
    { framework, mode: 'noop', fresh: false, label: NOOP },
    { framework, mode: 'tokenguard', fresh: false, label: TG_REUSED },
    { framework, mode: 'tokenguard', fresh: true, label: TG_FRESH_HTTP },
    // Fifth of nine (of ten on Hono): in the Williams order it runs as far from the ceiling within a
    // slice (4.4 turns on average; 4.8 of ten) as the fresh-token configurations from their peer's,
    // farther than the reused ones.
    { framework, mode: 'none', fresh: false, label: CEILING_AGAIN },
    { framework, mode: 'tokenguard-off-thread', fresh: true, label: TG_FRESH_OFF_THREAD },
    { framework, mode: 'tokenguard-validate', fresh: true, label: TG_FRESH_AT_ONCE },
    { framework, mode: 'peer', fresh: false, label: PEER_REUSED },
    // Hono's ninth of ten: as far from the ceiling within a slice (3.2 turns on average) as the
    // middleware's reused-token configuration, third (lib/aa-check-distance.test.ts).
    ...(modesOf(framework).includes('tokenguard-protect')
      ? [{ framework, mode: 'tokenguard-protect', fresh: false, label: TG_PROTECT_REUSED } as const]
      : []),
    { framework, mode: 'peer', fresh: true, label: PEER_FRESH },
  ];
}

/** Slices each configuration's round is cut into; a framework's configurations take turns slice by slice. */
const HTTP_SLICES = 10;

const signed = (value: number): string => `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(0)}`;

/**
 * HTTP throughput and latency per framework: the servers run here, autocannon and the issuer in
 * forked children. Each configuration gets one server, started and warmed before the rounds and kept
 * through all of them, as a deployed API keeps one; the configurations of a framework take turns in
 * slices ({@link runRound}), the fresh-token ones sending other tokens in every round.
 */
export async function runHttpScenarios(settings: HttpSettings): Promise<HttpResult> {
  const frameworks = settings.frameworks ?? FRAMEWORKS;
  const key = generateBenchKey('RS256');
  const issuer = await startIssuerProcess({ keys: [key.jwk] });
  try {
    console.error(await preflightHttp(key, issuer, frameworks));
  } catch (error) {
    await issuer.close();
    throw error;
  }
  const claimsIssuer = { iss: issuer.issuer };
  const firstRound = settings.warmupRound ? -1 : 0;
  const roundCount = settings.rounds - firstRound;
  // The warm-up's tokens first, then a set of poolSize tokens for each round: no token is sent twice
  // to a fresh-token server, which keeps its cache through the rounds.
  const freshWarmup = settings.freshWarmupRequests ?? settings.warmupRequests;
  const warmupTokens = Math.max(settings.warmupRequests, freshWarmup);
  const [reused, ...tokens] = signPool(
    key,
    1 + warmupTokens + settings.poolSize * roundCount,
    0,
    claimsIssuer,
  );
  const authorization = `Bearer ${reused}`;
  const samples = new Map<string, HttpRoundFigures[]>();
  const slices = new Map<Framework, SliceSamples>(frameworks.map((framework) => [framework, new Map()]));
  const configs = frameworks.flatMap(configsFor);
  const apps = new Map<Config, RunningApp>();
  let load: LoadClient | undefined;
  try {
    load = await LoadClient.start(tokens);
    for (const config of configs) {
      const app = await startApp(config.framework, config.mode, issuer);
      apps.set(config, app);
      await load.run({
        url: app.url,
        connections: settings.connections,
        amount: config.fresh ? freshWarmup : settings.warmupRequests,
        authorization,
        ...(config.fresh ? { freshTokens: true, tokenOffset: 0 } : {}),
      });
    }
    for (let round = firstRound; round < settings.rounds; round++) {
      for (const framework of frameworks) {
        const { figures, sliceSamples } = await runRound(configsFor(framework), round, {
          settings,
          apps,
          load,
          authorization,
          tokenOffset: warmupTokens + settings.poolSize * (round - firstRound),
          poolLength: settings.poolSize,
        });
        if (round < 0) continue;
        const byLabel = slices.get(framework) as SliceSamples;
        for (const [label, rates] of sliceSamples)
          byLabel.set(label, [...(byLabel.get(label) ?? []), ...rates]);
        for (const [label, figure] of figures) {
          const id = `${framework}\u0000${label}`;
          samples.set(id, [...(samples.get(id) ?? []), figure]);
        }
      }
    }
  } finally {
    // Every close is attempted, whichever fails: a server left open would keep the bench running.
    await Promise.allSettled([...apps.values()].map((app) => app.close()));
    load?.close();
    await issuer.close();
  }
  const figures = new Map<Framework, Map<string, HttpFigures>>();
  for (const config of configs) {
    const runs = samples.get(`${config.framework}\u0000${config.label}`) ?? [];
    const byLabel = figures.get(config.framework) ?? new Map<string, HttpFigures>();
    // Over the whole run, as ratios are taken (runRatio): requests over seconds, CPU over requests.
    const requests = runs.reduce((sum, r) => sum + r.requests, 0);
    const seconds = runs.reduce((sum, r) => sum + r.requests / r.requestsPerSec, 0);
    const cpuUs = runs.reduce((sum, r) => sum + r.cpuUsPerRequest * r.requests, 0);
    byLabel.set(config.label, {
      requestsPerSec: requests / seconds,
      cpuUsPerRequest: cpuUs / requests,
      p50Ms: median(runs.map((r) => r.p50Ms)),
      p99Ms: median(runs.map((r) => r.p99Ms)),
    });
    figures.set(config.framework, byLabel);
  }
  const rows: (string | number)[][] = [];
  for (const framework of frameworks) {
    const byLabel = figures.get(framework) as Map<string, HttpFigures>;
    const bySlice = slices.get(framework);
    const ratio = (label: string, base: string) => runRatio(bySlice?.get(label), bySlice?.get(base)).value;
    const ceilingCpu = byLabel.get(CEILING)?.cpuUsPerRequest ?? Number.NaN;
    for (const { label } of shownInOrder(configsFor(framework))) {
      const f = byLabel.get(label) as HttpFigures;
      const peer = PEER_OF[label];
      rows.push([
        framework,
        label.startsWith('peer') ? label.replace('peer', PEER_NAMES[framework]) : label,
        formatNumber(f.requestsPerSec),
        label === CEILING ? '1.00' : ratio(label, CEILING).toFixed(2),
        peer === undefined ? '' : `${ratio(label, peer).toFixed(2)}×`,
        f.p50Ms.toFixed(1),
        f.p99Ms.toFixed(1),
        f.cpuUsPerRequest.toFixed(0),
        label === CEILING ? '' : signed(f.cpuUsPerRequest - ceilingCpu),
      ]);
    }
  }
  return {
    figures,
    slices,
    tables: [
      {
        title: 'HTTP, RS256, req/s and latency (autocannon in a second process)',
        columns: [
          'framework',
          'auth',
          'req/s',
          'vs ceiling',
          'vs peer',
          'p50 ms',
          'p99 ms',
          'server CPU µs/req',
          'µs over ceiling',
        ],
        rows,
        notes: [
          `${settings.rounds} rounds, ${settings.connections} connections, loopback. Each configuration has one server, started and warmed with ${settings.warmupRequests} requests (fresh-token configurations: ${settings.freshWarmupRequests ?? settings.warmupRequests} distinct tokens, enough for V8 to have optimized tokenguard's functions, which it does one by one over the first 20,000 or so) before the rounds and kept through all of them, as a deployed API keeps its server and validator. In each round a framework's configurations take turns in ${HTTP_SLICES} slices, in orders where within a slice each follows each other one equally often (a Williams design); each slice starts after the same untimed spacer (a young-generation GC of the servers' process, 8 MiB written over, pending callbacks run) and each turn after a young-generation GC: reused-token slices last about ${settings.durationSec / HTTP_SLICES} s (sized from the rate of ${settings.warmupRequests} requests sent just before), fresh-token slices send a tenth of the round's ${settings.poolSize} pre-signed tokens, other tokens in every round, each once. req/s: requests over the time autocannon measured for them, every slice of every round together, and vs ceiling and vs peer their quotients: other work on the machine takes from each configuration the same share of its time on average, whatever the length of its slices (fresh-token slices are sized by tokens, so a fast configuration's are shorter); server CPU per request likewise over the whole run; p50/p99: the median over the rounds of each round's median over its slices.`,
          'Server CPU µs/req: CPU time (user + system) of the server process over the measured run, per request. It does not count the time the server waits for a descheduled load generator, so "µs over ceiling" says more than req/s about what each auth layer costs; it still grows when other work shares the cores (cache and context-switch costs).',
          "Every configuration checks the signature, iss, aud and exp against the same JWKS, served from 127.0.0.1 by an issuer in a process of its own (as a real authorization server would be, its work is not the server's CPU). A preflight proves it before the rounds: on a server built as the measured ones are, each tokenguard and peer configuration answers 200 to a valid token and 401 to one with a wrong iss, one with a wrong aud, one expired an hour ago and one with a changed signature, or the bench stops; the ceiling and the middleware that does nothing accept anything by design and are not preflighted. Hono's jwk middleware fetches the JWKS on every request (it has no key cache). tokenguard's adapters verify on the event loop: a fresh token's signature at the end of the event loop's phase, together with the other tokens read in that phase (the answers are the same; verified in a row, they run with warm caches). \"validate() in a plain middleware\": core's validator.validate() called from a hand-written middleware, which verifies each fresh token at once, as it arrives. verifyOffThread: the adapter with that option, which verifies signatures on libuv's thread pool; express-oauth2-jwt-bearer (jose 4: node:crypto's callback verify) and Hono's jwk (WebCrypto) also verify on the thread pool, while @fastify/jwt (fast-jwt) verifies on the event loop. Every framework runs behind the same node:http server with default settings; the ceiling sends the same Authorization header as the reused-token runs. A middleware that does nothing attaches a fixed caller and checks nothing (an Express middleware, a Fastify onRequest hook, a Hono middleware, each the way that framework's auth middleware runs, sent the same header): what the framework costs to run any middleware, the floor under an auth layer. The A/A check is a second no-auth server, measured as every configuration is: with nothing to tell it from the ceiling, its ratio shows how far the method strays on this machine. Hono's auth.protect(handler): the same adapter and validator as the route's one handler (`app.get(path, auth.protect(handler))`, guards before the handler if any), which Hono runs without its middleware chain, as it runs the ceiling's route; a token the validator's cache holds is answered in the same tick, any other goes the middleware's whole way.",
        ],
      },
    ],
  };
}

/** The modes that claim to check a token: all but the ceiling (`none`) and the no-op middleware. */
const checkingModesOf = (framework: Framework): readonly AuthMode[] =>
  modesOf(framework).filter((mode) => mode !== 'none' && mode !== 'noop');

/**
 * Preflights each checking mode of each framework on a server started as the measured ones are
 * (see benchmarks/lib/preflight.ts); throws at the first failure, else returns the line to print.
 */
async function preflightHttp(
  key: BenchKey,
  issuer: BenchIssuer,
  frameworks: readonly Framework[],
): Promise<string> {
  const tokens = preflightTokens(key, issuer.issuer);
  let configurations = 0;
  for (const framework of frameworks) {
    for (const mode of checkingModesOf(framework)) {
      configurations++;
      const app = await startApp(framework, mode, issuer);
      try {
        const contender = `${framework} / ${mode === 'peer' ? PEER_NAMES[framework] : mode}`;
        await preflight({ contender, algorithm: key.alg, verdictOn: httpVerdict(app.url) }, tokens);
      } finally {
        await app.close();
      }
    }
  }
  const modes = frameworks.map((framework) => `${framework}: ${checkingModesOf(framework).join(', ')}`);
  return `[bench] preflight: ${configurations} HTTP configurations (${modes.join('; ')}) answer 200 to a valid token and 401 to wrong iss, wrong aud, expired, bad signature; the ceiling and the no-op middleware accept anything by design and are not preflighted`;
}

interface RoundContext {
  readonly settings: HttpSettings;
  /** The server of each configuration, kept through the rounds. */
  readonly apps: ReadonlyMap<Config, RunningApp>;
  readonly load: LoadClient;
  readonly authorization: string;
  /** Fresh-token runs send pool[tokenOffset .. tokenOffset + poolLength) across the round's slices. */
  readonly tokenOffset: number;
  readonly poolLength: number;
}

/**
 * One round of one framework: its configurations' servers measured in slices that take turns (the
 * order changing each slice: see turnOrder), so a burst of other work on the machine falls on every configuration
 * alike. A reused-token slice is sized from a warm-up's rate to last about `durationSec / slices`; a
 * fresh-token slice sends its share of the round's token set.
 */
async function runRound(
  group: readonly Config[],
  round: number,
  context: RoundContext,
): Promise<{ figures: Map<string, HttpRoundFigures>; sliceSamples: Map<string, SliceSample[]> }> {
  const { settings, apps, load, authorization, tokenOffset, poolLength } = context;
  const slices = round < 0 ? 2 : HTTP_SLICES;
  const appOf = (config: Config): RunningApp => apps.get(config) as RunningApp;
  const sliceAmounts: number[] = [];
  for (const config of group) {
    if (config.fresh) {
      sliceAmounts.push(0);
      continue;
    }
    // The rate now, on this server: it sizes the reused-token slices of this round.
    const warm = await load.run({
      url: appOf(config).url,
      connections: settings.connections,
      amount: settings.warmupRequests,
      authorization,
    });
    const sliceSec = settings.durationSec / HTTP_SLICES;
    sliceAmounts.push(Math.max(settings.connections * 5, Math.round(warm.requestsPerSec * sliceSec)));
  }
  const totals = group.map(() => ({
    requests: 0,
    seconds: 0,
    cpuUs: 0,
    p50: [] as number[],
    p99: [] as number[],
    slices: [] as SliceSample[],
  }));
  const freshPerSlice = Math.floor((round < 0 ? Math.min(300, poolLength) : poolLength) / slices);
  for (let slice = 0; slice < slices; slice++) {
    await settleBetweenSlices();
    for (let turn = 0; turn < group.length; turn++) {
      const index = turnOrder(turn, slice, round, group.length, slices);
      const config = group[index] as Config;
      // The servers run in this process: the garbage the previous slice left is collected before this
      // one, as in-process slices do, not by whoever runs next.
      collectYoungGarbage();
      const cpuBefore = process.cpuUsage();
      const result = await load.run({
        url: appOf(config).url,
        connections: settings.connections,
        authorization,
        ...(config.fresh
          ? { freshTokens: true, tokenOffset: tokenOffset + slice * freshPerSlice, amount: freshPerSlice }
          : { amount: sliceAmounts[index] as number }),
      });
      const cpu = process.cpuUsage(cpuBefore);
      if (result.non2xx > 0 || result.errors > 0) {
        throw new Error(
          `${config.framework} / ${config.label}: ${result.non2xx} non-2xx responses, ${result.errors} errors`,
        );
      }
      const total = totals[index] as (typeof totals)[number];
      total.requests += result.total;
      total.seconds += result.total / result.requestsPerSec;
      total.cpuUs += cpu.user + cpu.system;
      total.p50.push(result.p50Ms);
      total.p99.push(result.p99Ms);
      total.slices.push({ round, slice, ops: result.total, seconds: result.total / result.requestsPerSec });
    }
  }
  const figures = new Map(
    group.map((config, index) => {
      const total = totals[index] as (typeof totals)[number];
      return [
        config.label,
        {
          requests: total.requests,
          requestsPerSec: total.requests / total.seconds,
          cpuUsPerRequest: total.cpuUs / total.requests,
          p50Ms: median(total.p50),
          p99Ms: median(total.p99),
        },
      ];
    }),
  );
  const sliceSamples = new Map(group.map((config, index) => [config.label, totals[index]?.slices ?? []]));
  return { figures, sliceSamples };
}
