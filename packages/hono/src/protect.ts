import type { AuthInfo, ResolvedAdapterOptions } from '@tokenguard/core';
import type { Context, Env, Handler, Input, Next } from 'hono';
import type { BlankEnv, BlankInput, HandlerResponse } from 'hono/types';
import { setContext } from './context.js';
import { guardRequirementsOf, refusalOf, type TokenguardGuard } from './guards.js';

/**
 * The Env of a protected handler: the app's `E`, with the middleware's own `auth` (`V`) in place of any
 * the app's Variables name, so an optional middleware's handler sees `AuthInfo | undefined` even in an
 * app typed `TokenguardVariables`.
 */
export type ProtectedEnv<E extends Env, V extends object> = E extends { Bindings: infer B extends object }
  ? { Bindings: B; Variables: ProtectedVariables<E, V> }
  : { Variables: ProtectedVariables<E, V> };

/** The app's Variables without their `auth`, and the middleware's. */
type ProtectedVariables<E extends Env, V extends object> = (E['Variables'] extends object
  ? Omit<E['Variables'], 'auth'>
  : object) &
  V;

/**
 * `auth.protect()`: a route handler that authenticates the request as the middleware `auth` does,
 * checks the guards given before the handler, then runs the handler, all as the route's one handler.
 * TypeScript cannot see through the call to the route it is given to: for typed `c.env`, app
 * variables or `c.req.param()`, name the app's Env and the path as type arguments.
 *
 * @example
 * ```ts
 * const auth = tokenguard({ issuer: 'https://id.example', audience: 'https://api.example' });
 * app.get('/api/me', auth.protect((c) => c.json({ caller: c.var.auth.subject })));
 * app.post('/api/orders', auth.protect(requireScopes('orders:write'), (c) => c.json({}, 201)));
 * type AppEnv = { Bindings: { REGION: string } };
 * app.get('/api/tenants/:tenant', auth.protect<AppEnv, '/api/tenants/:tenant'>((c) => c.text(c.req.param('tenant'))));
 * ```
 */
export interface Protect<V extends { auth: AuthInfo | undefined }> {
  <
    E extends Env = BlankEnv,
    P extends string = string,
    I extends Input = BlankInput,
    R extends HandlerResponse<unknown> = HandlerResponse<unknown>,
  >(
    handler: Handler<ProtectedEnv<E, V>, P, I, R>,
  ): Handler<ProtectedEnv<E, V>, P, I, R>;
  <
    E extends Env = BlankEnv,
    P extends string = string,
    I extends Input = BlankInput,
    R extends HandlerResponse<unknown> = HandlerResponse<unknown>,
  >(
    ...guardsThenHandler: [...TokenguardGuard[], Handler<ProtectedEnv<E, V>, P, I, R>]
  ): Handler<ProtectedEnv<E, V>, P, I, R>;
}

/** What `createProtect` needs of the middleware it belongs to. */
export interface ProtectParts {
  /** The middleware itself: the whole way, for every request the cache does not answer. */
  readonly middleware: (c: Context, next: Next) => Promise<Response | undefined>;
  /** The caller the validator's cache holds for the request's token, read as the middleware reads it. */
  readonly cachedAuth: (c: Context) => AuthInfo | undefined;
  readonly settings: ResolvedAdapterOptions;
}

type Requirement = NonNullable<ReturnType<typeof guardRequirementsOf>>;

/**
 * Makes `auth.protect` for the middleware `auth`. Hono runs a route with one handler without its
 * middleware chain (no `compose`, no promise per step); when the handler answers at once, so does
 * the route, and @hono/node-server writes the answer in the same tick. A token the validator's cache
 * holds therefore costs this route no more than reading the cache: the guards' requirements are
 * checked in order, synchronously, and the handler is called directly. Any other request goes the
 * middleware's whole way, with the guards and the handler as its `next`, so every answer (errors,
 * `onError: 'next'`, DPoP, mTLS, form bodies, `Cache-Control: private` for query tokens) is the
 * middleware's. On both ways the handler's answer means what Hono's chain makes of it (see
 * {@link asChained}), not what a route's one handler would.
 */
export function createProtect<V extends { auth: AuthInfo | undefined }>(parts: ProtectParts): Protect<V> {
  const { middleware, cachedAuth, settings } = parts;
  return ((...guardsThenHandler: unknown[]) => {
    const handler = guardsThenHandler.at(-1);
    if (typeof handler !== 'function' || guardRequirementsOf(handler) !== undefined) {
      throw new TypeError(
        'tokenguard: protect(...guards, handler): the last argument must be the route handler, a function',
      );
    }
    const requirements = guardsThenHandler.slice(0, -1).map((guard, index): Requirement => {
      const requirement = guardRequirementsOf(guard);
      if (requirement === undefined) {
        throw new TypeError(
          `tokenguard: protect() argument ${index + 1} is not a tokenguard guard (requireScopes(), requireAnyScope(), requireTenant(), requireClaims() or requireAuthentication())`,
        );
      }
      return requirement;
    });
    return protectedHandler(handler as Handler, requirements);
  }) as Protect<V>;

  /** The guards' requirements, then the handler: a refusal answers (or throws) as a guard's would. */
  function guarded(handler: Handler, requirements: readonly Requirement[], c: Context, next: Next) {
    for (const requirement of requirements) {
      const refusal = refusalOf(c, settings, requirement);
      if (refusal !== undefined) return refusal;
    }
    return handler(c, next);
  }

  function protectedHandler(handler: Handler, requirements: readonly Requirement[]): Handler {
    return (c, next) => {
      const cached = cachedAuth(c);
      if (cached !== undefined) {
        setContext(c, settings);
        c.set('auth', cached);
        const answer = guarded(handler, requirements, c, next);
        return answer instanceof Promise
          ? answer.then((settled) => asChained(c, settled))
          : asChained(c, answer);
      }
      // The middleware's whole way; its `next` is the guards and the handler. What they throw is
      // thrown once the middleware is done (so a query token's answer is still made private, as when
      // Hono's chain hands the error to app.onError inside the middleware's `next`).
      let failure: { error: unknown } | undefined;
      return middleware(c, async () => {
        try {
          const answer = await guarded(handler, requirements, c, next);
          // Any answer, as compose takes it: a Response from fetch() (a proxy) is not an instance of
          // @hono/node-server's Response class.
          if (answer && !c.finalized) c.res = answer as Response;
        } catch (error) {
          failure = { error };
        }
      }).then((refusal) => {
        if (refusal !== undefined) return refusal;
        if (failure !== undefined) throw failure.error;
        return asChained(c, undefined);
      });
    };
  }
}

/**
 * What Hono's chain makes of a handler's answer (its `compose`): a `Response` counts unless the context
 * already has one (`c.res` set, or `next()` called: a 404); with neither, the chain's error ("not
 * finalized", a 500 from app.onError). A route's one handler would instead get the `Response` it
 * returned, and a 404 for no answer.
 */
function asChained(c: Context, answer: unknown): unknown {
  if (c.finalized) return c.res;
  if (answer === undefined) {
    throw new Error(
      'Context is not finalized. Did you forget to return a Response object or `await next()`?',
    );
  }
  return answer;
}
