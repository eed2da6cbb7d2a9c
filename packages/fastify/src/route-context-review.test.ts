import { request as httpRequest } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  type HTTPMethods,
} from 'fastify';
import fp from 'fastify-plugin';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type DevIssuer, startDevIssuer } from '../../dev-issuer/src/index.js';

// Review of routeConfigOf (route-context.ts, commit f711e68): the plugin finds a route's config.auth
// through the route context symbol it learned from the first request, shared by every Fastify
// instance of the process. Real apps on 127.0.0.1 (port 0), each answer asked twice (real HTTP and
// app.inject(), which must agree), tokens from the dev issuer. Each test loads the plugin afresh
// (vi.resetModules), so the symbol is learned again from the test's own first request; every app
// also checks, in onResponse, that routeConfigOf gave the very object request.routeOptions.config gives.
const AUDIENCE = 'https://api.test';
const FORM = 'application/x-www-form-urlencoded';

let issuer: DevIssuer;
/** Scope `read` only. */
let readToken: string;
/** Scopes `read write`. */
let writeToken: string;

beforeAll(async () => {
  issuer = await startDevIssuer({ extraClaims: { tid: 'acme' } });
  readToken = await issuer.getToken({ resource: AUDIENCE, scope: 'read' });
  writeToken = await issuer.getToken({ resource: AUDIENCE, scope: 'read write' });
});

const opened: FastifyInstance[] = [];
afterAll(async () => {
  for (const app of opened) await app.close();
  await issuer.close();
});

type Fresh = {
  tokenguard: typeof import('./index.js').default;
  routeConfigOf: typeof import('./route-context.js').routeConfigOf;
};

/** The plugin and route-context.ts loaded afresh: no symbol learned yet. */
async function fresh(): Promise<Fresh> {
  vi.resetModules();
  const { default: tokenguard } = await import('./index.js');
  const { routeConfigOf } = await import('./route-context.js');
  return { tokenguard, routeConfigOf };
}

/** Each test's record of requests on which routeConfigOf and routeOptions.config disagreed. */
let mismatches: string[] = [];

/** A Fastify app whose onResponse hook records any request where routeConfigOf disagrees with routeOptions. */
function build(
  { routeConfigOf }: Fresh,
  options: FastifyServerOptions = {},
  make: (options: FastifyServerOptions) => FastifyInstance = (o) => Fastify(o) as unknown as FastifyInstance,
): FastifyInstance {
  const app = make(options);
  opened.push(app);
  app.addHook('onResponse', (request, _reply, done) => {
    if (routeConfigOf(request) !== request.routeOptions.config) {
      mismatches.push(`${request.method} ${request.url}`);
    }
    done();
  });
  return app;
}

function pluginOptions(extra: Record<string, unknown> = {}) {
  return { issuer: issuer.issuer, audience: AUDIENCE, realm: 'api', tenantClaim: 'tid', ...extra };
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  return `http://127.0.0.1:${port}`;
}

type Call = { method?: HTTPMethods; url: string; headers?: Record<string, string>; body?: string };
type Answer = { status: number; error: string | null; body: string };

function errorOf(challenge: unknown): string | null {
  if (typeof challenge !== 'string') return null;
  return /error="([^"]+)"/.exec(challenge)?.[1] ?? 'none';
}

function overHttp(base: string, call: Call): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      new URL(call.url, base),
      {
        method: call.method ?? 'GET',
        headers: call.headers,
        agent: false,
        signal: AbortSignal.timeout(5000),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            error: errorOf(response.headers['www-authenticate']),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end(call.body);
  });
}

async function overInject(app: FastifyInstance, call: Call): Promise<Answer> {
  const response = await app.inject({
    method: call.method ?? 'GET',
    url: call.url,
    headers: call.headers,
    payload: call.body,
  });
  return {
    status: response.statusCode,
    error: errorOf(response.headers['www-authenticate']),
    body: response.body,
  };
}

/** The answer to `call`, asked over HTTP and through inject (in the order `injectFirst` says): both must agree. */
async function ask(app: FastifyInstance, base: string, call: Call, injectFirst = false): Promise<Answer> {
  const first = injectFirst ? await overInject(app, call) : await overHttp(base, call);
  const second = injectFirst ? await overHttp(base, call) : await overInject(app, call);
  expect(second, `${call.method ?? 'GET'} ${call.url}: HTTP and inject differ`).toEqual(first);
  return first;
}

const bearer = (token: string, headers: Record<string, string> = {}) => ({
  ...headers,
  authorization: `Bearer ${token}`,
});

/** A route requiring `write`: 401 anonymous, 403 insufficient_scope with `read`, `ok` with `read write`. */
async function expectWriteRoute(app: FastifyInstance, base: string, call: Call, ok = 200): Promise<void> {
  const where = `${call.method ?? 'GET'} ${call.url}`;
  const anonymous = await ask(app, base, call);
  expect(anonymous.status, `${where} anonymous`).toBe(401);
  const read = await ask(app, base, { ...call, headers: bearer(readToken, call.headers) });
  expect({ status: read.status, error: read.error }, `${where} read`).toEqual({
    status: 403,
    error: 'insufficient_scope',
  });
  const write = await ask(app, base, { ...call, headers: bearer(writeToken, call.headers) });
  expect(write.status, `${where} read write`).toBe(ok);
}

/** A route with no config.auth: 401 anonymous, `ok` with any valid token. */
async function expectAuthenticatedRoute(app: FastifyInstance, base: string, call: Call, ok = 200) {
  const where = `${call.method ?? 'GET'} ${call.url}`;
  expect((await ask(app, base, call)).status, `${where} anonymous`).toBe(401);
  const read = await ask(app, base, { ...call, headers: bearer(readToken, call.headers) });
  expect(read.status, `${where} read`).toBe(ok);
}

/** A public route (auth: false, or outside the plugin's context): `ok` without a token. */
async function expectPublicRoute(app: FastifyInstance, base: string, call: Call, ok = 200) {
  const answer = await ask(app, base, call);
  expect(answer.status, `${call.method ?? 'GET'} ${call.url} anonymous`).toBe(ok);
  expect(answer.error).toBeNull();
}

const text = (value: string) => async () => value;

/** The routes every app of the "several instances" test declares, in whatever context it is given. */
function declareRoutes(scope: FastifyInstance): void {
  scope.get('/write', { config: { auth: { scopes: ['write'] } } }, text('write'));
  scope.get('/public', { config: { auth: false } }, text('public'));
  scope.get('/plain', text('plain'));
  scope.get('/tenant/:tenant', {
    config: { auth: { tenant: (request: FastifyRequest) => (request.params as { tenant: string }).tenant } },
    handler: text('tenant'),
  });
}

async function expectDeclaredRoutes(app: FastifyInstance, base: string, prefix = ''): Promise<void> {
  await expectWriteRoute(app, base, { url: `${prefix}/write` });
  await expectPublicRoute(app, base, { url: `${prefix}/public` });
  await expectAuthenticatedRoute(app, base, { url: `${prefix}/plain` });
  expect((await ask(app, base, { url: `${prefix}/tenant/acme`, headers: bearer(readToken) })).status).toBe(
    200,
  );
  const other = await ask(app, base, { url: `${prefix}/tenant/other`, headers: bearer(readToken) });
  expect(other.status).toBe(403);
}

describe('routeConfigOf review: which route config the plugin applies', () => {
  it('several instances, built before and after the first request (a 404), root and prefixed contexts', async () => {
    mismatches = [];
    const modules = await fresh();
    const root = build(modules);
    await root.register(modules.tokenguard, pluginOptions());
    declareRoutes(root);
    const scoped = build(modules);
    scoped.get('/outside', text('outside'));
    scoped.get('/write', { config: { auth: { scopes: ['write'] } } }, text('unguarded write'));
    await scoped.register(
      async (child) => {
        await child.register(modules.tokenguard, pluginOptions());
        declareRoutes(child);
      },
      { prefix: '/api' },
    );
    const rootBase = await listen(root);
    const scopedBase = await listen(scoped);

    // The first request ever is a 404, over HTTP.
    expect((await overHttp(rootBase, { url: '/nowhere' })).status).toBe(404);
    expect((await ask(scoped, scopedBase, { url: '/api/nowhere' })).status).toBe(404);

    await expectDeclaredRoutes(root, rootBase);
    await expectDeclaredRoutes(scoped, scopedBase, '/api');
    // Outside the plugin's context, its config.auth means nothing: no authentication there.
    await expectPublicRoute(scoped, scopedBase, { url: '/outside' });
    await expectPublicRoute(scoped, scopedBase, { url: '/write' });

    // An instance built after the symbol was learned.
    const late = build(modules);
    await late.register(modules.tokenguard, pluginOptions());
    declareRoutes(late);
    late.get('/late', { config: { auth: { anyScopes: ['write', 'admin'] } } }, text('late'));
    const lateBase = await listen(late);
    await expectDeclaredRoutes(late, lateBase);
    await expectWriteRoute(late, lateBase, { url: '/late' });
    // Interleaved once more, every instance.
    await expectDeclaredRoutes(root, rootBase);
    await expectDeclaredRoutes(scoped, scopedBase, '/api');
    expect(mismatches).toEqual([]);
  });

  it('learns from a first request made with app.inject() to a public route', async () => {
    mismatches = [];
    const modules = await fresh();
    const app = build(modules);
    await app.register(modules.tokenguard, pluginOptions());
    declareRoutes(app);
    const base = await listen(app);
    expect((await overInject(app, { url: '/public' })).status).toBe(200);
    await expectDeclaredRoutes(app, base);
    expect(mismatches).toEqual([]);
  });

  it('transport.body: a form POST authenticated in preValidation applies its own route config', async () => {
    mismatches = [];
    const modules = await fresh();
    const app = build(modules);
    await app.register(modules.tokenguard, pluginOptions({ transport: { body: true } }));
    app.post('/form-write', { config: { auth: { scopes: ['write'] } } }, text('form-write'));
    app.post('/form-public', { config: { auth: false } }, text('form-public'));
    const base = await listen(app);
    const form = (token: string, url: string): Call => ({
      method: 'POST',
      url,
      headers: { 'content-type': FORM },
      body: `access_token=${token}`,
    });
    const read = await ask(app, base, form(readToken, '/form-write'));
    expect({ status: read.status, error: read.error }).toEqual({ status: 403, error: 'insufficient_scope' });
    expect((await ask(app, base, form(writeToken, '/form-write'))).status).toBe(200);
    await expectPublicRoute(app, base, {
      method: 'POST',
      url: '/form-public',
      headers: { 'content-type': FORM },
      body: 'a=1',
    });
    expect(mismatches).toEqual([]);
  });

  it('setNotFoundHandler (with and without hooks, encapsulated), callNotFound, setErrorHandler', async () => {
    mismatches = [];
    const modules = await fresh();
    const app = build(modules);
    await app.register(modules.tokenguard, pluginOptions({ onError: 'next' }));
    app.setNotFoundHandler(async (_request, reply) => reply.code(404).send('root 404'));
    app.setErrorHandler(async (error: { statusCode?: number; status?: number }, _request, reply) => {
      const headers = (error as { headers?: Record<string, string> }).headers ?? {};
      return reply
        .code(error.statusCode ?? 500)
        .headers(headers)
        .send(`handled ${error.statusCode ?? 500}`);
    });
    declareRoutes(app);
    app.get('/write-then-404', { config: { auth: { scopes: ['write'] } } }, (_request, reply) => {
      reply.callNotFound();
    });
    app.get('/public-then-404', { config: { auth: false } }, (_request, reply) => {
      reply.callNotFound();
    });
    app.get('/public-throws', { config: { auth: false } }, async () => {
      throw new Error('boom');
    });
    app.get('/write-throws', { config: { auth: { scopes: ['write'] } } }, async () => {
      throw new Error('boom');
    });
    await app.register(
      async (child) => {
        // The child's 404 handler has its own hooks; the plugin's hook (root) skips a 404 as before.
        child.setNotFoundHandler(
          {
            preHandler: (_request: FastifyRequest, reply: FastifyReply, done: () => void) => {
              reply.header('x-child-404', 'yes');
              done();
            },
          },
          async (_request, reply) => reply.code(404).send('child 404'),
        );
        child.setErrorHandler(async (error: { statusCode?: number }, _request, reply) =>
          reply
            .code(error.statusCode ?? 500)
            .headers((error as { headers?: Record<string, string> }).headers ?? {})
            .send(`child handled ${error.statusCode ?? 500}`),
        );
        declareRoutes(child);
      },
      { prefix: '/child' },
    );
    const base = await listen(app);

    // First request ever: a 404 into a handler with its own hooks.
    const missing = await ask(app, base, { url: '/child/nowhere' });
    expect(missing).toEqual({ status: 404, error: null, body: 'child 404' });
    expect(await ask(app, base, { url: '/nowhere' })).toEqual({ status: 404, error: null, body: 'root 404' });
    expect((await ask(app, base, { url: '/nowhere', headers: bearer(readToken) })).status).toBe(404);

    await expectDeclaredRoutes(app, base);
    await expectDeclaredRoutes(app, base, '/child');
    expect((await ask(app, base, { url: '/write', headers: bearer(readToken) })).body).toBe('handled 403');
    expect((await ask(app, base, { url: '/child/write', headers: bearer(readToken) })).body).toBe(
      'child handled 403',
    );
    await expectWriteRoute(app, base, { url: '/write-then-404' }, 404);
    await expectPublicRoute(app, base, { url: '/public-then-404' }, 404);
    await expectPublicRoute(app, base, { url: '/public-throws' }, 500);
    await expectWriteRoute(app, base, { url: '/write-throws' }, 500);
    expect(mismatches).toEqual([]);
  });

  it('version and host constraints: each constrained route applies its own config', async () => {
    mismatches = [];
    const modules = await fresh();
    const app = build(modules);
    await app.register(modules.tokenguard, pluginOptions());
    app.get('/v', { constraints: { version: '1.0.0' }, config: { auth: { scopes: ['write'] } } }, text('v1'));
    app.get('/v', { constraints: { version: '2.0.0' }, config: { auth: false } }, text('v2'));
    app.get('/v', text('v0'));
    app.get('/h', { constraints: { host: 'open.test' }, config: { auth: false } }, text('open'));
    app.get(
      '/h',
      { constraints: { host: 'locked.test' }, config: { auth: { scopes: ['write'] } } },
      text('locked'),
    );
    app.get('/h', { config: { auth: { scopes: ['read'] } } }, text('default'));
    const base = await listen(app);

    // First request ever: a version-constrained public route.
    expect(await ask(app, base, { url: '/v', headers: { 'accept-version': '2.0.0' } })).toEqual({
      status: 200,
      error: null,
      body: 'v2',
    });
    await expectWriteRoute(app, base, { url: '/v', headers: { 'accept-version': '1.0.0' } });
    await expectWriteRoute(app, base, { url: '/v', headers: { 'accept-version': '1.x' } });
    await expectAuthenticatedRoute(app, base, { url: '/v' });
    expect((await ask(app, base, { url: '/v', headers: bearer(readToken) })).body).toBe('v0');
    expect(
      (await ask(app, base, { url: '/v', headers: bearer(writeToken, { 'accept-version': '1.0.0' }) })).body,
    ).toBe('v1');

    await expectPublicRoute(app, base, { url: '/h', headers: { host: 'open.test' } });
    expect((await ask(app, base, { url: '/h', headers: { host: 'open.test' } })).body).toBe('open');
    await expectWriteRoute(app, base, { url: '/h', headers: { host: 'locked.test' } });
    await expectAuthenticatedRoute(app, base, { url: '/h', headers: { host: 'elsewhere.test' } });
    expect((await ask(app, base, { url: '/h', headers: bearer(readToken, { host: 'x.test' }) })).body).toBe(
      'default',
    );
    expect(mismatches).toEqual([]);
  });

  it('rewriteUrl: the route the rewritten URL matched decides', async () => {
    mismatches = [];
    const modules = await fresh();
    const rewrites: Record<string, string> = {
      '/alias-write': '/write',
      '/alias-public': '/public',
      '/public': '/write',
      '/write': '/public',
    };
    const app = build(modules, {
      rewriteUrl: (raw) => {
        const url = raw.url ?? '/';
        return rewrites[url] ?? url;
      },
    });
    await app.register(modules.tokenguard, pluginOptions());
    declareRoutes(app);
    const base = await listen(app);
    await expectWriteRoute(app, base, { url: '/alias-write' });
    await expectPublicRoute(app, base, { url: '/alias-public' });
    // Swapped: asking /public reaches the write route, and /write the public one.
    await expectWriteRoute(app, base, { url: '/public' });
    await expectPublicRoute(app, base, { url: '/write' });
    await expectAuthenticatedRoute(app, base, { url: '/plain' });
    expect(mismatches).toEqual([]);
  });

  it('HEAD routes Fastify adds, an explicit HEAD route, and prefixTrailingSlash', async () => {
    mismatches = [];
    const modules = await fresh();
    const app = build(modules);
    await app.register(modules.tokenguard, pluginOptions());
    declareRoutes(app);
    await app.register(
      async (child) => {
        child.get(
          '/',
          { prefixTrailingSlash: 'both', config: { auth: { scopes: ['write'] } } },
          text('both'),
        );
      },
      { prefix: '/both' },
    );
    await app.register(
      async (child) => {
        child.get('/', { prefixTrailingSlash: 'slash', config: { auth: false } }, text('slash'));
      },
      { prefix: '/slash' },
    );
    await app.register(
      async (child) => {
        child.get(
          '/',
          { prefixTrailingSlash: 'no-slash', config: { auth: { scopes: ['write'] } } },
          text('no'),
        );
      },
      { prefix: '/no-slash' },
    );
    await app.register(
      async (child) => {
        child.get('/', { prefixTrailingSlash: 'both', config: { auth: false } }, text('open both'));
      },
      { prefix: '/open-both' },
    );
    const noHead = build(modules, { exposeHeadRoutes: false });
    await noHead.register(modules.tokenguard, pluginOptions());
    noHead.get('/doc', { config: { auth: { scopes: ['write'] } } }, text('doc'));
    noHead.head('/doc', { config: { auth: false } }, async (_request, reply) => reply.send());
    const base = await listen(app);
    const noHeadBase = await listen(noHead);

    // First request ever: an automatic HEAD route.
    await expectWriteRoute(app, base, { method: 'HEAD', url: '/write' });
    await expectPublicRoute(app, base, { method: 'HEAD', url: '/public' });
    await expectAuthenticatedRoute(app, base, { method: 'HEAD', url: '/plain' });
    await expectDeclaredRoutes(app, base);
    for (const url of ['/both', '/both/']) {
      await expectWriteRoute(app, base, { url });
      await expectWriteRoute(app, base, { method: 'HEAD', url });
    }
    await expectPublicRoute(app, base, { url: '/slash/' });
    await expectPublicRoute(app, base, { url: '/slash' }, 404);
    await expectWriteRoute(app, base, { url: '/no-slash' });
    expect((await ask(app, base, { url: '/no-slash/' })).status).toBe(404);
    await expectPublicRoute(app, base, { url: '/open-both' });
    await expectPublicRoute(app, base, { url: '/open-both/' });

    await expectWriteRoute(noHead, noHeadBase, { url: '/doc' });
    await expectPublicRoute(noHead, noHeadBase, { method: 'HEAD', url: '/doc' });
    expect(mismatches).toEqual([]);
  });

  it("a later plugin's onRoute hook that changes a route's config: the config the route ends with applies", async () => {
    mismatches = [];
    const modules = await fresh();
    const app = build(modules);
    await app.register(modules.tokenguard, pluginOptions());
    await app.register(
      fp(async (instance) => {
        instance.addHook('onRoute', (route) => {
          const config = route.config as { tag?: string; auth?: unknown } | undefined;
          if (config?.tag === 'lock') config.auth = { scopes: ['write'] };
          if (config?.tag === 'open') config.auth = false;
          if (config?.tag === 'replace') route.config = { ...config, auth: { scopes: ['write'] } };
        });
      }),
    );
    app.get('/lock', { config: { tag: 'lock' } }, text('lock'));
    app.get('/open', { config: { tag: 'open', auth: { scopes: ['write'] } } }, text('open'));
    app.get('/replace', { config: { tag: 'replace', auth: false } }, text('replace'));
    app.get('/untouched', { config: { auth: { scopes: ['write'] } } }, text('untouched'));
    const base = await listen(app);
    await expectWriteRoute(app, base, { url: '/lock' });
    await expectPublicRoute(app, base, { url: '/open' });
    await expectWriteRoute(app, base, { url: '/replace' });
    await expectWriteRoute(app, base, { url: '/untouched' });
    await expectWriteRoute(app, base, { method: 'HEAD', url: '/lock' });
    expect(mismatches).toEqual([]);
  });

  it("another plugin's own symbol properties holding a { config } are never read for the route's", async () => {
    mismatches = [];
    const modules = await fresh();
    const decoy = Symbol('decoy');
    const decoyFunction = Symbol('decoy function');
    const app = build(modules);
    let publicConfig: unknown;
    let requests = 0;
    await app.register(
      fp(async (instance) => {
        instance.decorateRequest(decoy, null);
        // A function is the one reference a request decorator may hold; this one has a config too.
        instance.decorateRequest(
          decoyFunction,
          Object.assign(() => undefined, { config: { auth: false } }),
        );
        instance.addHook('onRequest', (request, _reply, done) => {
          const own = request.routeOptions.config as { url?: string };
          if (own.url === '/public') publicConfig = own;
          // The first request: the very config; later ones: the public route's config.
          (request as unknown as Record<symbol, unknown>)[decoy] = {
            config: requests++ === 0 ? own : (publicConfig ?? { auth: false }),
          };
          done();
        });
      }),
    );
    await app.register(modules.tokenguard, pluginOptions());
    declareRoutes(app);
    const base = await listen(app);
    // First request ever: the write route, its config under the decoy symbol too.
    const first = await ask(app, base, { url: '/write', headers: bearer(readToken) });
    expect({ status: first.status, error: first.error }).toEqual({
      status: 403,
      error: 'insufficient_scope',
    });
    await expectPublicRoute(app, base, { url: '/public' });
    await expectDeclaredRoutes(app, base);
    expect(requests).toBeGreaterThan(10);
    expect(mismatches).toEqual([]);
  });

  it('a second copy of Fastify (its own route context symbol) in the same process, either learned first', async () => {
    const require = createRequire(import.meta.url);
    const entry = require.resolve('fastify');
    const root = dirname(entry) + sep;
    const cache = require.cache;
    const saved = Object.entries(cache).filter(([key]) => key.startsWith(root));
    for (const [key] of saved) delete cache[key];
    const Copy = require('fastify') as (options: FastifyServerOptions) => FastifyInstance;
    for (const key of Object.keys(cache)) if (key.startsWith(root)) delete cache[key];
    for (const [key, module] of saved) cache[key] = module;
    expect(Copy).not.toBe(Fastify);

    for (const copyFirst of [true, false]) {
      mismatches = [];
      const modules = await fresh();
      const seen = new Map<string, symbol[]>();
      const make = async (which: 'copy' | 'main') => {
        const app = build(modules, {}, which === 'copy' ? Copy : undefined);
        app.addHook('onRequest', (request, _reply, done) => {
          seen.set(which, Object.getOwnPropertySymbols(request));
          done();
        });
        await app.register(modules.tokenguard, pluginOptions());
        declareRoutes(app);
        return { app, base: await listen(app) };
      };
      const copy = await make('copy');
      const main = await make('main');
      const [first, second] = copyFirst ? [copy, main] : [main, copy];
      await expectWriteRoute(first.app, first.base, { url: '/write' });
      await expectDeclaredRoutes(second.app, second.base);
      await expectDeclaredRoutes(first.app, first.base);
      await expectDeclaredRoutes(second.app, second.base);
      // The two copies keep the route context under different symbols.
      const copySymbols = seen.get('copy') ?? [];
      const mainSymbols = seen.get('main') ?? [];
      expect(copySymbols[0]?.description).toBe(mainSymbols[0]?.description);
      expect(copySymbols[0]).not.toBe(mainSymbols[0]);
      expect(mismatches).toEqual([]);
    }
  });
});
