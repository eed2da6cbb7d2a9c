import { generateKeyPairSync } from 'node:crypto';
import { inspect } from 'node:util';
import { createValidator, type Validator } from '@tokenguard/core';
import { DEV_INTROSPECTOR_JWT_ID, type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { failure } from './support/rejections.js';

const OPAQUE = 'https://opaque.test';
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

let issuer: DevIssuer;
/** The validators' clock: the real one at the start of each test, moved forward by a test that needs it. */
let clock = Date.now();
const validators: Validator[] = [];

beforeAll(async () => {
  issuer = await startDevIssuer({
    introspectorJwks: {
      keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'rs-1', alg: 'ES256', use: 'sig' }],
    },
  });
});

beforeEach(() => {
  clock = Date.now();
});

afterAll(async () => {
  await Promise.all(validators.map((validator) => validator.close()));
  await issuer.close();
});

function validator(
  introspection: Record<string, unknown> = {},
  target: DevIssuer = issuer,
  audience: string = OPAQUE,
): Validator {
  const created = createValidator({
    issuer: target.issuer,
    audience,
    now: () => clock,
    introspection: {
      clientId: target.introspector.id,
      clientSecret: target.introspector.secret,
      ...introspection,
    },
  } as Parameters<typeof createValidator>[0]);
  validators.push(created);
  return created;
}

describe('introspection against oidc-provider', () => {
  it('accepts an opaque token with its scopes (discovered endpoint, client_secret_basic)', async () => {
    const token = await issuer.getToken({ resource: OPAQUE, scope: 'read write' });
    const v = validator();
    const auth = await v.validate(`Bearer ${token}`, { scopes: ['write'] });
    expect(auth.source).toBe('introspection');
    expect([...auth.scopes].sort()).toEqual(['read', 'write']);
    expect(auth).toMatchObject({ issuer: issuer.issuer, audience: [OPAQUE], clientId: issuer.client.id });
    expect(v.state().issuers[0]?.introspection?.endpoint).toBe(issuer.introspectionEndpoint);
  });

  it('rejects a revoked token once the cache lifetime has passed', async () => {
    const token = await issuer.getToken({ resource: OPAQUE, scope: 'read' });
    const v = validator({ cache: { maxTtlSec: 30 } });
    await v.validate(token);
    await issuer.revoke(token);
    // Within maxTtlSec the cached answer stands: the documented revocation delay.
    clock += 29_000;
    expect((await v.validate(token)).source).toBe('introspection');
    clock += 1_000;
    const error = await failure(v.validate(token));
    expect(error).toMatchObject({ code: 'ERR_TOKEN_INACTIVE', status: 401, oauthError: 'invalid_token' });
  });

  it('rejects a made-up token with invalid_token', async () => {
    const error = await failure(validator().validate('made-up-token-that-the-issuer-never-issued'));
    expect(error).toMatchObject({ code: 'ERR_TOKEN_INACTIVE', status: 401 });
  });

  it('rejects an opaque token meant for another API (aud)', async () => {
    const token = await issuer.getToken({ resource: OPAQUE, scope: 'read' });
    const error = await failure(validator({}, issuer, 'https://api.test').validate(token));
    expect(error.code).toBe('ERR_AUDIENCE_MISMATCH');
  });

  it('answers a 500-class misconfiguration, not 401, for wrong introspection credentials', async () => {
    const token = await issuer.getToken({ resource: OPAQUE, scope: 'read' });
    const wrongSecret = 'wrong-secret-that-must-never-be-printed';
    const v = validator({ clientSecret: wrongSecret });
    const error = await failure(v.validate(token));
    expect(error).toMatchObject({ code: 'ERR_INTROSPECTION_MISCONFIGURED', status: 500 });
    expect(error.headers['www-authenticate']).toBeUndefined();
    const printed = [String(error), JSON.stringify(error.toJSON()), inspect(error, { depth: 10 })];
    printed.push(JSON.stringify(v.state()), inspect(v.options, { depth: 10 }), JSON.stringify(v.options));
    for (const text of printed) expect(text).not.toContain(wrongSecret);
  });

  it('works with client_secret_post', async () => {
    const token = await issuer.getToken({ resource: OPAQUE, scope: 'read' });
    const auth = await validator({ authMethod: 'client_secret_post' }).validate(token);
    expect([...auth.scopes]).toEqual(['read']);
  });

  it('works with private_key_jwt and a signed (RFC 9701) answer', async () => {
    const token = await issuer.getToken({ resource: OPAQUE, scope: 'write' });
    const v = validator({
      clientId: DEV_INTROSPECTOR_JWT_ID,
      clientSecret: undefined,
      authMethod: 'private_key_jwt',
      privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }),
      privateKeyKid: 'rs-1',
      signedResponse: true,
    });
    const auth = await v.validate(token);
    expect([...auth.scopes]).toEqual(['write']);
  });

  it('asks the issuer once for 500 concurrent validations of one cold token', async () => {
    const token = await issuer.getToken({ resource: OPAQUE, scope: 'read' });
    const v = validator();
    await Promise.all(Array.from({ length: 500 }, () => v.validate(token)));
    expect(v.state().issuers[0]?.introspection?.requests).toBe(1);
  });

  it('gives the precise ERR_TOKEN_NOT_JWT when introspection is not configured', async () => {
    const token = await issuer.getToken({ resource: OPAQUE, scope: 'read' });
    const v = createValidator({ issuer: issuer.issuer, audience: OPAQUE });
    validators.push(v);
    expect(await failure(v.validate(token))).toMatchObject({ code: 'ERR_TOKEN_NOT_JWT', status: 401 });
  });

  it('answers 503 with Retry-After when the endpoint is stopped; cached answers still serve', async () => {
    const stopped = await startDevIssuer();
    try {
      const cachedToken = await stopped.getToken({ resource: OPAQUE, scope: 'read' });
      const newToken = await stopped.getToken({ resource: OPAQUE, scope: 'read' });
      const v = validator({}, stopped);
      await v.validate(cachedToken);
      await stopped.close();
      const error = await failure(v.validate(newToken));
      expect(error).toMatchObject({ code: 'ERR_INTROSPECTION_UNAVAILABLE', status: 503 });
      expect(Number(error.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect((await v.validate(cachedToken)).source).toBe('introspection');
    } finally {
      await stopped.close();
    }
  });
});
