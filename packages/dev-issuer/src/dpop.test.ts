import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDpopClientKey } from './dpop.js';
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
