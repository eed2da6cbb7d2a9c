/**
 * @tokenguard/core against a real authorization server: oidc-provider issuing RFC 9068 JWT access
 * tokens (client_credentials + resource indicators), discovered from its issuer URL.
 */
import { createValidator, isTokenGuardError, type TokenGuardError, type Validator } from '@tokenguard/core';
import { DEV_CLIENT_ID, type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const API = 'https://api.test';

let issuer: DevIssuer;
let otherIssuer: DevIssuer;
let validator: Validator;
/** Added to the real clock: tokens come from a real server, so time moves forward instead of sleeping. */
let offsetMs = 0;

beforeAll(async () => {
  [issuer, otherIssuer] = await Promise.all([startDevIssuer(), startDevIssuer()]);
  validator = createValidator({
    issuer: issuer.issuer,
    audience: [API, 'https://short.test'],
    now: () => Date.now() + offsetMs,
  });
});

afterAll(async () => {
  await validator?.close();
  await Promise.all([issuer?.close(), otherIssuer?.close()]);
});

async function rejection(promise: Promise<unknown>): Promise<TokenGuardError> {
  const error = await promise.then(
    () => new Error('the token was accepted'),
    (e: unknown) => e,
  );
  if (!isTokenGuardError(error)) throw error;
  return error;
}

describe('validate against oidc-provider', () => {
  it('accepts a real access token: typ at+jwt, client id, scopes, audience, issuer', async () => {
    const token = await issuer.getToken({ resource: API, scope: 'read orders:write' });
    expect(decodeProtectedHeader(token).typ).toBe('at+jwt');
    const auth = await validator.validate(`Bearer ${token}`);
    expect(auth.issuer).toBe(issuer.issuer);
    expect(auth.clientId).toBe(DEV_CLIENT_ID);
    expect(auth.audience).toContain(API);
    expect([...auth.scopes].sort()).toEqual(['orders:write', 'read']);
    expect(auth.source).toBe('jwt');
    expect(auth.expiresAt?.getTime()).toBeGreaterThan(Date.now());
  });

  it('accepts a real token with the scopes a route requires', async () => {
    const token = await issuer.getToken({ resource: API, scope: 'read write' });
    const auth = await validator.validate(token, { scopes: ['read', 'write'] });
    expect(auth.scopes.has('write')).toBe(true);
  });

  it('rejects a token for another audience', async () => {
    const token = await issuer.getToken({ resource: 'https://other.test', scope: 'read' });
    const error = await rejection(validator.validate(token));
    expect(error.code).toBe('ERR_AUDIENCE_MISMATCH');
    expect(error.status).toBe(401);
  });

  it('rejects an expired token (1 s lifetime, clock moved forward)', async () => {
    const token = await issuer.getToken({ resource: 'https://short.test', scope: 'read' });
    const shortLived = createValidator({
      issuer: issuer.issuer,
      audience: 'https://short.test',
      now: () => Date.now() + offsetMs,
    });
    try {
      await expect(shortLived.validate(token)).resolves.toBeDefined();
      offsetMs = 10_000;
      const error = await rejection(shortLived.validate(token));
      expect(error.code).toBe('ERR_TOKEN_EXPIRED');
      expect(error.wwwAuthenticate).toContain('error="invalid_token"');
    } finally {
      offsetMs = 0;
      await shortLived.close();
    }
  });

  it('rejects a tampered token', async () => {
    const token = await issuer.getToken({ resource: API, scope: 'read' });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    claims.scope = 'read admin';
    const forged = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const error = await rejection(
      validator.validate(`${header}.${forged}.${signature}`, { scopes: ['admin'] }),
    );
    expect(error.code).toBe('ERR_SIGNATURE_INVALID');
  });

  it("rejects another issuer's token", async () => {
    const token = await otherIssuer.getToken({ resource: API, scope: 'read' });
    const before = otherIssuer.jwks.fetchCount;
    const error = await rejection(validator.validate(token));
    expect(error.code).toBe('ERR_ISSUER_MISMATCH');
    // An untrusted iss costs no request to the issuer it names.
    expect(otherIssuer.jwks.fetchCount).toBe(before);
  });

  it("rejects a token signed with another issuer's key that claims our issuer", async () => {
    const token = await otherIssuer.getToken({ resource: API, scope: 'read' });
    const [, payload, signature] = token.split('.') as [string, string, string];
    const header = decodeProtectedHeader(token);
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    claims.iss = issuer.issuer;
    const forged = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    // A validator of its own: the unknown kid starts the key set's unknown-kid cooldown, which would
    // delay the shared validator's view of the rotation tested below.
    const own = createValidator({ issuer: issuer.issuer, audience: API });
    try {
      const error = await rejection(own.validate(forged));
      expect(error.code).toBe('ERR_KEY_NOT_FOUND');
      expect(error.status).toBe(401);
    } finally {
      await own.close();
    }
  });

  it('rejects a token without a scope the route requires: 403 naming it', async () => {
    const token = await issuer.getToken({ resource: API, scope: 'read' });
    const error = await rejection(validator.validate(token, { scopes: ['write'] }));
    expect(error.code).toBe('ERR_INSUFFICIENT_SCOPE');
    expect(error.status).toBe(403);
    expect(error.wwwAuthenticate).toContain('scope="write"');
  });

  it('accepts a token signed with a newly added key without a restart, with one extra JWKS fetch', async () => {
    await validator.validate(await issuer.getToken({ resource: API, scope: 'read' }));
    const before = issuer.jwks.fetchCount;
    const { kid } = await issuer.rotateKeys();
    const token = await issuer.getToken({ resource: API, scope: 'read' });
    expect(decodeProtectedHeader(token).kid).toBe(kid);
    const auth = await validator.validate(token);
    expect(auth.scopes.has('read')).toBe(true);
    expect(issuer.jwks.fetchCount).toBe(before + 1);
    // The new key is cached now: another new token needs no fetch.
    await validator.validate(await issuer.getToken({ resource: API, scope: 'write' }));
    expect(issuer.jwks.fetchCount).toBe(before + 1);
  });
});
