import {
  type AuthenticationResult,
  authenticateRequestNow,
  clientCertificateReader,
  createCachedBearerLookup,
  FORM_BODY_MAX_BYTES,
  isFormTokenRequest,
  queryTokenCacheControl,
  resolveAdapterOptions,
  socketOfConnection,
  type TokenSource,
  type Validator,
} from '@tokenguard/core';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { AdapterOptions, TokenguardOptions } from './options.js';
import { requestOrigin } from './request-origin.js';
import { enterMiddleware, installAuthAccessor } from './request-state.js';
import { handleError } from './respond.js';

/**
 * The middleware `tokenguard()` returns, with the validator it uses (close it on shutdown).
 *
 * @example
 * ```ts
 * const auth: TokenguardMiddleware = tokenguard({ issuer: 'https://id.example', audience: 'https://api.example' });
 * app.use(auth);
 * const server = app.listen(3000);
 * process.on('SIGTERM', () => server.close(() => void auth.validator.close()));
 * ```
 */
export type TokenguardMiddleware = RequestHandler & { readonly validator: Validator };

/**
 * Express middleware that authenticates each request with a bearer token and sets `req.auth`.
 *
 * Pass the validator's options (the middleware creates the validator), or a validator you created,
 * with the adapter options `optional`, `transport`, `onError` and `clientCertificate`. Failures
 * answer per RFC 6750: 400/401/403 with `WWW-Authenticate`, 503 with `Retry-After`, body
 * `{ error, error_description }`.
 * With `onError: 'next'` the {@link TokenGuardError} goes to your error handler instead.
 *
 * With the validator's `dpop` option, `Authorization: DPoP` tokens are accepted with their `DPoP`
 * proof (RFC 9449), checked against `req.method` and the URL `req.protocol://host` +
 * `req.originalUrl` (the host from `X-Forwarded-Host` only when `trust proxy` trusts the peer, as
 * Express 5's `req.host`), or `dpop.origin` + `req.originalUrl` when that option is set.
 *
 * With the validator's `mtls` option, a token bound to a client certificate (`cnf.x5t#S256`,
 * RFC 8705) is accepted only with that certificate: the TLS connection's (an HTTPS server with
 * `requestCert: true`), or what the adapter option `clientCertificate(req)` returns (TLS ended at a
 * proxy that forwards the certificate).
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { tokenguard, requireScopes } from '@tokenguard/express';
 *
 * const app = express();
 * app.use(tokenguard({ issuer: 'https://id.example', audience: 'https://api.example' }));
 * app.get('/orders', requireScopes('orders:read'), (req, res) => {
 *   res.json({ caller: req.auth?.subject });
 * });
 *
 * // DPoP-bound tokens too, behind a proxy that owns the public address:
 * app.use(tokenguard({ issuer, audience, dpop: { origin: 'https://api.example' } }));
 *
 * // Certificate-bound tokens, on https.createServer({ requestCert: true, ... }, app):
 * app.use(tokenguard({ issuer, audience, mtls: true }));
 * ```
 */
export function tokenguard(options: TokenguardOptions): TokenguardMiddleware;
export function tokenguard(validator: Validator, options?: AdapterOptions): TokenguardMiddleware;
export function tokenguard(
  validatorOrOptions: Validator | TokenguardOptions,
  adapterOptions?: AdapterOptions,
): TokenguardMiddleware {
  const settings = resolveAdapterOptions(validatorOrOptions, adapterOptions);
  const { validator, optional, transport, onError } = settings;
  const authOptions = { transport, optional };
  const cachedBearer = createCachedBearerLookup(validator, transport);
  const readsBody = transport.body === true;
  const readsQuery = transport.query === true;
  // DPoP (RFC 9449): a proof's htm and htu are checked against the request's method and URL; the
  // origin is needed only when the validator has no `dpop.origin`. Decided once: a Bearer-only
  // validator reads nothing more per request.
  // A validator made some other way than createValidator() may have no options.
  const dpop = (validator as Partial<Validator>).options?.dpop;
  const readsRequestLine = readsBody || dpop !== undefined;
  const readsOrigin = dpop !== undefined && dpop.origin === undefined;
  // mTLS (RFC 8705): the client certificate, read only when the validator has `mtls`.
  const certificateOf = clientCertificateReader(settings, socketOfConnection);
  let formParser: RequestHandler | undefined;
  installAuthAccessor();

  /**
   * Parses a form body that no body parser has read (its stream has not ended), so `access_token`
   * can be read. Whether the body was read is judged by the stream, not by `req.body`: Express 4's
   * `express.json()` sets `req.body = {}` on every request, a form one included, without reading it.
   */
  function parseForm(req: Request, res: Response): Promise<void> {
    // As every adapter reads a form (core's readFormBody follows this parser's defaults): at most
    // 100 KiB and 1000 parameters (413 past either), never inflated (415 for any Content-Encoding).
    formParser ??= express.urlencoded({ extended: false, limit: FORM_BODY_MAX_BYTES, inflate: false });
    return new Promise<void>((resolve, reject) => {
      (formParser as RequestHandler)(req, res, (error?: unknown) =>
        error === undefined ? resolve() : reject(error),
      );
    });
  }

  /**
   * Reads only what the enabled transports need: every property read on an Express 5 request
   * takes V8's slow path (each request has a hidden class of its own), and `req.body` without a
   * body parser walks the whole prototype chain.
   */
  function authenticate(req: Request): AuthenticationResult | Promise<AuthenticationResult> {
    const source: TokenSource = { headers: req.headers, rawHeaders: req.rawHeaders };
    if (readsRequestLine) source.method = req.method;
    if (readsBody) source.body = req.body;
    // originalUrl: the path from the server's root, as the client addressed it (a router or sub-app
    // mounted on a path sees `req.url` without that path).
    if (readsQuery || dpop !== undefined) source.url = req.originalUrl;
    if (readsOrigin) source.origin = requestOrigin(req);
    if (certificateOf !== undefined) source.clientCertificate = certificateOf(req);
    return authenticateRequestNow(validator, source, authOptions);
  }

  const middleware = function tokenguard(req: Request, res: Response, next: NextFunction): void {
    enterMiddleware(req, settings);
    // A token the validator verified before, sent the plainest way: answered without building a source.
    const cached = cachedBearer?.(req.headers.authorization, req.rawHeaders);
    if (cached !== undefined) {
      try {
        req.auth = cached;
      } catch (error) {
        handleError(error, res, next, onError);
        return;
      }
      next();
      return;
    }
    const onSuccess = (result: AuthenticationResult): void => {
      // Called from a promise for a fresh token: a throw here (an app that made `auth` read-only,
      // headers already sent) would be an unhandled rejection and a request left hanging.
      try {
        req.auth = result.auth;
        if (result.transport === 'query') {
          const cacheControl = queryTokenCacheControl(res.getHeader('cache-control'));
          if (cacheControl !== undefined) res.setHeader('cache-control', cacheControl);
        }
      } catch (error) {
        handleError(error, res, next, onError);
        return;
      }
      next();
    };
    const onFailure = (error: unknown): void => handleError(error, res, next, onError);
    if (readsBody && !req.readableEnded && isFormTokenRequest(req.method, req.get('content-type'))) {
      parseForm(req, res)
        .then(() => authenticate(req))
        .then(onSuccess, onFailure);
      return;
    }
    // A token verified before: next() at once. Otherwise one promise (the validator's) between
    // the request and next().
    const result = authenticate(req);
    if (result instanceof Promise) result.then(onSuccess, onFailure);
    else onSuccess(result);
  };
  return Object.assign(middleware, { validator });
}
