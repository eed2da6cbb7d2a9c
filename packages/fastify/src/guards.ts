import {
  type AuthenticationRequirement,
  type ClaimRequirement,
  enforceRequirements,
  type Requirements,
  routeGuardRequirements,
} from '@tokenguard/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { getContext } from './context.js';
import { handleError } from './respond.js';
import type { TenantSelector } from './route-config.js';

/**
 * A route guard for `preHandler` (also available as `app.requireScopes(...)` and friends).
 *
 * @example
 * ```ts
 * const canWrite: TokenguardGuard = requireScopes('orders:write'); // or app.requireScopes(...)
 * app.post('/orders', { preHandler: [canWrite] }, createOrder);
 * ```
 */
export type TokenguardGuard = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

function guard(name: string, requirements: (request: FastifyRequest) => Requirements): TokenguardGuard {
  const hook = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const context = getContext(request);
    if (context === undefined) {
      throw new Error(
        `tokenguard: ${name}() needs the @tokenguard/fastify plugin on this route; it did not run`,
      );
    }
    try {
      enforceRequirements(context.validator, request.auth, requirements(request), request);
    } catch (error) {
      return handleError(error, reply, context.onError);
    }
    return undefined;
  };
  Object.defineProperty(hook, 'name', { value: name });
  guards.add(hook);
  return hook;
}

const guards = new WeakSet<object>();

/** Whether `value` is a guard made by `requireScopes()` and the other factories of this module. */
export function isTokenguardGuard(value: unknown): value is TokenguardGuard {
  return typeof value === 'function' && guards.has(value);
}

/**
 * `preHandler` guard: the token must hold every one of `scopes` (403 `insufficient_scope` with `scope`).
 *
 * @example
 * ```ts
 * app.post('/orders', { preHandler: app.requireScopes('orders:write') }, createOrder);
 * ```
 */
export function requireScopes(...scopes: string[]): TokenguardGuard {
  return guard('requireScopes', routeGuardRequirements<FastifyRequest>('requireScopes', scopes));
}

/**
 * `preHandler` guard: the token must hold at least one of `scopes`.
 *
 * @example
 * ```ts
 * app.get('/reports', { preHandler: app.requireAnyScope('reports:read', 'admin') }, listReports);
 * ```
 */
export function requireAnyScope(...scopes: string[]): TokenguardGuard {
  return guard('requireAnyScope', routeGuardRequirements<FastifyRequest>('requireAnyScope', scopes));
}

/**
 * `preHandler` guard: the token's tenant must be the route's (403 otherwise, also when none is found).
 *
 * @example
 * ```ts
 * app.get<{ Params: { tenant: string } }>('/tenants/:tenant/orders', {
 *   preHandler: app.requireTenant((request) => (request.params as { tenant: string }).tenant),
 * }, listOrders);
 * ```
 */
export function requireTenant(tenant: TenantSelector): TokenguardGuard {
  return guard('requireTenant', routeGuardRequirements<FastifyRequest>('requireTenant', [tenant], 'request'));
}

/**
 * `preHandler` guard: the token's claims must meet every requirement (403 otherwise).
 *
 * @example
 * ```ts
 * app.delete('/orders/:id', { preHandler: app.requireClaims({ claim: 'roles', includes: 'admin' }) }, del);
 * ```
 */
export function requireClaims(...claims: ClaimRequirement[]): TokenguardGuard {
  return guard('requireClaims', routeGuardRequirements<FastifyRequest>('requireClaims', claims));
}

/**
 * `preHandler` guard: the user behind the token must have authenticated as the route requires (RFC
 * 9470 step-up): `acr` one of `acrValues`, `auth_time` at most `maxAgeSec` old (the validator's clock
 * and tolerance). Otherwise 401 `insufficient_user_authentication` whose challenge carries
 * `acr_values` / `max_age`. `config.auth.authentication` declares the same on the route itself.
 *
 * @example
 * ```ts
 * app.post('/orders', { preHandler: app.requireAuthentication({ acrValues: ['urn:example:mfa'] }) }, createOrder);
 * ```
 */
export function requireAuthentication(authentication: AuthenticationRequirement): TokenguardGuard {
  return guard(
    'requireAuthentication',
    routeGuardRequirements<FastifyRequest>('requireAuthentication', [authentication]),
  );
}
