import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createValidator, type Validator } from '@tokenguard/core';
import { Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessTokenClaims, generateSigningKey, jwksOf, signToken } from '../../../test/support/keys.js';
import { tokenguard } from './index.js';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://api.test';
const NOW_SEC = 1_700_000_000;
const key = generateSigningKey('ES256');

// The same app served by @hono/node-server, where the middleware reads Node's own request, and
// called through app.request(), as on a fetch-only runtime: both must read the same token.
let jwksServer: Server;
let server: Server;
let base: string;
let validator: Validator;
let app: Hono;
let token: string;

beforeAll(async () => {
  jwksServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwksOf(key)));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  validator = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`,
    now: () => NOW_SEC * 1000,
  });
  token = await signToken(key, accessTokenClaims({ iss: ISSUER, aud: AUDIENCE, nowSec: NOW_SEC }));
  const me = tokenguard(validator);

  app = new Hono();
  app.get('/me', me, (c) => c.json({ subject: c.var.auth.subject }));
  // A header read first (a logger, say) builds the fetch Headers: duplicates are still a 400.
  app.get(
    '/read-first',
    async (c, next) => {
      c.req.header('user-agent');
      await next();
    },
    me,
    (c) => c.text('ok'),
  );
  // A browser app's cookie turned into the bearer header the API expects.
  app.get(
    '/cookie',
    async (c, next) => {
      const fromCookie = getCookie(c, 'at');
      if (fromCookie !== undefined) c.req.raw.headers.set('authorization', `Bearer ${fromCookie}`);
      await next();
    },
    me,
    (c) => c.json({ subject: c.var.auth.subject }),
  );
  // Client credentials dropped before the API: the request the handler sees has no token.
  app.get(
    '/stripped',
    async (c, next) => {
      c.req.raw.headers.delete('authorization');
      await next();
    },
    me,
    (c) => c.json({ authorization: c.req.header('authorization') ?? null }),
  );
  // The handler reads the form body again after tokenguard() read the token from it.
  app.post('/form', tokenguard(validator, { transport: { body: true } }), async (c) =>
    c.json({ parsed: await c.req.parseBody(), text: await c.req.text() }),
  );
  // A gateway calling an inner app with a request of its own and the outer request's env.
  const inner = new Hono();
  inner.get('/inner/me', me, (c) => c.json({ authorization: c.req.header('authorization') ?? null }));
  app.get('/inner/*', (c) => {
    const headers = new Headers(c.req.raw.headers);
    headers.delete('authorization');
    return inner.fetch(new Request(c.req.url, { headers }), c.env);
  });

  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
      base = `http://127.0.0.1:${info.port}`;
      resolve();
    }) as Server;
  });
});

afterAll(async () => {
  await validator.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await new Promise((resolve) => jwksServer.close(resolve));
});

/** The status on @hono/node-server and through app.request(), which must agree. */
async function statusBoth(path: string, headers: Record<string, string> = {}): Promise<number[]> {
  const node = await fetch(`${base}${path}`, { headers });
  const fetchOnly = await app.request(path, { headers });
  await Promise.all([node.arrayBuffer(), fetchOnly.arrayBuffer()]);
  return [node.status, fetchOnly.status];
}

/** A GET with the given header lines, as sent (fetch would join two Authorization values). */
function rawGet(
  path: string,
  headers: Record<string, string | string[]>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject).end();
  });
}

describe('tokenguard on @hono/node-server reads the request the app sees', () => {
  it('accepts the token of an untouched request', async () => {
    expect(await statusBoth('/me', { authorization: `Bearer ${token}` })).toEqual([200, 200]);
    expect(await statusBoth('/me')).toEqual([401, 401]);
  });

  it('reads an Authorization header a middleware set on c.req.raw.headers', async () => {
    expect(await statusBoth('/cookie', { cookie: `at=${token}` })).toEqual([200, 200]);
  });

  it('does not authenticate with an Authorization header a middleware deleted', async () => {
    expect(await statusBoth('/stripped', { authorization: `Bearer ${token}` })).toEqual([401, 401]);
  });

  it("reads the inner request's headers in an app called with the outer request's env", async () => {
    expect(await statusBoth('/inner/me', { authorization: `Bearer ${token}` })).toEqual([401, 401]);
  });

  it('leaves a form body it read for the handler to read again', async () => {
    const body = `access_token=${token}&item=a&item=b`;
    const init = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body };
    for (const res of [await fetch(`${base}/form`, init), await app.request('/form', init)]) {
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ parsed: { access_token: token, item: 'b' }, text: body });
    }
  });

  it('reads at most 100 KiB of a form body before anyone is authenticated: a larger one is a 413', async () => {
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    const padding = (bytes: number) => `&pad=${'x'.repeat(bytes)}`;
    // Just under the limit: the token is found and the handler reads the body again.
    const fits = `access_token=${token}${padding(100 * 1024 - token.length - 20)}`;
    expect(fits.length).toBeLessThanOrEqual(100 * 1024);
    for (const res of [
      await fetch(`${base}/form`, { method: 'POST', headers, body: fits }),
      await app.request('/form', { method: 'POST', headers, body: fits }),
    ]) {
      expect(res.status).toBe(200);
      expect(((await res.json()) as { text: string }).text).toBe(fits);
    }
    // Over it, with a Content-Length and streamed without one (chunked): 413, the token never read.
    const over = `access_token=${token}${padding(200 * 1024)}`;
    const declared = await fetch(`${base}/form`, { method: 'POST', headers, body: over });
    expect(declared.status).toBe(413);
    await declared.arrayBuffer();
    const chunks = [new TextEncoder().encode(`access_token=${token}`), new Uint8Array(64 * 1024).fill(120)];
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        // The token, then 64 KiB chunks of 'x' without end: only the limit stops the read.
        controller.enqueue(sent === 0 ? (chunks[0] as Uint8Array) : (chunks[1] as Uint8Array));
        sent++;
        if (sent > 64) controller.close();
      },
    });
    const streamed = await fetch(`${base}/form`, {
      method: 'POST',
      headers,
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    await streamed.arrayBuffer();
  });

  it('answers HEAD on a guarded route with the challenge and no body', async () => {
    for (const res of [
      await fetch(`${base}/me`, { method: 'HEAD' }),
      await app.request('/me', { method: 'HEAD' }),
    ]) {
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(await res.text()).toBe('');
    }
  });

  it('rejects two Authorization headers with 400, whether or not the fetch Headers were built', async () => {
    const twice = { authorization: [`Bearer ${token}`, `Bearer ${token}`] };
    for (const path of ['/me', '/read-first']) {
      const res = await rawGet(path, twice);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({ error: 'invalid_request' });
    }
    expect((await rawGet('/read-first', { authorization: `Bearer ${token}` })).status).toBe(200);
  });
});
