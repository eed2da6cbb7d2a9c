/**
 * A cache's `maxEntries` is a bound, not a size: the verified-token cache and the introspection
 * cache grow with what they hold, so a large bound is neither allocated up front nor a RangeError
 * from `createValidator` naming no option. The introspection cache matters most: every tenant of an
 * issuer template has a client, and so a cache, of its own.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { accessTokenClaims, generateSigningKey, jwksOf, signToken } from '../../../test/support/keys.js';
import { createValidator, type Validator } from './validator.js';

const NOW_SEC = 1_800_000_000;
const ISSUER = 'https://login.example';
const AUD = 'https://api.example';
const key = generateSigningKey('ES256', { kid: 'k1' });
const validators: Validator[] = [];

afterAll(async () => {
  await Promise.all(validators.map((validator) => validator.close()));
});

function kept(validator: Validator): Validator {
  validators.push(validator);
  return validator;
}

function bytesHeld(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** Well under what a preallocated cache of five million slots takes (over 100 MB). */
const SMALL = 32 * 1024 * 1024;

describe('tokenCache.maxEntries', () => {
  it('accepts a bound as large as Number.MAX_SAFE_INTEGER and still caches', async () => {
    const validator = kept(
      createValidator({
        issuer: ISSUER,
        audience: AUD,
        jwks: jwksOf(key),
        tokenCache: { maxEntries: Number.MAX_SAFE_INTEGER },
        now: () => NOW_SEC * 1000,
      }),
    );
    const token = await signToken(key, accessTokenClaims({ iss: ISSUER, aud: AUD, nowSec: NOW_SEC }));
    // The cache keeps a token from its second verification on.
    await validator.validate(token);
    await validator.validate(token);
    expect(validator.state().tokenCache).toEqual({ entries: 1, maxEntries: Number.MAX_SAFE_INTEGER });
  });

  it('allocates nothing in proportion to the bound', () => {
    const before = bytesHeld();
    const validator = kept(
      createValidator({
        issuer: ISSUER,
        audience: AUD,
        jwks: jwksOf(key),
        tokenCache: { maxEntries: 5_000_000 },
      }),
    );
    const grown = bytesHeld() - before;
    expect(validator.state().tokenCache.entries).toBe(0);
    expect(grown).toBeLessThan(SMALL);
  });
});

describe('introspection.cache.maxEntries', () => {
  it('allocates nothing in proportion to the bound, for each template tenant', async () => {
    const before = bytesHeld();
    const validator = kept(
      createValidator({
        issuers: [
          {
            issuer: `${ISSUER}/{tenant}`,
            audience: AUD,
            jwks: jwksOf(key),
            tenants: ['acme', 'globex'],
            introspection: {
              endpoint: 'https://login.example/introspect',
              clientId: 'api',
              clientSecret: 'secret',
              cache: { maxEntries: 5_000_000 },
            },
          },
        ],
        now: () => NOW_SEC * 1000,
      }),
    );
    // Each tenant's context, with its introspection client, is made when its first token comes.
    for (const tenant of ['acme', 'globex']) {
      const token = await signToken(
        key,
        accessTokenClaims({ iss: `${ISSUER}/${tenant}`, aud: AUD, nowSec: NOW_SEC }),
      );
      expect((await validator.validate(token, { tenant })).tenant).toBe(tenant);
    }
    const grown = bytesHeld() - before;
    expect(validator.state().issuers).toHaveLength(2);
    expect(grown).toBeLessThan(SMALL);
  });
});
