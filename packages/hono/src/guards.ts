import {
  type AuthenticationRequirement,
  type ClaimRequirement,
  enforceRequirements,
  type Requirements,
  type ResolvedAdapterOptions,
  routeGuardRequirements,
  type TenantSelectorOf,
} from '@tokenguard/core';
import type { Context, MiddlewareHandler, Next } from 'hono';
import { getContext, handleError } from './context.js';
import type { OptionalTokenguardVariables } from './middleware.js';

/**
 * A tenant, several, or a function of the context that names them (a route param, a header, the host).
 *
 * @example
 * ```ts
 * const fromParam: TenantSelector = (c) => c.req.param('tenant');
 * const fromHost: TenantSelector = (c) => new URL(c.req.url).hostname.split('.')[0];
 * app.get('/api/tenants/:tenant/orders', requireTenant(fromParam), listOrders);
 * app.get('/api/orders', requireTenant(fromHost), listOrders);
 * ```
 */
export type TenantSelector = TenantSelectorOf<Context>;

/**
 * A route guard; after it, `c.var.auth` is set.
 *
 * @example
 * ```ts
 * const canWrite: TokenguardGuard = requireScopes('orders:write');
 * app.post('/api/orders', canWrite, (c) => c.json({ by: c.var.auth?.subject }, 201));
 * ```
 */
export type TokenguardGuard = MiddlewareHandler<{ Variables: OptionalTokenguardVariables }>;

/** What a guard requires of a request, kept on it for `protect()`, which checks it without a chain. */
const REQUIREMENTS = Symbol('tokenguard.requirements');
type RequirementsOf = (c: Context) => Requirements;

/**
 * The requirements of a guard made by this module (`requireScopes()` and the others), or `undefined`
 * for any other value.
 *
 * @example
 * ```ts
 * const check = guardRequirementsOf(requireScopes('orders:write'));
 * if (check !== undefined) enforceRequirements(validator, c.get('auth'), check(c));
 * ```
 */
export function guardRequirementsOf(value: unknown): RequirementsOf | undefined {
  return typeof value === 'function'
    ? (value as { [REQUIREMENTS]?: RequirementsOf })[REQUIREMENTS]
    : undefined;
}

/**
 * Checks one guard's requirements against `c.var.auth` with the middleware's settings: `undefined`
 * when met, else the refusal (RFC 6750), or a throw to `app.onError` with `onError: 'next'`.
 *
 * @example
 * ```ts
 * const refusal = refusalOf(c, settings, requirementsOf);
 * if (refusal !== undefined) return refusal;
 * ```
 */
export function refusalOf(
  c: Context,
  settings: ResolvedAdapterOptions,
  requirements: RequirementsOf,
): Response | undefined {
  try {
    enforceRequirements(settings.validator, c.get('auth'), requirements(c), c);
    return undefined;
  } catch (error) {
    return handleError(c, error, settings.onError);
  }
}

function guard(name: string, requirements: RequirementsOf): TokenguardGuard {
  const handler = async (c: Context, next: Next): Promise<Response | undefined> => {
    const context = getContext(c);
    if (context === undefined) {
      throw new Error(`tokenguard: ${name}() runs after tokenguard() on the same request; it did not run`);
    }
    const refusal = refusalOf(c, context, requirements);
    if (refusal !== undefined) return refusal;
    await next();
    return undefined;
  };
  Object.defineProperty(handler, 'name', { value: name });
  Object.defineProperty(handler, REQUIREMENTS, { value: requirements });
  return handler;
}

/**
 * Route middleware: the token must hold every one of `scopes` (403 `insufficient_scope` with `scope`).
 *
 * @example
 * ```ts
 * app.post('/api/orders', requireScopes('orders:write'), createOrder);
 * ```
 */
export function requireScopes(...scopes: string[]): TokenguardGuard {
  return guard('requireScopes', routeGuardRequirements<Context>('requireScopes', scopes));
}

/**
 * Route middleware: the token must hold at least one of `scopes`.
 *
 * @example
 * ```ts
 * app.get('/api/reports', requireAnyScope('reports:read', 'admin'), listReports);
 * ```
 */
export function requireAnyScope(...scopes: string[]): TokenguardGuard {
  return guard('requireAnyScope', routeGuardRequirements<Context>('requireAnyScope', scopes));
}

/**
 * Route middleware: the token's tenant must be the route's (403 otherwise, also when none is found).
 *
 * @example
 * ```ts
 * app.get('/api/tenants/:tenant/orders', requireTenant((c) => c.req.param('tenant')), listOrders);
 * ```
 */
export function requireTenant(tenant: TenantSelector): TokenguardGuard {
  return guard('requireTenant', routeGuardRequirements<Context>('requireTenant', [tenant], 'context'));
}

/**
 * Route middleware: the token's claims must meet every requirement (403 otherwise).
 *
 * @example
 * ```ts
 * app.delete('/api/orders/:id', requireClaims({ claim: 'roles', includes: 'admin' }), deleteOrder);
 * ```
 */
export function requireClaims(...claims: ClaimRequirement[]): TokenguardGuard {
  return guard('requireClaims', routeGuardRequirements<Context>('requireClaims', claims));
}

/**
 * Route middleware: the user behind the token must have authenticated as the route requires (RFC
 * 9470 step-up): `acr` one of `acrValues`, `auth_time` at most `maxAgeSec` old (the validator's clock
 * and tolerance). Otherwise 401 `insufficient_user_authentication` whose challenge carries
 * `acr_values` / `max_age`, for the client to obtain a new token that meets them. Put it after the
 * scope guards: a missing scope (403) is answered first, since stepping up would not cure it.
 *
 * @example
 * ```ts
 * const stepUp = requireAuthentication({ acrValues: ['urn:example:mfa'], maxAgeSec: 300 });
 * app.post('/api/orders', requireScopes('orders:write'), stepUp, createOrder);
 * ```
 */
export function requireAuthentication(authentication: AuthenticationRequirement): TokenguardGuard {
  return guard(
    'requireAuthentication',
    routeGuardRequirements<Context>('requireAuthentication', [authentication]),
  );
}
