/**
 * Test helpers for mutual TLS (RFC 8705): X.509 certificates made at test time with @peculiar/x509 (keys
 * from node:crypto, exported as PEM, then imported into WebCrypto: Node 20.20 was seen to hang exporting
 * fresh RSA keys as JWK), an HTTPS server on 127.0.0.1 that asks for a client certificate, and a client
 * that presents one. Thumbprints are computed here with node:crypto, never with the code under test.
 * (@peculiar/x509 1.14.3, not 2.x: 2.x needs a Reflect metadata polyfill its dependencies do not bring;
 * 1.x depends on and imports `reflect-metadata` itself.)
 *
 * @example
 * ```ts
 * const client = await createClientCertificate();
 * const https = await startHttpsServer((req, res) => res.end('hi'));
 * const res = await requestWithCertificate(`${https.url}/me`, { certificate: client, ca: https.ca });
 * await https.close();
 * ```
 */
import { createHash, generateKeyPairSync, randomBytes, webcrypto } from 'node:crypto';
import type { IncomingHttpHeaders, RequestListener } from 'node:http';
import { createServer, type Server, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import * as x509 from '@peculiar/x509';
import { Agent, request } from 'undici';

/** A certificate with its private key, in the shapes tests need. */
export interface TestCertificate {
  /** The certificate as PEM text (`-----BEGIN CERTIFICATE-----`). */
  pem: string;
  /** The certificate's DER bytes. */
  der: Uint8Array;
  /** The private key as PKCS#8 PEM. */
  privateKeyPem: string;
  /** base64url SHA-256 of `der`: the RFC 8705 `x5t#S256` of a token bound to this certificate. */
  thumbprint: string;
}

/** Key type of a generated certificate: EC P-256 (ES256) or RSA 2048 (RS256). */
export type CertificateKeyType = 'ec' | 'rsa';

/** A CA and a server certificate it issued for `127.0.0.1` and `localhost`. */
export interface ServerCertificates {
  ca: TestCertificate;
  server: TestCertificate;
}

interface GeneratedKeys {
  privateKeyPem: string;
  keys: webcrypto.CryptoKeyPair;
  signingAlgorithm: { name: string; hash: string; namedCurve?: string };
}

const HOUR_MS = 3_600_000;

/** The DER bytes inside one PEM block. */
function pemToDer(pem: string): Uint8Array {
  const base64 = pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, '');
  return new Uint8Array(Buffer.from(base64, 'base64'));
}

async function generateKeys(keyType: CertificateKeyType): Promise<GeneratedKeys> {
  const publicKeyEncoding = { type: 'spki', format: 'pem' } as const;
  const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const;
  const pair =
    keyType === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding, privateKeyEncoding })
      : generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding, privateKeyEncoding });
  const signingAlgorithm =
    keyType === 'rsa'
      ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
      : { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const [privateKey, publicKey] = await Promise.all([
    webcrypto.subtle.importKey('pkcs8', pemToDer(pair.privateKey), signingAlgorithm, false, ['sign']),
    webcrypto.subtle.importKey('spki', pemToDer(pair.publicKey), signingAlgorithm, true, ['verify']),
  ]);
  return { privateKeyPem: pair.privateKey, keys: { privateKey, publicKey }, signingAlgorithm };
}

/** A random positive serial number, as hex. */
const serialNumber = () => `01${randomBytes(15).toString('hex')}`;

function validity(): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return { notBefore: new Date(now - HOUR_MS), notAfter: new Date(now + 24 * HOUR_MS) };
}

function toTestCertificate(certificate: x509.X509Certificate, privateKeyPem: string): TestCertificate {
  const der = new Uint8Array(certificate.rawData);
  return {
    pem: certificate.toString('pem'),
    der,
    privateKeyPem,
    thumbprint: createHash('sha256').update(der).digest('base64url'),
  };
}

/**
 * Self-signed client certificates (EC P-256), one per common name, made together.
 *
 * @example
 * ```ts
 * const [alice, mallory] = await createClientCertificates('alice', 'mallory');
 * ```
 */
export function createClientCertificates<const Names extends readonly string[]>(
  ...commonNames: Names
): Promise<{ -readonly [K in keyof Names]: TestCertificate }> {
  return Promise.all(commonNames.map((commonName) => createClientCertificate({ commonName }))) as Promise<{
    -readonly [K in keyof Names]: TestCertificate;
  }>;
}

/**
 * Generates a self-signed client certificate (`CN=<commonName>`, extended key usage `clientAuth`, valid
 * from an hour ago for a day) with a fresh EC P-256 key, or RSA 2048 with `keyType: 'rsa'`.
 *
 * @example
 * ```ts
 * const cert = await createClientCertificate({ keyType: 'rsa', commonName: 'client-b' });
 * const claims = { cnf: { 'x5t#S256': cert.thumbprint } };
 * ```
 */
export async function createClientCertificate(
  options: { keyType?: CertificateKeyType; commonName?: string } = {},
): Promise<TestCertificate> {
  const { keys, privateKeyPem, signingAlgorithm } = await generateKeys(options.keyType ?? 'ec');
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${options.commonName ?? 'tokenguard test client'}`,
    ...validity(),
    keys,
    signingAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
  return toTestCertificate(certificate, privateKeyPem);
}

/**
 * Generates a CA (EC P-256, self-signed) and a server certificate it issues for `IP:127.0.0.1` and
 * `DNS:localhost` (extended key usage `serverAuth`). A client that trusts `ca.pem` verifies the server.
 *
 * @example
 * ```ts
 * const { ca, server } = await createServerCertificates();
 * https.createServer({ key: server.privateKeyPem, cert: server.pem, requestCert: true }, listener);
 * ```
 */
export async function createServerCertificates(): Promise<ServerCertificates> {
  const caKeys = await generateKeys('ec');
  const caCertificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: 'CN=tokenguard test CA',
    ...validity(),
    keys: caKeys.keys,
    signingAlgorithm: caKeys.signingAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.keys.publicKey),
    ],
  });
  const serverKeys = await generateKeys('ec');
  const serverCertificate = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: 'CN=127.0.0.1',
    issuer: caCertificate.subject,
    ...validity(),
    publicKey: serverKeys.keys.publicKey,
    signingKey: caKeys.keys.privateKey,
    signingAlgorithm: caKeys.signingAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'ip', value: '127.0.0.1' },
        { type: 'dns', value: 'localhost' },
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caCertificate),
    ],
  });
  return {
    ca: toTestCertificate(caCertificate, caKeys.privateKeyPem),
    server: toTestCertificate(serverCertificate, serverKeys.privateKeyPem),
  };
}

/**
 * The `node:https` server options of an mTLS test server: `certificates.server` as the server's key and
 * certificate, `requestCert: true` (the server asks for a client certificate) and
 * `rejectUnauthorized: false` (any certificate, or none, is let through; the handshake still proves the
 * client holds the key of the certificate it sent).
 *
 * @example
 * ```ts
 * const tls = await createServerCertificates();
 * const app = Fastify({ serverFactory: (handler) => https.createServer(mtlsServerOptions(tls), handler) });
 * ```
 */
export function mtlsServerOptions(certificates: ServerCertificates): ServerOptions {
  return {
    key: certificates.server.privateKeyPem,
    cert: certificates.server.pem,
    requestCert: true,
    rejectUnauthorized: false,
  };
}

/** A running HTTPS test server. */
export interface HttpsTestServer {
  /** `https://127.0.0.1:<port>` */
  url: string;
  /** The CA certificate (PEM) a client trusts to verify this server. */
  ca: string;
  server: Server;
  /** Closes open connections, then the server. */
  close(): Promise<void>;
}

/**
 * Closes an HTTPS (or HTTP) server and its open connections.
 *
 * @example
 * ```ts
 * await closeServer(server);
 * ```
 */
export function closeServer(server: { close(done: () => void): unknown; closeAllConnections(): void }) {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * Starts a `node:https` server on 127.0.0.1 (port 0) around `listener`, with {@link mtlsServerOptions}.
 * Certificates are generated unless given.
 *
 * @example
 * ```ts
 * const https = await startHttpsServer((req, res) => {
 *   const peer = (req.socket as TLSSocket).getPeerCertificate();
 *   res.end(peer.raw ? 'with a certificate' : 'without one');
 * });
 * ```
 */
export async function startHttpsServer(
  listener: RequestListener,
  options: { certificates?: ServerCertificates } = {},
): Promise<HttpsTestServer> {
  const certificates = options.certificates ?? (await createServerCertificates());
  const server = createServer(mtlsServerOptions(certificates), listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ca: certificates.ca.pem,
    server,
    close: () => closeServer(server),
  };
}

/** What a test request sends. */
export interface CertificateRequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

/** What a test request received. */
export interface CertificateResponse {
  status: number;
  /** Response headers, names in lower case. */
  headers: IncomingHttpHeaders;
  body: string;
  /** `body` parsed as JSON (throws if it is not JSON). */
  json(): unknown;
}

/** How a test client connects: the certificate it presents and the CA it trusts. */
export interface CertificateClientOptions {
  /** The client certificate to present; none when absent. */
  certificate?: TestCertificate | undefined;
  /** The CA (PEM) that issued the server's certificate; without it the server is not verified. */
  ca?: string | undefined;
}

/** A client that keeps its connections open between requests (keep-alive), until closed. */
export interface CertificateClient {
  request(url: string, init?: CertificateRequestInit): Promise<CertificateResponse>;
  close(): Promise<void>;
}

const TIMEOUT_MS = 10_000;

/**
 * A client presenting `certificate` (if any) on every TLS connection, over one undici Agent with one
 * connection per origin: requests to the same origin go one at a time over the same keep-alive
 * connection. Every wait is bounded (10 s).
 *
 * @example
 * ```ts
 * const client = createCertificateClient({ certificate: cert, ca: https.ca });
 * const first = await client.request(`${https.url}/me`, { headers: { authorization: `Bearer ${token}` } });
 * const second = await client.request(`${https.url}/me`); // same connection
 * await client.close();
 * ```
 */
export function createCertificateClient(options: CertificateClientOptions = {}): CertificateClient {
  const { certificate, ca } = options;
  const agent = new Agent({
    connect: {
      ...(certificate ? { cert: certificate.pem, key: certificate.privateKeyPem } : {}),
      ...(ca === undefined ? { rejectUnauthorized: false } : { ca }),
      timeout: TIMEOUT_MS,
    },
    // One connection per origin: a second request waits for the first and reuses its connection
    // (with more, undici may open a new one before the first is back in the pool).
    connections: 1,
    headersTimeout: TIMEOUT_MS,
    bodyTimeout: TIMEOUT_MS,
  });
  return {
    async request(url, init = {}) {
      const response = await request(url, {
        dispatcher: agent,
        method: (init.method ?? 'GET') as 'GET',
        ...(init.headers ? { headers: init.headers } : {}),
        ...(init.body === undefined ? {} : { body: init.body }),
      });
      const body = await response.body.text();
      return {
        status: response.statusCode,
        headers: response.headers as IncomingHttpHeaders,
        body,
        json: () => JSON.parse(body) as unknown,
      };
    },
    close: () => agent.close(),
  };
}

/**
 * Sends one request presenting `certificate` (if any) on a fresh connection, then closes it.
 *
 * @example
 * ```ts
 * const res = await requestWithCertificate(`${https.url}/me`, {
 *   certificate: cert,
 *   ca: https.ca,
 *   headers: { authorization: `Bearer ${token}` },
 * });
 * expect(res.status).toBe(200);
 * ```
 */
export async function requestWithCertificate(
  url: string,
  options: CertificateClientOptions & CertificateRequestInit = {},
): Promise<CertificateResponse> {
  const { certificate, ca, ...init } = options;
  const client = createCertificateClient({ certificate, ca });
  try {
    return await client.request(url, init);
  } finally {
    await client.close();
  }
}
