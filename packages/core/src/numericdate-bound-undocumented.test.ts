/**
 * Found by differential testing against jose (differential-jose.test.ts). An `exp`, `nbf` or `iat`
 * above 8.64e12 seconds (what a `Date` can hold: claims.ts `MAX_NUMERIC_DATE`) is refused with
 * `ERR_CLAIM_INVALID`, on purpose (validator.test.ts: "so AuthInfo stays serialisable"). But RFC 7519
 * §2 makes any JSON number a NumericDate, jose accepts such a token, and SECURITY.md item 11, the
 * only place the rule is written for users, says only "`exp`, `nbf`, `iat` must be finite
 * non-negative numbers (a string, `null` or `1e400` is `ERR_CLAIM_INVALID`)": 1e13 is finite and
 * non-negative, so by the documentation the token below is valid and the validator refuses it.
 *
 * Failed until SECURITY.md item 11 stated the bound; fails again if the bound leaves the docs while the
 * validator keeps it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { accessTokenClaims, generateSigningKey, jwksOf, signToken } from '../../../test/support/keys.js';
import { failure } from '../../../test/support/rejections.js';
import { createValidator } from './validator.js';

const SECURITY = readFileSync(new URL('../../../SECURITY.md', import.meta.url), 'utf8');
const ISSUER = 'https://issuer.numericdate.test';
const AUDIENCE = 'https://api.numericdate.test';
const NOW_SEC = 1_800_000_000;

/** SECURITY.md's item 11 ("Claims."), up to item 12. */
function claimsItem(): string {
  const start = SECURITY.indexOf('11. **Claims.**');
  const end = SECURITY.indexOf('12. **', start);
  expect(start).toBeGreaterThan(-1);
  return SECURITY.slice(start, end === -1 ? undefined : end);
}

describe('NumericDates above 8.64e12 seconds', () => {
  it('was a defect: refused though SECURITY.md named no upper bound for a NumericDate (it now does)', async () => {
    const key = generateSigningKey('ES256');
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: jwksOf(key),
      now: () => NOW_SEC * 1000,
      tokenCache: false,
    });
    try {
      // Finite and non-negative: valid by RFC 7519 §2 and by item 11's words; 8.64e12 is accepted.
      const claimsSet = accessTokenClaims({ iss: ISSUER, aud: AUDIENCE, nowSec: NOW_SEC }, { exp: 1e13 });
      const token = await signToken(key, claimsSet);
      const outcome = await validator.validate(token).then(
        () => undefined,
        (error: unknown) => error,
      );
      if (outcome !== undefined) {
        expect(await failure(Promise.reject(outcome))).toMatchObject({
          code: 'ERR_CLAIM_INVALID',
          status: 401,
        });
        // Refused: then the documented rule must name the bound the code enforces.
        expect(claimsItem()).toMatch(/8\.64e12|8,640,000,000,000|275760|a `?Date`? can hold/i);
      }
    } finally {
      await validator.close();
    }
  });
});
