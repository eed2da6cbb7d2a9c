import {
  type AuthenticationResult,
  type AuthInfo,
  authenticateRequestNow,
  clientCertificateReader,
  createCachedBearerLookup,
  FORM_BODY_MAX_BYTES,
  type FormBodyReading,
  isFormTokenSource,
  type NodeRequestLike,
  readFormBody,
  resolveAdapterOptions,
  socketOfConnection,
  type TokenSource,
  type Validator,
} from '@tokenguard/core';
import type { Context, MiddlewareHandler, Next } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { handleError, setContext } from './context.js';
import { nodeHeadersCurrent, nodeRequestOf } from './node-request.js';
import type { AdapterOptions, TokenguardOptions } from './options.js';
import { createProtect, type Protect } from './protect.js';

/** What the middleware's promise resolves to once the chain has run. */
const nothing = (): undefined => undefined;

/**
 * Context variables set by `tokenguard()`: `c.var.auth` is the verified caller.
 *
 * @example
 * ```ts
 * const app = new Hono<{ Variables: TokenguardVariables }>();
 * app.use('*', tokenguard(validator));
 * app.get('/me', (c) => c.json({ caller: c.var.auth.subject }));
 * ```
 */
export type TokenguardVariables = { auth: AuthInfo };
/**
 * Context variables set by `tokenguard({ optional: true })`: `auth` is `undefined` for anonymous requests.
 *
 * @example
 * ```ts
 * const app = new Hono<{ Variables: OptionalTokenguardVariables }>();
 * app.use('*', tokenguard(validator, { optional: true }));
 * app.get('/catalog', (c) => c.json({ personalised: c.var.auth !== undefined }));
 * ```
 */
export type OptionalTokenguardVariables = { auth: AuthInfo | undefined };

/**
 * The middleware `tokenguard()` returns, with the validator it uses (close it on shutdown).
 *
 * @example
 * ```ts
 * const auth: TokenguardMiddleware = tokenguard({ issuer: 'https://id.example', audience: 'https://api.example' });
 * const maybe: TokenguardMiddleware<OptionalTokenguardVariables> = tokenguard(validator, { optional: true });
 * app.use('/api/*', auth);
 * app.get('/catalog', maybe, (c) => c.json({ personalised: c.var.auth !== undefined }));
 * app.get('/me', auth.protect((c) => c.json({ caller: c.var.auth.subject })));
 * // on shutdown: await auth.validator.close();
 * ```
 */
export type TokenguardMiddleware<V extends OptionalTokenguardVariables = TokenguardVariables> =
  MiddlewareHandler<{
    Variables: V;
  }> & {
    readonly validator: Validator;
    /**
     * The route's one handler, authenticated as this middleware authenticates, after the guards
     * given before it: `app.get(path, auth.protect(...guards, handler))` answers as
     * `app.get(path, auth, ...guards, handler)` does, without Hono's middleware chain (see
     * {@link Protect}).
     */
    readonly protect: Protect<V>;
  };

type Optional = { optional: true };
/** Options that say the route is not optional (`optional` left out, `false` or `undefined`). */
type Required = { optional?: false | undefined };

/**
 * A response to a request whose token came in the query string is not for shared caches
 * (RFC 6750 §2.3): `Cache-Control: private` is set once the handler has answered, so a `Response`
 * it built itself (`return new Response(...)`, `fetch()`) has it too; one the handler gave a
 * `Cache-Control` of its own keeps it.
 */
function keepPrivate(c: Context): undefined {
  if (!c.res.headers.has('cache-control')) c.header('cache-control', 'private');
  return undefined;
}

/** Reads no more than {@link FORM_BODY_MAX_BYTES} of a body; past that, a 413 answer. */
const limitFormBody = bodyLimit({
  maxSize: FORM_BODY_MAX_BYTES,
  onError: (c) => c.text('Payload Too Large', 413),
});

/**
 * Hono middleware that authenticates each request with a bearer token (or, with the validator's
 * `dpop` option, a DPoP-bound token and its proof, checked against `c.req.method` and `c.req.url`)
 * and sets `c.var.auth`.
 * With the validator's `mtls` option, a token bound to a client certificate (`cnf.x5t#S256`,
 * RFC 8705) is accepted only with that certificate: on @hono/node-server the TLS connection's (an
 * HTTPS server with `requestCert: true`), or what the option `clientCertificate(c)` returns (TLS
 * ended at a proxy that forwards the certificate; the only source on other runtimes).
 * Runs on every runtime Hono runs on; on fetch-only runtimes configure the validator with
 * `http: { fetch }`. Errors answer per RFC 6750; with `onError: 'next'` they reach `app.onError`.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono';
 * import { tokenguard, requireScopes } from '@tokenguard/hono';
 *
 * const app = new Hono();
 * app.use('/api/*', tokenguard({ issuer: 'https://id.example', audience: 'https://api.example' }));
 * app.get('/api/orders', requireScopes('orders:read'), (c) => c.json({ caller: c.var.auth?.subject }));
 * ```
 */
export function tokenguard(
  options: TokenguardOptions & Optional,
): TokenguardMiddleware<OptionalTokenguardVariables>;
export function tokenguard(options: TokenguardOptions & Required): TokenguardMiddleware;
/** `optional` known only at run time (a `boolean`): the caller may be absent. */
export function tokenguard(options: TokenguardOptions): TokenguardMiddleware<OptionalTokenguardVariables>;
export function tokenguard(
  validator: Validator,
  options: AdapterOptions & Optional,
): TokenguardMiddleware<OptionalTokenguardVariables>;
export function tokenguard(validator: Validator, options?: AdapterOptions & Required): TokenguardMiddleware;
/** `optional` known only at run time (a `boolean`): the caller may be absent. */
export function tokenguard(
  validator: Validator,
  options: AdapterOptions,
): TokenguardMiddleware<OptionalTokenguardVariables>;
export function tokenguard(
  validatorOrOptions: Validator | TokenguardOptions,
  adapterOptions?: AdapterOptions,
): TokenguardMiddleware<TokenguardVariables> | TokenguardMiddleware<OptionalTokenguardVariables> {
  const settings = resolveAdapterOptions(validatorOrOptions, adapterOptions);
  const { validator, optional, transport, onError } = settings;

  const authOptions = { transport, optional };
  const cachedBearer = createCachedBearerLookup(validator, transport);
  const headerOnly = transport.body !== true && transport.query !== true;
  // Decided once: only a validator with `dpop` reads the method and URL of a header-only request
  // (a proof's htm and htu), so Bearer-only apps build no more per request than before. A validator
  // made some other way than createValidator() may have no options.
  const dpop = (validator as Partial<Validator>).options?.dpop !== undefined;
  // mTLS (RFC 8705): the client certificate, read only when the validator has `mtls`.
  // On @hono/node-server, Node's request is `c.env.incoming`: the outer request's, on the same
  // connection, also in an app reached through `app.mount()` or a gateway's `inner.fetch(request,
  // c.env)`. Elsewhere (no `incoming`) only the option gives a certificate.
  const certificateOf = clientCertificateReader(settings, (c) =>
    socketOfConnection((c.env as { incoming?: NodeRequestLike } | undefined)?.incoming),
  );

  /**
   * Sets `c.var.auth`, then runs the rest of the chain. Not an async function: the chain's promise
   * is passed on with its value dropped (compose would take a returned context for a response).
   */
  function proceed(c: Context, next: Next, result: AuthenticationResult): Promise<undefined> {
    c.set('auth', result.auth);
    if (result.transport === 'query') return next().then(() => keepPrivate(c));
    return next().then(nothing);
  }

  /**
   * The URL a DPoP proof names: the one the client sent. `app.mount(prefix, inner.fetch)` hands the
   * inner app a request without the prefix, so on @hono/node-server the path comes from Node's own
   * request (appended as text: `//x` stays a path), on the origin of `c.req.url`. A request without
   * a Host (HTTP/1.0) or with an empty one names no origin: @hono/node-server makes one up from the
   * address the server listens on (without its port), so the path goes alone and core refuses the
   * proof ("names no usable host") unless `dpop.origin` names the API's origin, as on Express and Fastify.
   */
  function dpopUrl(c: Context): string {
    const incoming = (c.env as { incoming?: { url?: unknown; headers?: { host?: unknown } } } | undefined)
      ?.incoming;
    const sent = incoming?.url;
    if (typeof sent !== 'string' || !sent.startsWith('/')) return c.req.url;
    const host = incoming?.headers?.host;
    if (typeof host !== 'string' || host === '') return sent;
    const url = c.req.url;
    const pathStart = url.indexOf('/', url.indexOf('//') + 2);
    return `${pathStart === -1 ? url : url.slice(0, pathStart)}${sent}`;
  }

  // With `mtls`, the request's token source carries its client certificate.
  const sourceOf =
    certificateOf === undefined
      ? tokenSourceOf
      : (c: Context, body: unknown): TokenSource => {
          const source = tokenSourceOf(c, body);
          source.clientCertificate = certificateOf(c);
          return source;
        };

  /** What the token is read from: on @hono/node-server, Node's own request (see below). */
  function tokenSourceOf(c: Context, body: unknown): TokenSource {
    // On @hono/node-server, Node's own request: its raw header list shows a second Authorization
    // header, and its header record is read without building the fetch Request's Headers (unless a
    // middleware built them, and may have changed them; or c.req.raw is another request).
    const incoming = nodeRequestOf(c);
    const raw = c.req.raw;
    const headers = incoming !== undefined && nodeHeadersCurrent(raw) ? incoming.headers : raw.headers;
    // The method and URL matter only to body and query transport, and to DPoP proofs (htm, htu).
    // Hono's c.req.url is absolute (on @hono/node-server built from the Host header), so core takes
    // the proof's origin from it unless the validator's dpop.origin is set: no origin is passed.
    if (headerOnly) {
      if (!dpop) return { headers, rawHeaders: incoming?.rawHeaders };
      return { method: c.req.method, headers, rawHeaders: incoming?.rawHeaders, url: dpopUrl(c) };
    }
    return {
      method: c.req.method,
      headers,
      rawHeaders: incoming?.rawHeaders,
      url: dpop ? dpopUrl(c) : transport.query === true ? c.req.url : undefined,
      body,
    };
  }

  /**
   * With form bodies enabled: the body may have to be parsed first, so always asynchronous. A form
   * body is read before anyone is authenticated, so at most {@link FORM_BODY_MAX_BYTES} of it: a
   * larger one is a 413, as on Express and Fastify (Hono itself sets no limit).
   */
  async function authenticateWithBody(c: Context, next: Next): Promise<Response | undefined> {
    let result: AuthenticationResult;
    try {
      // Taken before the body is read: reading it replaces c.req.raw, and Node's own request (its
      // raw header list shows a second Authorization header) is then no longer found.
      const source = sourceOf(c, undefined);
      // A form is read exactly when core looks for a token in it (its first Content-Type, as core
      // reads the headers), the way every adapter reads it (core's readFormBody: 413 past 1000
      // parameters, 415 for a compressed body or another charset).
      if (isFormTokenSource(source)) {
        let reading: FormBodyReading | undefined;
        const tooLarge = await limitFormBody(c, async () => {
          // c.req.raw gets the very bytes back (c.req keeps them: no second read): a handler that
          // reads it or passes it on (`fetch(upstream, c.req.raw)`) would otherwise find it used.
          const bytes = await c.req.arrayBuffer();
          c.req.raw = new Request(c.req.raw, { body: bytes });
          reading = readFormBody(new Uint8Array(bytes), source.headers);
        });
        if (tooLarge instanceof Response) return tooLarge;
        if (reading === undefined) throw new Error('tokenguard: the form body was not read');
        if (!('parameters' in reading)) return c.text(reading.reason, reading.status);
        source.body = reading.parameters;
      }
      result = await authenticateRequestNow(validator, source, authOptions);
    } catch (error) {
      return handleError(c, error, onError);
    }
    return proceed(c, next, result);
  }

  /**
   * A token the validator verified before, sent the plainest way to @hono/node-server: answered from
   * Node's own request without building a source. `undefined` for anything else (also on every
   * other runtime), which then goes the whole way.
   */
  function cachedAuth(c: Context): AuthInfo | undefined {
    if (cachedBearer === undefined) return undefined;
    const incoming = nodeRequestOf(c);
    if (incoming === undefined || !nodeHeadersCurrent(c.req.raw)) return undefined;
    return cachedBearer(incoming.headers.authorization, incoming.rawHeaders);
  }

  /**
   * Not an async function: a token verified before is answered at once, and the chain goes on in
   * the same tick; only a token that must be verified (or a form body) waits.
   */
  function tokenguard(c: Context, next: Next): Promise<Response | undefined> {
    setContext(c, settings);
    if (transport.body === true) return authenticateWithBody(c, next);
    const cached = cachedAuth(c);
    if (cached !== undefined) {
      c.set('auth', cached);
      return next().then(nothing);
    }
    const result = authenticateRequestNow(validator, sourceOf(c, undefined), authOptions);
    if (!(result instanceof Promise)) return proceed(c, next, result);
    return result.then(
      (verified) => proceed(c, next, verified),
      (error: unknown) => handleError(c, error, onError),
    );
  }
  const protect = createProtect<OptionalTokenguardVariables>({
    middleware: tokenguard,
    cachedAuth,
    settings,
  });
  return Object.assign(tokenguard, {
    validator,
    protect,
  }) as TokenguardMiddleware<OptionalTokenguardVariables>;
}
