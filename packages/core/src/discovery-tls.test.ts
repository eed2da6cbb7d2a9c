import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fetchIssuerMetadata } from './discovery.js';
import { createHttpClient, type HttpClient, HttpFailure } from './lib/http.js';

/**
 * An issuer served over TLS (a self-signed certificate for 127.0.0.1, trusted by this test's client
 * only) whose discovery document names its endpoints: an https issuer must not hand its keys or our
 * credentials to plain http, where anyone on the path can answer in its name.
 */
const limits = { maxResponseBytes: 64 * 1024, maxJsonDepth: 8 };
let document: Record<string, unknown> = {};
let server: Server;
let issuer: string;
let http: HttpClient;
let agent: Agent;

beforeAll(async () => {
  // A self-signed P-256 certificate for IP 127.0.0.1, valid for a century, made once with openssl
  // (`req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 36500 -subj /CN=127.0.0.1
  // -addext subjectAltName=IP:127.0.0.1`) and kept as a fixture: a fresh machine may have no openssl.
  const cert = readFileSync(new URL('./__fixtures__/tls-loopback.cert.pem', import.meta.url));
  const key = readFileSync(new URL('./__fixtures__/tls-loopback.key.pem', import.meta.url));
  server = createServer({ cert, key }, (req, res) => {
    if (req.url !== '/.well-known/openid-configuration') res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document));
  });
  agent = new Agent({ connect: { ca: cert } });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  http = createHttpClient({
    fetch: ((url, init) =>
      undiciFetch(url as string, { ...(init as object), dispatcher: agent })) as typeof globalThis.fetch,
    connectTimeoutMs: 1000,
    headersTimeoutMs: 1000,
    bodyTimeoutMs: 1000,
    timeoutMs: 2000,
  });
});

afterAll(async () => {
  await http.close();
  await agent.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  document = {};
});

describe('discovery of an https issuer', () => {
  it('uses https endpoints, on its own host or another', async () => {
    document = {
      issuer,
      jwks_uri: 'https://keys.example.net/jwks',
      introspection_endpoint: `${issuer}/introspect`,
    };
    const metadata = await fetchIssuerMetadata(issuer, http, limits);
    expect(metadata.jwks_uri).toBe('https://keys.example.net/jwks');
  });

  it('refuses a document that sends the key set or introspection to plain http', async () => {
    for (const endpoints of [
      { jwks_uri: 'http://id.example/jwks' },
      { jwks_uri: `${issuer}/jwks`, introspection_endpoint: 'http://id.example/introspect' },
    ]) {
      document = { issuer, ...endpoints };
      const error = await fetchIssuerMetadata(issuer, http, limits).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HttpFailure);
      expect((error as HttpFailure).message).toMatch(/plain http/);
    }
  });

  it('allows plain http on this machine (a local key server beside a local issuer)', async () => {
    document = { issuer, jwks_uri: 'http://127.0.0.1:9/jwks' };
    const metadata = await fetchIssuerMetadata(issuer, http, limits);
    expect(metadata.jwks_uri).toBe('http://127.0.0.1:9/jwks');
  });
});
