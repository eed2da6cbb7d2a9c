/**
 * Property-based fuzzing (fast-check) of header parsing and token validation. For every generated
 * input: only TokenGuardError ever escapes, the status is 400/401/403 (the setup uses a local key set,
 * so the documented 503 cannot occur), nothing mutated or forged is accepted unless every check
 * holds, and each call settles within a deadline (a raced promise, not a timing assertion).
 *
 * Runs a bounded number of cases by default (the file takes a few seconds); set FUZZ_RUNS=100000
 * for a long campaign.
 */

import { extractBearerToken, isB64Token, isTokenGuardError } from '@tokenguard/core';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AUDIENCE,
  b64u,
  claims,
  forge,
  ISSUER,
  NOW_SEC,
  signInput,
  validatorFor,
} from '../adversarial/forge.js';
import { withinDeadline } from '../support/deadline.js';
import { characterEdits } from '../support/fast-check.js';
import { generateSigningKey, jwksOf } from '../support/keys.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 500);
const DEADLINE_MS = 2_000;
const es = generateSigningKey('ES256', { kid: 'fuzz-es' });
const rs = generateSigningKey('RS256', { kid: 'fuzz-rs' });
const validator = validatorFor({ issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(es, rs) });
afterAll(() => validator.close());

const good = forge({ alg: 'ES256', typ: 'at+jwt', kid: es.kid }, claims(), es.privateKey);
const goodRs = forge({ alg: 'RS256', typ: 'at+jwt', kid: rs.kid }, claims(), rs.privateKey);

/** Validates `value`; returns 'accepted' or the library error, failing on anything else. */
async function outcome(value: string): Promise<'accepted' | { code: string; status: number }> {
  const result = await withinDeadline(
    validator.validate(value).then(
      () => 'accepted' as const,
      (error: unknown) => error,
    ),
    DEADLINE_MS,
  );
  if (result === 'accepted') return result;
  if (!isTokenGuardError(result)) throw new Error(`non-library error: ${String(result)}`);
  expect([400, 401, 403]).toContain(result.status);
  return { code: result.code, status: result.status };
}

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const interestingChars = fc.constantFrom(
  ...'.=+/ \t\n\r\u0000\u00ff\u2028\ufeff\ufffd{}"\\'.split(''),
  ...alphabet.split(''),
  '\u{1f600}',
);

/** Mutations of a valid token: edits at random positions, segment surgery, re-encodings. */
const mutation = (token: string) =>
  fc.oneof(
    ...characterEdits(token, interestingChars, 20),
    fc.constantFrom(0, 1, 2).map((i) => {
      const parts = token.split('.');
      parts[i] = '';
      return parts.join('.');
    }),
    fc.tuple(fc.constantFrom(0, 1, 2), fc.constantFrom(0, 1, 2)).map(([i, j]) => {
      const parts = token.split('.');
      [parts[i], parts[j]] = [parts[j] as string, parts[i] as string];
      return parts.join('.');
    }),
    fc.constantFrom(0, 1, 2).map((i) => {
      const parts = token.split('.');
      parts[i] = Buffer.from(parts[i] as string, 'base64url').toString('base64');
      return parts.join('.');
    }),
    fc.uint8Array({ maxLength: 80 }).map((bytes) => {
      const parts = token.split('.');
      parts[2] = b64u(bytes);
      return parts.join('.');
    }),
    fc.nat(token.length - 1).map((at) => {
      const c = token[at] as string;
      const flipped = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
      return token.slice(0, at) + flipped + token.slice(at + 1);
    }),
  );

describe('extractBearerToken', () => {
  it('returns a b64token or throws a 400/401 TokenGuardError for any header value', () => {
    const value = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc
        .tuple(
          fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Basic', 'DPoP', 'Bearer\t', ''),
          fc.string({ maxLength: 120 }),
        )
        .map(([scheme, rest]) => `${scheme} ${rest}`),
    );
    const headers = fc.oneof(
      value,
      fc.record({ authorization: fc.oneof(value, fc.array(value, { maxLength: 3 })) }),
      fc.dictionary(fc.constantFrom('authorization', 'Authorization', 'AUTHORIZATION', 'x-other'), value),
      // Headers refuses values outside visible ASCII and tab, so the generated value is narrowed to those.
      value.map((v) => new Headers({ authorization: v.replace(/[^ -~\t]/g, '') })),
      fc.constantFrom(undefined, null, {}),
    );
    fc.assert(
      fc.property(headers, (input) => {
        try {
          const token = extractBearerToken(input as Parameters<typeof extractBearerToken>[0]);
          expect(isB64Token(token)).toBe(true);
        } catch (error) {
          if (!isTokenGuardError(error)) throw error;
          expect([400, 401]).toContain(error.status);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('validate()', () => {
  it('control: the unmutated tokens are accepted', async () => {
    expect(await outcome(good)).toBe('accepted');
    expect(await outcome(goodRs)).toBe('accepted');
  });
  it('rejects random strings and random header values with a 4xx TokenGuardError', async () => {
    const input = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc
        .array(fc.string({ unit: fc.constantFrom(...alphabet.split('')), maxLength: 60 }), {
          minLength: 1,
          maxLength: 6,
        })
        .map((parts) => parts.join('.')),
      fc.string({ maxLength: 300 }).map((rest) => `Bearer ${rest}`),
    );
    await fc.assert(
      fc.asyncProperty(input, async (value) => {
        expect(await outcome(value)).not.toBe('accepted');
      }),
      { numRuns: RUNS },
    );
  });
  it('never accepts a mutated valid token (ES256 and RS256), raw or as a header value', async () => {
    for (const token of [good, goodRs]) {
      await fc.assert(
        fc.asyncProperty(mutation(token), fc.boolean(), async (mutated, asHeader) => {
          fc.pre(mutated !== token);
          // An Authorization value is trimmed of surrounding whitespace (HTTP OWS): the same credential.
          fc.pre(!asHeader || mutated.trim() !== token);
          expect(await outcome(asHeader ? `Bearer ${mutated}` : mutated)).not.toBe('accepted');
        }),
        { numRuns: RUNS },
      );
    }
  });
  it('accepts a correctly signed token only when every check holds (random headers and claims)', async () => {
    /** Mostly the good value, sometimes a hostile one, so that both verdicts occur. */
    const mostly = <T>(good: T, ...bad: unknown[]) =>
      fc.oneof(
        { weight: 6, arbitrary: fc.constant<unknown>(good) },
        { weight: 1, arbitrary: fc.constantFrom<unknown>(...bad) },
      );
    const numericDate = (good: number) =>
      fc.oneof(
        { weight: 6, arbitrary: fc.constant<unknown>(good) },
        { weight: 2, arbitrary: fc.double({ min: NOW_SEC - 1000, max: NOW_SEC + 1000, noNaN: true }) },
        {
          weight: 1,
          arbitrary: fc.constantFrom<unknown>(null, '1800000000', -1, 0, [NOW_SEC], {}, true, 1e308),
        },
      );
    const absentOr = (arbitrary: fc.Arbitrary<unknown>) => fc.option(arbitrary, { nil: undefined, freq: 2 });
    const header = fc.record({
      alg: mostly('ES256', 'RS256', 'none', 'HS256', 'es256', 'ES384', null, 7),
      typ: mostly('at+jwt', 'application/at+jwt', 'JWT', '', null, ['at+jwt'], undefined),
      kid: mostly(es.kid, 'other', '', null, 1, { a: 1 }, undefined),
      crit: fc.option(fc.constantFrom<unknown>(['b64'], []), { nil: undefined, freq: 8 }),
      jku: absentOr(fc.constant('http://127.0.0.1:9/jwks')),
      extra: absentOr(fc.jsonValue({ maxDepth: 3 })),
    });
    const payload = fc.record({
      iss: mostly(ISSUER, `${ISSUER}/`, 'https://evil.test', '', null, 1, undefined),
      aud: mostly(
        AUDIENCE,
        [AUDIENCE],
        ['x', AUDIENCE],
        'https://api.test.evil',
        [],
        '',
        null,
        [1],
        undefined,
      ),
      exp: numericDate(NOW_SEC + 300),
      nbf: absentOr(numericDate(NOW_SEC - 10)),
      iat: absentOr(numericDate(NOW_SEC - 10)),
      sub: absentOr(fc.constantFrom<unknown>('user-1', 1, null)),
      scope: absentOr(
        fc.oneof(fc.string({ maxLength: 30 }), fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 })),
      ),
      extra: absentOr(fc.jsonValue({ maxDepth: 4 })),
    });
    let accepted = 0;
    let rejected = 0;
    await fc.assert(
      fc.asyncProperty(header, payload, async (h, p) => {
        const input = `${b64u(JSON.stringify(h))}.${b64u(JSON.stringify(p))}`;
        const token = `${input}.${b64u(signInput('ES256', es.privateKey, input))}`;
        const result = await outcome(token);
        if (result !== 'accepted') {
          rejected++;
          return;
        }
        accepted++;
        // The oracle: an accepted token satisfies every rule, recomputed here independently.
        const exp = p.exp as number;
        expect(h.alg).toBe('ES256');
        expect(['at+jwt', 'application/at+jwt']).toContain(h.typ);
        expect(h.kid === undefined || h.kid === es.kid).toBe(true);
        expect(h.crit).toBeUndefined();
        expect(p.iss).toBe(ISSUER);
        expect(p.aud === AUDIENCE || (Array.isArray(p.aud) && p.aud.includes(AUDIENCE))).toBe(true);
        expect(typeof exp === 'number' && NOW_SEC < exp + 5).toBe(true);
        for (const name of ['nbf', 'iat'] as const) {
          const value = p[name];
          expect(value === undefined || (typeof value === 'number' && value <= NOW_SEC + 5)).toBe(true);
        }
        expect(p.sub === undefined || typeof p.sub === 'string').toBe(true);
      }),
      { numRuns: RUNS },
    );
    // Both verdicts occurred, so the oracle above was exercised.
    expect(accepted).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(0);
  });
});
