import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { probeContextRetention } from './__fixtures__/context-retention.js';
import { createAuthInfo } from './auth-info.js';
import { createVerifiedCache, type VerifiedCache } from './verified-cache.js';

/** A token-shaped string with a random 43-character signature. */
function tokenLike(): string {
  return `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.${randomBytes(32).toString('base64url')}`;
}

/** What verified the entries (the validator's issuer context): the cache only keeps it. */
const VERIFIER = {};

function admit(cache: VerifiedCache, token: string): void {
  const auth = createAuthInfo(token, {
    claims: {},
    subject: token.slice(-6),
    clientId: undefined,
    issuer: 'https://id.example',
    audience: [],
    scopes: new Set(),
    expiresAt: undefined,
    tenant: undefined,
    source: 'jwt',
  });
  cache.admit(token, auth, 1, VERIFIER);
}

describe('createVerifiedCache', () => {
  it('finds an entry by exactly `Bearer <token>`, and by no other value ending in the token', () => {
    const cache = createVerifiedCache(10);
    const token = tokenLike();
    admit(cache, token);
    admit(cache, token);
    const entry = cache.get(token);
    expect(entry?.auth.token).toBe(token);
    expect(cache.getByAuthorization(`Bearer ${token}`)).toBe(entry);
    for (const other of [
      `bearer ${token}`,
      `Bearer  ${token}`,
      ` Bearer ${token}`,
      token,
      `DPoP ${token}`,
      `XBearer ${token}`,
    ]) {
      expect(cache.getByAuthorization(other), other).toBeUndefined();
    }
    // A token with the same fingerprint (the same last characters) answers only for itself.
    const twin = `x${token}`;
    expect(cache.getByAuthorization(`Bearer ${twin}`)).toBeUndefined();
    expect(cache.get(twin)).toBeUndefined();
  });

  it('stores a token the second time it is verified, not the first', () => {
    const cache = createVerifiedCache(10);
    const token = tokenLike();
    admit(cache, token);
    expect(cache.get(token)).toBeUndefined();
    expect(cache.size).toBe(0);
    admit(cache, token);
    expect(cache.get(token)?.auth.token).toBe(token);
    expect(cache.size).toBe(1);
  });

  it('answers only the very token an entry was stored for', () => {
    const cache = createVerifiedCache(10);
    const token = tokenLike();
    admit(cache, token);
    admit(cache, token);
    // Same signature (so the same fingerprint, the index), another token: never its answer.
    const sameEnd = `eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.${token.split('.')[2]}`;
    expect(cache.get(sameEnd)).toBeUndefined();
    expect(cache.get(`Bearer ${token}`)).toBeUndefined();
    expect(cache.get(token.slice(1))).toBeUndefined();
    // A token equal in text but built separately (as from a request header) is found.
    expect(cache.get(Buffer.from(token).toString('latin1'))?.auth.token).toBe(token);
    // Deleting another token with the same end leaves the entry alone.
    cache.delete(sameEnd);
    expect(cache.get(token)).toBeDefined();
    cache.delete(token);
    expect(cache.get(token)).toBeUndefined();
  });

  it('lets the later of two same-ending tokens take the place of the earlier one', () => {
    const cache = createVerifiedCache(10);
    const first = tokenLike();
    const second = `eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJiIn0.${first.split('.')[2]}`;
    for (const token of [first, first, second, second]) admit(cache, token);
    expect(cache.get(first)).toBeUndefined();
    expect(cache.get(second)?.auth.token).toBe(second);
    expect(cache.size).toBe(1);
  });

  it('keeps at most maxEntries entries, evicting the least recently used', () => {
    const cache = createVerifiedCache(3);
    const tokens = Array.from({ length: 5 }, tokenLike);
    for (const token of tokens.slice(0, 3)) {
      admit(cache, token);
      admit(cache, token);
    }
    cache.get(tokens[0] as string);
    for (const token of tokens.slice(3)) {
      admit(cache, token);
      admit(cache, token);
    }
    expect(cache.size).toBe(3);
    expect(cache.get(tokens[0] as string)).toBeDefined();
    expect(cache.get(tokens[1] as string)).toBeUndefined();
    expect(cache.get(tokens[2] as string)).toBeUndefined();
  });

  it('keeps fingerprints in a fixed table, where a later token takes the slot of an earlier one', () => {
    // One entry: one slot, so any other token seen once makes token unseen again.
    const cache = createVerifiedCache(1);
    const token = tokenLike();
    const other = tokenLike();
    admit(cache, token);
    admit(cache, other);
    admit(cache, token);
    expect(cache.get(token)).toBeUndefined();
    admit(cache, token);
    expect(cache.get(token)?.auth.token).toBe(token);
  });

  it('clear() forgets entries and fingerprints', () => {
    const cache = createVerifiedCache(10);
    const token = tokenLike();
    admit(cache, token);
    admit(cache, token);
    cache.clear();
    expect(cache.get(token)).toBeUndefined();
    admit(cache, token);
    expect(cache.get(token)).toBeUndefined();
  });
});

describe('the answer a cached entry keeps', () => {
  it('is one frozen promise of the verification, the same for every caller', async () => {
    const cache = createVerifiedCache(10);
    const token = tokenLike();
    admit(cache, token);
    admit(cache, token);
    const entry = cache.get(token);
    const answer = entry?.answer as Promise<unknown>;
    expect(cache.get(token)?.answer).toBe(answer);
    expect(await answer).toBe(entry?.auth);
    // No caller can hand the others a `then` (or anything else) of its own.
    expect(Reflect.set(answer, 'then', () => 'hijacked')).toBe(false);
    expect(() => {
      (answer as unknown as { tag: string }).tag = 'mine';
    }).toThrow(TypeError);
    expect(Object.hasOwn(answer, 'then')).toBe(false);
    expect(await Promise.all([answer])).toEqual([entry?.auth]);
  });

  it('does not keep the async context of the request that admitted the token', async () => {
    expect(await probeContextRetention('verified-cache')).toEqual({ cached: 1, retained: false });
  });
});
