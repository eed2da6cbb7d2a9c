import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createValidator, isTokenGuardError, type Validator } from '@tokenguard/core';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessTokenClaims, generateSigningKey, jwksOf, signToken } from '../../../test/support/keys.js';
import {
  requireAnyScope,
  requireClaims,
  requireScopes,
  requireTenant,
  type TokenguardVariables,
  tokenguard,
} from './index.js';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://api.test';
const NOW_SEC = 1_700_000_000;
const key = generateSigningKey('ES256');

// A real JWKS endpoint on loopback; the validator reaches it only through the `fetch` it is given,
// as on a fetch-only runtime (Workers, Deno, Bun).
let jwksServer: Server;
let fetchCalls = 0;
let validator: Validator;
let app: Hono<{ Variables: TokenguardVariables }>;
let readToken: string;
const bearer = () => ({ authorization: `Bearer ${readToken}` });

beforeAll(async () => {
  jwksServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwksOf(key)));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  validator = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`,
    realm: 'unit',
    tenantClaim: 'tid',
    now: () => NOW_SEC * 1000,
    http: {
      fetch: (input, init) => {
        fetchCalls++;
        return globalThis.fetch(input, init);
      },
    },
  });
  readToken = await signToken(
    key,
    accessTokenClaims(
      { iss: ISSUER, aud: AUDIENCE, nowSec: NOW_SEC },
      { scope: 'read', tid: 'acme', roles: ['admin'] },
    ),
  );
  app = new Hono<{ Variables: TokenguardVariables }>();
  app.get('/optional', tokenguard(validator, { optional: true }), (c) =>
    c.json({ subject: c.var.auth?.subject ?? null }),
  );
  app.post('/form', tokenguard({ validator, transport: { body: true } }), (c) =>
    c.json({ subject: c.var.auth.subject }),
  );
  const byQuery = tokenguard(validator, { transport: { query: true } });
  app.get('/query', byQuery, (c) => c.json({ ok: true }));
  app.get('/query/response', byQuery, () => new Response('built by the handler'));
  app.get('/query/own', byQuery, (c) => c.text('no-store', 200, { 'cache-control': 'no-store' }));
  app.get('/next', tokenguard(validator, { onError: 'next' }), (c) => c.json({ ok: true }));
  app.get('/unguarded-guard', requireScopes('read'), (c) => c.json({ ok: true }));
  app.use('/api/*', tokenguard(validator));
  app.get('/api/me', (c) => c.json({ subject: c.var.auth.subject, scopes: [...c.var.auth.scopes] }));
  app.get('/api/write', requireScopes('read', 'write'), (c) => c.json({ ok: true }));
  app.get('/api/any', requireAnyScope('write', 'read'), (c) => c.json({ ok: true }));
  app.get(
    '/api/tenants/:tenant',
    requireTenant((c) => c.req.param('tenant')),
    (c) => c.json({ ok: true }),
  );
  app.get('/api/admin', requireClaims({ claim: 'roles', includes: 'admin' }), (c) => c.json({ ok: true }));
  app.onError((error, c) => {
    if (isTokenGuardError(error)) return c.json({ handledByApp: error.code }, 418);
    return c.json({ appError: error.message }, 500);
  });
});

afterAll(async () => {
  await validator.close();
  await new Promise((resolve) => jwksServer.close(resolve));
});

describe('tokenguard (hono, fetch-only runtime through app.request)', () => {
  it('accepts a valid token, fetching the key set with the given fetch', async () => {
    const res = await app.request('/api/me', { headers: bearer() });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ subject: 'user-1', scopes: ['read'] });
    expect(fetchCalls).toBeGreaterThan(0);
  });

  it('rejects a missing token with 401, a bare challenge and a JSON body', async () => {
    const res = await app.request('/api/me');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="unit"');
    expect(await res.json()).toEqual({
      error: 'unauthorized',
      error_description: 'No bearer token in the request',
    });
  });

  it('rejects a malformed header with 400 invalid_request', async () => {
    const res = await app.request('/api/me', { headers: { authorization: 'Bearer a b' } });
    expect(res.status).toBe(400);
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_request"/);
  });

  it('passes anonymous requests on optional routes but rejects bad tokens', async () => {
    expect(await (await app.request('/optional')).json()).toEqual({ subject: null });
    expect((await app.request('/optional', { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
  });

  it('enforces scopes, tenant and claims', async () => {
    const write = await app.request('/api/write', { headers: bearer() });
    expect(write.status).toBe(403);
    expect(write.headers.get('www-authenticate')).toMatch(/error="insufficient_scope".*scope="read write"/);
    expect((await app.request('/api/any', { headers: bearer() })).status).toBe(200);
    expect((await app.request('/api/tenants/acme', { headers: bearer() })).status).toBe(200);
    expect((await app.request('/api/tenants/other', { headers: bearer() })).status).toBe(403);
    expect((await app.request('/api/admin', { headers: bearer() })).status).toBe(200);
  });

  it('reads a form body token when enabled, and rejects a token sent two ways', async () => {
    const body = new URLSearchParams({ access_token: readToken }).toString();
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    expect((await app.request('/form', { method: 'POST', headers, body })).status).toBe(200);
    const both = await app.request('/form', { method: 'POST', headers: { ...headers, ...bearer() }, body });
    expect(both.status).toBe(400);
  });

  it('sends Cache-Control: private when the token came in the query', async () => {
    const res = await app.request(`/query?access_token=${readToken}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('private');
  });

  it('sends Cache-Control: private on a Response the handler built, and keeps one it set', async () => {
    const built = await app.request(`/query/response?access_token=${readToken}`);
    expect(await built.text()).toBe('built by the handler');
    expect(built.headers.get('cache-control')).toBe('private');
    const own = await app.request(`/query/own?access_token=${readToken}`);
    expect(own.headers.get('cache-control')).toBe('no-store');
    expect((await app.request('/api/me', { headers: bearer() })).headers.get('cache-control')).toBeNull();
  });

  it("hands errors to app.onError with onError: 'next'", async () => {
    const res = await app.request('/next');
    expect(res.status).toBe(418);
    expect(await res.json()).toEqual({ handledByApp: 'ERR_TOKEN_MISSING' });
  });

  it('reports a guard used without tokenguard() as an app error, never as a pass', async () => {
    const res = await app.request('/unguarded-guard', { headers: bearer() });
    expect(res.status).toBe(500);
  });

  it('names its handlers and rejects bad options with a TypeError', () => {
    expect(tokenguard(validator).name).toBe('tokenguard');
    expect(requireScopes('a').name).toBe('requireScopes');
    expect(() => tokenguard(validator, { transport: { query: 1 as never } })).toThrow(/"transport.query"/);
    expect(() => requireAnyScope()).toThrow(TypeError);
  });
});
