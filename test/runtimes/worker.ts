/**
 * The app the cross-runtime test bundles (see runtimes.test.ts): a Hono app guarded by
 * `@tokenguard/hono`, in the module-worker shape workerd serves (`export default { fetch }`); the
 * Bun and Deno launcher (serve.ts) and the Node reference call the same {@link handleRequest}.
 *
 * Routes, under `/inline` and `/offthread` (`verifyOffThread` false / true):
 * - `GET /api/me`: guarded; 200 `{ sub }`, or the tokenguard error as
 *   `{ code, error, error_description }` with its status and `WWW-Authenticate`.
 * - `GET /api/mfa`: also `requireAuthentication` ({@link STEP_UP}, RFC 9470); answers as `/api/me`.
 * - `/.well-known/oauth-protected-resource/mcp`: the RFC 9728 metadata of {@link RESOURCE}, served
 *   by `protectedResourceMetadata`; the validator's challenges name it in `resource_metadata`.
 * - `GET /construct/ps256`: constructs a middleware with `algorithms: ['PS256']` and reports
 *   `{ constructed: true }` or the thrown error's `{ constructed: false, name, message }`.
 * - `GET /health`: 200 `ok`.
 *
 * @example
 * ```ts
 * const res = await handleRequest(new Request('http://app.test/inline/api/me'), env);
 * ```
 */
import { createValidator, isTokenGuardError } from '@tokenguard/core';
import {
  type AuthenticationRequirement,
  protectedResourceMetadata,
  requireAuthentication,
  type TokenguardVariables,
  tokenguard,
} from '@tokenguard/hono';
import { Hono } from 'hono';

/** The app's settings, as workerd bindings (text) or environment variables. */
export interface RuntimeAppEnv {
  ISSUER: string;
  AUDIENCE: string;
  JWKS_URI: string;
}

type Mode = 'inline' | 'offthread';

// Not exported: workerd takes every export of the module for a handler. runtimes.test.ts states them.
/** The resource identifier the app's RFC 9728 metadata describes. */
const RESOURCE = 'https://app.test/mcp';

/** What `GET /api/mfa` requires of the user's authentication. */
const STEP_UP: AuthenticationRequirement = { acrValues: ['urn:example:mfa'], maxAgeSec: 3600 };

function createApp(env: RuntimeAppEnv, mode: Mode): Hono<{ Variables: TokenguardVariables }> {
  const validator = createValidator({
    issuer: env.ISSUER,
    audience: env.AUDIENCE,
    jwksUri: env.JWKS_URI,
    verifyOffThread: mode === 'offthread',
    resourceMetadata: { resource: RESOURCE },
  });
  const app = new Hono<{ Variables: TokenguardVariables }>();
  app.use(protectedResourceMetadata(validator));
  app.use('/api/*', tokenguard(validator, { onError: 'next' }));
  app.get('/api/me', (c) => c.json({ sub: c.var.auth.subject }));
  app.get('/api/mfa', requireAuthentication(STEP_UP), (c) => c.json({ sub: c.var.auth.subject }));
  app.onError((error, c) => {
    if (!isTokenGuardError(error)) return c.json({ unexpected: String(error) }, 500);
    return c.json({ code: error.code, ...error.toJSON() }, error.status, error.headers);
  });
  return app;
}

function constructPs256(env: RuntimeAppEnv): Record<string, unknown> {
  try {
    const middleware = tokenguard({
      issuer: env.ISSUER,
      audience: env.AUDIENCE,
      jwksUri: env.JWKS_URI,
      algorithms: ['PS256'],
    });
    void middleware.validator.close();
    return { constructed: true };
  } catch (error) {
    const { name, message } = error instanceof Error ? error : { name: typeof error, message: String(error) };
    return { constructed: false, name, message };
  }
}

// Built on the first request, not at module load: workerd allows no crypto or I/O at global scope.
const apps = new Map<Mode, Hono<{ Variables: TokenguardVariables }>>();

/**
 * Answers one request (see the module comment for the routes).
 *
 * @example
 * ```ts
 * export default { fetch: handleRequest };
 * ```
 */
export async function handleRequest(request: Request, env: RuntimeAppEnv): Promise<Response> {
  const url = new URL(request.url);
  const [, first, ...rest] = url.pathname.split('/');
  if (first === 'health') return new Response('ok');
  if (first === 'construct' && rest.join('/') === 'ps256') return Response.json(constructPs256(env));
  if (first !== 'inline' && first !== 'offthread') return new Response('not found', { status: 404 });
  let app = apps.get(first);
  if (app === undefined) {
    app = createApp(env, first);
    apps.set(first, app);
  }
  url.pathname = `/${rest.join('/')}`;
  return app.fetch(new Request(url, request));
}

export default { fetch: handleRequest };
