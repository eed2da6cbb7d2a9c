import { TokenGuardError } from './errors.js';
import { importPublicJwk, keyFitsAlgorithm, type VerificationKey } from './keys.js';
import type { Algorithm } from './lib/algorithms.js';
import { describeUrl, type HttpClient, HttpFailure } from './lib/http.js';
import { parseJsonObject } from './lib/json.js';

/** The fetch policy of a remote key set. Every field is in the unit its name says. */
export interface KeySetPolicy {
  /** Max age when the response has no usable `Cache-Control: max-age` or `Expires`. */
  defaultMaxAgeSec: number;
  /** Bounds applied to the max age the issuer announces. */
  minMaxAgeSec: number;
  maxMaxAgeSec: number;
  /** A refresh starts in the background this long before the set expires. */
  refreshAheadSec: number;
  /** After a refetch for an unknown `kid` that still lacked it, unknown `kid`s fail fast this long. */
  unknownKidCooldownSec: number;
  /** How long past its expiry the last good set is still used while the issuer cannot be reached. */
  staleIfErrorSec: number;
  /** Retry backoff after failed fetches: doubles from min to max, with jitter. */
  retryMinSec: number;
  retryMaxSec: number;
  maxResponseBytes: number;
  maxKeys: number;
  maxJsonDepth: number;
}

/** What happens to a key set, for logs and metrics. Never carries a token. */
export type KeySetEvent =
  | { type: 'fetched'; uri: string; keys: number; maxAgeSec: number; reason: FetchReason }
  | { type: 'fetch_failed'; uri: string; error: string; consecutiveFailures: number; servingStale: boolean }
  | { type: 'key_added'; uri: string; kid: string | undefined }
  | { type: 'key_removed'; uri: string; kid: string | undefined }
  | { type: 'key_skipped'; uri: string; kid: string | undefined; reason: string };

export type FetchReason = 'cold' | 'expired' | 'refresh_ahead' | 'unknown_kid' | 'warm' | 'forced' | 'retry';

/** A snapshot of a key set's state. */
export interface KeySetState {
  uri: string | undefined;
  status: 'empty' | 'fresh' | 'stale' | 'expired';
  keys: number;
  kids: (string | undefined)[];
  fetchCount: number;
  lastFetchAt: number | undefined;
  lastSuccessAt: number | undefined;
  expiresAt: number | undefined;
  consecutiveFailures: number;
  lastError: string | undefined;
  nextRetryAt: number | undefined;
  unknownKidCooldownUntil: number | undefined;
}

/** Where a validator gets verification keys: a local set, a shared secret or a remote JWKS. */
export interface KeySource {
  /** Candidate keys for `kid`/`alg` without waiting, or `undefined` when a fetch may be needed. */
  peek(kid: string | undefined, alg: Algorithm): readonly VerificationKey[] | undefined;
  /** Candidate keys, fetching if needed; throws `ERR_KEY_NOT_FOUND` or `ERR_KEYS_UNAVAILABLE`. */
  resolve(kid: string | undefined, alg: Algorithm): Promise<readonly VerificationKey[]>;
  warm(): Promise<void>;
  refresh(): Promise<void>;
  state(): KeySetState;
}

interface Snapshot {
  readonly byKid: ReadonlyMap<string | undefined, readonly VerificationKey[]>;
  readonly keys: readonly VerificationKey[];
  readonly fetchedAt: number;
  readonly expiresAt: number;
  readonly seq: number;
}

function candidates(snapshot: Snapshot, kid: string | undefined, alg: Algorithm): readonly VerificationKey[] {
  const pool = kid === undefined ? snapshot.keys : snapshot.byKid.get(kid);
  if (pool === undefined) return [];
  return pool.filter((key) => keyFitsAlgorithm(key, alg));
}

function buildSnapshot(
  keys: readonly VerificationKey[],
  fetchedAt: number,
  expiresAt: number,
  seq: number,
): Snapshot {
  const byKid = new Map<string | undefined, VerificationKey[]>();
  for (const key of keys) {
    const list = byKid.get(key.kid);
    if (list === undefined) byKid.set(key.kid, [key]);
    else list.push(key);
  }
  return { byKid, keys, fetchedAt, expiresAt, seq };
}

/**
 * A fixed key set (configured JWKS or shared secret): never fetches.
 */
export class StaticKeySource implements KeySource {
  readonly #snapshot: Snapshot;
  constructor(keys: readonly VerificationKey[]) {
    this.#snapshot = buildSnapshot(keys, 0, Number.POSITIVE_INFINITY, 1);
  }
  peek(kid: string | undefined, alg: Algorithm): readonly VerificationKey[] {
    return candidates(this.#snapshot, kid, alg);
  }
  async resolve(kid: string | undefined, alg: Algorithm): Promise<readonly VerificationKey[]> {
    const found = this.peek(kid, alg);
    if (found.length === 0) throw keyNotFound(kid, alg);
    return found;
  }
  async warm(): Promise<void> {}
  async refresh(): Promise<void> {}
  state(): KeySetState {
    return {
      uri: undefined,
      status: 'fresh',
      keys: this.#snapshot.keys.length,
      kids: this.#snapshot.keys.map((key) => key.kid),
      fetchCount: 0,
      lastFetchAt: undefined,
      lastSuccessAt: undefined,
      expiresAt: undefined,
      consecutiveFailures: 0,
      lastError: undefined,
      nextRetryAt: undefined,
      unknownKidCooldownUntil: undefined,
    };
  }
}

function keyNotFound(kid: string | undefined, alg: Algorithm): TokenGuardError {
  return new TokenGuardError('ERR_KEY_NOT_FOUND', {
    message:
      kid === undefined
        ? `No key in the issuer's key set verifies ${alg}`
        : `No key with this kid in the issuer's key set verifies ${alg}`,
  });
}

export interface RemoteKeySourceDeps {
  /** The JWKS URL, or a function that discovers it. */
  uri: string | (() => Promise<string>);
  http: HttpClient;
  policy: KeySetPolicy;
  now: () => number;
  emit: (event: KeySetEvent) => void;
  random?: () => number;
}

/**
 * The issuer's JWKS with a fetch policy: max age from `Cache-Control`/`Expires` within bounds,
 * refresh ahead of expiry in the background, one fetch in flight, an immediate refetch for an
 * unknown `kid` with a cooldown after a miss, the last good set served for a bounded time while the
 * issuer is down (with retries under backoff and jitter), then failing closed with a 503-class error.
 * No timers: all work is driven by requests, so nothing keeps a process alive.
 */
export class RemoteKeySource implements KeySource {
  readonly #deps: RemoteKeySourceDeps;
  #uri: string | undefined;
  #snapshot: Snapshot | undefined;
  #inflight: Promise<Snapshot> | undefined;
  #seq = 0;
  #fetchCount = 0;
  #lastFetchAt: number | undefined;
  #failures = 0;
  #lastError: string | undefined;
  #nextRetryAt = 0;
  #unknownKidCooldownUntil = 0;

  constructor(deps: RemoteKeySourceDeps) {
    this.#deps = deps;
    if (typeof deps.uri === 'string') this.#uri = deps.uri;
  }

  peek(kid: string | undefined, alg: Algorithm): readonly VerificationKey[] | undefined {
    const snapshot = this.#snapshot;
    if (snapshot === undefined) return undefined;
    const now = this.#deps.now();
    if (now >= snapshot.expiresAt) return undefined;
    if (now >= snapshot.expiresAt - this.#deps.policy.refreshAheadSec * 1000)
      this.#background('refresh_ahead');
    const found = candidates(snapshot, kid, alg);
    return found.length === 0 ? undefined : found;
  }

  async resolve(kid: string | undefined, alg: Algorithm): Promise<readonly VerificationKey[]> {
    const now = this.#deps.now();
    let snapshot = this.#snapshot;
    if (snapshot === undefined) {
      snapshot = await this.#fetchOrUnavailable('cold');
    } else if (now >= snapshot.expiresAt) {
      if (now < snapshot.expiresAt + this.#deps.policy.staleIfErrorSec * 1000) {
        // Stale but usable: answer now from the last good set and revalidate in the background.
        this.#background('expired');
      } else {
        snapshot = await this.#fetchOrUnavailable('expired');
      }
    } else if (now >= snapshot.expiresAt - this.#deps.policy.refreshAheadSec * 1000) {
      this.#background('refresh_ahead');
    }
    const found = candidates(snapshot, kid, alg);
    if (found.length > 0) return found;
    // Unknown kid: refetch at once (a rotated-in key passes on its first request), unless a recent
    // refetch for an unknown kid already came back without it.
    if (this.#deps.now() < this.#unknownKidCooldownUntil) throw keyNotFound(kid, alg);
    let fresh: Snapshot;
    try {
      fresh = await this.#fetch('unknown_kid');
    } catch (error) {
      throw this.#unavailable(error);
    }
    const again = candidates(fresh, kid, alg);
    if (again.length > 0) return again;
    this.#unknownKidCooldownUntil = this.#deps.now() + this.#deps.policy.unknownKidCooldownSec * 1000;
    throw keyNotFound(kid, alg);
  }

  async warm(): Promise<void> {
    await this.#fetchOrUnavailable('warm');
  }

  async refresh(): Promise<void> {
    await this.#fetchOrUnavailable('forced');
  }

  state(): KeySetState {
    const snapshot = this.#snapshot;
    const now = this.#deps.now();
    let status: KeySetState['status'] = 'empty';
    if (snapshot !== undefined) {
      if (now < snapshot.expiresAt) status = 'fresh';
      else if (now < snapshot.expiresAt + this.#deps.policy.staleIfErrorSec * 1000) status = 'stale';
      else status = 'expired';
    }
    return {
      uri: this.#uri,
      status,
      keys: snapshot?.keys.length ?? 0,
      kids: snapshot?.keys.map((key) => key.kid) ?? [],
      fetchCount: this.#fetchCount,
      lastFetchAt: this.#lastFetchAt,
      lastSuccessAt: snapshot?.fetchedAt,
      expiresAt: snapshot?.expiresAt,
      consecutiveFailures: this.#failures,
      lastError: this.#lastError,
      nextRetryAt: this.#failures > 0 ? this.#nextRetryAt : undefined,
      unknownKidCooldownUntil:
        now < this.#unknownKidCooldownUntil ? this.#unknownKidCooldownUntil : undefined,
    };
  }

  #background(reason: FetchReason): void {
    if (this.#inflight !== undefined || this.#deps.now() < this.#nextRetryAt) return;
    this.#fetch(reason).catch(() => {
      // Reported through the fetch_failed event and state(); requests keep the last good set.
    });
  }

  async #fetchOrUnavailable(reason: FetchReason): Promise<Snapshot> {
    try {
      return await this.#fetch(reason);
    } catch (error) {
      throw this.#unavailable(error);
    }
  }

  #unavailable(error: unknown): TokenGuardError {
    if (error instanceof TokenGuardError) return error;
    const retryAfterSec = Math.max(1, Math.ceil((this.#nextRetryAt - this.#deps.now()) / 1000));
    return new TokenGuardError('ERR_KEYS_UNAVAILABLE', { cause: error, retryAfterSec });
  }

  /** One fetch in flight; during backoff, callers fail fast instead of hammering the issuer. */
  #fetch(reason: FetchReason): Promise<Snapshot> {
    if (this.#inflight !== undefined) return this.#inflight;
    if (reason !== 'forced' && this.#deps.now() < this.#nextRetryAt) {
      return Promise.reject(new HttpFailure('network', `retrying after ${this.#lastError ?? 'a failure'}`));
    }
    const seq = ++this.#seq;
    const run = this.#load(seq, reason).finally(() => {
      if (this.#inflight === run) this.#inflight = undefined;
    });
    this.#inflight = run;
    return run;
  }

  async #load(seq: number, reason: FetchReason): Promise<Snapshot> {
    const { http, policy, now, emit } = this.#deps;
    let uri = this.#uri;
    try {
      if (uri === undefined) {
        uri = await (this.#deps.uri as () => Promise<string>)();
        this.#uri = uri;
      }
      this.#fetchCount++;
      this.#lastFetchAt = now();
      const response = await http.request(uri, {
        headers: { accept: 'application/jwk-set+json, application/json' },
        maxBytes: policy.maxResponseBytes,
      });
      if (response.status !== 200)
        throw new HttpFailure('status', `${describeUrl(uri)} answered ${response.status}`);
      const contentType = response.header('content-type');
      if (contentType !== undefined && !/json/i.test(contentType)) {
        throw new HttpFailure(
          'content_type',
          `${describeUrl(uri)} answered ${contentType.split(';')[0]}, not JSON`,
        );
      }
      const keys = this.#parse(uri, response.text);
      const fetchedAt = now();
      const maxAgeSec = clamp(
        maxAgeFromHeaders(response.header('cache-control'), response.header('expires'), fetchedAt) ??
          policy.defaultMaxAgeSec,
        policy.minMaxAgeSec,
        policy.maxMaxAgeSec,
      );
      const snapshot = buildSnapshot(keys, fetchedAt, fetchedAt + maxAgeSec * 1000, seq);
      // An older fetch never overwrites a newer set.
      if (this.#snapshot === undefined || this.#snapshot.seq < seq) {
        const previous = this.#snapshot;
        this.#snapshot = snapshot;
        this.#failures = 0;
        this.#lastError = undefined;
        this.#nextRetryAt = 0;
        emit({ type: 'fetched', uri, keys: keys.length, maxAgeSec, reason });
        if (previous !== undefined) diffKeys(uri, previous.keys, keys, emit);
        else for (const key of keys) emit({ type: 'key_added', uri, kid: key.kid });
      }
      return this.#snapshot;
    } catch (error) {
      this.#failures++;
      this.#lastError = error instanceof Error ? error.message : 'unknown error';
      const backoff = Math.min(policy.retryMaxSec, policy.retryMinSec * 2 ** (this.#failures - 1));
      const jitter = 0.5 + 0.5 * (this.#deps.random ?? Math.random)();
      this.#nextRetryAt = now() + backoff * jitter * 1000;
      const servingStale =
        this.#snapshot !== undefined && now() < this.#snapshot.expiresAt + policy.staleIfErrorSec * 1000;
      emit({
        type: 'fetch_failed',
        uri: uri === undefined ? 'discovery' : describeUrl(uri),
        error: this.#lastError,
        consecutiveFailures: this.#failures,
        servingStale,
      });
      throw error;
    }
  }

  #parse(uri: string, text: string): VerificationKey[] {
    const { policy, emit } = this.#deps;
    const document = parseJsonObject(text, { maxDepth: policy.maxJsonDepth });
    if (document === undefined || !Array.isArray(document.keys)) {
      throw new HttpFailure('content_type', `${describeUrl(uri)} did not answer a JSON Web Key Set`);
    }
    if (document.keys.length > policy.maxKeys) {
      throw new HttpFailure(
        'too_large',
        `${describeUrl(uri)} lists ${document.keys.length} keys, over ${policy.maxKeys}`,
      );
    }
    const keys: VerificationKey[] = [];
    for (const jwk of document.keys) {
      const result = importPublicJwk(jwk);
      if (result.ok) keys.push(result.key);
      else emit({ type: 'key_skipped', uri, kid: result.kid, reason: result.reason });
    }
    return keys;
  }
}

function diffKeys(
  uri: string,
  before: readonly VerificationKey[],
  after: readonly VerificationKey[],
  emit: (event: KeySetEvent) => void,
): void {
  const identity = (key: VerificationKey) =>
    `${key.kid ?? ''}\u0000${key.keyObject.export({ format: 'jwk' }).n ?? key.keyObject.export({ format: 'jwk' }).x ?? ''}`;
  const beforeIds = new Set(before.map(identity));
  const afterIds = new Set(after.map(identity));
  for (const key of after) if (!beforeIds.has(identity(key))) emit({ type: 'key_added', uri, kid: key.kid });
  for (const key of before)
    if (!afterIds.has(identity(key))) emit({ type: 'key_removed', uri, kid: key.kid });
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** Seconds from `Cache-Control: max-age` (preferred) or `Expires`; `no-store`/`no-cache` mean 0. */
export function maxAgeFromHeaders(
  cacheControl: string | undefined,
  expires: string | undefined,
  nowMs: number,
): number | undefined {
  if (cacheControl !== undefined) {
    const directives = cacheControl.toLowerCase();
    if (/(^|[,\s])(no-store|no-cache)([,\s=]|$)/.test(directives)) return 0;
    const match = /(?:^|[,\s])max-age\s*=\s*"?(\d+)"?/.exec(directives);
    if (match !== null) return Number(match[1]);
  }
  if (expires !== undefined) {
    const at = Date.parse(expires);
    if (!Number.isNaN(at)) return Math.max(0, (at - nowMs) / 1000);
  }
  return undefined;
}
