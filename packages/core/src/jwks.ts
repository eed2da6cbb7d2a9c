import { TokenGuardError } from './errors.js';
import { IMPORTED_JWK_MEMBERS, importPublicJwk, keyFitsAlgorithm, type VerificationKey } from './keys.js';
import type { Algorithm } from './lib/algorithms.js';
import { describeUrl, type HttpClient, HttpFailure } from './lib/http.js';
import { jsonObjectRefusal, parseJsonObject } from './lib/json.js';

/**
 * The fetch policy of a remote key set. Every field is in the unit its name says; `KEYSET.md` gives
 * the reason for each default next to what jose, Spring and ASP.NET chose.
 *
 * @example
 * ```ts
 * createValidator({ issuer, audience, keySet: { staleIfErrorSec: 7200, unknownKidCooldownSec: 30 } });
 * ```
 */
export interface KeySetPolicy {
  /** Max age when the response has no usable `Cache-Control: max-age` or `Expires`. Default 600. */
  defaultMaxAgeSec: number;
  /** Lower bound on the max age the issuer announces (`no-cache` counts as 0). Default 60. */
  minMaxAgeSec: number;
  /** Upper bound on the max age the issuer announces. Default 86400. */
  maxMaxAgeSec: number;
  /**
   * A refresh starts in the background this long before the set expires (and never before half
   * its max age), so no request waits for a fetch in steady state. Default 30.
   */
  refreshAheadSec: number;
  /**
   * After a fetch that still lacked a requested `kid`, unknown `kid`s fail fast (401) this long
   * instead of fetching again: a storm of random `kid`s costs at most one fetch per window. 0 turns
   * the cooldown off (concurrent misses still share one fetch). Default 10.
   */
  unknownKidCooldownSec: number;
  /** How long past its expiry the last good set is still used while the issuer cannot be reached. Default 3600. */
  staleIfErrorSec: number;
  /** Retry backoff after failed fetches: doubles from min to max, times a jitter in [0.5, 1]. Defaults 1 and 60. */
  retryMinSec: number;
  retryMaxSec: number;
  /** Largest JWKS response accepted, in bytes; larger bodies are cut off while streaming. Default 131072. */
  maxResponseBytes: number;
  /** Most keys a JWKS may list; a longer set is refused as a whole. Default 100. */
  maxKeys: number;
  /** Deepest JSON nesting accepted in the JWKS (and discovery) document. Default 8. */
  maxJsonDepth: number;
}

/**
 * What happens to a key set, for logs and metrics: what a key source reports, with the `issuer`
 * whose key set it is (a tenant's own issuer for an issuer template). Never carries a token.
 *
 * @example
 * ```ts
 * validator.on((event) => {
 *   if (event.type === 'fetch_failed') log.warn(event, `JWKS fetch failed for ${event.issuer}`);
 * });
 * ```
 */
export type KeySetEvent = KeySourceEvent & { issuer: string };

/**
 * What a key source reports of its key set; the validator adds the issuer ({@link KeySetEvent}).
 *
 * @example
 * ```ts
 * const event: KeySourceEvent = { type: 'key_added', uri: 'https://id.example/jwks', kid: 'k1' };
 * ```
 */
export type KeySourceEvent =
  | { type: 'fetched'; uri: string; keys: number; maxAgeSec: number; reason: FetchReason }
  | { type: 'fetch_failed'; uri: string; error: string; consecutiveFailures: number; servingStale: boolean }
  | { type: 'key_added'; uri: string; kid: string | undefined }
  | { type: 'key_removed'; uri: string; kid: string | undefined }
  | { type: 'key_skipped'; uri: string; kid: string | undefined; reason: string };

/**
 * Why a key set was fetched.
 *
 * @example
 * ```ts
 * const reason: FetchReason = 'unknown_kid';
 * ```
 */
export type FetchReason = 'cold' | 'expired' | 'refresh_ahead' | 'unknown_kid' | 'warm' | 'forced' | 'retry';

/**
 * A snapshot of a key set's state. Times are milliseconds on the validator's clock.
 *
 * @example
 * ```ts
 * const keySet = validator.state().issuers[0]?.keySet; // the first issuer's
 * if (keySet?.status === 'expired') log.warn(keySet.consecutiveFailures, keySet.lastError);
 * ```
 */
export interface KeySetState {
  /** The JWKS URL's origin and path (never its query or user info); `undefined` until discovered. */
  uri: string | undefined;
  /**
   * `empty` before the first set; `fresh` within max age; `stale` past it, refetched by the next request
   * that needs a key (while the issuer fails, still used up to `staleIfErrorSec` past max age);
   * `expired` past that too, with its last refetch failed: requests that need it get a 503 until the
   * issuer answers. An idle set past both, which no request has tried to refetch, is `stale`: nothing
   * says the issuer is down.
   */
  status: 'empty' | 'fresh' | 'stale' | 'expired';
  keys: number;
  kids: (string | undefined)[];
  /** HTTP requests made for this key set (discovery excluded). */
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
  /**
   * For answers derived from this set without `peek` (the verified-token cache): starts a background
   * refresh when one is due, and returns `false` once the set is past its max age, so the answer is
   * re-derived (and a removed key stops passing) rather than reused. `now`: the clock's reading the
   * caller already took.
   */
  touch(now?: number): boolean;
  warm(): Promise<void>;
  refresh(): Promise<void>;
  state(): KeySetState;
}

/**
 * The candidate keys for `kid`/`alg`: synchronously when the set already holds them (no await on the
 * hot path), else through {@link KeySource.resolve}, which may fetch and throws `ERR_KEY_NOT_FOUND`
 * or `ERR_KEYS_UNAVAILABLE`. An empty answer never comes back: no candidate is a rejection.
 */
export function findKeys(
  source: KeySource,
  kid: string | undefined,
  alg: Algorithm,
): readonly VerificationKey[] | Promise<readonly VerificationKey[]> {
  const peeked = source.peek(kid, alg);
  // An empty peek (a static set without that kid) must still end in ERR_KEY_NOT_FOUND.
  return peeked !== undefined && peeked.length > 0 ? peeked : source.resolve(kid, alg);
}

interface Snapshot {
  readonly byKid: ReadonlyMap<string | undefined, readonly VerificationKey[]>;
  readonly keys: readonly VerificationKey[];
  /** Key identities (kid and public material), parallel to `keys`, to report additions and removals. */
  readonly ids: readonly string[];
  readonly fetchedAt: number;
  readonly refreshAt: number;
  readonly expiresAt: number;
  readonly seq: number;
}

/**
 * Keys sharing a `kid` (or, without a `kid`, every key) are all candidates, in JWKS order, filtered
 * by fit with `alg`; the validator accepts the first one that verifies. The order never depends on
 * timing, so duplicate `kid`s are handled deterministically.
 */
function candidates(snapshot: Snapshot, kid: string | undefined, alg: Algorithm): readonly VerificationKey[] {
  const pool = kid === undefined ? snapshot.keys : snapshot.byKid.get(kid);
  if (pool === undefined) return [];
  // Usually every candidate fits (one key per kid): the list itself, not a copy per token.
  return pool.every((key) => keyFitsAlgorithm(key, alg))
    ? pool
    : pool.filter((key) => keyFitsAlgorithm(key, alg));
}

function buildSnapshot(
  keys: readonly VerificationKey[],
  ids: readonly string[],
  times: { fetchedAt: number; refreshAt: number; expiresAt: number },
  seq: number,
): Snapshot {
  const byKid = new Map<string | undefined, VerificationKey[]>();
  for (const key of keys) {
    const list = byKid.get(key.kid);
    if (list === undefined) byKid.set(key.kid, [key]);
    else list.push(key);
  }
  return { byKid, keys, ids, ...times, seq };
}

/**
 * A fixed key set (configured JWKS or shared secret): never fetches.
 *
 * @example
 * ```ts
 * const source = new StaticKeySource([importSecret(secret)]);
 * ```
 */
export class StaticKeySource implements KeySource {
  readonly #snapshot: Snapshot;
  constructor(keys: readonly VerificationKey[]) {
    const forever = Number.POSITIVE_INFINITY;
    this.#snapshot = buildSnapshot(
      keys,
      keys.map(() => ''),
      { fetchedAt: 0, refreshAt: forever, expiresAt: forever },
      1,
    );
  }
  peek(kid: string | undefined, alg: Algorithm): readonly VerificationKey[] {
    return candidates(this.#snapshot, kid, alg);
  }
  async resolve(kid: string | undefined, alg: Algorithm): Promise<readonly VerificationKey[]> {
    const found = this.peek(kid, alg);
    if (found.length === 0) throw keyNotFound(kid, alg);
    return found;
  }
  touch(): boolean {
    return true;
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

/** What a {@link RemoteKeySource} needs; the validator wires it from its options. */
export interface RemoteKeySourceDeps {
  /**
   * The JWKS URL, or a function that discovers it: asked again, with `rediscover`, after a fetch
   * from the URL it gave failed (the issuer may have moved its key set).
   */
  uri: string | ((rediscover: boolean) => Promise<string>);
  http: HttpClient;
  policy: KeySetPolicy;
  now: () => number;
  emit: (event: KeySourceEvent) => void;
  /** Source of the retry jitter, in [0, 1). Default `Math.random`. */
  random?: () => number;
}

/**
 * The issuer's JWKS with a fetch policy: max age from `Cache-Control`/`Expires` within bounds,
 * refresh ahead of expiry in the background, one fetch in flight, an immediate refetch for an
 * unknown `kid` with a cooldown after a miss, the last good set served for a bounded time while the
 * issuer is down (with retries under backoff and jitter), then failing closed with a 503-class error.
 * No timers: all work is driven by requests, so nothing keeps a process alive.
 *
 * There is no separate "minimum interval" between fetches on top of the miss cooldown: a token with a
 * rotated-in `kid` that arrives right after a fetch (e.g. just after `warm()`) must still be accepted
 * on its first request, and the cooldown alone already bounds a storm to one fetch per window. The one
 * case where a refetch cannot help (the set was fetched for this very request) skips it.
 *
 * @example
 * ```ts
 * const source = new RemoteKeySource({ uri, http, policy: DEFAULT_KEY_SET_POLICY, now: Date.now, emit });
 * const keys = await source.resolve('key-2025', 'RS256');
 * ```
 */
export class RemoteKeySource implements KeySource {
  readonly #deps: RemoteKeySourceDeps;
  #uri: string | undefined;
  /** A discovered URL failed: discovery is asked again before the next fetch. */
  #rediscover = false;
  #snapshot: Snapshot | undefined;
  #inflight: Promise<Snapshot> | undefined;
  /** Why the fetch in flight was started. */
  #inflightReason: FetchReason | undefined;
  #seq = 0;
  #fetchCount = 0;
  #lastFetchAt: number | undefined;
  #failures = 0;
  #lastError: string | undefined;
  #nextRetryAt = 0;
  #unknownKidCooldownUntil = 0;
  /** The keys of the last set parsed, by everything their import read: a refetch reuses them. */
  #imported = new Map<string, VerificationKey>();

  constructor(deps: RemoteKeySourceDeps) {
    this.#deps = deps;
    if (typeof deps.uri === 'string') this.#uri = deps.uri;
  }

  peek(kid: string | undefined, alg: Algorithm): readonly VerificationKey[] | undefined {
    const snapshot = this.#snapshot;
    if (snapshot === undefined) return undefined;
    const now = this.#deps.now();
    if (now >= snapshot.expiresAt) return undefined;
    if (now >= snapshot.refreshAt) this.#background('refresh_ahead');
    const found = candidates(snapshot, kid, alg);
    return found.length === 0 ? undefined : found;
  }

  touch(now = this.#deps.now()): boolean {
    const snapshot = this.#snapshot;
    if (snapshot === undefined) return false;
    if (now >= snapshot.expiresAt) return false;
    if (now >= snapshot.refreshAt) this.#background('refresh_ahead');
    return true;
  }

  async resolve(kid: string | undefined, alg: Algorithm): Promise<readonly VerificationKey[]> {
    // The fetches whose answer can say this request's key is not published: those that leave after it
    // came, and an unknown-kid fetch already in flight (a storm of random kids shares one fetch; a key
    // rotated in while it is out waits for the cooldown). Any other fetch in flight (refresh ahead, cold
    // start, revalidation) may have left before the key was published: one more fetch then.
    const firstFreshSeq =
      this.#inflight !== undefined && this.#inflightReason === 'unknown_kid' ? this.#seq : this.#seq + 1;
    const snapshot = await this.#current();
    const found = candidates(snapshot, kid, alg);
    if (found.length > 0) return found;
    // Unknown kid: refetch at once (a rotated-in key passes on its first request), unless a recent
    // fetch already came back without a requested kid, or the set was fetched after this request came.
    if (snapshot.seq < firstFreshSeq) {
      if (this.#deps.now() < this.#unknownKidCooldownUntil) throw keyNotFound(kid, alg);
      let fresh: Snapshot;
      try {
        fresh = await this.#fetch('unknown_kid');
        // Joined a fetch that left before this request for another reason: one more, shared by every
        // request in that case.
        if (fresh.seq < firstFreshSeq && candidates(fresh, kid, alg).length === 0) {
          fresh = await this.#fetch('unknown_kid');
        }
      } catch (error) {
        throw this.#unavailable(error);
      }
      const again = candidates(fresh, kid, alg);
      if (again.length > 0) return again;
    }
    this.#unknownKidCooldownUntil = this.#deps.now() + this.#deps.policy.unknownKidCooldownSec * 1000;
    throw keyNotFound(kid, alg);
  }

  async warm(): Promise<void> {
    await this.#fetchOrUnavailable('warm');
  }

  /** Fetches now, ignoring backoff; waits out a fetch in flight first so the answer is current. */
  async refresh(): Promise<void> {
    await this.#inflight?.catch(() => undefined);
    await this.#fetchOrUnavailable('forced');
  }

  state(): KeySetState {
    const snapshot = this.#snapshot;
    const now = this.#deps.now();
    let status: KeySetState['status'] = 'empty';
    if (snapshot !== undefined) {
      if (now < snapshot.expiresAt) status = 'fresh';
      else if (now < this.#usableUntil(snapshot) || this.#failures === 0) status = 'stale';
      else status = 'expired';
    }
    return {
      // As in events: a query or user info in the configured URL may be a credential.
      uri: this.#uri === undefined ? undefined : describeUrl(this.#uri),
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

  #usableUntil(snapshot: Snapshot): number {
    return snapshot.expiresAt + this.#deps.policy.staleIfErrorSec * 1000;
  }

  /**
   * The set to answer from. Past its max age the set is revalidated before use (a removed key must
   * not keep passing just because traffic was idle); only when that fails, or while the issuer is
   * known to be failing, is the last good set served, and only inside `staleIfErrorSec`.
   */
  async #current(): Promise<Snapshot> {
    const snapshot = this.#snapshot;
    if (snapshot === undefined) return await this.#fetchOrUnavailable('cold');
    const now = this.#deps.now();
    if (now < snapshot.expiresAt) {
      if (now >= snapshot.refreshAt) this.#background('refresh_ahead');
      return snapshot;
    }
    if (this.#failures > 0 && now < this.#usableUntil(snapshot)) {
      this.#background('retry');
      return snapshot;
    }
    try {
      return await this.#fetch('expired');
    } catch (error) {
      if (this.#deps.now() < this.#usableUntil(snapshot)) return snapshot;
      throw this.#unavailable(error);
    }
  }

  #background(reason: FetchReason): void {
    if (this.#inflight !== undefined || this.#deps.now() < this.#nextRetryAt) return;
    this.#fetch(this.#failures > 0 ? 'retry' : reason).catch(() => {
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
    this.#inflightReason = reason;
    return run;
  }

  /**
   * The key set's URL from discovery, asked again after a failed fetch (the issuer may have moved its
   * keys). When the document cannot be had then, the URL known so far is fetched all the same: a key
   * set that failed once must not wait for the discovery endpoint to come back too.
   */
  async #discover(): Promise<string> {
    const rediscover = this.#rediscover;
    this.#rediscover = false;
    try {
      this.#uri = await (this.#deps.uri as (rediscover: boolean) => Promise<string>)(rediscover);
      return this.#uri;
    } catch (error) {
      if (this.#uri === undefined) throw error;
      return this.#uri;
    }
  }

  async #load(seq: number, reason: FetchReason): Promise<Snapshot> {
    const { http, policy, now, emit } = this.#deps;
    // Undefined while discovery is asked (again): a failure then is discovery's.
    let uri = this.#rediscover ? undefined : this.#uri;
    try {
      uri ??= await this.#discover();
      this.#fetchCount++;
      this.#lastFetchAt = now();
      const response = await http.request(uri, {
        headers: { accept: 'application/jwk-set+json, application/json' },
        maxBytes: policy.maxResponseBytes,
      });
      if (response.status !== 200)
        throw new HttpFailure('status', `${describeUrl(uri)} answered ${response.status}`, response.status);
      const contentType = response.header('content-type');
      if (contentType !== undefined && !/json/i.test(contentType)) {
        throw new HttpFailure(
          'content_type',
          `${describeUrl(uri)} answered ${contentType.split(';')[0]}, not JSON`,
        );
      }
      const { keys, ids } = this.#parse(uri, response.text);
      const fetchedAt = now();
      const maxAgeSec = clamp(
        maxAgeFromHeaders(
          {
            cacheControl: response.header('cache-control'),
            expires: response.header('expires'),
            date: response.header('date'),
            age: response.header('age'),
          },
          fetchedAt,
        ) ?? policy.defaultMaxAgeSec,
        policy.minMaxAgeSec,
        policy.maxMaxAgeSec,
      );
      const expiresAt = fetchedAt + maxAgeSec * 1000;
      const refreshAt = Math.max(
        fetchedAt + (maxAgeSec * 1000) / 2,
        expiresAt - policy.refreshAheadSec * 1000,
      );
      const snapshot = buildSnapshot(keys, ids, { fetchedAt, refreshAt, expiresAt }, seq);
      // An older fetch never overwrites a newer set.
      if (this.#snapshot === undefined || this.#snapshot.seq < seq) {
        const previous = this.#snapshot;
        this.#snapshot = snapshot;
        this.#failures = 0;
        this.#lastError = undefined;
        this.#nextRetryAt = 0;
        const label = describeUrl(uri);
        emit({ type: 'fetched', uri: label, keys: keys.length, maxAgeSec, reason });
        diffKeys(label, previous, snapshot, emit);
      }
      return this.#snapshot;
    } catch (error) {
      this.#failures++;
      this.#lastError = error instanceof Error ? error.message : 'unknown error';
      // Under the same backoff as the fetch: discovery is asked again, once per retry.
      if (typeof this.#deps.uri === 'function') this.#rediscover = true;
      const backoffSec = Math.min(policy.retryMaxSec, policy.retryMinSec * 2 ** (this.#failures - 1));
      const jitter = 0.5 + 0.5 * (this.#deps.random ?? Math.random)();
      // An issuer's own Retry-After (e.g. with a 503 or 429) is honoured, within retryMaxSec.
      const hintedSec = error instanceof HttpFailure ? (error.retryAfterSec ?? 0) : 0;
      this.#nextRetryAt =
        now() + Math.max(backoffSec * jitter, Math.min(hintedSec, policy.retryMaxSec)) * 1000;
      const servingStale = this.#snapshot !== undefined && now() < this.#usableUntil(this.#snapshot);
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

  #parse(uri: string, text: string): { keys: VerificationKey[]; ids: string[] } {
    const { policy, emit } = this.#deps;
    const limits = { maxDepth: policy.maxJsonDepth };
    const document = parseJsonObject(text, limits);
    if (document === undefined) {
      const why = jsonObjectRefusal(text, limits, 'keySet.maxJsonDepth');
      throw new HttpFailure(
        'content_type',
        `${describeUrl(uri)} did not answer a JSON Web Key Set: its answer is ${why}`,
      );
    }
    if (!Array.isArray(document.keys)) {
      throw new HttpFailure(
        'content_type',
        `${describeUrl(uri)} did not answer a JSON Web Key Set: no "keys" array`,
      );
    }
    if (document.keys.length > policy.maxKeys) {
      throw new HttpFailure(
        'too_large',
        `${describeUrl(uri)} lists ${document.keys.length} keys, over ${policy.maxKeys}`,
      );
    }
    const keys: VerificationKey[] = [];
    const ids: string[] = [];
    const imported = new Map<string, VerificationKey>();
    for (const jwk of document.keys) {
      // A key the last set held, unchanged in every member its import read, is not imported again
      // (an RSA import costs ~0.3 ms: see keys.ts). A refused key is not kept: it is refused again.
      const members = importedMembersOf(jwk);
      const known = members === undefined ? undefined : this.#imported.get(members);
      const result = known === undefined ? importPublicJwk(jwk) : { ok: true as const, key: known };
      if (result.ok) {
        keys.push(result.key);
        ids.push(keyIdentity(jwk as Record<string, unknown>));
        if (members !== undefined) imported.set(members, result.key);
      } else emit({ type: 'key_skipped', uri: describeUrl(uri), kid: result.kid, reason: result.reason });
    }
    this.#imported = imported;
    return { keys, ids };
  }
}

/**
 * Every member {@link importPublicJwk} reads, with its JSON value, as one string (`undefined` for
 * what is not a JSON object): two JWKs with the same string import to the same key or are refused
 * alike. A member that is absent is left out, so it never equals one that is `null`.
 */
function importedMembersOf(jwk: unknown): string | undefined {
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) return undefined;
  const record = jwk as Record<string, unknown>;
  return JSON.stringify(
    IMPORTED_JWK_MEMBERS.filter((name) => record[name] !== undefined).map((name) => [name, record[name]]),
  );
}

/**
 * A key is the same key when its kid and public material are the same. JSON keeps an absent member
 * apart from an empty one: a key whose kid goes from "" to none has left the set.
 */
function keyIdentity(jwk: Record<string, unknown>): string {
  return JSON.stringify(['kid', 'kty', 'alg', 'crv', 'n', 'e', 'x', 'y'].map((name) => jwk[name] ?? null));
}

function diffKeys(
  uri: string,
  before: Snapshot | undefined,
  after: Snapshot,
  emit: (event: KeySourceEvent) => void,
): void {
  const beforeIds = new Set(before?.ids);
  const afterIds = new Set(after.ids);
  after.keys.forEach((key, index) => {
    if (!beforeIds.has(after.ids[index] as string)) emit({ type: 'key_added', uri, kid: key.kid });
  });
  before?.keys.forEach((key, index) => {
    if (!afterIds.has(before.ids[index] as string)) emit({ type: 'key_removed', uri, kid: key.kid });
  });
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** The caching headers of a JWKS response. */
export interface CachingHeaders {
  cacheControl: string | undefined;
  expires: string | undefined;
  date: string | undefined;
  age: string | undefined;
}

/**
 * Seconds of freshness left (RFC 9111 §4.2): `Cache-Control: max-age` minus `Age`, else `Expires`
 * minus `Date` (or minus `nowMs` without a `Date`) minus `Age`; `no-store`/`no-cache` and a
 * `max-age` that is not a number of seconds mean 0; `undefined` when neither header is usable.
 *
 * @example
 * ```ts
 * maxAgeFromHeaders({ cacheControl: 'public, max-age=300', expires: undefined, date: undefined, age: '100' }, Date.now());
 * // 200
 * ```
 */
export function maxAgeFromHeaders(headers: CachingHeaders, nowMs: number): number | undefined {
  const age = headers.age !== undefined && /^\s*\d+\s*$/.test(headers.age) ? Number(headers.age) : 0;
  if (headers.cacheControl !== undefined) {
    const directives = headers.cacheControl
      .toLowerCase()
      .split(',')
      .map((directive) => {
        const at = directive.indexOf('=');
        return at === -1
          ? { name: directive.trim(), value: undefined }
          : { name: directive.slice(0, at).trim(), value: directive.slice(at + 1).trim() };
      });
    if (directives.some(({ name }) => name === 'no-store' || name === 'no-cache')) return 0;
    const maxAge = directives.find(({ name }) => name === 'max-age');
    if (maxAge !== undefined) {
      // An invalid max-age (negative, not a number, no value) is stale (RFC 9111 §4.2.1), as no-cache.
      const seconds = /^"?(\d+)"?$/.exec(maxAge.value ?? '');
      return seconds === null ? 0 : Math.max(0, Number(seconds[1]) - age);
    }
  }
  if (headers.expires !== undefined) {
    const at = Date.parse(headers.expires);
    // An invalid Expires (e.g. "0") means already expired (RFC 9111 §5.3).
    if (Number.isNaN(at)) return 0;
    const date = headers.date === undefined ? Number.NaN : Date.parse(headers.date);
    const base = Number.isNaN(date) ? nowMs : date;
    // The Age a cache adds counts against Expires too: freshness lifetime minus current age (§4.2.3).
    return Math.max(0, (at - base) / 1000 - age);
  }
  return undefined;
}
