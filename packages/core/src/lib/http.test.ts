import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient, describeUrl, type HttpClient, HttpFailure, parseRetryAfter } from './http.js';

type Route = (req: IncomingMessage, res: ServerResponse) => void;

const routes: Record<string, Route> = {
  '/ok': (_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json', 'x-test': 'yes' }).end('{"ok":true}'),
  '/echo': (req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => res.writeHead(200).end(`${req.method} ${req.headers['content-type']} ${body}`));
  },
  '/redirect': (_req, res) => res.writeHead(302, { location: '/ok' }).end(),
  '/error': (_req, res) => res.writeHead(500, { 'retry-after': '42' }).end('boom'),
  '/missing': (_req, res) => res.writeHead(404).end(),
  '/unauthorized': (_req, res) => res.writeHead(401).end('{"error":"invalid_client"}'),
  '/declared-large': (_req, res) => res.writeHead(200, { 'content-length': '5000' }).end('x'.repeat(5000)),
  '/streamed-large': (_req, res) => {
    res.writeHead(200);
    for (let i = 0; i < 50; i++) res.write('x'.repeat(100));
    res.end();
  },
  '/never': () => {
    // Accepts the request and never answers.
  },
  '/drip': (_req, res) => {
    // Headers at once, then one byte every 20 ms, forever (until the client goes away).
    res.writeHead(200, { 'content-type': 'application/json' });
    const timer = setInterval(() => res.write(' '), 20);
    res.on('close', () => clearInterval(timer));
  },
};

let server: Server;
let base: string;
let okHits = 0;
const open = new Set<ServerResponse>();

beforeAll(async () => {
  server = createServer((req, res) => {
    open.add(res);
    res.on('close', () => open.delete(res));
    if (req.url === '/ok') okHits++;
    (routes[req.url ?? ''] ?? ((_q, r) => r.writeHead(404).end()))(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of open) res.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const settings = { connectTimeoutMs: 1000, headersTimeoutMs: 2000, bodyTimeoutMs: 2000, timeoutMs: 3000 };

async function failure(client: HttpClient, path: string, maxBytes = 1024): Promise<HttpFailure> {
  try {
    await client.request(`${base}${path}`, { maxBytes });
  } catch (error) {
    expect(error).toBeInstanceOf(HttpFailure);
    return error as HttpFailure;
  }
  throw new Error(`${path} succeeded`);
}

describe.each([
  ['undici', undefined],
  ['fetch', globalThis.fetch],
] as const)('createHttpClient (%s)', (_name, fetchFn) => {
  let client: HttpClient;

  beforeAll(() => {
    client = createHttpClient({ ...settings, fetch: fetchFn });
  });

  afterAll(async () => {
    await client.close();
  });

  it('returns status, headers and body of a 200', async () => {
    const response = await client.request(`${base}/ok`, { maxBytes: 1024 });
    expect(response.status).toBe(200);
    expect(response.header('x-test')).toBe('yes');
    expect(response.header('content-type')).toBe('application/json');
    expect(response.text).toBe('{"ok":true}');
  });

  it('sends method, headers and body', async () => {
    const response = await client.request(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=abc',
      maxBytes: 1024,
    });
    expect(response.text).toBe('POST application/x-www-form-urlencoded token=abc');
  });

  it('refuses a redirect without following it', async () => {
    const before = okHits;
    const error = await failure(client, '/redirect');
    expect(error.kind).toBe('redirect');
    expect(error.status).toBe(302);
    expect(okHits).toBe(before);
  });

  it('reports a non-200 status with its Retry-After', async () => {
    const error = await failure(client, '/error');
    expect(error.kind).toBe('status');
    expect(error.status).toBe(500);
    expect(error.retryAfterSec).toBe(42);
    expect((await failure(client, '/missing')).status).toBe(404);
  });

  it('passes a 401 through for introspection to interpret', async () => {
    const response = await client.request(`${base}/unauthorized`, { maxBytes: 1024 });
    expect(response.status).toBe(401);
  });

  it('refuses a body whose declared length is over the cap', async () => {
    expect((await failure(client, '/declared-large', 1000)).kind).toBe('too_large');
  });

  it('refuses a streamed body that grows over the cap', async () => {
    expect((await failure(client, '/streamed-large', 1000)).kind).toBe('too_large');
  });

  it('accepts a body exactly at the cap', async () => {
    const response = await client.request(`${base}/streamed-large`, { maxBytes: 5000 });
    expect(response.text.length).toBe(5000);
  });

  it('gives up on a server that never answers, as a timeout', async () => {
    const quick = createHttpClient({ ...settings, fetch: fetchFn, timeoutMs: 150, headersTimeoutMs: 150 });
    try {
      expect((await failure(quick, '/never')).kind).toBe('timeout');
    } finally {
      await quick.close();
    }
  });

  it('reports a refused connection as a network failure', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    try {
      await client.request(`http://127.0.0.1:${port}/x`, { maxBytes: 10 });
      throw new Error('reached');
    } catch (error) {
      expect((error as HttpFailure).kind).toBe('network');
    }
  });
});

describe('describeUrl', () => {
  it('drops credentials, query and fragment', () => {
    expect(describeUrl('https://user:pw@id.example/jwks?secret=1#x')).toBe('https://id.example/jwks');
    expect(describeUrl('not a url')).toBe('the configured URL');
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter(' 30 ')).toBe(30);
    const nowMs = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', nowMs)).toBe(60);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', nowMs)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe.each([
  ['undici', undefined],
  ['fetch', globalThis.fetch],
] as const)('createHttpClient (%s) once closed', (_name, fetchFn) => {
  it('asks nothing more of the network, closed before or after its first request', async () => {
    for (const warm of [false, true]) {
      const client = createHttpClient({ ...settings, fetch: fetchFn });
      if (warm) expect((await client.request(`${base}/ok`, { maxBytes: 1024 })).status).toBe(200);
      await client.close();
      const hits = okHits;
      const refused = await failure(client, '/ok');
      expect(refused.kind).toBe('network');
      expect(refused.message).toMatch(/the validator was closed/);
      expect(okHits).toBe(hits);
    }
  });
});

describe('createHttpClient with a fetch that ignores its AbortSignal', () => {
  // A wrapper that adds a header and passes on method and headers only, as instrumentation and
  // polyfills do: the overall deadline must hold without the fetch's help.
  const deaf: typeof globalThis.fetch = (input, init) =>
    globalThis.fetch(input, { method: init?.method ?? 'GET', headers: { 'x-trace': '1' } });

  it.each(['/never', '/drip'])(
    'ends an exchange with %s at timeoutMs, as a timeout',
    { timeout: 5000 },
    async (path) => {
      const client = createHttpClient({ ...settings, fetch: deaf, timeoutMs: 300 });
      try {
        expect((await failure(client, path)).kind).toBe('timeout');
      } finally {
        await client.close();
      }
    },
  );
});
