import {
  type AuthenticationRequirement,
  type ClaimRequirement,
  enforceRequirements,
  type Requirements,
  routeGuardRequirements,
  type TenantSelectorOf,
} from '@tokenguard/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { middlewareSettings } from './request-state.js';
import { handleError } from './respond.js';

/**
 * A tenant, several, or a function of the request that names them (a route param, a header, the host).
 *
 * @example
 * ```ts
 * const fromParam: TenantSelector = (req) => req.params.tenant;
 * const fromHeader: TenantSelector = (req) => req.get('x-tenant');
 * app.get('/tenants/:tenant/orders', requireTenant(fromParam), listOrders);
 * app.get('/orders', requireTenant(fromHeader), listOrders);
 * app.get('/acme/orders', requireTenant(['acme', 'acme-eu']), listOrders);
 * ```
 */
export type TenantSelector = TenantSelectorOf<Request>;

function guard(name: string, requirements: (req: Request) => Requirements): RequestHandler {
  const handler = (req: Request, res: Response, next: NextFunction): void => {
    const context = middlewareSettings(req);
    if (context === undefined) {
      next(new Error(`tokenguard: ${name}() runs after tokenguard() on the same request; it did not run`));
      return;
    }
    try {
      enforceRequirements(context.validator, req.auth, requirements(req), req);
    } catch (error) {
      handleError(error, res, next, context.onError);
      return;
    }
    next();
  };
  Object.defineProperty(handler, 'name', { value: name });
  return handler;
}

/**
 * Route middleware: the token must hold every one of `scopes`, else 403 `insufficient_scope` with
 * the `scope` parameter naming them.
 *
 * @example
 * ```ts
 * app.post('/orders', requireScopes('orders:write'), createOrder);
 * ```
 */
export function requireScopes(...scopes: string[]): RequestHandler {
  return guard('requireScopes', routeGuardRequirements<Request>('requireScopes', scopes));
}

/**
 * Route middleware: the token must hold at least one of `scopes`.
 *
 * @example
 * ```ts
 * app.get('/reports', requireAnyScope('reports:read', 'admin'), listReports);
 * ```
 */
export function requireAnyScope(...scopes: string[]): RequestHandler {
  return guard('requireAnyScope', routeGuardRequirements<Request>('requireAnyScope', scopes));
}

/**
 * Route middleware: the token's tenant must be the route's (403 otherwise, also when the selector
 * finds no tenant).
 *
 * @example
 * ```ts
 * app.get('/tenants/:tenant/orders', requireTenant((req) => req.params.tenant), listOrders);
 * ```
 */
export function requireTenant(tenant: TenantSelector): RequestHandler {
  return guard('requireTenant', routeGuardRequirements<Request>('requireTenant', [tenant], 'request'));
}

/**
 * Route middleware: the token's claims must meet every requirement (403 otherwise).
 *
 * @example
 * ```ts
 * app.delete('/orders/:id', requireClaims({ claim: 'roles', includes: 'admin' }), deleteOrder);
 * ```
 */
export function requireClaims(...claims: ClaimRequirement[]): RequestHandler {
  return guard('requireClaims', routeGuardRequirements<Request>('requireClaims', claims));
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
 * app.post('/orders', requireScopes('orders:write'), stepUp, createOrder);
 * ```
 */
export function requireAuthentication(authentication: AuthenticationRequirement): RequestHandler {
  return guard(
    'requireAuthentication',
    routeGuardRequirements<Request>('requireAuthentication', [authentication]),
  );
}
