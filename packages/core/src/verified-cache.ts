import type { LRUCache } from 'lru-cache';
import { type AuthInfo, cachedAuthInfo } from './auth-info.js';
import { outsideRequestContext } from './lib/async-context.js';
import { BASE64URL_VALUES } from './lib/base64url.js';
import { boundedLru } from './lib/bounded-lru.js';

/** A verification kept for reuse. */
export interface VerifiedEntry {
  readonly auth: AuthInfo;
  /** After this instant (ms) the verification must not be reused. */
  readonly notAfterMs: number;
  /**
   * What verified it (the validator's issuer context): an entry is good only while that very
   * verifier is the one in use; one created anew (a tenant evicted and brought back) has a key set of
   * its own, which says nothing about the keys this entry was verified with.
   */
  readonly verifiedBy: object;
  /**
   * `auth` as a promise already fulfilled, made once when the entry is stored: what `validate`
   * returns for the token. Shared by every caller, so it is frozen and made outside any request's
   * async context (see {@link answerOf}).
   */
  readonly answer: Promise<AuthInfo>;
}

/**
 * The cache of verified tokens: a repeated token is answered without verifying its signature again.
 *
 * - Keyed by the whole token: an entry answers only the very token it was stored for (compared
 *   whole). It is indexed by a 30-bit fingerprint of the token's signature (five of its last
 *   characters, a small integer: no string is sliced or hashed per lookup); two tokens with the same
 *   fingerprint can at worst take each other's place, never each other's answer.
 * - Admits a token the second time it is verified (a "doorkeeper", as in Caffeine's TinyLFU): a
 *   token seen once is remembered only as a 30-bit fingerprint. Tokens that are never repeated (a
 *   flood of one-off tokens, or a client fetching a token per call) then neither evict the tokens
 *   that are, nor cost the memory and garbage collection of an entry each. A fingerprint that
 *   collides only admits a verified token one verification early.
 * - Bounded: `maxEntries` entries, least recently used evicted first. The doorkeeper is a fixed
 *   table of fingerprints (the power of two at or above `maxEntries`, at most 2^20 slots of 4 bytes),
 *   where a newer fingerprint takes an older one's slot: no allocation, no growth.
 *
 * @example
 * ```ts
 * const cache = createVerifiedCache(10_000);
 * cache.admit(token, auth, notAfterMs, context); // remembered: seen once
 * cache.admit(token, auth, notAfterMs, context); // stored: seen twice
 * cache.get(token)?.auth;
 * ```
 */
export interface VerifiedCache {
  /** The entry stored for exactly `token`, if any (whether still usable is the caller's call). */
  get(token: string): VerifiedEntry | undefined;
  /** The entry stored for the token of exactly `Bearer <token>` (one space), if any. */
  getByAuthorization(authorization: string): VerifiedEntry | undefined;
  /**
   * Stores the verification of `token` if it was verified before (or its fingerprint was seen).
   * Returns the auth to answer with: the one stored (`auth`'s fields, frozen claims, see
   * {@link cachedAuthInfo}) or, when only the fingerprint was kept, `auth` itself.
   */
  admit(token: string, auth: AuthInfo, notAfterMs: number, verifiedBy: object): AuthInfo;
  delete(token: string): void;
  /** Forgets every entry and fingerprint (a key left a key set). */
  clear(): void;
  readonly size: number;
}

interface StoredEntry extends VerifiedEntry {
  /**
   * `Bearer <token>`, one flat string: an adapter's request that sends exactly this is compared with
   * it whole, in V8's fast string comparison (a part cut from a string goes through its runtime).
   */
  readonly authorization: string;
  /** The token: the part of `authorization` after the scheme (no second copy of it). */
  readonly token: string;
}

const SCHEME = 'Bearer ';

/** See {@link VerifiedCache}. */
export function createVerifiedCache(maxEntries: number): VerifiedCache {
  return new FingerprintedCache(maxEntries);
}

/** A class, so every validator's cache has the same shape and its call sites stay monomorphic. */
class FingerprintedCache implements VerifiedCache {
  readonly #entries: LRUCache<number, StoredEntry>;
  /** Slot `fingerprint & mask` holds `fingerprint + 1` of the last token seen there (0: empty). */
  readonly #seen: Int32Array;
  readonly #mask: number;

  constructor(maxEntries: number) {
    this.#entries = boundedLru<number, StoredEntry>(maxEntries);
    this.#seen = new Int32Array(doorkeeperSlots(maxEntries));
    this.#mask = this.#seen.length - 1;
  }

  get(token: string): VerifiedEntry | undefined {
    const entry = this.#entries.get(fingerprintOf(token));
    return entry !== undefined && entry.token === token ? entry : undefined;
  }

  getByAuthorization(authorization: string): VerifiedEntry | undefined {
    // The token ends the value: its fingerprint is the value's.
    const entry = this.#entries.get(fingerprintOf(authorization));
    return entry !== undefined && entry.authorization === authorization ? entry : undefined;
  }

  admit(token: string, auth: AuthInfo, notAfterMs: number, verifiedBy: object): AuthInfo {
    const fingerprint = fingerprintOf(token);
    const slot = fingerprint & this.#mask;
    if (this.#seen[slot] !== fingerprint + 1) {
      this.#seen[slot] = fingerprint + 1;
      return auth;
    }
    // join() makes one flat string (a `+` would make a pair of the two). The auth then holds the
    // token as its part too: one copy, not this one and the string it was read from.
    const authorization = [SCHEME, token].join('');
    const shared = authorization.slice(SCHEME.length);
    const stored = cachedAuthInfo(auth, shared);
    this.#entries.set(fingerprint, {
      authorization,
      token: shared,
      auth: stored,
      notAfterMs,
      verifiedBy,
      answer: answerOf(stored),
    });
    return stored;
  }

  delete(token: string): void {
    const key = fingerprintOf(token);
    if (this.#entries.get(key)?.token === token) this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
    this.#seen.fill(0);
  }

  get size(): number {
    return this.#entries.size;
  }
}

/**
 * A frozen promise of `auth`, made outside the admitting request's async context (see
 * {@link outsideRequestContext}): frozen, so no caller can give the others a `then` of its own or
 * any other property.
 */
function answerOf(auth: AuthInfo): Promise<AuthInfo> {
  return outsideRequestContext(() => Object.freeze(Promise.resolve(auth)));
}

function doorkeeperSlots(maxEntries: number): number {
  let slots = 1;
  while (slots < maxEntries && slots < 1 << 20) slots <<= 1;
  return slots;
}

function fingerprintOf(token: string): number {
  let value = 0;
  const end = token.length - 1;
  for (let i = Math.max(0, end - 5); i < end; i++) {
    value = (value << 6) | ((BASE64URL_VALUES[token.charCodeAt(i)] ?? 0) & 63);
  }
  return value;
}
