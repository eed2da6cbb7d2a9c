/**
 * Was a defect (helper-116; fixed: the stored auth shares the entry's copy, now because the cache
 * builds the auth it stores with it, auth-info.ts cachedAuthInfo; before c9856bd shareTokenString
 * swapped it into the verified auth). At e0b10d5 (verified-cache.ts admit): each cache entry now keeps `authorization`, a new flat
 * copy of `Bearer <token>` made with join(), and the token as its slice; but the entry's `auth`
 * still holds the token it was verified from (auth-info.ts VerifiedAuthInfo #token: for a request,
 * the credentials read from its Authorization header, which keep that header's string alive). So
 * every cached token is now held twice: what the entry kept before, plus the new copy. The commit
 * says "no second copy"; measured here, each entry keeps about twice the token's length (at 49ae19e
 * about once). With the defaults (10,000 entries, tokens up to 8,192 characters) that is up to
 * ~80 MB more.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { accessTokenClaims, secretSigningKey, signToken } from '../../../test/support/keys.js';
import { authenticateRequestNow } from './transport.js';
import { createValidator } from './validator.js';

const ISS = 'https://id.example';
const AUD = 'https://api.example';
const NOW_SEC = 1_700_000_000;
const SECRET = 'a-shared-secret-of-at-least-32-bytes!';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapUsed(): number {
  gc();
  gc();
  return getHeapStatistics().used_heap_size;
}

describe('memory of the cache of verified tokens', () => {
  it('cache entry second token copy: an entry keeps each token about once, not twice', async () => {
    const validator = createValidator({
      issuer: ISS,
      audience: AUD,
      secret: SECRET,
      now: () => NOW_SEC * 1000,
      maxTokenLength: 65_536,
    });
    const key = secretSigningKey(SECRET);
    const tokens: string[] = [];
    // Large tokens (a padded JOSE header, not kept in the auth's claims), so strings dominate.
    for (let i = 0; i < 200; i++) {
      tokens.push(
        await signToken(key, accessTokenClaims({ iss: ISS, aud: AUD, nowSec: NOW_SEC }, { jti: `t${i}` }), {
          pad: 'x'.repeat(20_000),
        }),
      );
    }
    const length = (tokens[0] as string).length;
    // Each request's header is a string of its own, as Node's HTTP parser makes one per request.
    const send = async (): Promise<void> => {
      for (const token of tokens) {
        const header = ['Bearer ', token].join('');
        await authenticateRequestNow(validator, {
          headers: { authorization: header },
          rawHeaders: ['Authorization', header],
        });
      }
    };
    await send(); // seen once: only fingerprints are kept
    const before = heapUsed();
    await send(); // seen twice: stored
    const retained = heapUsed() - before;
    const entries = validator.state().tokenCache.entries;
    expect(entries).toBeGreaterThan(150);
    const perEntry = retained / entries / length;
    // 49ae19e: ~1.0 (the header the credentials were read from); e0b10d5: ~2.0.
    expect(perEntry).toBeLessThan(1.5);
    await validator.close();
  });
});
