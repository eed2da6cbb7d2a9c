/**
 * The default (undici) transport decodes a `Content-Encoding` (gzip, x-gzip, deflate zlib-wrapped or raw,
 * br, identity, and lists of them), bounds the decoded bytes by `maxBytes`, and refuses a coding it does
 * not decode or a body that does not decode, naming the `Content-Encoding`. Real node:http servers.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenGuardError } from '../errors.js';
import type { KeySetEvent } from '../jwks.js';
import { createValidator } from '../validator.js';
import { createHttpClient, type HttpClient, HttpFailure } from './http.js';

const JSON_BODY = JSON.stringify({ keys: [], note: 'x'.repeat(3000) });
const SECRET = 'BODY-MUST-NOT-BE-ECHOED';
const BOMB_BYTES = 50 * 1024 * 1024;
const CHUNK = 1024;

const pair = generateKeyPairSync('ec', {
  namedCurve: 'P-256',
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const jwks = JSON.stringify({
  keys: [
    { ...createPublicKey(pair.publicKey).export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' },
  ],
});

let server: Server;
let base: string;
let bomb: Buffer;
/** Compressed bytes of the bomb the server got to write before the client went away. */
let bombSent = 0;
let keySetEncoding = 'gzip';
const seen: IncomingHttpHeaders[] = [];
const open = new Set<ServerResponse>();

function send(res: ServerResponse, encoding: string, body: Buffer, status = 200): void {
  res
    .writeHead(status, {
      'content-type': 'application/json',
      'content-encoding': encoding,
      'content-length': body.length,
    })
    .end(body);
}

const routes: Record<string, (res: ServerResponse) => void> = {
  '/gzip': (res) => send(res, 'gzip', gzipSync(JSON_BODY)),
  '/x-gzip': (res) => send(res, 'X-GZIP', gzipSync(JSON_BODY)),
  '/deflate': (res) => send(res, 'deflate', deflateSync(JSON_BODY)),
  '/deflate-raw': (res) => send(res, 'deflate', deflateRawSync(JSON_BODY)),
  '/br': (res) => send(res, 'br', brotliCompressSync(JSON_BODY)),
  // Listed in the order applied: gzip first, then br; decoded br first.
  '/gzip-br': (res) => send(res, 'gzip, br', brotliCompressSync(gzipSync(JSON_BODY))),
  '/deflate-identity-gzip': (res) =>
    send(res, 'deflate, identity, gzip', gzipSync(deflateRawSync(JSON_BODY))),
  '/identity': (res) => send(res, 'identity', Buffer.from(JSON_BODY)),
  '/zstd': (res) => send(res, 'zstd', Buffer.from(SECRET)),
  '/compress': (res) => send(res, 'compress', Buffer.from(SECRET)),
  '/gzip-zstd': (res) => send(res, 'gzip, zstd', Buffer.from(SECRET)),
  '/forbidden-zstd': (res) => send(res, 'zstd', Buffer.from(SECRET), 403),
  '/corrupt-gzip': (res) =>
    send(res, 'gzip', Buffer.concat([gzipSync('{}').subarray(0, 10), Buffer.from(SECRET)])),
  '/corrupt-deflate': (res) =>
    send(res, 'deflate', Buffer.concat([Buffer.from([0x78, 0x9c]), Buffer.from(SECRET)])),
  '/truncated-br': (res) => send(res, 'br', brotliCompressSync(JSON_BODY).subarray(0, 20)),
  '/empty-gzip': (res) => send(res, 'gzip', Buffer.alloc(0)),
  '/bomb': (res) => {
    // 50 MB of zeros in ~50 KB of gzip, written 1 KiB at a time, 10 ms apart, until the client leaves.
    bombSent = 0;
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    const next = (): void => {
      if (res.destroyed || bombSent >= bomb.length) return void res.end();
      res.write(bomb.subarray(bombSent, bombSent + CHUNK));
      bombSent += CHUNK;
      setTimeout(next, 10);
    };
    next();
  },
  '/stall': (res) => {
    // Half of a gzip body, then nothing.
    const body = gzipSync(JSON_BODY);
    res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': body.length });
    res.write(body.subarray(0, body.length >> 1));
  },
  '/jwks': (res) =>
    keySetEncoding === 'gzip'
      ? send(res, 'gzip', gzipSync(jwks))
      : send(res, keySetEncoding, Buffer.from(jwks)),
};

beforeAll(async () => {
  bomb = gzipSync(Buffer.alloc(BOMB_BYTES));
  server = createServer((req, res) => {
    seen.push(req.headers);
    open.add(res);
    res.on('close', () => open.delete(res));
    (routes[req.url ?? ''] ?? ((r) => r.writeHead(404).end()))(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of open) res.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const settings = {
  fetch: undefined,
  connectTimeoutMs: 1000,
  headersTimeoutMs: 2000,
  bodyTimeoutMs: 2000,
  timeoutMs: 3000,
};

async function failure(client: HttpClient, path: string, maxBytes = 64 * 1024): Promise<HttpFailure> {
  try {
    await client.request(`${base}${path}`, { maxBytes });
  } catch (error) {
    expect(error).toBeInstanceOf(HttpFailure);
    return error as HttpFailure;
  }
  throw new Error(`${path} succeeded`);
}

describe('the default transport and Content-Encoding', () => {
  let client: HttpClient;

  beforeAll(() => {
    client = createHttpClient(settings);
  });

  afterAll(async () => {
    await client.close();
  });

  it.each([
    '/gzip',
    '/x-gzip',
    '/deflate',
    '/deflate-raw',
    '/br',
    '/gzip-br',
    '/deflate-identity-gzip',
    '/identity',
  ])('decodes %s', async (path) => {
    const response = await client.request(`${base}${path}`, { maxBytes: 64 * 1024 });
    expect(response.status).toBe(200);
    expect(response.text).toBe(JSON_BODY);
    // Asks for no coding (any is acceptable): negotiating servers answer uncompressed.
    expect(seen.at(-1)?.['accept-encoding']).toBeUndefined();
  });

  it('bounds the decoded bytes, not the compressed ones: exactly at the cap passes, one over fails', async () => {
    const size = Buffer.byteLength(JSON_BODY);
    expect((await client.request(`${base}/gzip`, { maxBytes: size })).text).toBe(JSON_BODY);
    const error = await failure(client, '/gzip', size - 1);
    expect(error.kind).toBe('too_large');
    expect(error.message).toBe(
      `${base}/gzip sent more than ${size - 1} bytes once its Content-Encoding "gzip" is decoded`,
    );
  });

  it.each([
    ['/zstd', 'zstd'],
    ['/compress', 'compress'],
    ['/gzip-zstd', 'gzip, zstd'],
  ])('refuses %s, a coding it does not decode, naming it', async (path, value) => {
    const error = await failure(client, path);
    expect(error.kind).toBe('content_type');
    expect(error.message).toBe(
      `${base}${path} answered with Content-Encoding "${value}", which is not decoded (gzip, deflate, br and identity are)`,
    );
  });

  it.each([
    ['/corrupt-gzip', 'gzip'],
    ['/corrupt-deflate', 'deflate'],
    ['/truncated-br', 'br'],
    ['/empty-gzip', 'gzip'],
  ])('refuses %s, a body that does not decode, naming the coding and never the body', async (path, value) => {
    const error = await failure(client, path);
    expect(error.kind).toBe('content_type');
    expect(error.message).toContain(
      `${base}${path} answered a body that does not decode as its Content-Encoding "${value}" (`,
    );
    expect(error.message).not.toContain(SECRET);
  });

  it('passes a 403 on (its status is the answer) with an empty body when its coding is not decoded', async () => {
    const response = await client.request(`${base}/forbidden-zstd`, { maxBytes: 1024 });
    expect(response.status).toBe(403);
    expect(response.text).toBe('');
  });

  it('cuts a 50 MB gzip bomb off at the cap without reading the compressed body whole', async () => {
    const error = await failure(client, '/bomb', 64 * 1024);
    expect(error.kind).toBe('too_large');
    expect(error.message).toContain('once its Content-Encoding "gzip" is decoded');
    // Let the server notice the closed connection.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(bomb.length).toBeGreaterThan(40 * CHUNK);
    expect(bombSent).toBeLessThan(bomb.length / 4);
  });

  // The other setting is a minute: only the one under test can end the body within the test's time.
  it.each([
    ['the overall deadline', { timeoutMs: 300, bodyTimeoutMs: 60_000 }],
    ['the body timeout', { bodyTimeoutMs: 300, timeoutMs: 60_000 }],
  ])('ends a compressed body that stalls midway with %s', async (_name, timeouts) => {
    const quick = createHttpClient({ ...settings, headersTimeoutMs: 60_000, ...timeouts });
    try {
      expect((await failure(quick, '/stall')).kind).toBe('timeout');
    } finally {
      await quick.close();
    }
  });
});

describe('a key set in a coding not decoded', () => {
  it('takes the caller’s error path: a fetch_failed event naming it, the last set kept, 503 on a cold start', async () => {
    const events: KeySetEvent[] = [];
    const options = { issuer: 'https://issuer.test', audience: 'https://api.test', jwksUri: `${base}/jwks` };
    const iat = Math.floor(Date.now() / 1000);
    const jwt = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
      .setIssuer(options.issuer)
      .setAudience(options.audience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + 300)
      .sign(createPrivateKey(pair.privateKey));
    const warm = createValidator({ ...options, onEvent: (event) => events.push(event) });
    const cold = createValidator(options);
    try {
      keySetEncoding = 'gzip';
      await warm.validate(jwt);
      keySetEncoding = 'zstd';
      const refused = await warm.refreshKeys().then(
        () => undefined,
        (e: unknown) => e as TokenGuardError,
      );
      expect(refused?.code).toBe('ERR_KEYS_UNAVAILABLE');
      expect((refused?.cause as Error | undefined)?.message).toContain('Content-Encoding "zstd"');
      expect(events.at(-1)).toMatchObject({
        type: 'fetch_failed',
        error: `${base}/jwks answered with Content-Encoding "zstd", which is not decoded (gzip, deflate, br and identity are)`,
        servingStale: true,
      });
      await warm.validate(jwt);
      const error = await cold.validate(jwt).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(TokenGuardError);
      expect((error as TokenGuardError).status).toBe(503);
      expect((error as TokenGuardError).code).toBe('ERR_KEYS_UNAVAILABLE');
    } finally {
      await warm.close();
      await cold.close();
    }
  });
});
