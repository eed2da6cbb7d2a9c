/**
 * `startDevIssuer({ mtls: true })`: oidc-provider's own RFC 8705 certificate binding. The thumbprints
 * expected here come from test/support/certificates.ts (node:crypto over the DER), not from the dev issuer.
 */
import type { IncomingMessage } from 'node:http';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientCertificate, type TestCertificate } from '../../../test/support/certificates.js';
import { DEV_CLIENT_ID, DEV_MTLS_CLIENT_ID, type DevIssuer, startDevIssuer } from './index.js';
import { CERTIFICATE_REF_HEADER, certificatePem, createCertificateChannel } from './mtls.js';

const API = 'https://api.test';
const OPAQUE = 'https://opaque.test';

/** A client_credentials request of the mTLS client sent by the test itself, with `headers` added. */
async function tokenRequestAsMtlsClient(issuer: DevIssuer, headers: Record<string, string>) {
  const basic = Buffer.from(`${DEV_MTLS_CLIENT_ID}:${issuer.client.secret}`).toString('base64');
  const res = await fetch(issuer.tokenEndpoint, {
    method: 'POST',
    headers: {
      ...headers,
      authorization: `Basic ${basic}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: API, scope: 'read' }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('startDevIssuer({ mtls: true })', () => {
  let issuer: DevIssuer;
  let ec: TestCertificate;
  let rsa: TestCertificate;

  beforeAll(async () => {
    [issuer, ec, rsa] = await Promise.all([
      startDevIssuer({ mtls: true, dpop: true }),
      createClientCertificate(),
      createClientCertificate({ keyType: 'rsa' }),
    ]);
  });

  afterAll(async () => {
    await issuer?.close();
  });

  it.each([
    ['EC P-256', () => ec],
    ['RSA 2048', () => rsa],
  ])(
    'binds a JWT to a %s certificate: cnf x5t#S256 is its thumbprint, signed by the issuer',
    async (_, cert) => {
      const token = await issuer.getToken({ resource: API, scope: 'read', certificate: cert().pem });
      const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(issuer.jwksUri)), {
        issuer: issuer.issuer,
        audience: API,
        typ: 'at+jwt',
      });
      expect(payload).toMatchObject({
        scope: 'read',
        client_id: DEV_MTLS_CLIENT_ID,
        cnf: { 'x5t#S256': cert().thumbprint },
      });
    },
  );

  it('binds an opaque token: introspection says cnf x5t#S256 (token_type stays Bearer)', async () => {
    const token = await issuer.getToken({ resource: OPAQUE, scope: 'read', certificate: ec.pem });
    expect(await issuer.introspect(token)).toMatchObject({
      active: true,
      token_type: 'Bearer',
      client_id: DEV_MTLS_CLIENT_ID,
      cnf: { 'x5t#S256': ec.thumbprint },
    });
  });

  it('gives tokens for other certificates other thumbprints', async () => {
    const [a, b] = await Promise.all([
      issuer.getToken({ resource: API, certificate: ec.pem }),
      issuer.getToken({ resource: API, certificate: rsa.pem }),
    ]);
    expect(decodeJwt(a).cnf).toEqual({ 'x5t#S256': ec.thumbprint });
    expect(decodeJwt(b).cnf).toEqual({ 'x5t#S256': rsa.thumbprint });
  });

  it('refuses certificate with dpop: true (oidc-provider binds a token one way): TypeError', async () => {
    const error = await issuer.getToken({ resource: API, certificate: ec.pem, dpop: true }).catch((e) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({
      code: 'ERR_DEV_ISSUER_OPTION',
      message: expect.stringMatching(/"getToken\.certificate".*dpop/),
    });
  });

  it('still issues unbound tokens without a certificate (the plain client)', async () => {
    const jwt = decodeJwt(await issuer.getToken({ resource: API, scope: 'read' }));
    expect(jwt.cnf).toBeUndefined();
    expect(jwt.client_id).toBe(DEV_CLIENT_ID);
    const opaque = await issuer.introspect(await issuer.getToken({ resource: OPAQUE }));
    expect(opaque).toMatchObject({ active: true, token_type: 'Bearer' });
    expect(opaque.cnf).toBeUndefined();
  });

  it('revokes a certificate-bound opaque token with the client credentials', async () => {
    const token = await issuer.getToken({ resource: OPAQUE, certificate: ec.pem });
    await issuer.revoke(token);
    expect(await issuer.introspect(token)).toEqual({ active: false });
  });

  it('advertises tls_client_certificate_bound_access_tokens in its discovery document', async () => {
    const metadata = (await (await fetch(issuer.discoveryUrl)).json()) as Record<string, unknown>;
    expect(metadata.tls_client_certificate_bound_access_tokens).toBe(true);
  });

  it('gives the provider no certificate for a request naming one it was never offered', async () => {
    // The mTLS client without a certificate is refused (oidc-provider: "mutual TLS client certificate
    // not provided", shown as a generic invalid_grant).
    const forged = await tokenRequestAsMtlsClient(issuer, { [CERTIFICATE_REF_HEADER]: 'made-up' });
    expect(forged).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const none = await tokenRequestAsMtlsClient(issuer, {});
    expect(none).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it.each([
    ['a number', 42, /must be a PEM certificate \(string\), not number/],
    ['DER bytes', new Uint8Array([0x30, 0x82]), /not object/],
    ['text that is not PEM', 'hello', /PEM text of one certificate/],
    ['two certificates', 'TWO', /PEM text of one certificate/],
    ['a private key', 'KEY', /PEM text of one certificate/],
    ['a PEM block of garbage', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', /parseable/],
  ])('refuses a certificate that is %s: TypeError naming getToken.certificate', async (_, value, why) => {
    const certificate =
      value === 'TWO' ? `${ec.pem}\n${rsa.pem}` : value === 'KEY' ? ec.privateKeyPem : (value as string);
    const error = await issuer.getToken({ resource: API, certificate }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({
      code: 'ERR_DEV_ISSUER_OPTION',
      message: expect.stringContaining('"getToken.certificate"'),
    });
    expect((error as Error).message).toMatch(why);
  });
});

describe('startDevIssuer() without mtls', () => {
  let issuer: DevIssuer;

  beforeAll(async () => {
    issuer = await startDevIssuer();
  });

  afterAll(async () => {
    await issuer?.close();
  });

  it('refuses getToken with a certificate: TypeError saying mtls: true is needed', async () => {
    const cert = await createClientCertificate();
    const error = await issuer.getToken({ resource: API, certificate: cert.pem }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({
      code: 'ERR_DEV_ISSUER_OPTION',
      message: expect.stringMatching(/"getToken\.certificate".*mtls: true/),
    });
  });

  it('does not advertise certificate-bound tokens, and has no mTLS client', async () => {
    const metadata = (await (await fetch(issuer.discoveryUrl)).json()) as Record<string, unknown>;
    expect(metadata).not.toHaveProperty('tls_client_certificate_bound_access_tokens');
    const res = await tokenRequestAsMtlsClient(issuer, {});
    expect(res).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  });
});

describe('createCertificateChannel', () => {
  /** The part of an IncomingMessage the channel reads: its headers. */
  const requestWith = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

  it('ties an offered certificate to the one request that claims it, and strips the header', async () => {
    const channel = createCertificateChannel();
    const pem = certificatePem((await createClientCertificate()).pem, 'test');
    const ref = channel.offer(pem);
    const first = requestWith({ [CERTIFICATE_REF_HEADER]: ref });
    channel.claim(first);
    expect(channel.certificateOf(first)).toBe(pem);
    expect(first.headers).not.toHaveProperty(CERTIFICATE_REF_HEADER);
    // The same reference a second time names nothing.
    const replay = requestWith({ [CERTIFICATE_REF_HEADER]: ref });
    channel.claim(replay);
    expect(channel.certificateOf(replay)).toBeUndefined();
    expect(replay.headers).not.toHaveProperty(CERTIFICATE_REF_HEADER);
  });

  it('names nothing for a withdrawn reference, an unknown one, or none', () => {
    const channel = createCertificateChannel();
    const ref = channel.offer('pem');
    channel.withdraw(ref);
    const cases: Record<string, string>[] = [
      { [CERTIFICATE_REF_HEADER]: ref },
      { [CERTIFICATE_REF_HEADER]: 'x' },
      {},
    ];
    for (const headers of cases) {
      const req = requestWith(headers);
      channel.claim(req);
      expect(channel.certificateOf(req)).toBeUndefined();
    }
  });
});
