import { parse as parseQueryString } from 'node:querystring';
import {
  type AuthInfo,
  authenticateRequestNow,
  clientCertificateReader,
  createCachedBearerLookup,
  enforceRequirements,
  FORM_BODY_MAX_BYTES,
  isFormTokenRequest,
  queryTokenCacheControl,
  type ResolvedAdapterOptions,
  readFormBody,
  resolveAdapterOptions,
  socketOfConnection,
  type TokenSource,
  type TokenTransport,
  type Validator,
} from '@tokenguard/core';
import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify';
import fp from 'fastify-plugin';
import { setContext } from './context.js';
import {
  isTokenguardGuard,
  requireAnyScope,
  requireAuthentication,
  requireClaims,
  requireScopes,
  requireTenant,
} from './guards.js';
import type { TokenguardOptions } from './options.js';
import { handleError } from './respond.js';
import {
  compileRouteAuth,
  type RouteAuth,
  type RouteAuthOptions,
  snapshotRouteAuth,
} from './route-config.js';
import { type RouteConfig, routeConfigOf } from './route-context.js';

/**
 * Options of the plugin: the validator's options or `{ validator }`, with `optional`, `transport`,
 * `onError` and `clientCertificate`.
 *
 * @example
 * ```ts
 * const options: TokenguardPluginOptions = {
 *   issuer: 'https://id.example',
 *   audience: 'https://api.example',
 *   optional: true,
 *   transport: { body: true },
 * };
 * await app.register(tokenguard, options);
 * // or share a validator: await app.register(tokenguard, { validator, onError: 'next' });
 * ```
 */
export type TokenguardPluginOptions = TokenguardOptions;

const REGISTERED = Symbol.for('@tokenguard/fastify.registered');
/** Options Fastify itself reads from `register()`; never passed to the validator. */
const FASTIFY_KEYS = ['prefix', 'logLevel', 'logSerializers'];
const FORM = 'application/x-www-form-urlencoded';

async function plugin(fastify: FastifyInstance, options: TokenguardPluginOptions): Promise<void> {
  if (Object.hasOwn(fastify, REGISTERED)) {
    throw new Error('tokenguard: @tokenguard/fastify is already registered in this context');
  }
  const own: Record<string, unknown> = { ...options };
  for (const key of FASTIFY_KEYS) delete own[key];
  // createValidator's TypeError is thrown here, so register() and ready() reject with it.
  const settings = resolveAdapterOptions(own as TokenguardOptions);
  Object.defineProperty(fastify, REGISTERED, { value: true });
  if (settings.ownsValidator) fastify.addHook('onClose', async () => settings.validator.close());

  if (!fastify.hasRequestDecorator('auth')) fastify.decorateRequest('auth', null);
  if (!fastify.hasDecorator('requireScopes')) {
    fastify.decorate('requireScopes', requireScopes);
    fastify.decorate('requireAnyScope', requireAnyScope);
    fastify.decorate('requireTenant', requireTenant);
    fastify.decorate('requireClaims', requireClaims);
    fastify.decorate('requireAuthentication', requireAuthentication);
  }

  if (settings.transport.body === true && !fastify.hasContentTypeParser(FORM)) {
    // The app's urlencoded parser now, for every method: at most 100 KiB (the server's bodyLimit
    // when smaller; a route's own bodyLimit wins, as Fastify applies it), a 413 past it, as Express's
    // urlencoded() reads any form. A form that may carry the token (POST, PUT, PATCH) is read as on
    // the other adapters (core's readFormBody: 1000 parameters, UTF-8 or ISO-8859-1), its
    // Content-Encoding left to Fastify's way (a preParsing hook decodes it, or nothing does); other
    // methods' forms are parsed as before, whole.
    const bodyLimit = Math.min(fastify.initialConfig.bodyLimit ?? FORM_BODY_MAX_BYTES, FORM_BODY_MAX_BYTES);
    fastify.addContentTypeParser(FORM, { parseAs: 'buffer', bodyLimit }, (request, body, done) => {
      const bytes = body as Buffer;
      if (!isFormTokenRequest(request.method, FORM)) {
        done(null, parseQueryString(bytes.toString('utf8')));
        return;
      }
      // No limit of readFormBody's own: Fastify enforced the one that applies (the route's, or this parser's).
      const reading = readFormBody(bytes, request.headers, {
        maxBytes: Number.POSITIVE_INFINITY,
        checkEncoding: false,
      });
      if ('parameters' in reading) done(null, reading.parameters);
      else done(Object.assign(new Error(reading.reason), { statusCode: reading.status }), undefined);
    });
  }
  // Route configs are checked as routes are added (a TypeError there fails the route or ready()),
  // and compiled once per route on first use: a context hook also covers routes declared before
  // the plugin was registered.
  fastify.addHook('onRoute', (route) => {
    const config = (route.config as { auth?: unknown } | undefined)?.auth;
    if (config !== false) {
      compileRouteAuth(route.url, config);
      // Fastify copies the route's config after onRoute, shallowly: the checked settings go in as a
      // copy, so lists the caller changes later change nothing (nor become a 500 on the request path).
      if (config !== undefined) {
        route.config = { ...route.config, auth: snapshotRouteAuth(config as RouteAuthOptions) };
      }
      return;
    }
    // A public route never authenticates, so a guard on it could only fail every request (500).
    const hooks = [route.onRequest, route.preParsing, route.preValidation, route.preHandler].flat();
    const guard = hooks.find(isTokenguardGuard);
    if (guard !== undefined) {
      throw new TypeError(
        `tokenguard: route ${route.url}: config.auth is false (a public route) but ${guard.name}() guards it`,
      );
    }
  });
  addAuthenticationHooks(fastify, settings.transport.body === true, createHook(settings));
}

/** What the core reads of a request to find its token (method and url for the form body and query). */
function bearerSource(request: FastifyRequest): TokenSource {
  return {
    method: request.method,
    headers: request.headers,
    rawHeaders: request.raw.rawHeaders,
    url: request.url,
    body: request.body,
  };
}

type Hook = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;

/**
 * Authenticates before the body is read, unless the body may carry the token: with `transport.body`,
 * a form POST/PUT/PATCH waits for `preValidation` (its body parsed); every other request is
 * authenticated in `onRequest`, so an anonymous caller's JSON or upload is never read. Which hook
 * authenticates is decided once, in `onRequest`: a later hook that changes the content type cannot
 * make both skip it.
 */
function addAuthenticationHooks(fastify: FastifyInstance, readsBody: boolean, authenticate: Hook): void {
  if (!readsBody) {
    fastify.addHook('onRequest', authenticate);
    return;
  }
  const deferred = new WeakSet<FastifyRequest>();
  fastify.addHook('onRequest', function tokenguard(request, reply, done) {
    if (!isFormTokenRequest(request.method, request.headers['content-type'])) {
      authenticate(request, reply, done);
      return;
    }
    deferred.add(request);
    done();
  });
  fastify.addHook('preValidation', function tokenguardFormBody(request, reply, done) {
    if (!deferred.delete(request)) {
      done();
      return;
    }
    authenticate(request, reply, done);
  });
}

/** A route without a config (none in Fastify 5): compiled once, as a route with no `config.auth`. */
const NO_CONFIG: RouteConfig = {};

function createHook(settings: ResolvedAdapterOptions<FastifyRequest>) {
  const { validator, transport, onError } = settings;
  const compiled = new WeakMap<object, RouteAuth | false>();
  const routeAuth = (request: FastifyRequest): RouteAuth | false => {
    const config = routeConfigOf(request) ?? NO_CONFIG;
    let route = compiled.get(config);
    if (route === undefined) {
      route = config.auth === false ? false : compileRouteAuth(config.url ?? request.url, config.auth);
      compiled.set(config, route);
    }
    return route;
  };
  const cachedBearer = createCachedBearerLookup(validator, transport);
  const required = { transport, optional: false };
  const optional = { transport, optional: true };
  // DPoP (RFC 9449): a proof's htu names the request's origin, read only when the validator takes
  // DPoP and has no `dpop.origin`. Decided once: a Bearer-only validator reads nothing more per request.
  // A validator made some other way than createValidator() may have no options.
  const dpop = (validator as Partial<Validator>).options?.dpop;
  const readsOrigin = dpop?.origin === undefined;
  const dpopSource = (request: FastifyRequest): TokenSource => ({
    ...bearerSource(request),
    // The URL as the client sent it, before any `rewriteUrl` (the one its proof names).
    url: request.originalUrl,
    // Fastify's protocol and host (with its port) follow X-Forwarded-* only as `trustProxy` allows;
    // core refuses (401) an origin that is not http(s)://host[:port], a missing host included.
    origin: readsOrigin ? `${request.protocol}://${request.host}` : undefined,
  });
  const tokenSource = dpop === undefined ? bearerSource : dpopSource;
  // mTLS (RFC 8705): the client certificate, read only when the validator has `mtls`.
  // Over HTTP/2 each stream's `raw.socket` is a new stand-in; the session's stays the same for the
  // connection, so its certificate is read once.
  const certificateOf = clientCertificateReader(settings, (request) => socketOfConnection(request.raw));
  const sourceOf =
    certificateOf === undefined
      ? tokenSource
      : (request: FastifyRequest): TokenSource => {
          const source = tokenSource(request);
          source.clientCertificate = certificateOf(request);
          return source;
        };

  /** Sets `request.auth` and applies the route's requirements (throws a TokenGuardError). */
  const admit = (
    request: FastifyRequest,
    reply: FastifyReply,
    route: RouteAuth,
    auth: AuthInfo | undefined,
    transport: TokenTransport | undefined,
  ) => {
    request.auth = auth ?? null;
    if (transport === 'query') {
      // Not over a stricter one a hook set before (no-store): see queryTokenCacheControl.
      const cacheControl = queryTokenCacheControl(reply.getHeader('cache-control'));
      if (cacheControl !== undefined) reply.header('cache-control', cacheControl);
    }
    if (route.requirements !== undefined) {
      enforceRequirements(validator, request.auth, route.requirements(request), request);
    }
  };
  /** Goes on with the hook chain, or answers the error (not calling `done`: the reply is sent). */
  const proceed = (
    request: FastifyRequest,
    reply: FastifyReply,
    route: RouteAuth,
    auth: AuthInfo | undefined,
    transport: TokenTransport | undefined,
    done: HookHandlerDoneFunction,
  ): void => {
    try {
      admit(request, reply, route, auth, transport);
    } catch (error) {
      fail(error, reply, done);
      return;
    }
    done();
  };
  const fail = (error: unknown, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    try {
      handleError(error, reply, onError);
    } catch (rethrown) {
      done(rethrown as Error);
    }
  };

  /**
   * A callback hook, not an async one: a token verified before is answered at once and the chain
   * goes on in the same tick; only a token that must be verified waits.
   */
  return function tokenguard(
    request: FastifyRequest,
    reply: FastifyReply,
    done: HookHandlerDoneFunction,
  ): void {
    const route = request.is404 ? false : routeAuth(request);
    if (route === false) {
      done();
      return;
    }
    setContext(request, settings);
    // A token the validator verified before, sent the plainest way: answered without building a source.
    const cached = cachedBearer?.(request.headers.authorization, request.raw.rawHeaders);
    if (cached !== undefined) {
      proceed(request, reply, route, cached, 'header', done);
      return;
    }
    const result = authenticateRequestNow(
      validator,
      sourceOf(request),
      (route.optional ?? settings.optional) ? optional : required,
    );
    if (!(result instanceof Promise)) {
      proceed(request, reply, route, result.auth, result.transport, done);
      return;
    }
    result.then(
      (verified) => proceed(request, reply, route, verified.auth, verified.transport, done),
      (error: unknown) => fail(error, reply, done),
    );
  };
}

/**
 * The Fastify plugin: authenticates every route of the context it is registered in (except routes
 * with `config: { auth: false }`), sets `request.auth`, and applies each route's `config.auth`
 * requirements. Adds the `requireScopes`, `requireAnyScope`, `requireTenant`, `requireClaims` and
 * `requireAuthentication` decorators for `preHandler`. Invalid options reject `register()`/`ready()`
 * with a `TypeError`.
 *
 * With the validator's `dpop` option, `Authorization: DPoP` tokens are accepted with their `DPoP`
 * proof (RFC 9449), checked against `request.method` and the URL `request.protocol://request.host` +
 * `request.originalUrl` (forwarded headers only as the `trustProxy` option allows), or
 * `dpop.origin` + `request.originalUrl` when that option is set.
 *
 * With the validator's `mtls` option, a token bound to a client certificate (`cnf.x5t#S256`,
 * RFC 8705) is accepted only with that certificate: the TLS connection's (`https: { requestCert:
 * true, ... }`), or what the plugin option `clientCertificate(request)` returns (TLS ended at a
 * proxy that forwards the certificate).
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import tokenguard from '@tokenguard/fastify';
 *
 * const app = Fastify();
 * await app.register(tokenguard, { issuer: 'https://id.example', audience: 'https://api.example' });
 * app.get('/orders', { config: { auth: { scopes: ['orders:read'] } } }, async (request) => ({
 *   caller: request.auth?.subject,
 * }));
 *
 * // DPoP-bound tokens too, behind a proxy that owns the public address:
 * await app.register(tokenguard, { issuer, audience, dpop: { origin: 'https://api.example' } });
 *
 * // Certificate-bound tokens, on Fastify({ https: { requestCert: true, key, cert } }):
 * await app.register(tokenguard, { issuer, audience, mtls: true });
 * ```
 */
export const tokenguardPlugin: FastifyPluginAsync<TokenguardPluginOptions> = fp(plugin, {
  name: '@tokenguard/fastify',
  fastify: '5.x',
});
