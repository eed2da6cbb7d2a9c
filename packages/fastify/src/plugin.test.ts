import { authenticateRequestNow, createValidator, isTokenGuardError } from '@tokenguard/core';
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessTokenClaims, secretSigningKey, signToken } from '../../../test/support/keys.js';
import tokenguard, { requireScopes, tokenguardPlugin } from './index.js';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://api.test';
const NOW_SEC = 1_700_000_000;
const SECRET = 'k'.repeat(32);
const key = secretSigningKey(SECRET);
const coreOptions = {
  issuer: ISSUER,
  audience: AUDIENCE,
  secret: SECRET,
  realm: 'unit',
  tenantClaim: 'tid',
  now: () => NOW_SEC * 1000,
};
const validator = createValidator(coreOptions);
const token = (claims: Record<string, unknown> = {}) =>
  signToken(key, accessTokenClaims({ iss: ISSUER, aud: AUDIENCE, nowSec: NOW_SEC }, claims));

let app: FastifyInstance;
let readToken: string;
const bearer = () => ({ authorization: `Bearer ${readToken}` });

beforeAll(async () => {
  readToken = await token({ scope: 'read', tid: 'acme', roles: ['admin'] });
  app = Fastify();
  app.get('/declared-before', async (request) => ({ subject: request.auth?.subject ?? null }));
  // Declared before the plugin, so its onRoute check cannot see it: the guard must still never pass.
  app.get('/decorated-open', { config: { auth: false }, preHandler: requireScopes('read') }, async () => 'x');
  await app.register(tokenguard, { validator, transport: { body: true } });
  const echo = async (request: { auth: { subject: string | undefined } | null }) => ({
    subject: request.auth?.subject ?? null,
  });
  app.get('/me', echo);
  app.get('/public', { config: { auth: false } }, echo);
  app.get('/optional', { config: { auth: { optional: true } } }, echo);
  app.get('/read', { config: { auth: { scopes: ['read'] } } }, echo);
  app.get('/write', { config: { auth: { scopes: ['read', 'write'] } } }, echo);
  app.get('/any', { config: { auth: { anyScopes: ['write', 'read'] } } }, echo);
  app.get<{ Params: { tenant: string } }>(
    '/tenants/:tenant',
    { config: { auth: { tenant: (request) => (request.params as { tenant: string }).tenant } } },
    echo,
  );
  app.get('/admin', { config: { auth: { claims: [{ claim: 'roles', includes: 'admin' }] } } }, echo);
  app.get('/decorated', { preHandler: app.requireScopes('write') }, echo);
  app.get('/decorated-any', { preHandler: app.requireAnyScope('write', 'read') }, echo);
  app.post('/form', echo);
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await validator.close();
});

describe('tokenguard (fastify)', () => {
  it('accepts a valid token and sets request.auth', async () => {
    const res = await app.inject({ url: '/me', headers: bearer() });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ subject: 'user-1' });
  });

  it('rejects a missing token with 401, a bare challenge and a JSON body', async () => {
    const res = await app.inject({ url: '/me' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="unit"');
    expect(res.json()).toEqual({
      error: 'unauthorized',
      error_description: 'No bearer token in the request',
    });
  });

  it('protects routes declared before the plugin was registered', async () => {
    expect((await app.inject({ url: '/declared-before' })).statusCode).toBe(401);
  });

  it('answers 404 for unknown routes, not 401', async () => {
    expect((await app.inject({ url: '/nowhere' })).statusCode).toBe(404);
  });

  it('leaves routes with config.auth false public, with request.auth null', async () => {
    const res = await app.inject({ url: '/public' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ subject: null });
  });

  it('passes anonymous requests on optional routes but rejects bad tokens', async () => {
    expect((await app.inject({ url: '/optional' })).json()).toEqual({ subject: null });
    const bad = await app.inject({ url: '/optional', headers: { authorization: 'Bearer nope' } });
    expect(bad.statusCode).toBe(401);
    expect(bad.headers['www-authenticate']).toMatch(/error="invalid_token"/);
  });

  it('applies config.auth scopes, anyScopes, tenant and claims', async () => {
    expect((await app.inject({ url: '/read', headers: bearer() })).statusCode).toBe(200);
    const write = await app.inject({ url: '/write', headers: bearer() });
    expect(write.statusCode).toBe(403);
    expect(write.headers['www-authenticate']).toMatch(/error="insufficient_scope".*scope="read write"/);
    expect((await app.inject({ url: '/any', headers: bearer() })).statusCode).toBe(200);
    expect((await app.inject({ url: '/tenants/acme', headers: bearer() })).statusCode).toBe(200);
    expect((await app.inject({ url: '/tenants/other', headers: bearer() })).statusCode).toBe(403);
    expect((await app.inject({ url: '/admin', headers: bearer() })).statusCode).toBe(200);
  });

  it('applies preHandler decorators', async () => {
    expect((await app.inject({ url: '/decorated', headers: bearer() })).statusCode).toBe(403);
    expect((await app.inject({ url: '/decorated-any', headers: bearer() })).statusCode).toBe(200);
  });

  it('reports a guard on a route the plugin skipped as a server error, never as a pass', async () => {
    expect((await app.inject({ url: '/decorated-open', headers: bearer() })).statusCode).toBe(500);
  });

  it('reads a form body token when enabled, and rejects a token sent two ways', async () => {
    const body = new URLSearchParams({ access_token: readToken }).toString();
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    expect((await app.inject({ method: 'POST', url: '/form', headers, body })).statusCode).toBe(200);
    const both = await app.inject({
      method: 'POST',
      url: '/form',
      headers: { ...headers, ...bearer() },
      body,
    });
    expect(both.statusCode).toBe(400);
    expect(both.json()).toMatchObject({ error: 'invalid_request' });
  });
});

describe('tokenguard (fastify) registration', () => {
  it('rejects invalid options at ready() with a TypeError naming the option', async () => {
    const bad = Fastify();
    bad.register(tokenguard, { issuer: ISSUER } as never);
    await expect(bad.ready()).rejects.toThrow(/invalid option "audience"/);
    await bad.close();
    const badAdapter = Fastify();
    badAdapter.register(tokenguardPlugin, { validator, onError: 'throw' as never });
    await expect(badAdapter.ready()).rejects.toThrow(TypeError);
    await badAdapter.close();
  });

  it('rejects an invalid route config when the route is added', async () => {
    const bad = Fastify();
    await bad.register(tokenguard, { validator });
    expect(() => bad.get('/x', { config: { auth: { scopes: [] } } }, async () => 'x')).toThrow(
      /config\.auth\.scopes/,
    );
    await bad.close();
  });

  it('rejects a fixed tenant or claim that could only fail every request when the route is added', async () => {
    const bad = Fastify();
    await bad.register(tokenguard, { validator });
    const route = (url: string, auth: unknown) => () =>
      bad.get(url, { config: { auth: auth as never } }, async () => 'x');
    // Each would be a 500 (a TypeError on every request) or a 403 for everyone.
    expect(route('/t1', { tenant: [1] })).toThrow(/config\.auth\.tenant must be a non-empty tenant/);
    expect(route('/t2', { tenant: [] })).toThrow(/config\.auth\.tenant/);
    expect(route('/t3', { tenant: '' })).toThrow(/config\.auth\.tenant/);
    expect(route('/t4', { tenant: 42 })).toThrow(/config\.auth\.tenant/);
    expect(route('/c1', { claims: [{ claim: 'roles', equals: undefined }] })).toThrow(/claims\.0/);
    expect(route('/c2', { claims: [{ claim: 'roles', equals: 'a', includes: 'b' }] })).toThrow(TypeError);
    await bad.close();
  });

  it("copies a route's lists: changing them after the route is added changes nothing", async () => {
    const copied = Fastify();
    await copied.register(tokenguard, { validator });
    const scopes = ['write'];
    const anyScopes = ['write'];
    const tenant = ['other'];
    const claims: unknown[] = [{ claim: 'roles', includes: 'root' }];
    const echo = async () => 'ok';
    copied.get('/scopes', { config: { auth: { scopes } } }, echo);
    copied.get('/any', { config: { auth: { anyScopes } } }, echo);
    copied.get('/tenant', { config: { auth: { tenant } } }, echo);
    copied.get('/claims', { config: { auth: { claims: claims as never } } }, echo);
    await copied.ready();
    scopes[0] = 'read';
    anyScopes.push('read');
    tenant.push('acme');
    claims.length = 0;
    for (const url of ['/scopes', '/any', '/tenant', '/claims']) {
      expect((await copied.inject({ url, headers: bearer() })).statusCode, url).toBe(403);
    }
    await copied.close();
  });

  it('rejects a guard on a route with config.auth: false when the route is added', async () => {
    const bad = Fastify();
    await bad.register(tokenguard, { validator });
    expect(() =>
      bad.get('/open', { config: { auth: false }, preHandler: [bad.requireTenant('acme')] }, async () => 'x'),
    ).toThrow(/route \/open: config\.auth is false .* requireTenant\(\)/);
    expect(() =>
      bad.get(
        '/open2',
        { config: { auth: false }, onRequest: bad.requireClaims({ claim: 'a', equals: 1 }) },
        async () => 'x',
      ),
    ).toThrow(TypeError);
    bad.get('/open3', { config: { auth: false }, preHandler: async () => undefined }, async () => 'ok');
    expect((await bad.inject({ url: '/open3' })).statusCode).toBe(200);
    await bad.close();
  });

  it('refuses to be registered twice in the same context', async () => {
    const twice = Fastify();
    twice.register(tokenguard, { validator });
    twice.register(tokenguard, { validator });
    await expect(twice.ready()).rejects.toThrow(/already registered/);
    await twice.close();
  });

  it("hands errors to Fastify's error handler with onError: 'next', status and headers intact", async () => {
    const next = Fastify();
    await next.register(tokenguard, { validator, onError: 'next' });
    next.setErrorHandler((error, _request, reply) => {
      if (isTokenGuardError(error))
        return reply.code(error.status).headers(error.headers).send({ mine: error.code });
      throw error;
    });
    next.get('/me', async () => 'ok');
    const res = await next.inject({ url: '/me' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="unit"');
    expect(res.json()).toEqual({ mine: 'ERR_TOKEN_MISSING' });
    await next.close();
  });

  it('creates and closes its own validator from core options, and sends Cache-Control for query tokens', async () => {
    const own = Fastify();
    await own.register(tokenguard, { ...coreOptions, transport: { query: true } });
    own.get('/me', async (request) => ({ subject: request.auth?.subject }));
    const res = await own.inject({ url: `/me?access_token=${readToken}` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('private');
    await own.close();
  });
});

describe('tokenguard (fastify) hook: a token verified before (answered at once) and a fresh one', () => {
  /** Sends `request` three times: verified twice (cached the second time), then answered from the cache. */
  async function thrice(app: FastifyInstance, options: InjectOptions) {
    const responses = [];
    for (let i = 0; i < 3; i++) responses.push(await app.inject(options));
    return responses;
  }
  /** Whether `validator` answers `headers` at once, from its cache of verified tokens. */
  const answeredAtOnce = (own: ReturnType<typeof createValidator>, headers: Record<string, string>) =>
    !(authenticateRequestNow(own, { headers }) instanceof Promise);

  for (const onError of ['respond', 'next'] as const) {
    it(`goes on exactly once or stops the chain, on both paths (onError: '${onError}')`, async () => {
      const own = createValidator(coreOptions);
      const app = Fastify();
      const calls = { later: 0, handler: 0 };
      await app.register(tokenguard, { validator: own, onError });
      // A hook after tokenguard's: it runs once per request that tokenguard lets through, never twice.
      app.addHook('onRequest', (_request, _reply, done) => {
        calls.later++;
        done();
      });
      // Waiting hooks and handlers: the reply is not sent the moment tokenguard answers or hands on an
      // error, so a second done() would run the rest of the chain.
      app.addHook('onSend', async (_request, _reply, payload) => {
        await new Promise((resolve) => setImmediate(resolve));
        return payload;
      });
      if (onError === 'next') {
        app.setErrorHandler(async (error, _request, reply) => {
          await new Promise((resolve) => setImmediate(resolve));
          return isTokenGuardError(error)
            ? reply.code(error.status).headers(error.headers).send({ handled: error.code })
            : reply.code(500).send({ handled: 'other' });
        });
      }
      const echo = async (request: { auth: { subject: string | undefined } | null }) => {
        calls.handler++;
        return { subject: request.auth?.subject ?? null };
      };
      app.get('/read', { config: { auth: { scopes: ['read'] } } }, echo);
      app.get('/write', { config: { auth: { scopes: ['write'] } } }, echo);
      app.get<{ Params: { tenant: string } }>(
        '/broken/:tenant',
        {
          config: {
            auth: {
              tenant: () => {
                throw new Error('tenant lookup failed');
              },
            },
          },
        },
        echo,
      );
      try {
        const headers = { authorization: `Bearer ${await token({ scope: 'read', sub: `user-${onError}` })}` };
        const read = await thrice(app, { url: '/read', headers });
        expect(answeredAtOnce(own, headers)).toBe(true);
        expect(read.map((res) => res.statusCode)).toEqual([200, 200, 200]);
        expect(read[2]?.json()).toEqual({ subject: `user-${onError}` });
        expect(calls).toEqual({ later: 3, handler: 3 });

        // A 403 from config.auth: answered by tokenguard ('respond') or by the error handler ('next').
        const write = await thrice(app, { url: '/write', headers });
        expect(write.map((res) => res.statusCode)).toEqual([403, 403, 403]);
        for (const res of write) {
          expect(res.headers['www-authenticate']).toMatch(/error="insufficient_scope"/);
          if (onError === 'next') expect(res.json()).toEqual({ handled: 'ERR_INSUFFICIENT_SCOPE' });
          else expect(res.json()).toMatchObject({ error: 'insufficient_scope' });
        }
        expect(calls).toEqual({ later: 3, handler: 3 });

        // A route's own function that throws: Fastify's error handling, a 500, on both paths.
        const fresh = { authorization: `Bearer ${await token({ scope: 'read', sub: 'user-broken' })}` };
        const broken = await thrice(app, { url: '/broken/acme', headers: fresh });
        expect(answeredAtOnce(own, fresh)).toBe(true);
        expect(broken.map((res) => res.statusCode)).toEqual([500, 500, 500]);
        if (onError === 'next') for (const res of broken) expect(res.json()).toEqual({ handled: 'other' });
        expect(calls).toEqual({ later: 3, handler: 3 });

        // A missing token (answered without a promise on an optional route only) and a bad one.
        expect((await app.inject({ url: '/read' })).statusCode).toBe(401);
        const bad = await thrice(app, { url: '/read', headers: { authorization: 'Bearer a.b.c' } });
        expect(bad.map((res) => res.statusCode)).toEqual([401, 401, 401]);
        expect(calls).toEqual({ later: 3, handler: 3 });
      } finally {
        await app.close();
        await own.close();
      }
    });
  }

  it('authenticates at preValidation from a form body token, from the cache too, and skips 404s and public routes', async () => {
    const own = createValidator(coreOptions);
    const app = Fastify();
    let handled = 0;
    await app.register(tokenguard, { validator: own, transport: { body: true } });
    app.post('/form', { config: { auth: { scopes: ['read'] } } }, async (request) => {
      handled++;
      return { subject: request.auth?.subject ?? null };
    });
    app.post('/form-write', { config: { auth: { scopes: ['write'] } } }, async () => 'never');
    app.post('/open', { config: { auth: false } }, async (request) => ({ auth: request.auth }));
    try {
      const form = { 'content-type': 'application/x-www-form-urlencoded' };
      const body = new URLSearchParams({
        access_token: await token({ scope: 'read', sub: 'form' }),
      }).toString();
      const ok = await thrice(app, { method: 'POST', url: '/form', headers: form, body });
      expect(ok.map((res) => res.json())).toEqual([
        { subject: 'form' },
        { subject: 'form' },
        { subject: 'form' },
      ]);
      expect(handled).toBe(3);
      const denied = await app.inject({ method: 'POST', url: '/form-write', headers: form, body });
      expect(denied.statusCode).toBe(403);
      expect((await app.inject({ method: 'POST', url: '/open', headers: form, body })).json()).toEqual({
        auth: null,
      });
      expect((await app.inject({ method: 'POST', url: '/nowhere', headers: form, body })).statusCode).toBe(
        404,
      );
    } finally {
      await app.close();
      await own.close();
    }
  });
});

describe('tokenguard (fastify) with transport.body: only a form body is read before authentication', () => {
  it('authenticates other requests in onRequest, before their body is read, and never skips a deferred one', async () => {
    const app = Fastify();
    let parsedJson = 0;
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
      parsedJson++;
      try {
        done(null, JSON.parse(body as string));
      } catch (error) {
        done(error as Error);
      }
    });
    await app.register(tokenguard, { validator, transport: { body: true } });
    const echo = async (request: { auth: { subject: string | undefined } | null }) => ({
      subject: request.auth?.subject ?? null,
    });
    app.post('/json', echo);
    // A route hook that runs after tokenguard's onRequest and changes what the body looks like.
    app.post(
      '/retyped',
      {
        onRequest: (request, _reply, done) => {
          request.headers['content-type'] = 'text/plain';
          done();
        },
      },
      echo,
    );
    try {
      const json = { 'content-type': 'application/json' };
      // Before: the body was parsed first, so this was the parser's error (a 500 here), not a 401.
      const bad = await app.inject({ method: 'POST', url: '/json', headers: json, body: '{not json' });
      expect(bad.statusCode).toBe(401);
      expect(bad.headers['www-authenticate']).toBe('Bearer realm="unit"');
      const anonymous = await app.inject({ method: 'POST', url: '/json', headers: json, body: '{}' });
      expect(anonymous.statusCode).toBe(401);
      expect(parsedJson).toBe(0);
      const ok = await app.inject({
        method: 'POST',
        url: '/json',
        headers: { ...json, ...bearer() },
        body: '{}',
      });
      expect(ok.json()).toEqual({ subject: 'user-1' });
      expect(parsedJson).toBe(1);

      // A form request waits for its body; it is authenticated even if a later hook retypes it.
      const form = { 'content-type': 'application/x-www-form-urlencoded' };
      const body = new URLSearchParams({ access_token: readToken }).toString();
      expect(
        (await app.inject({ method: 'POST', url: '/retyped', headers: form, body: 'a=1' })).statusCode,
      ).toBe(401);
      const retyped = await app.inject({ method: 'POST', url: '/retyped', headers: form, body });
      expect(retyped.statusCode).not.toBe(200);
      const formOk = await app.inject({ method: 'POST', url: '/json', headers: form, body });
      expect(formOk.json()).toEqual({ subject: 'user-1' });
    } finally {
      await app.close();
    }
  });
});

describe('tokenguard (fastify) in several contexts', () => {
  const otherSecret = 'o'.repeat(32);
  const other = createValidator({ ...coreOptions, issuer: 'https://other.test', secret: otherSecret });
  const otherToken = () =>
    signToken(
      secretSigningKey(otherSecret),
      accessTokenClaims({ iss: 'https://other.test', aud: AUDIENCE, nowSec: NOW_SEC }, { scope: 'read' }),
    );
  afterAll(() => other.close());
  const whoami = async (request: { auth: { issuer: string } | null | undefined }) => ({
    auth: request.auth === undefined ? 'undefined' : (request.auth?.issuer ?? null),
  });

  it('serves two issuers on two sibling prefixes; a sibling without the plugin leaves request.auth undefined', async () => {
    const app = Fastify();
    app.register(
      async (a) => {
        await a.register(tokenguard, { validator });
        a.get('/x', { preHandler: a.requireScopes('read') }, whoami);
      },
      { prefix: '/a' },
    );
    app.register(
      async (b) => {
        await b.register(tokenguard, { validator: other });
        b.get('/x', { config: { auth: { scopes: ['read'] } } }, whoami);
      },
      { prefix: '/b' },
    );
    app.get('/open', whoami);
    try {
      const [a, b] = [`Bearer ${readToken}`, `Bearer ${await otherToken()}`];
      expect((await app.inject({ url: '/a/x', headers: { authorization: a } })).json()).toEqual({
        auth: ISSUER,
      });
      expect((await app.inject({ url: '/b/x', headers: { authorization: b } })).json()).toEqual({
        auth: 'https://other.test',
      });
      const crossed = await app.inject({ url: '/a/x', headers: { authorization: b } });
      expect(crossed.statusCode).toBe(401);
      expect(crossed.headers['www-authenticate']).toMatch(/error="invalid_token"/);
      expect((await app.inject({ url: '/b/x', headers: { authorization: a } })).statusCode).toBe(401);
      expect((await app.inject({ url: '/open' })).json()).toEqual({ auth: 'undefined' });
    } finally {
      await app.close();
    }
  });

  it("registered again in a child context, runs both hooks there: a token must pass the parent's validator too", async () => {
    const app = Fastify();
    await app.register(tokenguard, { validator });
    app.register(
      async (child) => {
        await child.register(tokenguard, { validator: other });
        child.get('/x', whoami);
      },
      { prefix: '/child' },
    );
    app.get('/x', whoami);
    try {
      const [a, b] = [`Bearer ${readToken}`, `Bearer ${await otherToken()}`];
      expect((await app.inject({ url: '/x', headers: { authorization: a } })).statusCode).toBe(200);
      expect((await app.inject({ url: '/child/x', headers: { authorization: a } })).statusCode).toBe(401);
      expect((await app.inject({ url: '/child/x', headers: { authorization: b } })).statusCode).toBe(401);
    } finally {
      await app.close();
    }
  });
});
