import { describe, expect, it } from 'vitest';
import fc, { characterEdits } from '../../../test/support/fast-check.js';
import { accessTokenClaims, secretSigningKey, signToken } from '../../../test/support/keys.js';
import type { AuthInfo } from './auth-info.js';
import { createCachedBearerLookup } from './cached-bearer.js';
import type { ValidatorOptions } from './options.js';
import { authenticateRequestNow, type TokenSource } from './transport.js';
import { createValidator, type Validator } from './validator.js';

// The adapters' short way for a repeated token: it answers only what the whole way
// (authenticateRequestNow) answers with the very same auth, and leaves everything else to it.

const ISS = 'https://id.example';
const AUD = 'https://api.example';
const NOW_SEC = 1_700_000_000;
const SECRET = 'a-shared-secret-of-at-least-32-bytes!';

function validatorAt(clock: { ms: number }, extra: Partial<ValidatorOptions> = {}): Validator {
  return createValidator({
    issuer: ISS,
    audience: AUD,
    secret: SECRET,
    now: () => clock.ms,
    ...extra,
  } as ValidatorOptions);
}

function tokenWith(overrides: Record<string, unknown> = {}): Promise<string> {
  return signToken(
    secretSigningKey(SECRET),
    accessTokenClaims({ iss: ISS, aud: AUD, nowSec: NOW_SEC }, { scope: 'read', ...overrides }),
  );
}

/** Validates `token` until the validator's cache holds it (stored the second time). */
async function cached(validator: Validator, token: string): Promise<AuthInfo> {
  await validator.validate(token);
  const auth = await validator.validate(token);
  expect(validator.state().tokenCache.entries).toBeGreaterThan(0);
  return auth;
}

/** A Node request's header record and raw list with these `Authorization` values, as Node builds them. */
function nodeHeaders(...values: string[]): { headers: Record<string, string>; rawHeaders: string[] } {
  const rawHeaders = ['Host', 'api.example'];
  for (const value of values) rawHeaders.push('Authorization', value);
  const headers: Record<string, string> = { host: 'api.example' };
  if (values[0] !== undefined) headers.authorization = values[0];
  return { headers, rawHeaders };
}

/** What the whole way answers: the auth, or the error code. */
async function wholeWay(validator: Validator, source: TokenSource): Promise<AuthInfo | string> {
  try {
    return (await authenticateRequestNow(validator, source)).auth ?? 'anonymous';
  } catch (error) {
    return (error as { code: string }).code;
  }
}

describe('createCachedBearerLookup', () => {
  const clock = { ms: NOW_SEC * 1000 };

  it('answers a cached token sent as `Bearer <token>` with the very auth the whole way gives', async () => {
    const validator = validatorAt(clock);
    const token = await tokenWith();
    const auth = await cached(validator, token);
    const lookup = createCachedBearerLookup(validator, {});
    const { headers, rawHeaders } = nodeHeaders(`Bearer ${token}`);
    expect(lookup?.(headers.authorization, rawHeaders)).toBe(auth);
    expect(await wholeWay(validator, { headers, rawHeaders })).toBe(auth);
  });

  it('answers nothing for a token verified once only (not yet cached), nor with the cache off', async () => {
    const validator = validatorAt(clock);
    const token = await tokenWith();
    await validator.validate(token);
    const { headers, rawHeaders } = nodeHeaders(`Bearer ${token}`);
    expect(createCachedBearerLookup(validator, {})?.(headers.authorization, rawHeaders)).toBeUndefined();

    const uncached = validatorAt(clock, { tokenCache: false });
    await uncached.validate(token);
    await uncached.validate(token);
    expect(createCachedBearerLookup(uncached, {})?.(headers.authorization, rawHeaders)).toBeUndefined();
  });

  it('leaves every other spelling and shape of the request to the whole way', async () => {
    const validator = validatorAt(clock);
    const token = await tokenWith();
    const auth = await cached(validator, token);
    const lookup = createCachedBearerLookup(validator, {});
    if (lookup === undefined) throw new Error('expected a lookup');
    const cases: [string, { headers: Record<string, string>; rawHeaders: string[] | undefined }, unknown][] =
      [
        // Answered from the cache by the whole way, only not this short one.
        ['lower-case scheme', nodeHeaders(`bearer ${token}`), auth],
        [
          'no raw header list',
          { headers: { authorization: `Bearer ${token}` }, rawHeaders: undefined },
          auth,
        ],
        [
          'a record value a middleware set in place of the one sent',
          {
            headers: { authorization: `Bearer ${token}` },
            rawHeaders: ['Authorization', `Bearer ${token} `],
          },
          auth,
        ],
        ['two spaces', nodeHeaders(`Bearer  ${token}`), auth],
        ['a trailing space', nodeHeaders(`Bearer ${token} `), auth],
        // Refused by the whole way.
        [
          'two Authorization headers',
          nodeHeaders(`Bearer ${token}`, `Bearer ${token}`),
          'ERR_INVALID_REQUEST',
        ],
        ['no header', nodeHeaders(), 'ERR_TOKEN_MISSING'],
      ];
    for (const [name, { headers, rawHeaders }, expected] of cases) {
      expect(lookup(headers.authorization, rawHeaders), name).toBeUndefined();
      expect(await wholeWay(validator, { headers, rawHeaders }), name).toBe(expected);
    }
    // Not a string at all (a framework's array of values).
    expect(lookup([`Bearer ${token}`], ['Authorization', `Bearer ${token}`])).toBeUndefined();
  });

  it('answers nothing past the token`s exp and leaves the entry for the whole way to drop', async () => {
    const at = { ms: NOW_SEC * 1000 };
    const validator = validatorAt(at);
    const token = await tokenWith({ exp: NOW_SEC + 60 });
    await cached(validator, token);
    const lookup = createCachedBearerLookup(validator, {});
    const { headers, rawHeaders } = nodeHeaders(`Bearer ${token}`);
    at.ms = (NOW_SEC + 3600) * 1000;
    expect(lookup?.(headers.authorization, rawHeaders)).toBeUndefined();
    expect(validator.state().tokenCache.entries).toBe(1);
    expect(await wholeWay(validator, { headers, rawHeaders })).toBe('ERR_TOKEN_EXPIRED');
    expect(validator.state().tokenCache.entries).toBe(0);
  });

  it('never throws for a clock that throws: the whole way answers ERR_INTERNAL', async () => {
    const at = { ms: NOW_SEC * 1000, fail: false };
    const validator = createValidator({
      issuer: ISS,
      audience: AUD,
      secret: SECRET,
      now: () => {
        if (at.fail) throw new Error('clock broken');
        return at.ms;
      },
    });
    const token = await tokenWith();
    await cached(validator, token);
    const lookup = createCachedBearerLookup(validator, {});
    const { headers, rawHeaders } = nodeHeaders(`Bearer ${token}`);
    at.fail = true;
    expect(lookup?.(headers.authorization, rawHeaders)).toBeUndefined();
    expect(await wholeWay(validator, { headers, rawHeaders })).toBe('ERR_INTERNAL');
  });

  it('answers nothing once `validate` is replaced on the validator (a wrapper sees every token)', async () => {
    const validator = validatorAt(clock);
    const token = await tokenWith();
    await cached(validator, token);
    const lookup = createCachedBearerLookup(validator, {});
    const { headers, rawHeaders } = nodeHeaders(`Bearer ${token}`);
    const own = validator.validate;
    const seen: unknown[] = [];
    validator.validate = (value, requirements) => {
      seen.push(value);
      return own(value, requirements);
    };
    expect(lookup?.(headers.authorization, rawHeaders)).toBeUndefined();
    await wholeWay(validator, { headers, rawHeaders });
    expect(seen).toEqual([token]);
  });

  it('gives no lookup where a cached answer could differ from the whole way`s', async () => {
    const validator = validatorAt(clock);
    // A form body or query string may carry a token too (sent two ways is a 400).
    expect(createCachedBearerLookup(validator, { body: true })).toBeUndefined();
    expect(createCachedBearerLookup(validator, { query: true })).toBeUndefined();
    expect(createCachedBearerLookup(validator, { body: false, query: false })).toBeTypeOf('function');
    // DPoP required: a Bearer token is refused.
    const dpopOnly = validatorAt(clock, { dpop: { required: true } });
    expect(createCachedBearerLookup(dpopOnly, {})).toBeUndefined();
    // Not made by createValidator: nothing of its cache is known.
    const foreign = { ...validator } as Validator;
    expect(createCachedBearerLookup(foreign, {})).toBeUndefined();
  });

  it('answers a Bearer token from the cache when DPoP is taken but not required, as the whole way does', async () => {
    const validator = validatorAt(clock, { dpop: true });
    const token = await tokenWith();
    const auth = await cached(validator, token);
    const { headers, rawHeaders } = nodeHeaders(`Bearer ${token}`);
    expect(createCachedBearerLookup(validator, {})?.(headers.authorization, rawHeaders)).toBe(auth);
    expect(await wholeWay(validator, { headers, rawHeaders })).toBe(auth);
  });

  it('answers an edited header only when the whole way gives that same auth (property)', async () => {
    const validator = validatorAt(clock);
    const token = await tokenWith();
    const auth = await cached(validator, token);
    const lookup = createCachedBearerLookup(validator, {});
    if (lookup === undefined) throw new Error('expected a lookup');
    const header = `Bearer ${token}`;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(...characterEdits(header, fc.constantFrom(' ', '\t', '.', 'A', 'b', '='), 4)),
        async (edited) => {
          const { headers, rawHeaders } = nodeHeaders(edited);
          const answer = lookup(headers.authorization, rawHeaders);
          if (answer === undefined) return;
          expect(answer).toBe(auth);
          expect(await wholeWay(validator, { headers, rawHeaders })).toBe(auth);
          expect(edited).toBe(header);
        },
      ),
      { numRuns: 300 },
    );
  });
});
