import { createHash } from 'node:crypto';
import {
  calculateJwkThumbprint,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  EmbeddedJWK,
  jwtVerify,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessTokenHash, generateDpopClientKey } from './dpop.js';
import { type DevIssuer, startDevIssuer } from './index.js';

/** The raw token endpoint answer to a client_credentials request, with `headers` added. */
async function tokenResponse(issuer: DevIssuer, resource: string, headers: Record<string, string>) {
  const res = await fetch(issuer.tokenEndpoint, {
    method: 'POST',
    headers: {
      ...headers,
      authorization: `Basic ${Buffer.from(`${issuer.client.id}:${issuer.client.secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource, scope: 'read' }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('startDevIssuer({ dpop: true })', () => {
  let issuer: DevIssuer;

  beforeAll(async () => {
    issuer = await startDevIssuer({ dpop: true });
  });

  afterAll(async () => {
    await issuer?.close();
  });

  it('binds a JWT access token to the client DPoP key (cnf.jkt), still signed by the issuer', async () => {
    expect(issuer.dpopJkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const token = await issuer.getToken({ resource: 'https://api.test', scope: 'read', dpop: true });
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(issuer.jwksUri)), {
      issuer: issuer.issuer,
      audience: 'https://api.test',
      typ: 'at+jwt',
    });
    expect(payload).toMatchObject({ scope: 'read', cnf: { jkt: issuer.dpopJkt } });
  });

  it('binds an opaque token: introspection says token_type DPoP and cnf.jkt', async () => {
    const token = await issuer.getToken({ resource: 'https://opaque.test', scope: 'read', dpop: true });
    expect(await issuer.introspect(token)).toMatchObject({
      active: true,
      token_type: 'DPoP',
      cnf: { jkt: issuer.dpopJkt },
    });
  });

  it('still issues plain bearer tokens when getToken is not asked for dpop', async () => {
    const jwt = await issuer.getToken({ resource: 'https://api.test', scope: 'read' });
    expect(decodeJwt(jwt).cnf).toBeUndefined();
    const opaque = await issuer.introspect(await issuer.getToken({ resource: 'https://opaque.test' }));
    expect(opaque).toMatchObject({ active: true, token_type: 'Bearer' });
    expect(opaque.cnf).toBeUndefined();
  });

  it('refuses a proof signed for another endpoint (the provider checks it)', async () => {
    const key = await generateDpopClientKey();
    const proof = await key.proof('POST', issuer.introspectionEndpoint);
    const res = await tokenResponse(issuer, 'https://api.test', { dpop: proof });
    expect(res).toMatchObject({ status: 400, body: { error: 'invalid_dpop_proof' } });
  });

  it('dpopProof signs a resource-request proof with the client key: htm, htu, ath of the token', async () => {
    const token = await issuer.getToken({ resource: 'https://api.test', scope: 'read', dpop: true });
    const proof = await issuer.dpopProof('GET', 'https://api.test/orders', token);
    // jose checks the signature against the key in the proof's own header (RFC 9449 §4.3 step 6).
    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: ['ES256'],
      maxTokenAge: 60,
    });
    expect(protectedHeader.jwk).not.toHaveProperty('d');
    expect(await calculateJwkThumbprint(protectedHeader.jwk!, 'sha256')).toBe(issuer.dpopJkt);
    expect(payload).toEqual({
      htm: 'GET',
      htu: 'https://api.test/orders',
      jti: expect.any(String),
      iat: expect.any(Number),
      ath: createHash('sha256').update(token).digest('base64url'),
    });
    expect(decodeJwt(token).cnf).toEqual({ jkt: issuer.dpopJkt });
  });

  it('dpopProof gives a new jti each time and no ath without a token', async () => {
    const [first, second] = await Promise.all([
      issuer.dpopProof('POST', issuer.tokenEndpoint),
      issuer.dpopProof('POST', issuer.tokenEndpoint),
    ]);
    expect(decodeJwt(first).jti).not.toBe(decodeJwt(second).jti);
    expect(decodeJwt(first)).not.toHaveProperty('ath');
    expect(decodeProtectedHeader(first)).toMatchObject({ typ: 'dpop+jwt', alg: 'ES256' });
  });

  it('refuses a getToken dpop flag that is not a boolean', async () => {
    await expect(
      issuer.getToken({ resource: 'https://api.test', dpop: 'yes' as unknown as boolean }),
    ).rejects.toMatchObject({
      code: 'ERR_DEV_ISSUER_OPTION',
      message: expect.stringContaining('"getToken.dpop"'),
    });
  });
});

describe('startDevIssuer() without dpop', () => {
  let issuer: DevIssuer;

  beforeAll(async () => {
    issuer = await startDevIssuer();
  });

  afterAll(async () => {
    await issuer?.close();
  });

  it('has no DPoP key and says so when asked for a bound token', async () => {
    expect(issuer.dpopJkt).toBeUndefined();
    const error = await issuer
      .getToken({ resource: 'https://api.test', dpop: true })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({
      code: 'ERR_DEV_ISSUER_OPTION',
      message: expect.stringContaining('dpop: true'),
    });
  });

  it('has no DPoP key to sign proofs with: dpopProof says so', async () => {
    const error = await issuer.dpopProof('GET', 'https://api.test/me', 'token').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({
      code: 'ERR_DEV_ISSUER_OPTION',
      message: expect.stringMatching(/"dpopProof".*dpop: true/),
    });
  });

  it('ignores a DPoP proof: the token stays a bearer token without cnf', async () => {
    const key = await generateDpopClientKey();
    const res = await tokenResponse(issuer, 'https://api.test', {
      dpop: await key.proof('POST', issuer.tokenEndpoint),
    });
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('Bearer');
    expect(decodeJwt(res.body.access_token as string).cnf).toBeUndefined();
  });
});

describe('generateDpopClientKey', () => {
  it('adds ath, the base64url SHA-256 of the access token, only when given one', async () => {
    const key = await generateDpopClientKey();
    const proof = await key.proof('DELETE', 'http://127.0.0.1:1/orders/7', 'token-value');
    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt' });
    expect(payload).toMatchObject({ htm: 'DELETE', htu: 'http://127.0.0.1:1/orders/7' });
    expect(payload.ath).toBe(createHash('sha256').update('token-value').digest('base64url'));
    expect(await calculateJwkThumbprint(protectedHeader.jwk!, 'sha256')).toBe(key.jkt);
    expect(decodeJwt(await key.proof('POST', 'http://127.0.0.1:1/token'))).not.toHaveProperty('ath');
  });

  it('accessTokenHash is unpadded base64url of SHA-256 (RFC 9449 §4.2)', () => {
    // SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 96177a9c b410ff61 f20015ad
    expect(accessTokenHash('abc')).toBe('ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
  });
});
