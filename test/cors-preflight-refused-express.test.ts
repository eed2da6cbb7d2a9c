/**
 * An API called from a single-page app on another origin, built from packages/express/README.md with
 * the `cors` middleware (README "Browsers and CORS"). Placed first, every answer tokenguard gives is
 * readable by the SPA and every preflight (an `OPTIONS` that never carries a token) is answered. Added
 * after `app.use(tokenguard(...))`, the preflight gets tokenguard's 401 with no
 * `Access-Control-Allow-Origin`, which the browser reports as a network error: tokenguard does not let
 * preflights through on its own (an `app.all` handler would then run unauthenticated for any request
 * dressed as one), so the README says where `cors()` goes. (A review found the README silent on it.)
 *
 * Real parts: oidc-provider (packages/dev-issuer, with DPoP), Express 5 with `cors` 2.8 on 127.0.0.1
 * port 0, requests by undici.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createValidator, type Validator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { requireScopes, tokenguard } from '@tokenguard/express';
import cors from 'cors';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectReadable, fromSpa, preflight, SPA } from './support/browser-client.js';

/** The usual configuration for an SPA: an allow-list, credentials, the headers it sends and reads. */
const CORS: cors.CorsOptions = {
  origin: [SPA],
  credentials: true,
  allowedHeaders: ['Authorization', 'DPoP', 'Content-Type'],
  exposedHeaders: ['WWW-Authenticate', 'DPoP-Nonce', 'Retry-After'],
};
const NONCE_SECRET = 'a nonce secret of at least thirty-two characters';

let issuer: DevIssuer;
let validator: Validator;
let full: string;
let readOnly: string;
let bound: string;
const servers: Server[] = [];
const validators: Validator[] = [];

async function listen(app: express.Express): Promise<string> {
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** packages/express/README.md "A complete app", shortened, with `cors` at `where`. */
async function readmeApp(where: 'first' | 'after tokenguard', v: Validator): Promise<string> {
  const app = express();
  if (where === 'first') app.use(cors(CORS));
  app.get('/catalog', tokenguard(v, { optional: true }), (req, res) => {
    res.json({ personalised: req.auth !== undefined });
  });
  // Every route below needs a valid token.
  app.use(tokenguard(v));
  if (where === 'after tokenguard') app.use(cors(CORS));
  app.get('/orders', requireScopes('orders:read'), (req, res) => {
    res.json({ caller: req.auth?.subject });
  });
  app.get('/me', (req, res) => {
    res.json({ caller: req.auth?.subject });
  });
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

describe('cors() added after app.use(tokenguard()): why the README puts it first', () => {
  it("the preflight (no token, ever) gets tokenguard's 401 without Access-Control-Allow-Origin", async () => {
    for (const path of ['/orders', '/catalog']) {
      const answer = await preflight(`${corsAfter}${path}`);
      expect(answer.status, path).toBe(401);
      expect(answer.headers['access-control-allow-origin'], path).toBeUndefined();
    }
  });

  it("tokenguard's 401 to a real call has no Access-Control-Allow-Origin: the SPA sees a network error", async () => {
    const answer = await fromSpa(`${corsAfter}/me`, 'GET', { authorization: 'Bearer a.b.c' });
    expect(answer.status).toBe(401);
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('cors() first, before every route (the order that works)', () => {
  it('preflights of protected and optional routes succeed without a token, DPoP allowed', async () => {
    for (const path of ['/orders', '/me', '/catalog']) {
      const answer = await preflight(`${corsFirst}${path}`, 'authorization,dpop');
      expect(answer.status, path).toBe(204);
      expect(answer.headers['access-control-allow-origin']).toBe(SPA);
      expect(String(answer.headers['access-control-allow-headers'])).toMatch(/Authorization.*DPoP/);
    }
  });

  it('a per-route guard (app.get(path, tokenguard(v), ...)) leaves the preflight alone', async () => {
    const app = express();
    app.use(cors(CORS));
    app.get('/orders', tokenguard(validator), requireScopes('orders:read'), (_req, res) => {
      res.json({ ok: true });
    });
    const base = await listen(app);
    expect((await preflight(`${base}/orders`)).status).toBe(204);
    expectReadable(await fromSpa(`${base}/orders`, 'GET'));
  });

  it('400, 401 and 403 carry the CORS headers and a readable WWW-Authenticate', async () => {
    const none = await fromSpa(`${corsFirst}/me`, 'GET');
    expect(none.status).toBe(401);
    expectReadable(none);
    const bad = await fromSpa(`${corsFirst}/me`, 'GET', { authorization: 'Bearer a.b.c' });
    expect([bad.status, bad.headers['www-authenticate']]).toEqual([
      401,
      expect.stringContaining('invalid_token'),
    ]);
    expectReadable(bad);
    const malformed = await fromSpa(`${corsFirst}/me`, 'GET', { authorization: 'Bearer a b' });
    expect(malformed.status).toBe(400);
    expectReadable(malformed);
    const scope = await fromSpa(`${corsFirst}/orders`, 'GET', { authorization: `Bearer ${readOnly}` });
    expect([scope.status, scope.headers['www-authenticate']]).toEqual([
      403,
      expect.stringContaining('scope="orders:read"'),
    ]);
    expectReadable(scope);
    expectReadable(await fromSpa(`${corsFirst}/orders`, 'GET', { authorization: `Bearer ${full}` }));
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
    const url = `${corsFirst}/me`;
    const answer = await fromSpa(url, 'GET', {
      authorization: `DPoP ${bound}`,
      dpop: await issuer.dpopProof('GET', url, bound),
    });
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toContain('use_dpop_nonce');
    expect(answer.headers['dpop-nonce']).toBe(validator.dpopNonce());
    expectReadable(answer, ['WWW-Authenticate', 'DPoP-Nonce']);
  });

  it("503 (the issuer's key set down) carries the CORS headers and Retry-After is exposed", async () => {
    const cold = createValidator({ issuer: issuer.issuer, audience: 'https://api.test' });
    validators.push(cold);
    const base = await readmeApp('first', cold);
    issuer.jwks.setDown(true);
    try {
      const answer = await fromSpa(`${base}/me`, 'GET', { authorization: `Bearer ${full}` });
      expect(answer.status).toBe(503);
      expect(answer.headers['retry-after']).toBeDefined();
      expectReadable(answer, ['Retry-After']);
    } finally {
      issuer.jwks.setDown(false);
    }
  });
});
