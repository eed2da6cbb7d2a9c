import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createValidator, isTokenGuardError, type Validator } from '@tokenguard/core';
import { type Context, Hono, type Next } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JwksServer, startJwksServer } from '../../../test/support/jwks-server.js';
import { accessTokenClaims, generateSigningKey, jwksOf, signToken } from '../../../test/support/keys.js';
import { head11, sendRaw } from '../../../test/support/raw-http.js';
import {
  type OptionalTokenguardVariables,
  requireAnyScope,
  requireClaims,
  requireScopes,
  requireTenant,
  type TokenguardGuard,
  type TokenguardMiddleware,
  tokenguard,
} from './index.js';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://api.test';
const NOW_SEC = 1_700_000_000;
const key = generateSigningKey('ES256');
const otherKey = generateSigningKey('ES256');

// One app served by @hono/node-server (where a cached token takes protect()'s short way), with every
// route twice: `/chain/...` as middleware, guards and handler, `/protect/...` as auth.protect() of the
// same guards and handler. Every answer of the second must be the first's.
let jwksServer: JwksServer;
let server: Server;
let port: number;
let validator: Validator;
let protectValidator: Validator;
let app: Hono;
/** Per request the app answered, whether app.fetch returned the answer itself (not a promise). */
const answeredAtOnce: boolean[] = [];

let minted = 0;
const claims = (extra: Record<string, unknown> = {}, nowSec = NOW_SEC) =>
  accessTokenClaims(
    { iss: ISSUER, aud: AUDIENCE, nowSec },
    { scope: 'read', tid: 'acme', jti: `t${++minted}`, ...extra },
  );
/** A new token of each kind for every case: neither form has seen it. */
const mint = {
  good: () => signToken(key, claims({ roles: ['admin'] })),
  plain: () => signToken(key, claims({ roles: ['viewer'] })),
  expired: () => signToken(key, claims({}, NOW_SEC - 7200)),
  otherAudience: () => signToken(key, { ...claims(), aud: 'https://elsewhere.test' }),
  forged: () => signToken(otherKey, claims()),
  malformed: async () => 'not-a-jwt',
} as const;
type Kind = keyof typeof mint;

const json = (c: Context) => c.json({ subject: c.get('auth')?.subject ?? null, path: c.req.path });

/**
 * Registers `/chain<path>` and `/protect<path>`: the same guards and handler, two ways, each with a
 * middleware of its own validator (own cache), so each form verifies a token twice, then answers it
 * from its cache.
 */
function both<V extends OptionalTokenguardVariables>(
  target: Hono,
  path: string,
  auth: (validator: Validator) => TokenguardMiddleware<V>,
  guards: TokenguardGuard[],
  handler: (c: Context) => Response | Promise<Response>,
): void {
  // Hono types a route's handlers by position; a list of guards of any length is registered untyped.
  const route = target.get.bind(target) as (path: string, ...handlers: unknown[]) => unknown;
  route(`/chain${path}`, auth(validator), ...guards, handler);
  route(`/protect${path}`, auth(protectValidator).protect(...guards, handler));
}

beforeAll(async () => {
  jwksServer = await startJwksServer(jwksOf(key).keys);
  const options = {
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: jwksServer.url,
    realm: 'unit',
    tenantClaim: 'tid',
    now: () => NOW_SEC * 1000,
  };
  validator = createValidator(options);
  protectValidator = createValidator(options);

  const auth = (v: Validator) => tokenguard(v);
  const maybe = (v: Validator) => tokenguard(v, { optional: true });
  const handedOn = (v: Validator) => tokenguard(v, { onError: 'next' });
  const byQuery = (v: Validator) => tokenguard(v, { transport: { query: true } });
  app = new Hono();
  both(app, '/me', auth, [], json);
  both(app, '/write', auth, [requireScopes('read', 'write')], json);
  both(app, '/any', auth, [requireAnyScope('write', 'read')], json);
  both(
    app,
    '/admin',
    auth,
    [requireScopes('read'), requireClaims({ claim: 'roles', includes: 'admin' })],
    json,
  );
  both(app, '/tenants/:tenant', auth, [requireTenant((c) => c.req.param('tenant'))], json);
  both(app, '/optional', maybe, [], json);
  both(app, '/next', handedOn, [requireScopes('write')], json);
  both(app, '/query', byQuery, [], json);
  both(app, '/query/own', byQuery, [], (c) => c.text('kept', 200, { 'cache-control': 'no-store' }));
  both(app, '/async', auth, [], async (c) => {
    await new Promise((resolve) => setImmediate(resolve));
    return c.json({ later: c.var.auth?.subject });
  });
  const thrown = (): Response => {
    throw new Error('handler failed');
  };
  both(app, '/thrown', auth, [], thrown);
  // What Hono's chain makes of a handler's answer (helper-118's review: these were defects).
  const untyped = (handler: unknown) => handler as (c: Context) => Response;
  both(
    app,
    '/sets-res',
    auth,
    [],
    untyped((c: Context) => {
      c.res = c.text('set, not returned');
    }),
  );
  both(
    app,
    '/nothing',
    auth,
    [],
    untyped(async () => undefined),
  );
  both(
    app,
    '/after-next',
    auth,
    [],
    untyped(async (c: Context, next: Next) => {
      await next();
      return c.json({ after: 'next' });
    }),
  );
  // A Response from fetch() (a proxy): not an instance of @hono/node-server's Response class.
  both(app, '/proxied', auth, [], () => fetch(jwksServer.url));
  // An error the handler or a guard throws, for a query token: still private.
  both(app, '/query/thrown', byQuery, [], thrown);
  const handedOnByQuery = (v: Validator) => tokenguard(v, { transport: { query: true }, onError: 'next' });
  both(app, '/query/refused', handedOnByQuery, [requireScopes('write')], json);
  const sub = new Hono();
  both(sub, '/thrown', byQuery, [], thrown);
  sub.onError((error, c) => c.text(`sub: ${error.message}`, 500));
  app.route('/sub', sub);
  app.onError((error, c) => {
    if (isTokenGuardError(error)) return c.json({ handledByApp: error.code }, 418);
    return c.json({ appError: (error as Error).message }, 500);
  });

  await new Promise<void>((resolve) => {
    server = serve(
      {
        fetch: (request, env) => {
          const answer = app.fetch(request, env);
          answeredAtOnce.push(!(answer instanceof Promise));
          return answer;
        },
        port: 0,
        hostname: '127.0.0.1',
      },
      () => resolve(),
    ) as Server;
  });
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await validator.close();
  await protectValidator.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await jwksServer.close();
});

interface Answer {
  status: number;
  challenge: string | null;
  cacheControl: string | null;
  body: string;
}

/** A GET over a raw socket (test/support/raw-http.ts): a header given as a list goes as that many lines. */
async function send(path: string, headers: Record<string, string | string[]> = {}): Promise<Answer> {
  const lines = Object.entries(headers).flatMap(([name, value]) =>
    (Array.isArray(value) ? value : [value]).map((one) => `${name}: ${one}`),
  );
  const answer = await sendRaw(port, head11('GET', path, `127.0.0.1:${port}`, lines), { timeoutMs: 5_000 });
  return {
    status: answer.status,
    challenge: answer.headers['www-authenticate']?.[0] ?? null,
    cacheControl: answer.headers['cache-control']?.[0] ?? null,
    body: answer.body.replaceAll('/protect/', '/chain/'),
  };
}

const bearer = (token: string | undefined): Record<string, string> =>
  token === undefined ? {} : { authorization: `Bearer ${token}` };

/**
 * Sends a request three times to each form, with a new token of `kind` (none if undefined; `{token}`
 * in `path` is replaced by it): each form verifies it, verifies it again and stores it, then answers
 * it from its cache. Every answer of protect() must be the middleware form's.
 */
async function agree(
  path: string,
  kind?: Kind,
  headers: (token: string | undefined) => Record<string, string | string[]> = bearer,
  prefix = '',
): Promise<Answer> {
  const token = kind === undefined ? undefined : await mint[kind]();
  const target = path.replace('{token}', token ?? '');
  const chain: Answer[] = [];
  const guarded: Answer[] = [];
  for (let i = 0; i < 3; i++) {
    chain.push(await send(`${prefix}/chain${target}`, headers(token)));
    guarded.push(await send(`${prefix}/protect${target}`, headers(token)));
  }
  expect(guarded).toEqual(chain);
  return guarded[2] as Answer;
}

describe('auth.protect(...guards, handler)', () => {
  it('answers every request as the middleware, its guards and the handler answer it', async () => {
    expect((await agree('/me', 'good')).status).toBe(200);
    expect((await agree('/me')).status).toBe(401);
    expect((await agree('/me', 'forged')).status).toBe(401);
    expect((await agree('/me', 'expired')).challenge).toMatch(/invalid_token/);
    expect((await agree('/me', 'otherAudience')).status).toBe(401);
    expect((await agree('/me', 'malformed')).status).toBe(401);
    expect((await agree('/me', 'good', (t) => ({ authorization: [`Bearer ${t}`, 'Bearer x'] }))).status).toBe(
      400,
    );
    expect((await agree('/me', 'good', (t) => ({ authorization: `bearer ${t}` }))).status).toBe(200);
    const missing = await agree('/write', 'good');
    expect(missing.status).toBe(403);
    expect(missing.challenge).toMatch(/insufficient_scope/);
    expect(missing.challenge).toMatch(/scope="read write"/);
    expect((await agree('/any', 'good')).status).toBe(200);
    expect((await agree('/admin', 'good')).status).toBe(200);
    expect((await agree('/admin', 'plain')).status).toBe(403);
    expect((await agree('/tenants/acme', 'good')).status).toBe(200);
    expect((await agree('/tenants/globex', 'good')).status).toBe(403);
    expect(JSON.parse((await agree('/optional')).body)).toEqual({
      subject: null,
      path: '/chain/optional',
    });
    expect((await agree('/optional', 'good')).status).toBe(200);
    expect((await agree('/async', 'good')).status).toBe(200);
    expect(JSON.parse((await agree('/thrown', 'good')).body)).toEqual({
      appError: 'handler failed',
    });
  });

  it("hands refusals to app.onError with onError: 'next', from the cache's way too", async () => {
    const refused = await agree('/next', 'good');
    expect(refused.status).toBe(418);
    expect(JSON.parse(refused.body)).toEqual({ handledByApp: 'ERR_INSUFFICIENT_SCOPE' });
    expect(JSON.parse((await agree('/next')).body)).toEqual({
      handledByApp: 'ERR_TOKEN_MISSING',
    });
  });

  it('keeps a response to a query-string token out of shared caches, unless the handler said otherwise', async () => {
    const query = '?access_token={token}';
    const none = () => ({});
    expect((await agree(`/query${query}`, 'good', none)).cacheControl).toBe('private');
    expect((await agree(`/query/own${query}`, 'good', none)).cacheControl).toBe('no-store');
    // Also the answer app.onError (or a sub-app's) gives for what the handler or a guard threw.
    const thrown = await agree(`/query/thrown${query}`, 'good', none);
    expect([thrown.status, thrown.cacheControl]).toEqual([500, 'private']);
    const refused = await agree(`/query/refused${query}`, 'good', none);
    expect([refused.status, refused.cacheControl]).toEqual([418, 'private']);
    const inSub = await agree(`/thrown${query}`, 'good', none, '/sub');
    expect([inSub.status, inSub.body, inSub.cacheControl]).toEqual([500, 'sub: handler failed', 'private']);
  });

  it("gives a handler's answer the meaning Hono's chain gives it, on the cache's way too", async () => {
    expect((await agree('/sets-res', 'good')).body).toBe('set, not returned');
    expect(JSON.parse((await agree('/nothing', 'good')).body).appError).toMatch(/Context is not finalized/);
    expect((await agree('/after-next', 'good')).status).toBe(404);
    // Hono passes the upstream's hop-by-hop headers on: `Connection: close` from it, so the raw client's
    // connection ends with the answer.
    jwksServer.headers = { connection: 'close' };
    const proxied = await agree('/proxied', 'good').finally(() => {
      jwksServer.headers = {};
    });
    expect([proxied.status, JSON.parse(proxied.body)]).toEqual([200, jwksOf(key)]);
  });

  it('answers a cached token at once: app.fetch returns the response itself, not a promise', async () => {
    const fresh = await mint.good();
    const atOnce = async (path: string): Promise<boolean> => {
      answeredAtOnce.length = 0;
      expect((await send(path, bearer(fresh))).status).toBe(200);
      return answeredAtOnce[0] as boolean;
    };
    // First and second verification (the cache admits a token the second time it is verified).
    expect(await atOnce('/protect/me')).toBe(false);
    expect(await atOnce('/protect/me')).toBe(false);
    expect(await atOnce('/protect/me')).toBe(true);
    expect(await atOnce('/protect/tenants/acme')).toBe(true);
    // The middleware form always goes through Hono's chain.
    expect(await atOnce('/chain/me')).toBe(false);
  });

  it('answers the same way through app.request(), where no Node request is found (fetch-only runtimes)', async () => {
    const good = await mint.good();
    for (let i = 0; i < 3; i++) {
      const response = await app.request('/protect/tenants/acme', { headers: bearer(good) });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ subject: 'user-1', path: '/protect/tenants/acme' });
      const refused = await app.request('/protect/write', { headers: bearer(good) });
      expect(refused.status).toBe(403);
    }
  });

  it('refuses at construction anything but tokenguard guards followed by a handler', () => {
    const auth = tokenguard(validator);
    const handler = (c: Context) => c.text('ok');
    // Untyped, as from JavaScript: TypeScript already refuses these calls.
    const protect = auth.protect as (...args: unknown[]) => unknown;
    expect(() => protect()).toThrow(
      /protect\(\.\.\.guards, handler\): the last argument must be the route handler/,
    );
    expect(() => protect(requireScopes('read'))).toThrow(/the last argument must be the route handler/);
    expect(() => protect(async (_c: Context, next: () => Promise<void>) => next(), handler)).toThrow(
      /protect\(\) argument 1 is not a tokenguard guard/,
    );
    expect(() => protect(requireScopes('read'), 'scopes', handler)).toThrow(TypeError);
  });
});
