/**
 * An API called from a single-page app on another origin, built from packages/hono/README.md "A
 * complete app" with `hono/cors` (README "Browsers and CORS"). Placed first, every preflight is
 * answered and every answer tokenguard gives is readable by the SPA, for every mount form. Added after
 * `app.use('/api/*', tokenguard(validator))`, an `/api` preflight (an `OPTIONS` that never carries a
 * token) reaches tokenguard first and gets its 401 without `Access-Control-Allow-Origin`, which the
 * browser reports as a network error; routes written with `auth.protect()` (one handler per method)
 * are not affected. tokenguard does not let preflights through on its own, so the README says where
 * `cors()` goes. (A review found the README silent on it.)
 *
 * Real parts: oidc-provider (packages/dev-issuer, with DPoP), Hono 4 on @hono/node-server with
 * `hono/cors` on 127.0.0.1 port 0, requests by undici.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createValidator, type Validator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import {
  type OptionalTokenguardVariables,
  requireScopes,
  type TokenguardVariables,
  tokenguard,
} from '@tokenguard/hono';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectReadable, fromSpa, preflight, SPA } from './support/browser-client.js';

/** The usual configuration for an SPA: an allow-list, credentials, the headers it sends and reads. */
const CORS = {
  origin: [SPA],
  credentials: true,
  allowHeaders: ['Authorization', 'DPoP', 'Content-Type'],
  exposeHeaders: ['WWW-Authenticate', 'DPoP-Nonce', 'Retry-After'],
};
const NONCE_SECRET = 'a nonce secret of at least thirty-two characters';

let issuer: DevIssuer;
let validator: Validator;
let full: string;
let readOnly: string;
let bound: string;
const servers: Server[] = [];
const validators: Validator[] = [];

async function listen(app: Hono<{ Variables: TokenguardVariables }>): Promise<string> {
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** packages/hono/README.md "A complete app" (shortened) and "auth.protect()", with `cors` at `where`. */
async function readmeApp(where: 'first' | 'after tokenguard', v: Validator): Promise<string> {
  const app = new Hono<{ Variables: TokenguardVariables }>();
  if (where === 'first') app.use('*', cors(CORS));
  const open = new Hono<{ Variables: OptionalTokenguardVariables }>();
  open.get('/catalog', tokenguard(v, { optional: true }), (c) =>
    c.json({ personalised: c.get('auth') !== undefined }),
  );
  app.route('/', open);
  // Every /api route needs a valid token.
  app.use('/api/*', tokenguard(v));
  if (where === 'after tokenguard') app.use('*', cors(CORS));
  app.get('/api/me', (c) => c.json({ caller: c.var.auth.subject }));
  app.get('/api/orders', requireScopes('orders:read'), (c) => c.json([]));
  const auth = tokenguard(v);
  app.get(
    '/fast/orders',
    auth.protect(requireScopes('orders:read'), (c) => c.json([])),
  );
  return listen(app);
}

let corsAfter: string;
let corsFirst: string;

beforeAll(async () => {
  issuer = await startDevIssuer({ dpop: true });
  [full, readOnly, bound] = await Promise.all([
    issuer.getToken({ resource: 'https://api.test' }),
    issuer.getToken({ resource: 'https://api.test', scope: 'read' }),
    issuer.getToken({ resource: 'https://api.test', dpop: true }),
  ]);
  validator = createValidator({
    issuer: issuer.issuer,
    audience: 'https://api.test',
    dpop: { nonce: { secret: NONCE_SECRET } },
  });
  validators.push(validator);
  corsAfter = await readmeApp('after tokenguard', validator);
  corsFirst = await readmeApp('first', validator);
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await Promise.all(validators.map((v) => v.close()));
  await issuer?.close();
});

describe("cors() added after app.use('/api/*', tokenguard()): why the README puts it first", () => {
  it("an /api preflight gets tokenguard's 401 without Access-Control-Allow-Origin", async () => {
    const answer = await preflight(`${corsAfter}/api/orders`);
    expect(answer.status).toBe(401);
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
  });

  it("tokenguard's 401 to a real /api call has no Access-Control-Allow-Origin", async () => {
    const answer = await fromSpa(`${corsAfter}/api/me`, 'GET', { authorization: 'Bearer a.b.c' });
    expect(answer.status).toBe(401);
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('auth.protect() routes and the optional route answer the preflight in either order', async () => {
    for (const path of ['/fast/orders', '/catalog']) {
      const answer = await preflight(`${corsAfter}${path}`);
      expect(answer.status, path).toBe(204);
      expect(answer.headers['access-control-allow-origin']).toBe(SPA);
    }
    expectReadable(await fromSpa(`${corsAfter}/fast/orders`, 'GET', { authorization: 'Bearer a.b.c' }));
  });
});

describe('cors() first, before every route (the order that works)', () => {
  it('preflights of middleware, auth.protect() and optional routes succeed without a token, DPoP allowed', async () => {
    for (const path of ['/api/orders', '/api/me', '/fast/orders', '/catalog']) {
      const answer = await preflight(`${corsFirst}${path}`, 'authorization,dpop');
      expect(answer.status, path).toBe(204);
      expect(answer.headers['access-control-allow-origin']).toBe(SPA);
      expect(String(answer.headers['access-control-allow-headers'])).toMatch(/Authorization.*DPoP/);
    }
  });

  it('400, 401 and 403 (middleware and auth.protect()) carry the CORS headers', async () => {
    for (const prefix of ['/api', '/fast']) {
      const none = await fromSpa(`${corsFirst}${prefix}/orders`, 'GET');
      expect(none.status).toBe(401);
      expectReadable(none);
      const malformed = await fromSpa(`${corsFirst}${prefix}/orders`, 'GET', { authorization: 'Bearer a b' });
      expect(malformed.status).toBe(400);
      expectReadable(malformed);
      const scope = await fromSpa(`${corsFirst}${prefix}/orders`, 'GET', {
        authorization: `Bearer ${readOnly}`,
      });
      expect([scope.status, scope.headers['www-authenticate']]).toEqual([
        403,
        expect.stringContaining('scope="orders:read"'),
      ]);
      expectReadable(scope);
      // Twice: auth.protect() answers a cached token in the same tick, without the middleware chain.
      for (let i = 0; i < 2; i++) {
        expectReadable(
          await fromSpa(`${corsFirst}${prefix}/orders`, 'GET', { authorization: `Bearer ${full}` }),
        );
      }
    }
  });

  it('the optional route answers anonymous (200) and bad-token (401) calls readably', async () => {
    const anonymous = await fromSpa(`${corsFirst}/catalog`, 'GET');
    expect([anonymous.status, anonymous.body]).toEqual([200, '{"personalised":false}']);
    expectReadable(anonymous, []);
    const bad = await fromSpa(`${corsFirst}/catalog`, 'GET', { authorization: 'Bearer a.b.c' });
    expect(bad.status).toBe(401);
    expectReadable(bad);
  });

  it("DPoP: the use_dpop_nonce 401's DPoP-Nonce is exposed", async () => {
    const url = `${corsFirst}/api/me`;
    const answer = await fromSpa(url, 'GET', {
      authorization: `DPoP ${bound}`,
      dpop: await issuer.dpopProof('GET', url, bound),
    });
    expect(answer.status).toBe(401);
    expect(answer.headers['dpop-nonce']).toBe(validator.dpopNonce());
    expectReadable(answer, ['WWW-Authenticate', 'DPoP-Nonce']);
  });

  it("503 (the issuer's key set down) carries the CORS headers and Retry-After is exposed", async () => {
    const cold = createValidator({ issuer: issuer.issuer, audience: 'https://api.test' });
    validators.push(cold);
    const base = await readmeApp('first', cold);
    issuer.jwks.setDown(true);
    try {
      const answer = await fromSpa(`${base}/api/me`, 'GET', { authorization: `Bearer ${full}` });
      expect(answer.status).toBe(503);
      expectReadable(answer, ['Retry-After']);
    } finally {
      issuer.jwks.setDown(false);
    }
  });
});
