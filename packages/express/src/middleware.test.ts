import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AuthInfo, createValidator, isTokenGuardError } from '@tokenguard/core';
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessTokenClaims, secretSigningKey, signToken } from '../../../test/support/keys.js';
import { requireAnyScope, requireClaims, requireScopes, requireTenant, tokenguard } from './index.js';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://api.test';
const NOW_SEC = 1_700_000_000;
const key = secretSigningKey('k'.repeat(32));
const coreOptions = {
  issuer: ISSUER,
  audience: AUDIENCE,
  secret: 'k'.repeat(32),
  realm: 'unit',
  tenantClaim: 'tid',
  now: () => NOW_SEC * 1000,
};
const validator = createValidator(coreOptions);
const token = (claims: Record<string, unknown> = {}) =>
  signToken(key, accessTokenClaims({ iss: ISSUER, aud: AUDIENCE, nowSec: NOW_SEC }, claims));

let server: Server;
let base: string;
let readToken: string;

const echo = (req: Request, res: Response) => {
  res.json({ subject: req.auth?.subject ?? null, scopes: [...(req.auth?.scopes ?? [])] });
};

beforeAll(async () => {
  readToken = await token({ scope: 'read', tid: 'acme', roles: ['admin'] });
  const app = express();
  app.get('/optional', tokenguard(validator, { optional: true }), echo);
  app.post('/form', tokenguard({ validator, transport: { body: true } }), echo);
  const bodyEcho = (req: Request, res: Response) => res.json({ subject: req.auth?.subject, body: req.body });
  // Express 4's express.json() (body-parser 1) sets req.body = {} on every request, before it
  // looks at the content type, and leaves a form body unread.
  const initBodyLikeExpress4Json = (req: Request, _res: Response, next: NextFunction) => {
    req.body = req.body || {};
    next();
  };
  app.post(
    '/form-after-init',
    initBodyLikeExpress4Json,
    tokenguard({ validator, transport: { body: true } }),
    bodyEcho,
  );
  app.post(
    '/form-after-app-parsers',
    express.json(),
    express.urlencoded({ extended: true }),
    tokenguard({ validator, transport: { body: true } }),
    bodyEcho,
  );
  app.get('/query', tokenguard(validator, { transport: { query: true } }), echo);
  app.get('/unguarded-guard', requireScopes('read'), echo);
  app.get('/next', tokenguard(validator, { onError: 'next' }), echo);
  app.use('/own', tokenguard(coreOptions));
  app.get('/own', echo);
  app.use('/api', tokenguard(validator));
  app.get('/api/read', requireScopes('read'), echo);
  app.get('/api/write', requireScopes('read', 'write'), echo);
  app.get('/api/any', requireAnyScope('write', 'read'), echo);
  app.get(
    '/api/tenants/:tenant',
    requireTenant((req) => req.params.tenant),
    echo,
  );
  app.get('/api/admin', requireClaims({ claim: 'roles', includes: 'admin' }), echo);
  app.get('/api/root', requireClaims({ claim: 'roles', includes: 'root' }), echo);
  app.get(
    '/assigned',
    (req, _res, next) => {
      req.auth = { subject: 'assigned-by-app' } as AuthInfo;
      next();
    },
    echo,
  );
  // A sub-app that authenticates and passes on: the parent's handler still sees req.auth.
  const sub = express();
  sub.use(tokenguard(validator));
  app.use('/sub', sub);
  app.get('/sub/after', echo);
  app.get('/next-guard', tokenguard(validator, { onError: 'next' }), requireScopes('write'), echo);
  // A sub-app whose requests do not inherit from this express.request, as with another copy of
  // Express: the accessor is not on their prototype chain, so req.auth is an own property.
  const otherCopy = express();
  const { auth: _accessor, ...descriptors } = Object.getOwnPropertyDescriptors(express.request);
  otherCopy.request = Object.create(Object.getPrototypeOf(express.request), {
    ...descriptors,
    app: { configurable: true, enumerable: true, writable: true, value: otherCopy },
  });
  otherCopy.get('/', tokenguard(validator), requireScopes('read'), (req, res) => {
    res.json({ subject: req.auth?.subject, own: Object.hasOwn(req, 'auth') });
  });
  otherCopy.get('/write', tokenguard(validator), requireScopes('write'), echo);
  // Called as a function, not mounted: mounting would chain its request to the parent's.
  app.use('/other-copy', (req, res, next) => otherCopy(req, res, next));
  // A sub-app whose requests have a read-only `auth` (a getter on its app.request): assigning it throws.
  const readOnlyAuth = express();
  Object.defineProperty(readOnlyAuth.request, 'auth', { get: () => undefined });
  readOnlyAuth.get('/', tokenguard(validator), echo);
  app.use('/read-only-auth', readOnlyAuth);
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (isTokenGuardError(error)) res.status(418).json({ handledByApp: error.code });
    else res.status(500).json({ appError: (error as Error).message });
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await validator.close();
});

const get = (path: string, auth?: string) =>
  fetch(`${base}${path}`, auth === undefined ? {} : { headers: { authorization: auth } });

describe('tokenguard (express)', () => {
  it('accepts a valid token and sets req.auth', async () => {
    const res = await get('/api/read', `Bearer ${readToken}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ subject: 'user-1', scopes: ['read'] });
  });

  it('rejects a missing token with 401, a bare challenge and a JSON body', async () => {
    const res = await get('/api/read');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="unit"');
    expect(await res.json()).toEqual({
      error: 'unauthorized',
      error_description: 'No bearer token in the request',
    });
  });

  it('creates its own validator from core options', async () => {
    expect((await get('/own', `Bearer ${readToken}`)).status).toBe(200);
    expect((await get('/own')).status).toBe(401);
  });

  it('rejects invalid options with a TypeError naming the option', () => {
    expect(() => tokenguard({ ...coreOptions, optional: 'yes' as unknown as boolean })).toThrow(/"optional"/);
    expect(() => tokenguard(validator, { transport: { cookie: true } as never })).toThrow(
      /"transport.cookie"/,
    );
    expect(() => tokenguard({ issuer: ISSUER } as never)).toThrow(/"audience"/);
    expect(() => tokenguard({ validator, audience: AUDIENCE } as never)).toThrow(/"audience"/);
    expect(() => requireScopes()).toThrow(TypeError);
    expect(() => requireAnyScope('a b')).toThrow(TypeError);
    expect(() => requireClaims({ claim: 'x' } as never)).toThrow(TypeError);
  });

  it('passes anonymous requests on optional routes but rejects bad tokens', async () => {
    const anonymous = await get('/optional');
    expect(anonymous.status).toBe(200);
    expect(await anonymous.json()).toEqual({ subject: null, scopes: [] });
    expect((await get('/optional', 'Bearer not-a-jwt')).status).toBe(401);
  });

  it('enforces scopes: all-of and any-of, 403 with scope', async () => {
    const write = await get('/api/write', `Bearer ${readToken}`);
    expect(write.status).toBe(403);
    expect(write.headers.get('www-authenticate')).toMatch(/error="insufficient_scope".*scope="read write"/);
    expect((await get('/api/any', `Bearer ${readToken}`)).status).toBe(200);
  });

  it('enforces the tenant from a route param', async () => {
    expect((await get('/api/tenants/acme', `Bearer ${readToken}`)).status).toBe(200);
    expect((await get('/api/tenants/other', `Bearer ${readToken}`)).status).toBe(403);
  });

  it('enforces claim requirements', async () => {
    expect((await get('/api/admin', `Bearer ${readToken}`)).status).toBe(200);
    expect((await get('/api/root', `Bearer ${readToken}`)).status).toBe(403);
  });

  it('reads a form body token without an app body parser when enabled', async () => {
    const res = await fetch(`${base}/form`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ access_token: readToken }).toString(),
    });
    expect(res.status).toBe(200);
    const both = await fetch(`${base}/form`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${readToken}` },
      body: new URLSearchParams({ access_token: readToken }).toString(),
    });
    expect(both.status).toBe(400);
  });

  it("reads a form body token that no parser read, also when req.body was set (Express 4's json())", async () => {
    const res = await fetch(`${base}/form-after-init`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `access_token=${readToken}&note=hi`,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ subject: 'user-1', body: { access_token: readToken, note: 'hi' } });
  });

  it("reads the token from the app's own parsed form, and never from a JSON body", async () => {
    const form = await fetch(`${base}/form-after-app-parsers`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `access_token=${readToken}&order[id]=7`,
    });
    expect(form.status).toBe(200);
    // The app's extended parser's result, not a second parse of the body.
    expect(await form.json()).toEqual({
      subject: 'user-1',
      body: { access_token: readToken, order: { id: '7' } },
    });
    const json = await fetch(`${base}/form-after-app-parsers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ access_token: readToken }),
    });
    expect(json.status).toBe(401);
    expect(json.headers.get('www-authenticate')).toBe('Bearer realm="unit"');
  });

  it('sends Cache-Control: private when the token came in the query', async () => {
    const res = await get(`/query?access_token=${readToken}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('private');
    expect((await get('/query', `Bearer ${readToken}`)).headers.get('cache-control')).toBeNull();
  });

  it("hands errors to the app's error handler with onError: 'next'", async () => {
    const res = await get('/next');
    expect(res.status).toBe(418);
    expect(await res.json()).toEqual({ handledByApp: 'ERR_TOKEN_MISSING' });
  });

  it("hands a guard's failure to the app's error handler when tokenguard() had onError: 'next'", async () => {
    const res = await get('/next-guard', `Bearer ${readToken}`);
    expect(res.status).toBe(418);
    expect(await res.json()).toEqual({ handledByApp: 'ERR_INSUFFICIENT_SCOPE' });
  });

  it('sets req.auth on requests outside this express.request (another copy of Express), guards included', async () => {
    const res = await get('/other-copy', `Bearer ${readToken}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ subject: 'user-1', own: true });
    expect((await get('/other-copy/write', `Bearer ${readToken}`)).status).toBe(403);
    expect((await get('/other-copy')).status).toBe(401);
  });

  it('reports a guard used without tokenguard() as an app error, never as a pass', async () => {
    const res = await get('/unguarded-guard', `Bearer ${readToken}`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ appError: expect.stringContaining('requireScopes()') });
  });

  it('keeps req.auth assignable by app code on requests tokenguard() never saw', async () => {
    const res = await get('/assigned');
    expect(await res.json()).toEqual({ subject: 'assigned-by-app', scopes: [] });
  });

  it('keeps req.auth after the request leaves a mounted sub-app that set it', async () => {
    const res = await get('/sub/after', `Bearer ${readToken}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ subject: 'user-1', scopes: ['read'] });
    expect((await get('/sub/after')).status).toBe(401);
  });

  it('hands a throw while setting req.auth for a fresh token to next(), never leaving the request hanging', async () => {
    const fresh = await token({ scope: 'read', jti: 'read-only-auth' });
    const res = await get('/read-only-auth', `Bearer ${fresh}`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ appError: expect.stringContaining('auth') });
  });

  it('exposes the validator it uses', () => {
    expect(tokenguard(validator).validator).toBe(validator);
  });
});
