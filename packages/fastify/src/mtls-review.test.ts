import { type ClientHttp2Session, connect } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createValidator, type Validator } from '@tokenguard/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CertificateClient,
  createCertificateClient,
  createClientCertificate,
  createServerCertificates,
  mtlsServerOptions,
  type ServerCertificates,
  type TestCertificate,
} from '../../../test/support/certificates.js';
import { accessTokenClaims, generateSigningKey, jwksOf, signToken } from '../../../test/support/keys.js';
import tokenguard from './index.js';

/**
 * Adversarial review of certificate-bound tokens (RFC 8705 §3) through the Fastify plugin (helper-93):
 * HTTP/2. Fastify's `http2: true` with `allowHTTP1` serves both protocols from one TLS server;
 * `request.raw` is then an Http2ServerRequest whose `socket` is a proxy of the session's TLS socket
 * (a new proxy per stream). A stolen bound token must be refused on every stream that did not come
 * over a connection made with its certificate, and accepted on each stream of its owner's session.
 */
const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://api.test';
const NOW_SEC = 1_700_000_000;
const TIMEOUT_MS = 10_000;

const issuerKey = generateSigningKey('ES256');

let tls: ServerCertificates;
let holder: TestCertificate;
let stranger: TestCertificate;
let validator: Validator;
let app: FastifyInstance;
let origin: string;
let bound: string;
let unbound: string;
const sessions: ClientHttp2Session[] = [];
const clients: CertificateClient[] = [];

beforeAll(async () => {
  [tls, holder, stranger] = await Promise.all([
    createServerCertificates(),
    createClientCertificate({ commonName: 'holder' }),
    createClientCertificate({ commonName: 'stranger' }),
  ]);
  const claims = { iss: ISSUER, aud: AUDIENCE, nowSec: NOW_SEC };
  bound = await signToken(issuerKey, accessTokenClaims(claims, { cnf: { 'x5t#S256': holder.thumbprint } }));
  unbound = await signToken(issuerKey, accessTokenClaims(claims));
  validator = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwks: jwksOf(issuerKey),
    now: () => NOW_SEC * 1000,
    mtls: true,
  });
  app = Fastify({
    http2: true,
    https: { allowHTTP1: true, ...mtlsServerOptions(tls) },
  }) as unknown as FastifyInstance;
  await app.register(tokenguard, { validator });
  app.get('/me', async (request) => ({
    subject: request.auth?.subject ?? null,
    httpVersion: request.raw.httpVersion,
  }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  origin = `https://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const session of sessions) session.destroy();
  await Promise.all(clients.map((client) => client.close()));
  await app.close();
  await validator.close();
});

/** An HTTP/2 session to the server, presenting `certificate` (if any); its connection is awaited. */
async function session(certificate?: TestCertificate): Promise<ClientHttp2Session> {
  const created = connect(origin, {
    ca: tls.ca.pem,
    ...(certificate ? { cert: certificate.pem, key: certificate.privateKeyPem } : {}),
  });
  sessions.push(created);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no HTTP/2 connection within 10 s')), TIMEOUT_MS);
    created.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    created.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
  return created;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  wwwAuthenticate: string | undefined;
}

/** One stream on `client`: GET /me with the token as Bearer; bounded wait. */
function get(client: ClientHttp2Session, token: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = client.request({ ':path': '/me', authorization: `Bearer ${token}` });
    const timer = setTimeout(() => {
      stream.close();
      reject(new Error('no HTTP/2 answer within 10 s'));
    }, TIMEOUT_MS);
    let status = 0;
    let wwwAuthenticate: string | undefined;
    let text = '';
    stream.on('response', (headers) => {
      status = Number(headers[':status']);
      const challenge = headers['www-authenticate'];
      wwwAuthenticate = Array.isArray(challenge) ? challenge.join(', ') : challenge;
    });
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      text += chunk;
    });
    stream.on('end', () => {
      clearTimeout(timer);
      try {
        resolve({ status, body: JSON.parse(text) as Record<string, unknown>, wwwAuthenticate });
      } catch (error) {
        reject(error);
      }
    });
    stream.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

describe('Fastify mTLS review: HTTP/2 (http2: true, allowHTTP1)', () => {
  it("accepts the bound token on each stream of its holder's session, over HTTP/2", async () => {
    const own = await session(holder);
    const answers = await Promise.all([get(own, bound), get(own, bound), get(own, bound)]);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ subject: 'user-1', httpVersion: '2.0' });
    }
  });

  it('refuses the stolen token on a session without the certificate or with another, after use', async () => {
    const own = await session(holder);
    for (let i = 0; i < 3; i += 1) expect((await get(own, bound)).status).toBe(200);
    for (const thief of [await session(), await session(stranger)]) {
      for (let i = 0; i < 2; i += 1) {
        const answer = await get(thief, bound);
        expect(answer.status).toBe(401);
        expect(answer.body).toMatchObject({ error: 'invalid_token' });
        expect(answer.wwwAuthenticate).toMatch(/^Bearer .*error="invalid_token"/);
      }
      // An unbound token is a bearer token on the same session.
      expect((await get(thief, unbound)).status).toBe(200);
    }
  });

  it('reads the certificate of an HTTP/1.1 connection to the same server (ALPN http/1.1)', async () => {
    const own = createCertificateClient({ certificate: holder, ca: tls.ca.pem });
    const none = createCertificateClient({ ca: tls.ca.pem });
    clients.push(own, none);
    const headers = { authorization: `Bearer ${bound}` };
    const accepted = await own.request(`${origin}/me`, { headers });
    expect(accepted.status).toBe(200);
    expect(accepted.json()).toEqual({ subject: 'user-1', httpVersion: '1.1' });
    expect((await none.request(`${origin}/me`, { headers })).status).toBe(401);
  });
});
