import { constants, createHmac, timingSafeEqual, verify } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { createValidator, type Validator } from '@tokenguard/core';
import { JwtVerifier } from 'aws-jwt-verify';
import { createVerifier } from 'fast-jwt';
import { importJWK, jwtVerify } from 'jose';
import jsonwebtoken from 'jsonwebtoken';
import {
  type Contender,
  interleaveSlices,
  type Rates,
  type RunRatio,
  ratesOf,
  runRatio,
  SLICES_PER_ROUND,
  type SliceSamples,
  settleBetweenSlices,
} from '../lib/measure.js';
import { inProcessVerdict, preflight, preflightTokens, SIGNATURE_CASES } from '../lib/preflight.js';
import { type Table, withRatio } from '../lib/report.js';
import {
  AUDIENCE,
  BENCH_ALGORITHMS,
  type BenchAlgorithm,
  type BenchKey,
  generateBenchKey,
  ISSUER,
  signPool,
} from '../lib/tokens.js';

export interface ValidateSettings {
  /**
   * Distinct pre-signed tokens each fresh-token round validates, once each; every round gets other
   * tokens (the pool of each algorithm is `poolSize * (rounds + warmupRounds + 1)` tokens long).
   */
  readonly poolSize: number;
  /** Validations per repeated-token round. */
  readonly repeatOps: number;
  readonly rounds: number;
  /**
   * Rounds run before the measured ones, as they are but not recorded (default 1): V8 optimizes a
   * library's functions one by one as they get hot, tokenguard's over its first 20,000 or so fresh
   * tokens on Node 20 (`--trace-opt`; the last are small functions, optimized once they have run often), so the measured rounds see the steady state a server is in.
   */
  readonly warmupRounds?: number;
  /** Default: all of {@link BENCH_ALGORITHMS}. */
  readonly algorithms?: readonly BenchAlgorithm[];
}

export interface ValidateResult {
  readonly tables: Table[];
  /** Ops/s over the whole run by algorithm, then by contender name (see runRatio). */
  readonly rates: Map<BenchAlgorithm, Rates>;
  /** Every measured slice's operations and time by algorithm, then by contender: what rates come from. */
  readonly slices: Map<BenchAlgorithm, SliceSamples>;
}

/**
 * The ratio of contender `name`'s ops/s to `base`'s for `alg` over the whole run ({@link runRatio});
 * `NaN` when either was not measured.
 *
 * @example
 * ```ts
 * const versusFloor = validateRatio(result, 'RS256', TG_FRESH, FLOOR).value;
 * ```
 */
export function validateRatio(
  result: ValidateResult,
  alg: BenchAlgorithm,
  name: string,
  base: string,
): RunRatio {
  const slices = result.slices.get(alg);
  return runRatio(slices?.get(name), slices?.get(base));
}

export const FLOOR = 'floor: node:crypto verify + claims decode';
export const TG_FRESH = 'tokenguard validate(), fresh tokens';
export const TG_REPEATED = 'tokenguard validate(), repeated token';
export const FASTJWT_CACHE_REPEATED = 'fast-jwt with cache, repeated token';
const TG_OFF_THREAD_SERIAL = 'tokenguard verifyOffThread, fresh tokens, one at a time';
/** Validations the batched off-thread row keeps in flight (the default OFF_THREAD_MAX_IN_FLIGHT). */
const IN_FLIGHT = 16;
const TG_OFF_THREAD_BATCH = `tokenguard verifyOffThread, fresh tokens, ${IN_FLIGHT} in flight`;
const JOSE = 'jose jwtVerify';
export const FASTJWT = 'fast-jwt, no cache';
const FASTJWT_CACHE_FRESH = 'fast-jwt with cache, fresh tokens';
export const AWS = 'aws-jwt-verify verifySync';
const JSONWEBTOKEN = 'jsonwebtoken verify';

const ROW_ORDER = [
  FLOOR,
  TG_FRESH,
  TG_OFF_THREAD_SERIAL,
  TG_OFF_THREAD_BATCH,
  JOSE,
  FASTJWT,
  FASTJWT_CACHE_FRESH,
  AWS,
  JSONWEBTOKEN,
  TG_REPEATED,
  FASTJWT_CACHE_REPEATED,
];

/**
 * A contender with the verifier its preflight tries: the object that is measured (repeated-token
 * rows), or one made the way the measured one is (fresh-token rows, whose measured verifier is made
 * once, before the rounds, and kept through all of them).
 */
export interface CheckedContender extends Contender {
  verifier(): Promise<(token: string) => unknown> | ((token: string) => unknown);
  /** The floor checks the signature alone, by design. */
  readonly signatureOnly?: boolean;
}

/** node:crypto's synchronous verify with a cached KeyObject, plus decoding the claims: nothing is cheaper. */
function floorVerifier(key: BenchKey): (token: string) => unknown {
  const pss = { key: key.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
  const ec = { key: key.publicKey, dsaEncoding: 'ieee-p1363' as const };
  const check = (input: Buffer, signature: Buffer): boolean => {
    switch (key.alg) {
      case 'RS256':
        return verify('sha256', input, key.publicKey, signature);
      case 'PS256':
        return verify('sha256', input, pss, signature);
      case 'ES256':
        return verify('sha256', input, ec, signature);
      case 'EdDSA':
        return verify(null, input, key.publicKey, signature);
      case 'HS256': {
        const mac = createHmac('sha256', key.publicKey).update(input).digest();
        return mac.length === signature.length && timingSafeEqual(mac, signature);
      }
    }
  };
  return (token) => {
    const first = token.indexOf('.');
    const second = token.lastIndexOf('.');
    const ok = check(
      Buffer.from(token.slice(0, second), 'latin1'),
      Buffer.from(token.slice(second + 1), 'base64url'),
    );
    if (!ok) throw new Error('floor: bad signature');
    return JSON.parse(Buffer.from(token.slice(first + 1, second), 'base64url').toString('utf8'));
  };
}

function tokenguardFor(key: BenchKey, verifyOffThread = false): Validator {
  return key.alg === 'HS256'
    ? createValidator({
        issuer: ISSUER,
        audience: AUDIENCE,
        secret: key.secret as Buffer,
        algorithms: ['HS256'],
      })
    : createValidator({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [key.jwk] }, verifyOffThread });
}

/**
 * Fresh tokens through one verifyOffThread validator (built once, as a server builds it), `IN_FLIGHT`
 * validations awaited together; each round takes the next of `rounds`' token sets.
 */
function offThreadBatches(key: BenchKey, rounds: RoundTokens): CheckedContender {
  let validator: Validator | undefined;
  return {
    name: TG_OFF_THREAD_BATCH,
    verifier() {
      const preflighted = tokenguardFor(key, true);
      return (token) => preflighted.validate(token);
    },
    prepare() {
      validator ??= tokenguardFor(key, true);
      const measured = validator;
      const tokens = rounds.next();
      return {
        ops: tokens.length,
        run: async (start, end) => {
          for (let i = start; i < end; i += IN_FLIGHT) {
            await Promise.all(tokens.slice(i, Math.min(i + IN_FLIGHT, end)).map((t) => measured.validate(t)));
          }
        },
      };
    },
  };
}

/**
 * The token sets of the fresh-token rounds: the pool cut into sets of `size`, handed out in turn (after
 * the last, the first again). Each contender has its own, so every contender validates the same
 * tokens in the same round, and with `pool` as long as the rounds need, never a token twice.
 */
interface RoundTokens {
  next(): readonly string[];
}

function roundTokens(pool: readonly string[], size: number): RoundTokens {
  const sets = Math.max(1, Math.floor(pool.length / size));
  let turn = 0;
  return {
    next() {
      const start = (turn++ % sets) * size;
      return pool.slice(start, start + size);
    },
  };
}

/**
 * A contender that runs `each` over the next token set of the pool once per round. `setup` runs once
 * for the measured verifier (the rounds share it, as a server's requests share one) and again for each
 * preflight.
 */
function overPool(
  name: string,
  pool: readonly string[],
  size: number,
  setup: () => Promise<(token: string) => unknown> | ((token: string) => unknown),
  isAsync: boolean,
  signatureOnly = false,
): CheckedContender {
  const rounds = roundTokens(pool, size);
  let measured: Promise<(token: string) => unknown> | undefined;
  return {
    name,
    signatureOnly,
    verifier: setup,
    async prepare() {
      measured ??= Promise.resolve(setup());
      const each = await measured;
      const tokens = rounds.next();
      return {
        ops: tokens.length,
        run: isAsync
          ? async (start, end) => {
              for (let i = start; i < end; i++) await each(tokens[i] as string);
            }
          : (start, end) => {
              for (let i = start; i < end; i++) each(tokens[i] as string);
            },
      };
    },
  };
}

/** A contender that validates one token `ops` times per round. */
function repeated(
  name: string,
  token: string,
  ops: number,
  each: (token: string) => unknown,
  isAsync: boolean,
): CheckedContender {
  return {
    name,
    verifier: () => each,
    prepare: () => ({
      ops,
      run: isAsync
        ? async (start, end) => {
            for (let i = start; i < end; i++) await each(token);
          }
        : (start, end) => {
            for (let i = start; i < end; i++) each(token);
          },
    }),
  };
}

/** The in-process contenders of `key`'s algorithm, as measured, each with its preflight's verifier. */
export async function contendersFor(
  key: BenchKey,
  pool: readonly string[],
  settings: ValidateSettings,
): Promise<CheckedContender[]> {
  const { alg } = key;
  const size = Math.min(settings.poolSize, pool.length);
  const fastKey = alg === 'HS256' ? (key.secret as Buffer) : key.publicPem;
  const fastOptions = { key: fastKey, algorithms: [alg], allowedIss: ISSUER, allowedAud: AUDIENCE };
  const joseKey =
    alg === 'HS256' ? new Uint8Array(key.secret as Buffer) : await importJWK(key.jwk as never, alg);
  const joseOptions = { issuer: ISSUER, audience: AUDIENCE, algorithms: [alg] };
  const list: CheckedContender[] = [
    overPool(FLOOR, pool, size, () => floorVerifier(key), false, true),
    // One validator for every round, sent other tokens in each: every token is a miss (and, seen
    // once, is not stored: the cache admits a token on its second verification).
    overPool(
      TG_FRESH,
      pool,
      size,
      () => {
        const validator = tokenguardFor(key);
        return (token) => validator.validate(token);
      },
      true,
    ),
    overPool(JOSE, pool, size, () => (token) => jwtVerify(token, joseKey, joseOptions), true),
    overPool(FASTJWT, pool, size, () => createVerifier({ ...fastOptions, cache: false }), false),
    overPool(FASTJWT_CACHE_FRESH, pool, size, () => createVerifier({ ...fastOptions, cache: true }), false),
  ];
  if (alg !== 'HS256') {
    // HMAC is verified inline whatever the option says: no off-thread rows for HS256.
    list.push(
      overPool(
        TG_OFF_THREAD_SERIAL,
        pool,
        size,
        () => {
          const validator = tokenguardFor(key, true);
          return (token) => validator.validate(token);
        },
        true,
      ),
      offThreadBatches(key, roundTokens(pool, size)),
    );
  }
  if (alg !== 'HS256' && alg !== 'PS256') {
    list.push(
      overPool(
        AWS,
        pool,
        size,
        () => {
          const verifier = JwtVerifier.create({
            issuer: ISSUER,
            audience: AUDIENCE,
            jwksUri: `${ISSUER}/jwks.json`,
          });
          verifier.cacheJwks({ keys: [key.jwk as never] });
          return (token) => verifier.verifySync(token);
        },
        false,
      ),
    );
  }
  if (alg !== 'EdDSA') {
    const secretOrPem = alg === 'HS256' ? (key.secret as Buffer) : key.publicPem;
    const options = { algorithms: [alg], issuer: ISSUER, audience: AUDIENCE } as jsonwebtoken.VerifyOptions;
    list.push(
      overPool(
        JSONWEBTOKEN,
        pool,
        size,
        () => (token) => jsonwebtoken.verify(token, secretOrPem, options),
        false,
      ),
    );
  }
  const token = pool[0] as string;
  const validator = tokenguardFor(key);
  await validator.validate(token);
  list.push(repeated(TG_REPEATED, token, settings.repeatOps, (t) => validator.validate(t), true));
  const cached = createVerifier({ ...fastOptions, cache: true });
  cached(token);
  list.push(repeated(FASTJWT_CACHE_REPEATED, token, settings.repeatOps, cached, false));
  return list;
}

function warmupRoundsOf(settings: ValidateSettings): number {
  return settings.warmupRounds ?? 1;
}

/** In-process validations per second for each algorithm and contender, as ratios of the floor. */
export async function runValidateScenarios(settings: ValidateSettings): Promise<ValidateResult> {
  const rates = new Map<BenchAlgorithm, Rates>();
  const slices = new Map<BenchAlgorithm, SliceSamples>();
  const algorithms = settings.algorithms ?? BENCH_ALGORITHMS;
  const prepared: { alg: BenchAlgorithm; contenders: CheckedContender[] }[] = [];
  for (const alg of algorithms) {
    const key = generateBenchKey(alg);
    // A token set per round (and for the warm-up rounds and the check below): no token is seen twice.
    const pool = signPool(key, settings.poolSize * (settings.rounds + warmupRoundsOf(settings) + 1));
    const contenders = await contendersFor(key, pool, settings);
    await preflightAll(key, contenders);
    prepared.push({ alg, contenders });
  }
  console.error(preflightLine(prepared));
  for (const { alg, contenders } of prepared) {
    // Makes the fresh-token rows' measured verifiers (this spends the first token set) and checks that
    // every contender has work; the preflight above proved the verdicts.
    for (const contender of contenders) {
      const work = await contender.prepare();
      if (work.ops === 0) throw new Error(`${contender.name}: no work`);
    }
    const samples = await interleaveSlices(
      contenders,
      settings.rounds,
      settleBetweenSlices,
      warmupRoundsOf(settings),
    );
    slices.set(alg, samples);
    rates.set(alg, ratesOf(samples));
  }
  const rows = ROW_ORDER.map((name) => [
    name,
    ...algorithms.map((alg) => {
      const bySlice = slices.get(alg);
      return withRatio(rates.get(alg)?.get(name), runRatio(bySlice?.get(name), bySlice?.get(FLOOR)).value);
    }),
  ]);
  return {
    rates,
    slices,
    tables: [
      {
        title: 'In-process validation, ops/s (ratio to the floor)',
        columns: ['contender', ...algorithms],
        rows,
        notes: [
          `Wall-clock ops/s over ${settings.rounds} rounds together (each contender's operations over its time), the ratio to the floor their quotient; ${warmupRoundsOf(settings)} unrecorded warm-up round${warmupRoundsOf(settings) === 1 ? '' : 's'} first, run as the measured ones are, so that V8 has optimized every contender's code (tokenguard's functions are optimized one by one over its first 20,000 or so fresh tokens on Node 20, which its four contenders reach together in the warm-up rounds); within a round the contenders take turns in ${SLICES_PER_ROUND} slices, in orders where within a slice each follows each other one equally often (a Williams design), each round started after a full GC, each slice after the same untimed spacer (a young-generation GC, 8 MiB written over, pending callbacks run) and each turn after a young-generation GC. Fresh-token rows validate ${settings.poolSize} pre-signed tokens per round, other tokens in every round: each contender builds its verifier once and keeps it for every round, as a server keeps one for every request, and never sees a token twice, so no cache hit (tokenguard stores a token in its cache from its second verification on, so these leave only a fingerprint; fast-jwt's cache stores each and evicts the oldest); repeated-token rows validate one token ${settings.repeatOps.toLocaleString('en-US')} times.`,
          "Every contender but the floor checks the signature, iss, aud and exp. A preflight proves it before anything is measured: each contender (for the repeated-token rows, the very verifier measured) accepts a valid token and refuses one with a wrong iss, one with a wrong aud, one expired an hour ago and one with a changed signature, or the bench stops; the floor, which checks the signature alone by design, is held to the valid token and the changed signature. Floor: node:crypto synchronous verify with a cached KeyObject, plus base64url-decoding and JSON-parsing the claims. tokenguard verifies RS256 without `verify`: node:crypto's publicDecrypt with no padding (OpenSSL's raw public-key operation) and a byte-for-byte comparison of the whole encoded message (padding, DigestInfo and SHA-256 hash) with the one RFC 8017 §8.2.2 builds, the same verdict for less work; ES256 with `verify`, the bare key and the signature re-encoded as DER in JavaScript (node:crypto's own conversion of a raw signature, which the floor uses, costs more); PS256, EdDSA and HS256 as the floor does. n/a: the library does not support the algorithm (aws-jwt-verify: no PS256 or HS256; jsonwebtoken: no EdDSA).",
          'tokenguard and jose are awaited (asynchronous API); fast-jwt, aws-jwt-verify (verifySync) and jsonwebtoken are synchronous calls.',
          `verifyOffThread rows: the option that verifies signatures on libuv's thread pool (HS256: n/a, HMAC stays inline). "One at a time" awaits each validation before the next, as a worker that handles one message at a time would: each token also waits for the hop to a thread and back. "${IN_FLIGHT} in flight" awaits ${IN_FLIGHT} validations together, as a server with concurrent requests would: the verifications then spread over the machine's cores (${availableParallelism()} here), so it can pass the single-threaded floor.`,
        ],
      },
    ],
  };
}

/** Preflights every contender of one algorithm (see benchmarks/lib/preflight.ts); throws at the first failure. */
export async function preflightAll(key: BenchKey, contenders: readonly CheckedContender[]): Promise<void> {
  const tokens = preflightTokens(key);
  for (const contender of contenders) {
    await preflight(
      {
        contender: contender.name,
        algorithm: key.alg,
        ...(contender.signatureOnly ? { cases: SIGNATURE_CASES } : {}),
        verdictOn: inProcessVerdict(await contender.verifier()),
      },
      tokens,
    );
  }
}

/** The line the bench prints once every in-process contender passed its preflight. */
function preflightLine(prepared: readonly { alg: BenchAlgorithm; contenders: CheckedContender[] }[]): string {
  const checking = prepared.flatMap(({ contenders }) => contenders.filter((c) => !c.signatureOnly));
  const names = new Set(checking.map((c) => c.name));
  const algs = prepared.map(({ alg }) => alg).join(', ');
  return `[bench] preflight: ${names.size} in-process contenders (${checking.length} contender × algorithm pairs over ${algs}) accept a valid token and refuse wrong iss, wrong aud, expired, bad signature; the floor checks the signature alone by design: it accepts the valid token and refuses the bad signature`;
}
