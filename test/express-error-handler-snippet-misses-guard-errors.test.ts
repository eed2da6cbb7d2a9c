/**
 * packages/express/README.md "Your own error handler": with `onError: 'next'`, tokenguard()'s 401 and
 * a guard's 403 both reach the app's error handler. Express hands an error only to error handlers
 * registered after the layer that raised it, and a guard's refusal is raised by its route, so the
 * handler goes after the routes. The README once registered it right after tokenguard(), before the
 * routes: a guard's 403 then reached Express's final handler (an HTML page) instead (review
 * helper-121, session 23). This builds the app as the README now shows it, and also the old order, to
 * show why the README says where the handler goes.
 *
 * Real parts: oidc-provider (packages/dev-issuer), Express 5 apps on 127.0.0.1 port 0.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createValidator, type Validator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { isTokenGuardError, requireScopes, tokenguard } from '@tokenguard/express';
import express, { type ErrorRequestHandler } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let issuer: DevIssuer;
let validator: Validator;
let server: Server;
let base: string;
let beforeServer: Server;
let beforeBase: string;
let token: string;

beforeAll(async () => {
  issuer = await startDevIssuer();
  validator = createValidator({ issuer: issuer.issuer, audience: 'https://api.test', realm: 'orders' });
  const app = express();

  // The README block, as written.
  const onAuthError: ErrorRequestHandler = (err, req, res, next) => {
    if (!isTokenGuardError(err)) return next(err);
    // err.status, err.headers (WWW-Authenticate / Retry-After / DPoP-Nonce), err.code, err.toJSON()
    res
      .status(err.status)
      .set(err.headers)
      .json({ ...err.toJSON(), requestId: req.get('x-request-id') });
  };
  const routes = (router: express.Express): void => {
    router.get('/orders', requireScopes('orders:read'), (req, res) => {
      res.json({ caller: req.auth?.subject });
    });
    router.post('/orders', requireScopes('orders:write'), (_req, res) => {
      res.status(201).json({ ok: true });
    });
  };
  // As the README shows it: the handler after the routes.
  app.use(tokenguard(validator, { onError: 'next' }));
  routes(app);
  app.use(onAuthError);
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // The order the README once showed: the handler before the routes.
  const before = express();
  before.use(tokenguard(validator, { onError: 'next' }));
  before.use(onAuthError);
  routes(before);
  beforeServer = before.listen(0, '127.0.0.1');
  await new Promise((resolve) => beforeServer.once('listening', resolve));
  beforeBase = `http://127.0.0.1:${(beforeServer.address() as AddressInfo).port}`;
  token = await issuer.getToken({ resource: 'https://api.test', scope: 'orders:read' });
});

afterAll(async () => {
  for (const open of [server, beforeServer]) {
    open?.closeAllConnections();
    await new Promise((resolve) => open?.close(resolve));
  }
  await validator?.close();
  await issuer?.close();
});

describe('packages/express/README.md "Your own error handler"', () => {
  it("tokenguard()'s own 401 reaches the app's handler (JSON with requestId)", async () => {
    const res = await fetch(`${base}/orders`, { headers: { 'x-request-id': 'r-1' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="orders"');
    expect(await res.json()).toEqual({
      error: 'unauthorized',
      error_description: 'No bearer token in the request',
      requestId: 'r-1',
    });
  });

  it('a guard\'s 403 reaches the same handler ("Guards answer the same way as the tokenguard() that ran before them")', async () => {
    const res = await fetch(`${base}/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'x-request-id': 'r-2' },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.text()).toContain('"requestId":"r-2"');
  });

  it("registered before the routes, a guard's 403 never reaches it (Express's final handler answers)", async () => {
    const res = await fetch(`${beforeBase}/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'x-request-id': 'r-3' },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  });
});
