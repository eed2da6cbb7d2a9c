/**
 * Tokens that must pass, so hardening never turns into rejecting good tokens: every algorithm, key
 * rotation through a served JWKS, boundary times within tolerance, and the shapes real issuers
 * produce (Auth0, Entra ID, Cognito, Keycloak), each with the configuration it needs.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createValidator, type Validator, type ValidatorOptions } from '@tokenguard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AsymmetricAlg, generateSigningKey, jwksOf } from '../support/keys.js';
import { AUDIENCE, claims, expectRejection, forge, ISSUER, NOW_SEC, validatorFor } from './forge.js';
import { type JsonServer, startJsonServer } from './jwks-server.js';

const opened: Validator[] = [];
const open = (options: ValidatorOptions): Validator => {
  const validator = validatorFor(options);
  opened.push(validator);
  return validator;
};
let server: JsonServer;
beforeAll(async () => {
  server = await startJsonServer({});
});
afterAll(async () => {
  for (const validator of opened) await validator.close();
  await server.close();
});

describe('every algorithm', () => {
  const asymmetric: AsymmetricAlg[] = [
    'RS256',
    'RS384',
    'RS512',
    'PS256',
    'PS384',
    'PS512',
    'ES256',
    'ES384',
    'ES512',
    'EdDSA',
  ];
  const keys = asymmetric.map((alg) => generateSigningKey(alg, { kid: `k-${alg}` }));
  const ed448Pem = generateKeyPairSync('ed448', {
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const ed448 = {
    privateKey: createPrivateKey(ed448Pem.privateKey),
    jwk: {
      ...createPublicKey(ed448Pem.publicKey).export({ format: 'jwk' }),
      kid: 'k-ed448',
      alg: 'EdDSA',
      use: 'sig',
    },
  };
  const ed25519 = keys[asymmetric.indexOf('EdDSA')];
  const validator = open({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwks: {
      keys: [...jwksOf(...keys).keys, ed448.jwk, { ...ed25519?.publicJwk, kid: 'k-Ed25519', alg: 'Ed25519' }],
    },
    algorithms: [...asymmetric, 'Ed25519'],
  });
  for (const key of keys) {
    it(`accepts ${key.alg}`, async () => {
      const auth = await validator.validate(
        forge({ alg: key.alg, typ: 'at+jwt', kid: key.kid }, claims(), key.privateKey),
      );
      expect(auth.subject).toBe('user-1');
    });
  }
  it('accepts EdDSA with an Ed448 key', async () => {
    const auth = await validator.validate(
      forge({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k-ed448' }, claims(), ed448.privateKey),
    );
    expect(auth.subject).toBe('user-1');
  });
  it('accepts the fully-specified Ed25519 algorithm when allowed', async () => {
    const token = forge({ alg: 'Ed25519', typ: 'at+jwt', kid: 'k-Ed25519' }, claims(), ed25519?.privateKey);
    expect((await validator.validate(token)).subject).toBe('user-1');
  });
  it('accepts HS256/384/512 with a 64-byte secret, and refuses HS384/512 with a key shorter than the hash (RFC 7518 §3.2)', async () => {
    const long = randomBytes(64);
    const hs = open({ issuer: ISSUER, audience: AUDIENCE, secret: long });
    for (const alg of ['HS256', 'HS384', 'HS512']) {
      expect((await hs.validate(forge({ alg, typ: 'at+jwt' }, claims(), long))).subject).toBe('user-1');
    }
    const short = randomBytes(32);
    const hs32 = open({ issuer: ISSUER, audience: AUDIENCE, secret: short });
    expect((await hs32.validate(forge({ alg: 'HS256', typ: 'at+jwt' }, claims(), short))).subject).toBe(
      'user-1',
    );
    // A 32-byte secret defaults to HS256 only, and allowing HS384/512 with it is a configuration error.
    for (const alg of ['HS384', 'HS512']) {
      await expectRejection(
        hs32.validate(forge({ alg, typ: 'at+jwt' }, claims(), short)),
        'ERR_ALGORITHM_NOT_ALLOWED',
      );
    }
    expect(() =>
      createValidator({ issuer: ISSUER, audience: AUDIENCE, secret: short, algorithms: ['HS256', 'HS512'] }),
    ).toThrow(/"algorithms": HS512 needs a secret of at least 64 bytes/);
  });
});

describe('rotated keys', () => {
  it('accepts a token signed by a key added after the first fetch, and drops a removed key', async () => {
    const old = generateSigningKey('ES256', { kid: 'rot-1' });
    const next = generateSigningKey('ES256', { kid: 'rot-2' });
    server.set('/rotating', jwksOf(old));
    const validator = open({ issuer: ISSUER, audience: AUDIENCE, jwksUri: server.url('/rotating') });
    const sign = (key: typeof old) =>
      forge({ alg: 'ES256', typ: 'at+jwt', kid: key.kid }, claims(), key.privateKey);
    expect((await validator.validate(sign(old))).subject).toBe('user-1');
    server.set('/rotating', jwksOf(old, next));
    expect((await validator.validate(sign(next))).subject).toBe('user-1');
    server.set('/rotating', jwksOf(next));
    await validator.refreshKeys();
    await expectRejection(validator.validate(sign(old)), 'ERR_KEY_NOT_FOUND');
    expect((await validator.validate(sign(next))).subject).toBe('user-1');
  });
});

describe('boundary times within a configured tolerance', () => {
  const key = generateSigningKey('ES256', { kid: 'time' });
  const validator = open({ issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(key), clockToleranceSec: 60 });
  const sign = (overrides: Record<string, unknown>) =>
    forge({ alg: 'ES256', typ: 'at+jwt', kid: 'time' }, claims(overrides), key.privateKey);
  it('accepts exp 59.9 s ago, nbf and iat 60 s ahead', async () => {
    expect((await validator.validate(sign({ exp: NOW_SEC - 59.9 }))).subject).toBe('user-1');
    expect((await validator.validate(sign({ nbf: NOW_SEC + 60, iat: NOW_SEC + 60 }))).subject).toBe('user-1');
  });
  it('rejects exp 60 s ago and nbf 61 s ahead', async () => {
    await expectRejection(validator.validate(sign({ exp: NOW_SEC - 60 })), 'ERR_TOKEN_EXPIRED');
    await expectRejection(validator.validate(sign({ nbf: NOW_SEC + 61 })), 'ERR_TOKEN_NOT_YET_VALID');
  });
});

describe('what real issuers send', () => {
  const key = generateSigningKey('RS256', { kid: 'real' });
  const sign = (header: Record<string, unknown>, payload: Record<string, unknown>) =>
    forge({ alg: 'RS256', kid: 'real', ...header }, payload, key.privateKey);
  const times = { iat: NOW_SEC - 60, exp: NOW_SEC + 3600 };

  it('accepts an Auth0-like token (typ JWT, aud list, azp, permissions) when typ JWT and permissions are configured', async () => {
    const iss = 'https://tenant.auth0.test/';
    const validator = open({
      issuer: iss,
      audience: AUDIENCE,
      jwks: jwksOf(key),
      typ: ['at+jwt', 'JWT'],
      scopeClaims: ['scope', 'permissions'],
    });
    const token = sign(
      { typ: 'JWT' },
      {
        iss,
        sub: 'auth0|abc',
        aud: [AUDIENCE, `${iss}userinfo`],
        azp: 'spa-client',
        scope: 'openid profile',
        permissions: ['orders:write'],
        gty: 'client-credentials',
        ...times,
      },
    );
    const auth = await validator.validate(token, { scopes: ['orders:write'] });
    expect(auth.clientId).toBe('spa-client');
    expect(auth.scopes.has('openid')).toBe(true);
  });
  it('accepts an Entra-ID-like token (scp, azp, tid, x5t, roles)', async () => {
    const tid = '9188040d-6c67-4c5b-b112-36a304b66dad';
    const iss = `https://login.microsoftonline.test/${tid}/v2.0`;
    const validator = open({
      issuer: iss,
      audience: 'api://orders',
      jwks: jwksOf(key),
      typ: ['JWT'],
      tenantClaim: 'tid',
    });
    const token = sign(
      { typ: 'JWT', x5t: 'nOo3ZDrODXEK1jKWhXslHR_KXEg' },
      {
        iss,
        aud: 'api://orders',
        sub: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ',
        azp: 'client-guid',
        azpacr: '1',
        scp: 'orders.read orders.write',
        roles: ['Orders.Admin'],
        tid,
        oid: 'oid-1',
        ver: '2.0',
        nbf: NOW_SEC - 60,
        ...times,
      },
    );
    const auth = await validator.validate(token, { scopes: ['orders.read'] });
    expect(auth.tenant).toBe(tid);
    expect(auth.clientId).toBe('client-guid');
  });
  it('accepts a Cognito-like access token (no typ, no aud, client_id, token_use) with allowMissingTyp and audience null', async () => {
    const iss = 'https://cognito-idp.eu-west-1.amazonaws.test/eu-west-1_Example';
    const validator = open({ issuer: iss, audience: null, jwks: jwksOf(key), allowMissingTyp: true });
    const token = sign(
      {},
      {
        iss,
        sub: 'user-uuid',
        client_id: 'app-client',
        token_use: 'access',
        scope: 'orders/read',
        username: 'u',
        jti: 'j',
        auth_time: NOW_SEC - 100,
        ...times,
      },
    );
    const auth = await validator.validate(token, { scopes: ['orders/read'] });
    expect(auth.clientId).toBe('app-client');
    // The same token is refused when the configuration does not opt out of typ.
    const strict = open({ issuer: iss, audience: null, jwks: jwksOf(key) });
    await expectRejection(strict.validate(token), 'ERR_TYPE_MISMATCH');
  });
  it('accepts a Keycloak-like token (typ JWT, nested realm_access and resource_access)', async () => {
    const iss = 'https://keycloak.test/realms/shop';
    const validator = open({ issuer: iss, audience: AUDIENCE, jwks: jwksOf(key), typ: ['JWT'] });
    const token = sign(
      { typ: 'JWT' },
      {
        iss,
        aud: ['account', AUDIENCE],
        sub: 'f:1',
        typ: 'Bearer',
        azp: 'shop-frontend',
        session_state: 's',
        realm_access: { roles: ['offline_access', 'orders-admin'] },
        resource_access: { account: { roles: ['manage-account'] } },
        scope: 'profile email orders:read',
        ...times,
      },
    );
    const auth = await validator.validate(token, { scopes: ['orders:read'] });
    expect((auth.claims.realm_access as { roles: string[] }).roles).toContain('orders-admin');
  });
  it('accepts an RFC 9068 token with application/at+jwt, a scope list and extra harmless headers (jku is ignored, not fetched)', async () => {
    const validator = open({ issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(key) });
    const token = sign(
      { typ: 'application/at+jwt', jku: server.url('/never'), x5t: 'abc' },
      claims({ scope: ['orders:read', 'orders:write'] }),
    );
    expect((await validator.validate(token, { scopes: ['orders:write'] })).subject).toBe('user-1');
    expect(server.count('/never')).toBe(0);
  });
});
