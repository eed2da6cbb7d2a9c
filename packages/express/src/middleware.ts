import {
  type AdapterOptions,
  type AuthenticationResult,
  authenticateRequestNow,
  isFormTokenRequest,
  queryTokenCacheControl,
  resolveAdapterOptions,
  type TokenguardOptions,
  type TokenSource,
  type Validator,
} from '@tokenguard/core';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
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
 * with the adapter options `optional`, `transport` and `onError`. Failures answer per RFC 6750:
 * 400/401/403 with `WWW-Authenticate`, 503 with `Retry-After`, body `{ error, error_description }`.
 * With `onError: 'next'` the {@link TokenGuardError} goes to your error handler instead.
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
  const readsBody = transport.body === true;
  const readsQuery = transport.query === true;
  let formParser: RequestHandler | undefined;
  installAuthAccessor();

  /**
   * Parses a form body that no body parser has read (its stream has not ended), so `access_token`
   * can be read. Whether the body was read is judged by the stream, not by `req.body`: Express 4's
   * `express.json()` sets `req.body = {}` on every request, a form one included, without reading it.
   */
  function parseForm(req: Request, res: Response): Promise<void> {
    formParser ??= express.urlencoded({ extended: false });
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
    if (readsBody) {
      source.method = req.method;
      source.body = req.body;
    }
    if (readsQuery) source.url = req.originalUrl;
    return authenticateRequestNow(validator, source, authOptions);
  }

  const middleware = function tokenguard(req: Request, res: Response, next: NextFunction): void {
    enterMiddleware(req, settings);
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
