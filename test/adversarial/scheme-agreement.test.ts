/**
 * The Authorization length limit is skipped for another scheme's value (a long `Negotiate` ticket):
 * isOtherSchemeValue decides, readBearerCredentials reads. The two must agree, or a Bearer token
 * could pass the size limit by looking like another scheme. Property-based (fast-check) over values
 * built from scheme spellings, lookalikes, whitespace classes and separators, and over arbitrary
 * strings: whenever a token is read from a value, the value is not "another scheme"; and a value over
 * the limit is, for validate() and authenticateRequest alike, either too large or a missing token.
 */

import { authenticateRequest, isTokenGuardError, parseAuthorizationValue } from '@tokenguard/core';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { isOtherSchemeValue, readBearerCredentials } from '../../packages/core/src/bearer.js';
import { jwksOf } from '../support/keys.js';
import { AUDIENCE, ISSUER, validatorFor } from './forge.js';
import { createKeyring } from './keyring.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const ring = createKeyring();
const validator = validatorFor({ issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(ring.es256) });
afterAll(() => validator.close());

/** Whitespace of every class: OWS, line endings, and the Unicode spaces String.trim() would drop. */
const spaces = fc.constantFrom(
  ' ',
  '\t',
  '\r',
  '\n',
  '\r\n',
  '\u000b',
  '\u000c',
  '\u00a0',
  '\u1680',
  '\u2000',
  '\u2009',
  '\u200b',
  '\u2028',
  '\u3000',
  '\ufeff',
  '',
);
/** Bearer as spelled, mis-spelled and imitated (Cyrillic е, Kelvin K is no letter of it, dotless ı, full-width). */
const schemes = fc.constantFrom(
  'Bearer',
  'bearer',
  'BEARER',
  'bEaReR',
  'B\u0435arer',
  'Bear\u0435r',
  'Bearer,',
  'Bearer;',
  'Bearer:',
  'xBearer',
  'Bearerx',
  'Bearer=',
  'Bear',
  'bearer\u0130',
  'Be\u0131rer',
  '\uff22earer',
  'Basic',
  'Negotiate',
  'DPoP',
  '!#$%&',
  '',
);
const tails = fc.oneof(
  fc.constantFrom('abc.def.ghi', 'dXNlcjpwYXNz', 'a=b', '', ',', 'Bearer abc', '=='),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
);
const values = fc.oneof(
  fc.tuple(spaces, schemes, spaces, spaces, tails, spaces).map((parts) => parts.join('')),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

function outcome(read: () => unknown): string {
  try {
    read();
    return 'token';
  } catch (error) {
    if (!isTokenGuardError(error)) throw error;
    return error.code;
  }
}

describe('isOtherSchemeValue agrees with the Bearer reader', () => {
  it('a value a token is read from is never another scheme', () => {
    fc.assert(
      fc.property(values, (value) => {
        if (outcome(() => readBearerCredentials(value)) === 'token')
          expect(isOtherSchemeValue(value)).toBe(false);
        if (outcome(() => parseAuthorizationValue(value)) === 'token')
          expect(isOtherSchemeValue(value)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('another scheme is exactly what the reader answers as a missing token', () => {
    fc.assert(
      fc.property(values, (value) => {
        if (isOtherSchemeValue(value))
          expect(outcome(() => readBearerCredentials(value))).toBe('ERR_TOKEN_MISSING');
      }),
      { numRuns: RUNS },
    );
  });

  it('over the limit, validate() and authenticateRequest answer alike: too large, or no bearer token', async () => {
    await fc.assert(
      fc.asyncProperty(values, async (value) => {
        // Padded past maxTokenLength + 256 at the end, where the scheme is not.
        const long = `${value}${'A'.repeat(8_500)}`;
        const viaValidate = await validator.validate(long).then(
          () => 'token',
          (error: unknown) => (isTokenGuardError(error) ? error.code : String(error)),
        );
        const viaRequest = await authenticateRequest(validator, {
          method: 'GET',
          headers: { authorization: long },
        }).then(
          () => 'token',
          (error: unknown) => (isTokenGuardError(error) ? error.code : String(error)),
        );
        const expected = isOtherSchemeValue(long) ? 'ERR_TOKEN_MISSING' : 'ERR_TOKEN_TOO_LARGE';
        expect(viaValidate).toBe(expected);
        // An empty-after-trim header is no header at all for the adapters.
        if (long.trim() !== '') expect(viaRequest).toBe(expected);
      }),
      { numRuns: Math.min(RUNS, 500) },
    );
  });
});
