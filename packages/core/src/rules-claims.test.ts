import { beforeAll, describe, expect, it } from 'vitest';
import {
  accessTokenClaims,
  generateSigningKey,
  jwksOf,
  type SigningKey,
  signToken,
} from '../../../test/support/keys.js';
import { failure } from '../../../test/support/rejections.js';
import { assertRequirements } from './requirements.js';
import { createValidator } from './validator.js';

// The access-token rules as a user meets them: real signed tokens through createValidator.
const ISS = 'https://id.example';
const AUD = 'https://api.example';
const NOW_SEC = 1_700_000_000;
let key: SigningKey;

beforeAll(() => {
  key = generateSigningKey('ES256');
});

const token = (overrides: Record<string, unknown> = {}) =>
  signToken(key, accessTokenClaims({ iss: ISS, aud: AUD, nowSec: NOW_SEC }, overrides));
const validator = (options: Record<string, unknown> = {}) =>
  createValidator({
    issuer: ISS,
    audience: AUD,
    jwks: jwksOf(key),
    now: () => NOW_SEC * 1000,
    tokenCache: false,
    ...options,
  });

describe('requiredClaims', () => {
  // Was: `claims[name] === undefined` found Object.prototype's members, so a required claim named
  // like one (toString, constructor, valueOf, __proto__ ...) passed when the token lacked it.
  it('rejects a token lacking a required claim named like an Object.prototype member', async () => {
    for (const name of ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__']) {
      const guard = validator({ requiredClaims: [name] });
      const error = await failure(guard.validate(await token()));
      expect(error.code, name).toBe('ERR_CLAIM_MISSING');
      expect(error.claim).toBe(name);
    }
  });

  it('accepts such a claim when the token carries it', async () => {
    const guard = validator({ requiredClaims: ['constructor'] });
    const auth = await guard.validate(await token({ constructor: 'x' }));
    expect(auth.claims.constructor).toBe('x');
  });
});

describe('claim requirements are checked as declared', () => {
  // Was: an entry with `test` was taken as a predicate and its `claim`/`equals` dropped without a
  // word, so { test, description, claim: 'roles', includes: 'admin' } admitted non-admins.
  it('refuses an entry mixing a predicate with a claim check, naming it', () => {
    const mixed = { test: () => true, description: 'signed in', claim: 'roles', includes: 'admin' };
    expect(() => assertRequirements({ claims: [mixed] })).toThrow(
      /invalid requirement "claims\.0": unknown key "claim"/,
    );
  });

  it('refuses unknown keys (a typo must not pass unnoticed)', () => {
    expect(() => assertRequirements({ claims: [{ claim: 'org', equals: 'acme', descripton: 'x' }] })).toThrow(
      /"claims\.0": unknown key "descripton"/,
    );
  });

  // Was: accepted; '' is a "word" of a claim that is '' or holds two spaces in a row, and an entry
  // of ['']: a guard built from an unset setting admitted such tokens.
  it('refuses an empty includes', () => {
    expect(() => assertRequirements({ claims: [{ claim: 'groups', includes: '' }] })).toThrow(
      /"claims\.0": includes must not be empty/,
    );
  });

  it('still admits and refuses by the claim through the validator', async () => {
    const guard = validator();
    const admin = await token({ roles: ['user', 'admin'], org: 'acme' });
    const user = await token({ roles: 'user  staff', org: 'acme' });
    const requirements = {
      claims: [
        { claim: 'roles', includes: 'admin' },
        { claim: 'org', equals: 'acme' },
      ],
    };
    await expect(guard.validate(admin, requirements)).resolves.toMatchObject({ subject: 'user-1' });
    const error = await failure(guard.validate(user, requirements));
    expect(error.code).toBe('ERR_CLAIM_REQUIREMENT');
    expect(error.status).toBe(403);
  });
});

describe('NumericDates and the clock tolerance (default 5 s), end to end', () => {
  it('refuses exp, nbf and iat that are not non-negative finite numbers a Date can hold', async () => {
    const guard = validator();
    for (const name of ['exp', 'nbf', 'iat']) {
      for (const value of [`${NOW_SEC}`, true, null, [NOW_SEC], {}, -1, 1e300, 8.64e12 + 1]) {
        const error = await failure(guard.validate(await token({ [name]: value })));
        expect(error.code, `${name}: ${JSON.stringify(value)}`).toBe('ERR_CLAIM_INVALID');
        expect(error.status).toBe(401);
      }
    }
  });

  it('takes fractional NumericDates and draws every edge at exactly the tolerance', async () => {
    const guard = validator();
    const outcome = async (claims: Record<string, unknown>) => {
      try {
        await guard.validate(await token(claims));
        return 'ok';
      } catch (error) {
        return (error as { code: string }).code;
      }
    };
    expect(await outcome({ exp: NOW_SEC - 5 + 0.001 })).toBe('ok');
    expect(await outcome({ exp: NOW_SEC - 5 })).toBe('ERR_TOKEN_EXPIRED');
    expect(await outcome({ nbf: NOW_SEC + 5 })).toBe('ok');
    expect(await outcome({ nbf: NOW_SEC + 5.001 })).toBe('ERR_TOKEN_NOT_YET_VALID');
    expect(await outcome({ iat: NOW_SEC + 5 })).toBe('ok');
    expect(await outcome({ iat: NOW_SEC + 5.001 })).toBe('ERR_TOKEN_NOT_YET_VALID');
    expect(await outcome({ exp: undefined })).toBe('ERR_CLAIM_MISSING');
  });
});

describe('aud shapes, end to end', () => {
  it('accepts duplicates and refuses an empty list, null and non-string members', async () => {
    const guard = validator();
    await expect(guard.validate(await token({ aud: [AUD, AUD] }))).resolves.toMatchObject({
      audience: [AUD, AUD],
    });
    expect((await failure(guard.validate(await token({ aud: [] })))).code).toBe('ERR_AUDIENCE_MISMATCH');
    expect((await failure(guard.validate(await token({ aud: '' })))).code).toBe('ERR_AUDIENCE_MISMATCH');
    for (const aud of [null, [AUD, 1], [AUD, null], { 0: AUD }, 1]) {
      expect((await failure(guard.validate(await token({ aud })))).code, JSON.stringify(aud)).toBe(
        'ERR_CLAIM_INVALID',
      );
    }
  });
});

describe('scope claim shapes, end to end', () => {
  it('merges scope and scp, splits on spaces only and drops what is not a scope-token', async () => {
    const guard = validator();
    const auth = await guard.validate(
      await token({ scope: '  a\tb  c c ', scp: ['c', 'd', '', 7, 'e f', null, 'g'] }),
    );
    expect([...auth.scopes]).toEqual(['c', 'd', 'g']);
    const permissions = await token({ permissions: ['p'] });
    expect((await guard.validate(permissions)).scopes.size).toBe(0);
    const auth0 = validator({ scopeClaims: ['scope', 'permissions'] });
    expect([...(await auth0.validate(permissions)).scopes]).toEqual(['p']);
  });

  it('answers a missing scope with a 403 insufficient_scope whose challenge names the scopes to ask for', async () => {
    const guard = validator({ realm: 'api' });
    const error = await failure(
      guard.validate(await token({ scp: 'orders:read' }), {
        scopes: { allOf: ['orders:read', { anyOf: ['admin', 'orders:write'] }] },
      }),
    );
    expect(error.status).toBe(403);
    expect(error.oauthError).toBe('insufficient_scope');
    expect(error.wwwAuthenticate).toContain('scope="orders:read admin"');
  });
});

describe('validateClaims verdicts, end to end', () => {
  // The README: "`false` or a throw is a 401 ERR_CLAIM_INVALID". Was: only `false` itself refused, so a
  // JavaScript check answering another falsy value (`claims.org && claims.org.length` with an empty
  // org: 0; a lookup answering null) let the token through. Every falsy answer but `undefined` (a
  // check that only throws) now refuses; truthy answers accept, as before.
  it('refuses every falsy verdict but undefined, and accepts true, undefined and truthy values', async () => {
    const jwt = await token();
    for (const verdict of [false, null, 0, -0, '', Number.NaN, 0n]) {
      const guard = validator({ validateClaims: () => verdict });
      const error = await failure(guard.validate(jwt));
      expect([error.code, error.status, error.oauthError], String(verdict)).toEqual([
        'ERR_CLAIM_INVALID',
        401,
        'invalid_token',
      ]);
      const later = await failure(validator({ validateClaims: async () => verdict }).validate(jwt));
      expect(later.code, `async ${String(verdict)}`).toBe('ERR_CLAIM_INVALID');
    }
    for (const verdict of [true, undefined, 1, 'yes', {}]) {
      const guard = validator({ validateClaims: () => verdict });
      expect((await guard.validate(jwt)).subject, String(verdict)).toBe('user-1');
    }
  });

  it('passes a TokenGuardError it throws through as it is (a 503 of its own stays a 503)', async () => {
    const { TokenGuardError } = await import('./errors.js');
    const guard = validator({
      validateClaims: () => {
        throw new TokenGuardError('ERR_KEYS_UNAVAILABLE', { retryAfterSec: 7 });
      },
    });
    const error = await failure(guard.validate(await token()));
    expect([error.code, error.status, error.headers['retry-after']]).toEqual([
      'ERR_KEYS_UNAVAILABLE',
      503,
      '7',
    ]);
  });
});
