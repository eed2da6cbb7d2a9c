import { LRUCache } from 'lru-cache';
import type { AuthInfo } from './auth-info.js';
import { BASE64URL_VALUES } from './lib/base64url.js';

/** A verification kept for reuse. */
export interface VerifiedEntry {
  readonly auth: AuthInfo;
  /** After this instant (ms) the verification must not be reused. */
  readonly notAfterMs: number;
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
 * cache.admit(token, auth, notAfterMs); // remembered: seen once
 * cache.admit(token, auth, notAfterMs); // stored: seen twice
 * cache.get(token)?.auth;
 * ```
 */
export interface VerifiedCache {
  /** The entry stored for exactly `token`, if any (whether still usable is the caller's call). */
  get(token: string): VerifiedEntry | undefined;
  /** Stores the verification of `token` if it was verified before (or its fingerprint was seen). */
  admit(token: string, auth: AuthInfo, notAfterMs: number): void;
  delete(token: string): void;
  /** Forgets every entry and fingerprint (a key left a key set). */
  clear(): void;
  readonly size: number;
}

interface StoredEntry extends VerifiedEntry {
  readonly token: string;
}

/** See {@link VerifiedCache}. */
export function createVerifiedCache(maxEntries: number): VerifiedCache {
  const entries = new LRUCache<number, StoredEntry>({ max: maxEntries });
  // Slot `fingerprint & mask` holds `fingerprint + 1` of the last token seen there (0: empty).
  const seen = new Int32Array(doorkeeperSlots(maxEntries));
  const mask = seen.length - 1;
  return {
    get(token) {
      const entry = entries.get(fingerprintOf(token));
      return entry !== undefined && entry.token === token ? entry : undefined;
    },
    admit(token, auth, notAfterMs) {
      const fingerprint = fingerprintOf(token);
      const slot = fingerprint & mask;
      if (seen[slot] !== fingerprint + 1) {
        seen[slot] = fingerprint + 1;
        return;
      }
      entries.set(fingerprint, { token, auth, notAfterMs });
    },
    delete(token) {
      const key = fingerprintOf(token);
      if (entries.get(key)?.token === token) entries.delete(key);
    },
    clear() {
      entries.clear();
      seen.fill(0);
    },
    get size() {
      return entries.size;
    },
  };
}

/**
 * 30 bits (a small integer, so the set allocates nothing per token) from five base64url characters
 * just before the token's last one (whose low bits may be fixed at zero). Any other character
 * counts as 0: a collision only admits a token early.
 */
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
