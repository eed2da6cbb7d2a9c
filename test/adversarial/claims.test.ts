/**
 * Hostile claim values on correctly signed tokens: NumericDates that are not numbers, audiences and
 * issuers that only look like ours, an OpenID Connect ID token replayed as an access token, and scope
 * values built to match by substring, case or separator.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { generateSigningKey, jwksOf } from '../support/keys.js';
import {
  AUDIENCE,
  b64u,
  claims,
  expectRejection,
  forge,
  ISSUER,
  NOW_SEC,
  OTHER_ISSUER,
  signInput,
  validatorFor,
} from './forge.js';
import { createKeyring } from './keyring.js';

const ring = createKeyring();
const other = generateSigningKey('RS256', { kid: 'other-1' });
const validator = validatorFor({
  issuers: [
    { issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(ring.rs256) },
    { issuer: OTHER_ISSUER, audience: AUDIENCE, jwks: jwksOf(other) },
  ],
});
/** Auth0-like: typ JWT accepted, permissions read as scopes. */
const lenientTyp = validatorFor({
  issuer: ISSUER,
  audience: AUDIENCE,
  jwks: jwksOf(ring.rs256),
  typ: ['at+jwt', 'JWT'],
  allowMissingTyp: true,
  scopeClaims: ['scope', 'permissions'],
});
afterAll(async () => {
  await validator.close();
  await lenientTyp.close();
});

const header = { alg: 'RS256', typ: 'at+jwt', kid: ring.rs256.kid };
const token = (overrides: Record<string, unknown> = {}, h: Record<string, unknown> = header) =>
  forge(h, claims(overrides), ring.rs256.privateKey);
/** A token whose payload is the claims with `member` appended as raw JSON text (e.g. `"exp":1e400`). */
function rawMember(omit: string, member: string): string {
  const text = `${JSON.stringify(claims({ [omit]: undefined })).slice(0, -1)},${member}}`;
  const input = `${b64u(JSON.stringify(header))}.${b64u(text)}`;
  return `${input}.${b64u(signInput('RS256', ring.rs256.privateKey, input))}`;
}

describe('exp, nbf and iat values', () => {
  const notNumbers: [string, unknown][] = [
    ['a numeric string', String(NOW_SEC + 300)],
    ['an ISO date string', '2030-01-01T00:00:00Z'],
    ['null', null],
    ['true', true],
    ['a list', [NOW_SEC + 300]],
    ['an object', { $numberLong: String(NOW_SEC + 300) }],
    ['a negative number', -1],
  ];
  for (const claim of ['exp', 'nbf', 'iat']) {
    for (const [name, value] of notNumbers) {
      it(`rejects ${claim} as ${name}`, async () => {
        await expectRejection(validator.validate(token({ [claim]: value })), 'ERR_CLAIM_INVALID');
      });
    }
    it(`rejects ${claim} = 1e400 (Infinity after parsing)`, async () => {
      await expectRejection(validator.validate(rawMember(claim, `"${claim}":1e400`)), 'ERR_CLAIM_INVALID');
      await expectRejection(validator.validate(rawMember(claim, `"${claim}":-1e400`)), 'ERR_CLAIM_INVALID');
    });
  }
  it('rejects a token without exp', async () => {
    await expectRejection(validator.validate(token({ exp: undefined })), 'ERR_CLAIM_MISSING');
  });
  it('accepts fractional and exponent-notation NumericDates', async () => {
    expect((await validator.validate(token({ exp: NOW_SEC + 300.5, iat: NOW_SEC - 0.25 }))).subject).toBe(
      'user-1',
    );
    const exponent = rawMember('exp', `"exp":${(NOW_SEC + 300) / 1e9}e9`);
    expect((await validator.validate(exponent)).expiresAt?.getTime()).toBe((NOW_SEC + 300) * 1000);
  });
  it('applies the 5 s default tolerance exactly at its edges', async () => {
    expect((await validator.validate(token({ exp: NOW_SEC - 4.999 }))).subject).toBe('user-1');
    await expectRejection(validator.validate(token({ exp: NOW_SEC - 5 })), 'ERR_TOKEN_EXPIRED');
    await expectRejection(validator.validate(token({ exp: 0 })), 'ERR_TOKEN_EXPIRED');
    expect((await validator.validate(token({ nbf: NOW_SEC + 5 }))).subject).toBe('user-1');
    await expectRejection(validator.validate(token({ nbf: NOW_SEC + 5.001 })), 'ERR_TOKEN_NOT_YET_VALID');
    expect((await validator.validate(token({ iat: NOW_SEC + 5 }))).subject).toBe('user-1');
    await expectRejection(validator.validate(token({ iat: NOW_SEC + 6 })), 'ERR_TOKEN_NOT_YET_VALID');
  });
});

describe('aud', () => {
  const mismatches: [string, unknown][] = [
    ['an empty string', ''],
    ['an empty list', []],
    ['a lookalike with a longer host', 'https://api.test.evil'],
    ['a lookalike prefix', 'https://api.tes'],
    ['a trailing slash', 'https://api.test/'],
    ['another case', 'HTTPS://API.TEST'],
    ['surrounding space', ' https://api.test'],
    ['another port', 'https://api.test:443'],
    ['a list of lookalikes', ['https://api.test.evil', 'https://api.test/', 'api.test']],
  ];
  for (const [name, aud] of mismatches) {
    it(`rejects aud as ${name}`, async () => {
      await expectRejection(validator.validate(token({ aud })), 'ERR_AUDIENCE_MISMATCH');
    });
  }
  for (const [name, aud] of [
    ['null', null],
    ['a number', 1],
    ['a list with a number', [AUDIENCE, 5]],
    ['an object', { aud: AUDIENCE }],
    ['a nested list', [[AUDIENCE]]],
  ] as [string, unknown][]) {
    it(`rejects aud as ${name} as invalid`, async () => {
      await expectRejection(validator.validate(token({ aud })), 'ERR_CLAIM_INVALID');
    });
  }
  it('rejects a token without aud', async () => {
    await expectRejection(validator.validate(token({ aud: undefined })), 'ERR_CLAIM_MISSING');
  });
  it('accepts a list holding ours among others', async () => {
    const auth = await validator.validate(
      token({ aud: ['https://other.test', AUDIENCE, 'https://api.test.evil'] }),
    );
    expect(auth.audience).toContain(AUDIENCE);
  });
});

describe('iss', () => {
  for (const iss of [
    `${ISSUER}/`,
    'HTTPS://ISSUER.TEST',
    `${ISSUER}#`,
    `${ISSUER}?`,
    ` ${ISSUER}`,
    'https://third-tenant.issuer.test',
    `${ISSUER}\u0000`,
  ]) {
    it(`rejects iss ${JSON.stringify(iss)} signed with our key`, async () => {
      await expectRejection(validator.validate(token({ iss })), 'ERR_ISSUER_MISMATCH');
    });
  }
  it("rejects our key's token relabelled as another trusted tenant's, and the reverse", async () => {
    await expectRejection(validator.validate(token({ iss: OTHER_ISSUER })), 'ERR_KEY_NOT_FOUND');
    const mixed = forge({ ...header, kid: other.kid }, claims(), other.privateKey);
    await expectRejection(validator.validate(mixed), 'ERR_KEY_NOT_FOUND');
    const withoutKid = forge({ alg: 'RS256', typ: 'at+jwt' }, claims(), other.privateKey);
    await expectRejection(validator.validate(withoutKid), 'ERR_SIGNATURE_INVALID');
  });
  for (const [name, iss] of [
    ['missing', undefined],
    ['null', null],
    ['a number', 1],
    ['a list', [ISSUER]],
  ] as [string, unknown][]) {
    it(`rejects iss ${name}`, async () => {
      await expectRejection(validator.validate(token({ iss })), 'ERR_CLAIM_MISSING');
    });
  }
});

describe('OpenID Connect ID token replayed as an access token', () => {
  const idClaims = {
    iss: ISSUER,
    sub: 'user-1',
    aud: 'client-1',
    azp: 'client-1',
    exp: NOW_SEC + 300,
    iat: NOW_SEC - 10,
    auth_time: NOW_SEC - 20,
    nonce: 'n-0S6_WzA2Mj',
    at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q',
  };
  it('rejects it on typ when only at+jwt is accepted', async () => {
    const idToken = forge({ alg: 'RS256', typ: 'JWT', kid: ring.rs256.kid }, idClaims, ring.rs256.privateKey);
    await expectRejection(validator.validate(idToken), 'ERR_TYPE_MISMATCH');
  });
  it('rejects it on aud when typ JWT or no typ is allowed', async () => {
    for (const typ of ['JWT', undefined]) {
      const idToken = forge({ alg: 'RS256', typ, kid: ring.rs256.kid }, idClaims, ring.rs256.privateKey);
      await expectRejection(lenientTyp.validate(idToken), 'ERR_AUDIENCE_MISMATCH');
    }
  });
});

describe('scope matching is whole-token and case-sensitive', () => {
  const lookalikes = [
    'orders:read-all',
    'orders:readwrite',
    'ORDERS:READ',
    'Orders:Read',
    'orders:read,orders:write',
    'orders:read;orders:write',
    'orders',
    'orders:*',
    '*',
    'orders:read\torders:write',
    'xorders:read',
    '"orders:read"',
  ];
  for (const scope of lookalikes) {
    it(`rejects scope ${JSON.stringify(scope)} for a route needing orders:read with 403`, async () => {
      const error = await expectRejection(
        validator.validate(token({ scope }), { scopes: ['orders:read'] }),
        'ERR_INSUFFICIENT_SCOPE',
      );
      expect(error.status).toBe(403);
      expect(error.scope).toBe('orders:read');
    });
  }
  it('rejects a list element holding several scopes', async () => {
    await expectRejection(
      validator.validate(token({ scope: ['orders:write orders:read'] }), { scopes: ['orders:read'] }),
      'ERR_INSUFFICIENT_SCOPE',
    );
  });
  it('ignores permissions unless configured, and a scp of the wrong shape', async () => {
    await expectRejection(
      validator.validate(token({ scope: undefined, permissions: ['orders:read'] }), {
        scopes: ['orders:read'],
      }),
      'ERR_INSUFFICIENT_SCOPE',
    );
    await expectRejection(
      validator.validate(token({ scope: undefined, scp: { 'orders:read': true } }), {
        scopes: ['orders:read'],
      }),
      'ERR_INSUFFICIENT_SCOPE',
    );
  });
  it('accepts the exact scope among others, with repeated spaces', async () => {
    const auth = await validator.validate(token({ scope: '  profile  orders:read  ' }), {
      scopes: ['orders:read'],
    });
    expect(auth.scopes.has('orders:read')).toBe(true);
  });
});
