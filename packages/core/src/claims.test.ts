import { describe, expect, it } from 'vitest';
import { type ClaimCheck, checkClaims, runClaimsValidator } from './claims.js';
import { TokenGuardError } from './errors.js';

const NOW_SEC = 1_800_000_000;
const AUD = 'https://api.example';
const NOW_MS = NOW_SEC * 1000;
const check = (overrides: Partial<ClaimCheck> = {}): ClaimCheck => ({
  rules: {
    clockToleranceSec: 5,
    maxTokenAgeSec: undefined,
    requiredClaims: [],
    acceptBoundTokens: false,
    mtls: false,
  },
  audience: [AUD],
  requireExp: true,
  source: 'token',
  ...overrides,
});

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof TokenGuardError) return error.code;
    throw error;
  }
  return undefined;
}

describe('checkClaims', () => {
  it('accepts a valid claim set and says until when an answer may be reused (exp plus tolerance)', () => {
    const result = checkClaims({ aud: [AUD, 'x'], exp: NOW_SEC + 60 }, check(), NOW_MS);
    expect(result).toEqual({ audience: [AUD, 'x'], exp: NOW_SEC + 60, notAfterMs: (NOW_SEC + 65) * 1000 });
  });

  it('rejects at exp plus tolerance, not before', () => {
    expect(codeOf(() => checkClaims({ aud: AUD, exp: NOW_SEC - 4 }, check(), NOW_MS))).toBeUndefined();
    expect(codeOf(() => checkClaims({ aud: AUD, exp: NOW_SEC - 5 }, check(), NOW_MS))).toBe(
      'ERR_TOKEN_EXPIRED',
    );
  });

  it('requires exp only when asked to (JWT yes, introspection answer no)', () => {
    expect(codeOf(() => checkClaims({ aud: AUD }, check(), NOW_MS))).toBe('ERR_CLAIM_MISSING');
    const answer = checkClaims(
      { aud: AUD },
      check({ requireExp: false, source: 'introspection answer' }),
      NOW_MS,
    );
    expect(answer.notAfterMs).toBe(Number.POSITIVE_INFINITY);
  });

  it('rejects NumericDates no Date can hold, negative or non-numeric', () => {
    for (const exp of [1e13, -1, '1800000060', Number.NaN]) {
      expect(codeOf(() => checkClaims({ aud: AUD, exp }, check(), NOW_MS))).toBe('ERR_CLAIM_INVALID');
    }
  });

  it('bounds the reuse by maxTokenAgeSec and requires iat for it', () => {
    const rules = {
      clockToleranceSec: 0,
      maxTokenAgeSec: 30,
      requiredClaims: [],
      acceptBoundTokens: false,
      mtls: false,
    };
    const result = checkClaims({ aud: AUD, exp: NOW_SEC + 600, iat: NOW_SEC - 10 }, check({ rules }), NOW_MS);
    expect(result.notAfterMs).toBe((NOW_SEC + 20) * 1000);
    expect(codeOf(() => checkClaims({ aud: AUD, exp: NOW_SEC + 600 }, check({ rules }), NOW_MS))).toBe(
      'ERR_CLAIM_MISSING',
    );
    expect(
      codeOf(() =>
        checkClaims({ aud: AUD, exp: NOW_SEC + 600, iat: NOW_SEC - 31 }, check({ rules }), NOW_MS),
      ),
    ).toBe('ERR_TOKEN_TOO_OLD');
  });

  it('rejects an absent or foreign aud unless the check is opted out', () => {
    expect(codeOf(() => checkClaims({ exp: NOW_SEC + 60 }, check(), NOW_MS))).toBe('ERR_CLAIM_MISSING');
    expect(codeOf(() => checkClaims({ aud: 'other', exp: NOW_SEC + 60 }, check(), NOW_MS))).toBe(
      'ERR_AUDIENCE_MISMATCH',
    );
    expect(codeOf(() => checkClaims({ aud: [AUD, 1], exp: NOW_SEC + 60 }, check(), NOW_MS))).toBe(
      'ERR_CLAIM_INVALID',
    );
    expect(checkClaims({ exp: NOW_SEC + 60 }, check({ audience: null }), NOW_MS).audience).toEqual([]);
  });

  it('names the source in messages', () => {
    try {
      checkClaims({ exp: NOW_SEC + 60 }, check({ source: 'introspection answer' }), NOW_MS);
    } catch (error) {
      expect((error as Error).message).toBe('The introspection answer has no aud claim');
    }
    expect.assertions(1);
  });
});

describe('runClaimsValidator', () => {
  it('rejects on false or a throw (with the cause), passes a TokenGuardError through', async () => {
    await expect(runClaimsValidator(() => true, {}, { issuer: 'i', header: {} })).resolves.toBeUndefined();
    await expect(runClaimsValidator(() => false, {}, { issuer: 'i', header: {} })).rejects.toMatchObject({
      code: 'ERR_CLAIM_INVALID',
    });
    const cause = new Error('db down');
    await expect(
      runClaimsValidator(
        async () => {
          throw cause;
        },
        {},
        { issuer: 'i', header: {} },
      ),
    ).rejects.toMatchObject({ code: 'ERR_CLAIM_INVALID', cause });
    const own = new TokenGuardError('ERR_TOKEN_INACTIVE');
    await expect(
      runClaimsValidator(
        () => {
          throw own;
        },
        {},
        { issuer: 'i', header: {} },
      ),
    ).rejects.toBe(own);
  });
});

describe('a token bound to a key (RFC 7800 cnf)', () => {
  const claims = { aud: AUD, exp: NOW_SEC + 600 };
  const accepting = {
    clockToleranceSec: 5,
    maxTokenAgeSec: undefined,
    requiredClaims: [],
    acceptBoundTokens: true,
    mtls: false,
  };

  it('is refused as a bearer token, naming the confirmation method: DPoP jkt, mTLS x5t#S256, jwk', () => {
    for (const cnf of [
      { jkt: 'thumbprint' },
      { 'x5t#S256': 'certificate-thumbprint' },
      { jwk: { kty: 'EC' } },
    ]) {
      let error: unknown;
      try {
        checkClaims({ ...claims, cnf }, check(), NOW_MS);
      } catch (caught) {
        error = caught;
      }
      expect(error).toMatchObject({ code: 'ERR_TOKEN_BOUND', status: 401, oauthError: 'invalid_token' });
      expect((error as Error).message).toContain(Object.keys(cnf)[0]);
    }
  });

  it('is refused whatever the form of cnf (a string, an empty object), never when cnf is absent or null', () => {
    expect(codeOf(() => checkClaims({ ...claims, cnf: 'x' }, check(), NOW_MS))).toBe('ERR_TOKEN_BOUND');
    expect(codeOf(() => checkClaims({ ...claims, cnf: {} }, check(), NOW_MS))).toBe('ERR_TOKEN_BOUND');
    expect(checkClaims({ ...claims, cnf: null }, check(), NOW_MS).exp).toBe(NOW_SEC + 600);
    expect(checkClaims(claims, check(), NOW_MS).exp).toBe(NOW_SEC + 600);
  });

  it('is accepted with acceptBoundTokens, for a gateway that checked the binding', () => {
    const result = checkClaims(
      { ...claims, cnf: { 'x5t#S256': 'abc' } },
      check({ rules: accepting }),
      NOW_MS,
    );
    expect(result.exp).toBe(NOW_SEC + 600);
  });
});
