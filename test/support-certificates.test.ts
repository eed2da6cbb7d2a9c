/**
 * The mTLS test helpers (test/support/certificates.ts) against node:crypto and node:tls: the thumbprint
 * is the SHA-256 node:crypto reports for the certificate, and a client certificate reaches the server's
 * TLS socket byte for byte.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCertificateClient,
  createClientCertificate,
  createServerCertificates,
  type HttpsTestServer,
  requestWithCertificate,
  startHttpsServer,
  type TestCertificate,
} from './support/certificates.js';

/** node:crypto's SHA-256 fingerprint ("AB:CD:...") as base64url: RFC 8705's x5t#S256. */
const fingerprintThumbprint = (pem: string) =>
  Buffer.from(new X509Certificate(pem).fingerprint256.replaceAll(':', ''), 'hex').toString('base64url');

describe('createClientCertificate', () => {
  it.each(['ec', 'rsa'] as const)(
    'makes a %s certificate whose thumbprint node:crypto agrees with',
    async (keyType) => {
      const cert = await createClientCertificate({ keyType, commonName: `client-${keyType}` });
      const parsed = new X509Certificate(cert.pem);
      expect(cert.thumbprint).toBe(fingerprintThumbprint(cert.pem));
      expect(cert.thumbprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(cert.der).equals(parsed.raw)).toBe(true);
      expect(parsed.subject).toBe(`CN=client-${keyType}`);
      expect(parsed.publicKey.asymmetricKeyType).toBe(keyType);
      expect(parsed.checkPrivateKey(createPrivateKey(cert.privateKeyPem))).toBe(true);
      expect(parsed.verify(parsed.publicKey)).toBe(true);
    },
  );

  it('makes a different certificate each time', async () => {
    const [a, b] = await Promise.all([createClientCertificate(), createClientCertificate()]);
    expect(a.thumbprint).not.toBe(b.thumbprint);
  });
});

describe('createServerCertificates', () => {
  it('issues a server certificate for 127.0.0.1 and localhost, signed by the CA', async () => {
    const { ca, server } = await createServerCertificates();
    const caCert = new X509Certificate(ca.pem);
    const serverCert = new X509Certificate(server.pem);
    expect(caCert.ca).toBe(true);
    expect(serverCert.ca).toBe(false);
    expect(serverCert.checkIssued(caCert)).toBe(true);
    expect(serverCert.verify(caCert.publicKey)).toBe(true);
    expect(serverCert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(serverCert.checkHost('localhost')).toBe('localhost');
    expect(server.thumbprint).toBe(fingerprintThumbprint(server.pem));
  });
});

describe('startHttpsServer with a client certificate', () => {
  let https: HttpsTestServer;
  let client: TestCertificate;

  beforeAll(async () => {
    client = await createClientCertificate();
    https = await startHttpsServer((req, res) => {
      const socket = req.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          raw: peer.raw ? peer.raw.toString('base64url') : null,
          port: socket.remotePort,
          method: req.method,
          authorization: req.headers.authorization ?? null,
        }),
      );
    });
  });

  afterAll(async () => {
    await https?.close();
  });

  it('hands the server the DER the client presented (the CA verifies the server)', async () => {
    const res = await requestWithCertificate(`${https.url}/me`, {
      certificate: client,
      ca: https.ca,
      method: 'POST',
      headers: { authorization: 'Bearer abc' },
      body: 'x',
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.json()).toMatchObject({
      raw: Buffer.from(client.der).toString('base64url'),
      method: 'POST',
      authorization: 'Bearer abc',
    });
  });

  it('sends no certificate when none is given', async () => {
    const res = await requestWithCertificate(`${https.url}/me`, { ca: https.ca });
    expect(res.json()).toMatchObject({ raw: null });
  });

  it('refuses a server its CA did not issue', async () => {
    const other = await createServerCertificates();
    await expect(requestWithCertificate(`${https.url}/me`, { ca: other.ca.pem })).rejects.toThrow();
  });

  it('reuses one keep-alive connection for two requests of one client', async () => {
    const keepAlive = createCertificateClient({ certificate: client, ca: https.ca });
    try {
      const first = (await keepAlive.request(`${https.url}/me`)).json() as { port: number };
      const second = (await keepAlive.request(`${https.url}/me`)).json() as { port: number };
      expect(second.port).toBe(first.port);
    } finally {
      await keepAlive.close();
    }
  });
});
