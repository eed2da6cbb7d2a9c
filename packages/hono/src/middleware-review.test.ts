import type { Server } from 'node:http';
import { connect } from 'node:net';
import { serve } from '@hono/node-server';
import { createValidator, isTokenGuardError, type Validator } from '@tokenguard/core';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevIssuer, startDevIssuer } from '../../dev-issuer/src/index.js';
import { requireScopes, tokenguard } from './index.js';

// The adapter against a real issuer (oidc-provider on 127.0.0.1), served by @hono/node-server on
// port 0 and called through app.request(), as on a fetch-only runtime.
const AUDIENCE = 'https://api.test';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const LIMIT = 100 * 1024;

let issuer: DevIssuer;
let validator: Validator;
let downValidator: Validator;
let server: Server;
let base: string;
let app: Hono;
let token: string;
let otherToken: string;

beforeAll(async () => {
  issuer = await startDevIssuer();
  validator = createValidator({ issuer: issuer.issuer, audience: AUDIENCE, realm: 'api' });
  // A validator that has never fetched the key set: used only while the JWKS is down.
  downValidator = createValidator({
    issuer: issuer.issuer,
    audience: AUDIENCE,
    jwksUri: issuer.jwksUri,
    http: { timeoutMs: 2000 },
  });
  token = await issuer.getToken({ resource: AUDIENCE, scope: 'read' });
  otherToken = await issuer.getToken({ resource: AUDIENCE, scope: 'write' });

  const byBody = tokenguard(validator, { transport: { body: true } });
  const byQuery = tokenguard(validator, { transport: { query: true } });
  const byBoth = tokenguard(validator, { transport: { body: true, query: true } });
  const optional = tokenguard(validator, { optional: true });

  app = new Hono();
  app.get('/me', tokenguard(validator), (c) =>
    c.json({ subject: c.var.auth.subject, scopes: [...c.var.auth.scopes] }),
  );
  app.get('/optional', optional, (c) => c.json({ scopes: c.var.auth ? [...c.var.auth.scopes] : null }));
  app.get('/down', tokenguard(downValidator), (c) => c.text('ok'));
  app.get('/query', byQuery, (c) => c.text('ok'));
  app.on(['GET', 'POST', 'DELETE'], '/form', byBoth, async (c) =>
    c.json({ scopes: [...c.var.auth.scopes], text: await c.req.text() }),
  );
  // The handler reads the request's own body (a proxy passes c.req.raw on) after tokenguard read it.
  app.post('/raw', byBody, async (c) => c.json({ raw: await c.req.raw.text() }));
  app.post('/parsed', byBody, async (c) => c.json({ parsed: await c.req.parseBody() }));
  // A middleware before tokenguard sees no caller yet; the middleware twice on one route.
  app.get(
    '/before',
    async (c, next) => {
      c.header('x-before', String(c.get('auth') === undefined));
      await next();
    },
    tokenguard(validator),
    (c) => c.text('ok'),
  );
  app.use('/twice/*', optional);
  app.post('/twice/form', byBody, (c) => c.json({ scopes: [...c.var.auth.scopes] }));
  app.get('/twice/me', tokenguard(validator), (c) => c.json({ subject: c.var.auth.subject }));

  // Sub-apps: app.route() with a guard, basePath(), onError: 'next' to the parent's onError.
  const sub = new Hono();
  sub.get('/read', requireScopes('read'), (c) => c.json({ subject: c.var.auth?.subject }));
  sub.get('/write', requireScopes('write'), (c) => c.text('ok'));
  const api = new Hono().basePath('/v1');
  api.use('*', tokenguard(validator, { onError: 'next' }));
  api.route('/sub', sub);
  app.route('/', api);
  app.onError((error, c) => {
    if (isTokenGuardError(error)) return c.json({ fromOnError: error.code }, error.status, error.headers);
    return c.json({ appError: error.message }, 500);
  });

  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
      base = `http://127.0.0.1:${info.port}`;
      resolve();
    }) as Server;
  });
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await validator?.close();
  await downValidator?.close();
  await issuer?.close();
});

/** The same request on @hono/node-server and through app.request(). */
async function both(path: string, init: RequestInit = {}): Promise<Response[]> {
  return [await fetch(`${base}${path}`, init), await app.request(path, init)];
}

/** Sends `head` (request line and header lines, CRLF-joined) then `body`; the status and body. */
function rawRequest(head: string[], body = ''): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    const socket = connect(Number(url.port), url.hostname);
    let data = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const text = data.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1] ?? '0');
      if (data.length >= end + 4 + length) {
        socket.destroy();
        resolve({ status: Number(text.slice(9, 12)), body: text.slice(end + 4, end + 4 + length) });
      }
    });
    socket.on('error', reject);
    socket.write(
      Buffer.concat([
        Buffer.from(`${[...head, 'connection: close'].join('\r\n')}\r\n\r\n`, 'latin1'),
        Buffer.from(body),
      ]),
    );
  });
}

describe('tokenguard (hono) against a real issuer: review', () => {
  it('answers 503 with an integer Retry-After and no token when the key set cannot be fetched', async () => {
    issuer.jwks.setDown(true);
    try {
      for (const res of await both('/down', { headers: { authorization: `Bearer ${token}` } })) {
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
        expect(res.headers.get('www-authenticate')).toBeNull();
        const text = await res.text();
        expect(text).not.toContain(token);
        expect(JSON.parse(text)).toMatchObject({ error: 'temporarily_unavailable' });
      }
    } finally {
      issuer.jwks.reset();
    }
  });

  it('rejects two Authorization headers joined by a fetch Headers (a, b) with 400, even on optional routes', async () => {
    const joined = [`Bearer ${token}, Bearer ${otherToken}`, `Basic dXNlcg==, Bearer ${token}`];
    for (const value of joined) {
      for (const path of ['/me', '/optional']) {
        const headers = new Headers([['authorization', value.split(', ')[0] as string]]);
        headers.append('authorization', value.split(', ')[1] as string);
        expect(headers.get('authorization')).toBe(value);
        const res = await app.request(path, { headers });
        expect(res.status).toBe(400);
        expect(await res.json()).toMatchObject({ error: 'invalid_request' });
      }
    }
  });

  it('rejects a token in the query and in the header, or in the query and the body, with 400', async () => {
    const query = `/query?access_token=${token}`;
    for (const res of await both(query, { headers: { authorization: `Bearer ${token}` } })) {
      expect(res.status).toBe(400);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="api", error="invalid_request"/);
    }
    const init = { method: 'POST', headers: FORM, body: `access_token=${token}` };
    for (const res of await both(`/form?access_token=${token}`, init)) expect(res.status).toBe(400);
  });

  it('answers HEAD with a query token as GET, Cache-Control: private included', async () => {
    for (const res of await both(`/query?access_token=${token}`, { method: 'HEAD' })) {
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('private');
    }
  });

  it('reads no token from a multipart/form-data body, a GET body or a DELETE body', async () => {
    const multipart = new FormData();
    multipart.set('access_token', token);
    for (const res of await both('/form', { method: 'POST', body: multipart })) {
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="api"');
    }
    for (const res of await both('/form', { method: 'DELETE', headers: FORM, body: `access_token=${token}` }))
      expect(res.status).toBe(401);
    const body = `access_token=${token}`;
    const get = await rawRequest(
      [
        'GET /form HTTP/1.1',
        'host: x',
        `content-type: ${FORM['content-type']}`,
        `content-length: ${body.length}`,
      ],
      body,
    );
    expect(get.status).toBe(401);
  });

  it('takes a form body of exactly 100 KiB, with a Content-Length and streamed', async () => {
    const prefix = `access_token=${token}&pad=`;
    const exact = prefix + 'x'.repeat(LIMIT - prefix.length);
    expect(Buffer.byteLength(exact)).toBe(LIMIT);
    for (const res of await both('/form', { method: 'POST', headers: FORM, body: exact })) {
      expect(res.status).toBe(200);
      expect(((await res.json()) as { text: string }).text).toBe(exact);
    }
    const streamed = (text: string) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          const bytes = new TextEncoder().encode(text);
          for (let i = 0; i < bytes.length; i += 8192) controller.enqueue(bytes.subarray(i, i + 8192));
          controller.close();
        },
      });
    const init = () => ({ method: 'POST', headers: FORM, duplex: 'half' }) as RequestInit;
    const node = await fetch(`${base}/form`, { ...init(), body: streamed(exact) });
    const fetchOnly = await app.request('/form', { ...init(), body: streamed(exact) });
    for (const res of [node, fetchOnly]) {
      expect(res.status).toBe(200);
      expect(((await res.json()) as { text: string }).text).toBe(exact);
    }
    const over = `${exact}x`;
    for (const res of [
      await fetch(`${base}/form`, { ...init(), body: streamed(over) }),
      await app.request('/form', { ...init(), body: streamed(over) }),
      await fetch(`${base}/form`, { method: 'POST', headers: FORM, body: over }),
    ]) {
      expect(res.status).toBe(413);
      await res.arrayBuffer();
    }
  });

  it('reads only the bytes a Content-Length names on node-server (a lying one cannot smuggle a token)', async () => {
    const body = `pad=x&access_token=${token}`;
    const res = await rawRequest(
      ['POST /form HTTP/1.1', 'host: x', `content-type: ${FORM['content-type']}`, 'content-length: 5'],
      body,
    );
    // Node reads the 5 bytes, then answers the rest, a malformed request, with its own 400.
    expect([400, 401]).toContain(res.status);
  });

  it("leaves the request's own body readable after reading a form token (c.req.raw.text())", async () => {
    const body = `access_token=${token}&item=a`;
    for (const res of await both('/raw', { method: 'POST', headers: FORM, body })) {
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ raw: body });
    }
  });

  it('still sees two Authorization headers on node-server when it reads a form token', async () => {
    const body = `access_token=${token}`;
    const head = ['POST /parsed HTTP/1.1', 'host: x', `content-type: ${FORM['content-type']}`];
    const res = await rawRequest(
      [...head, 'authorization: Basic YQ==', 'authorization: Basic Yg==', `content-length: ${body.length}`],
      body,
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'invalid_request' });
    // Streamed (chunked): hono/body-limit replaces c.req.raw once it has counted the bytes.
    const chunked = await rawRequest(
      [...head, 'authorization: Basic YQ==', 'authorization: Basic Yg==', 'transfer-encoding: chunked'],
      `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
    );
    expect(chunked.status).toBe(400);
  });

  it('gives the handler c.req.parseBody() without the all option: one value per key', async () => {
    const body = `access_token=${token}&item=a&item=b`;
    for (const res of await both('/parsed', { method: 'POST', headers: FORM, body })) {
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ parsed: { access_token: token, item: 'b' } });
    }
  });

  it('never echoes the token or the header in an error body', async () => {
    const tampered = `${token.slice(0, -4)}AAAA`;
    const values = [
      `Bearer ${tampered}`,
      `Bearer ${token}x y`,
      `Bearer ${token}\u00e9`,
      `Bearer ${token}${'A'.repeat(12_000)}`,
    ];
    for (const value of values) {
      const res = await rawRequest(['GET /me HTTP/1.1', 'host: x', `authorization: ${value}`]);
      expect([400, 401]).toContain(res.status);
      expect(res.body).not.toContain(token.slice(0, 40));
      expect(JSON.parse(res.body)).toHaveProperty('error');
    }
    // Through app.request() no server bounds the header: a megabyte, and a latin-1 character.
    for (const value of [
      `Bearer ${token}${'A'.repeat(1 << 20)}`,
      `Bearer ${token}\u00e9`,
      `Bearer \u00ff${token}`,
    ]) {
      for (const path of ['/me', '/optional']) {
        const res = await app.request(path, { headers: { authorization: value } });
        expect([400, 401]).toContain(res.status);
        expect(res.headers.get('www-authenticate') ?? '').not.toContain(token.slice(0, 40));
        expect(await res.text()).not.toContain(token.slice(0, 40));
      }
    }
    const form = `access_token=${encodeURIComponent(`${token} x`)}`;
    for (const res of await both('/form', { method: 'POST', headers: FORM, body: form })) {
      expect(res.status).toBe(400);
      expect(await res.text()).not.toContain(token.slice(0, 40));
    }
  });

  it('keeps each request its own caller, under concurrency and on optional routes', async () => {
    const requests = Array.from({ length: 20 }, (_, i) =>
      i % 3 === 0
        ? app.request('/optional')
        : app.request('/optional', {
            headers: { authorization: `Bearer ${i % 3 === 1 ? token : otherToken}` },
          }),
    );
    const bodies = await Promise.all((await Promise.all(requests)).map((res) => res.json()));
    bodies.forEach((body, i) => {
      expect(body).toEqual({ scopes: i % 3 === 0 ? null : i % 3 === 1 ? ['read'] : ['write'] });
    });
  });

  it('shows no caller to a middleware before tokenguard, and runs twice on one route', async () => {
    for (const res of await both('/before', { headers: { authorization: `Bearer ${token}` } })) {
      expect(res.status).toBe(200);
      expect(res.headers.get('x-before')).toBe('true');
    }
    const form = { method: 'POST', headers: FORM, body: `access_token=${token}` };
    for (const res of await both('/twice/form', form)) {
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ scopes: ['read'] });
    }
    for (const res of await both('/twice/me')) expect(res.status).toBe(401);
    const bad = { headers: { authorization: 'Bearer bad' } };
    for (const res of await both('/twice/me', bad)) expect(res.status).toBe(401);
  });

  it('works in sub-apps under basePath(), with onError: next reaching the parent onError', async () => {
    const headers = { authorization: `Bearer ${token}` };
    for (const res of await both('/v1/sub/read', { headers })) {
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ subject: expect.any(String) });
    }
    for (const res of await both('/v1/sub/write', { headers })) {
      expect(res.status).toBe(403);
      expect(res.headers.get('www-authenticate')).toMatch(/error="insufficient_scope", .*scope="write"/);
    }
    for (const res of await both('/v1/sub/read')) {
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ fromOnError: 'ERR_TOKEN_MISSING' });
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="api"');
    }
  });
});
