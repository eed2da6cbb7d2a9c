import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, type JWTPayload, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevIssuer, startDevIssuer } from './index.js';

interface Discovery {
  issuer: string;
  jwks_uri: string;
  token_endpoint: string;
  introspection_endpoint: string;
  revocation_endpoint: string;
}

async function introspectRaw(issuer: DevIssuer, token: string, secret = issuer.introspector.secret) {
  const res = await fetch(issuer.introspectionEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    // client_secret_post, while DevIssuer#introspect uses client_secret_basic
    body: new URLSearchParams({ token, client_id: issuer.introspector.id, client_secret: secret }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function jwksKids(issuer: DevIssuer): Promise<string[]> {
  const res = await fetch(issuer.jwksUri);
  expect(res.status).toBe(200);
  const { keys } = (await res.json()) as { keys: { kid: string; d?: string }[] };
  for (const key of keys) expect(key.d).toBeUndefined();
  return keys.map((k) => k.kid);
}

describe('startDevIssuer', () => {
  let issuer: DevIssuer;

  beforeAll(async () => {
    issuer = await startDevIssuer({ extraClaims: { tid: 'tenant-a' } });
  });

  afterAll(async () => {
    await issuer?.close();
  });

  it('serves a discovery document matching the issuer', async () => {
    expect(issuer.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(issuer.discoveryUrl);
    expect(res.status).toBe(200);
    const discovery = (await res.json()) as Discovery;
    expect(discovery.issuer).toBe(issuer.issuer);
    expect(discovery.jwks_uri).toBe(issuer.jwksUri);
    expect(discovery.token_endpoint).toBe(issuer.tokenEndpoint);
    expect(discovery.introspection_endpoint).toBe(issuer.introspectionEndpoint);
    expect(discovery.revocation_endpoint).toBe(issuer.revocationEndpoint);
  });

  it('issues RFC 9068 JWT access tokens that verify against the JWKS', async () => {
    const token = await issuer.getToken({ resource: 'https://api.test', scope: 'read orders:read unknown' });

    const header = decodeProtectedHeader(token);
    expect(header).toMatchObject({ typ: 'at+jwt', alg: 'RS256', kid: issuer.currentKid });

    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      iss: issuer.issuer,
      aud: 'https://api.test',
      scope: 'read orders:read', // scopes the resource does not know are dropped
      client_id: issuer.client.id,
      sub: issuer.client.id,
      tid: 'tenant-a',
    });
    expect(claims.jti).toEqual(expect.any(String));
    expect(claims.iat).toEqual(expect.any(Number));
    expect(claims.exp! - claims.iat!).toBe(300);

    const { payload } = await jwtVerify<JWTPayload>(token, createRemoteJWKSet(new URL(issuer.jwksUri)), {
      issuer: issuer.issuer,
      audience: 'https://api.test',
      typ: 'at+jwt',
    });
    expect(payload.jti).toBe(claims.jti);
  });

  it('requests every scope of the resource when scope is omitted, and honours ttlSec', async () => {
    expect(decodeJwt(await issuer.getToken({ resource: 'https://api.test' })).scope).toBe(
      'read write admin orders:read orders:write',
    );
    const short = decodeJwt(await issuer.getToken({ resource: 'https://short.test', scope: 'read' }));
    expect(short.exp! - short.iat!).toBe(1);
    expect(short.aud).toBe('https://short.test');
  });

  it('rejects unknown resources with the provider error body', async () => {
    await expect(issuer.getToken({ resource: 'https://unknown.test' })).rejects.toThrow(/invalid_target/);
  });

  it('introspects opaque tokens as active, then inactive after revocation', async () => {
    const token = await issuer.getToken({ resource: 'https://opaque.test', scope: 'read' });
    expect(() => decodeProtectedHeader(token)).toThrow();

    const active = await introspectRaw(issuer, token);
    expect(active.status).toBe(200);
    expect(active.body).toMatchObject({
      active: true,
      scope: 'read',
      client_id: issuer.client.id,
      iss: issuer.issuer,
      aud: 'https://opaque.test',
      token_type: 'Bearer',
      tid: 'tenant-a',
    });
    expect(active.body.exp).toEqual(expect.any(Number));
    expect(await issuer.introspect(token)).toEqual(active.body); // client_secret_basic gives the same answer

    await issuer.revoke(token);
    expect(await issuer.introspect(token)).toEqual({ active: false });
  });

  it('refuses JWT access tokens at the introspection endpoint', async () => {
    const token = await issuer.getToken({ resource: 'https://api.test', scope: 'read' });
    const res = await introspectRaw(issuer, token);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('unsupported_token_type');
  });

  it('answers 401 to a wrong introspector secret', async () => {
    const token = await issuer.getToken({ resource: 'https://opaque.test', scope: 'read' });
    const res = await introspectRaw(issuer, token, 'wrong-secret');
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  it('rotates signing keys without changing port, keeping old keys and opaque tokens', async () => {
    const oldKid = issuer.currentKid;
    const opaque = await issuer.getToken({ resource: 'https://opaque.test', scope: 'write' });
    const oldJwt = await issuer.getToken({ resource: 'https://api.test', scope: 'read' });

    const { kid } = await issuer.rotateKeys();
    expect(kid).not.toBe(oldKid);
    expect(issuer.currentKid).toBe(kid);

    const newJwt = await issuer.getToken({ resource: 'https://api.test', scope: 'read' });
    expect(decodeProtectedHeader(newJwt).kid).toBe(kid);
    expect(await jwksKids(issuer)).toEqual([kid, oldKid]);

    const jwks = createRemoteJWKSet(new URL(issuer.jwksUri));
    await expect(jwtVerify(newJwt, jwks, { issuer: issuer.issuer })).resolves.toBeDefined();
    await expect(jwtVerify(oldJwt, jwks, { issuer: issuer.issuer })).resolves.toBeDefined();
    expect(await issuer.introspect(opaque)).toMatchObject({ active: true, scope: 'write' });

    await issuer.removeOldKeys();
    expect(await jwksKids(issuer)).toEqual([kid]);
    const freshJwks = createRemoteJWKSet(new URL(issuer.jwksUri));
    await expect(jwtVerify(oldJwt, freshJwks)).rejects.toThrow();
    await expect(jwtVerify(newJwt, freshJwks)).resolves.toBeDefined();
  });

  it('injects JWKS faults: 503, closed connections and latency, counting fetches', async () => {
    issuer.jwks.reset();
    expect(issuer.jwks.fetchCount).toBe(0);

    issuer.jwks.setDown(true);
    const down = await fetch(issuer.jwksUri);
    expect(down.status).toBe(503);
    await down.text();
    expect(issuer.jwks.fetchCount).toBe(1);

    issuer.jwks.setDown('close-connection');
    await expect(fetch(issuer.jwksUri)).rejects.toThrow();
    expect(issuer.jwks.fetchCount).toBe(2);

    // Other endpoints are unaffected.
    expect((await fetch(issuer.discoveryUrl)).status).toBe(200);
    expect(issuer.jwks.fetchCount).toBe(2);

    issuer.jwks.setDown(false);
    issuer.jwks.setLatencyMs(150);
    const started = performance.now();
    expect(await jwksKids(issuer)).toHaveLength(1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(issuer.jwks.fetchCount).toBe(3);

    issuer.jwks.reset();
    expect(issuer.jwks.fetchCount).toBe(0);
    expect(await jwksKids(issuer)).toHaveLength(1);
    expect(issuer.jwks.fetchCount).toBe(1);
  });

  it('runs several issuers at once, each with its own keys', async () => {
    const [a, b] = await Promise.all([startDevIssuer({ signingAlg: 'ES256' }), startDevIssuer()]);
    try {
      expect(a.issuer).not.toBe(b.issuer);
      expect(a.issuer).not.toBe(issuer.issuer);
      const token = await a.getToken({ resource: 'https://other.test', scope: 'read' });
      expect(decodeProtectedHeader(token).alg).toBe('ES256');
      const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(a.jwksUri)), {
        issuer: a.issuer,
        audience: 'https://other.test',
      });
      expect(payload.scope).toBe('read');
      await expect(jwtVerify(token, createRemoteJWKSet(new URL(b.jwksUri)))).rejects.toThrow();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
    await expect(fetch(a.discoveryUrl)).rejects.toThrow();
  });
});
