import {
  assertClaimArguments,
  assertScopeArguments,
  type ClaimRequirement,
  type Requirements,
  type ScopeRule,
  type TenantSelectorOf,
} from '@tokenguard/core';
import type { FastifyRequest } from 'fastify';

/**
 * A tenant, several, or a function of the request that names them (a route param, a header, the host).
 *
 * @example
 * ```ts
 * const fromParam: TenantSelector = (request) => (request.params as { tenant: string }).tenant;
 * app.get('/tenants/:tenant/orders', { config: { auth: { tenant: fromParam } } }, listOrders);
 * app.get('/acme/orders', { preHandler: app.requireTenant(['acme', 'acme-eu']) }, listOrders);
 * ```
 */
export type TenantSelector = TenantSelectorOf<FastifyRequest>;

/**
 * What a route requires, declared in its `config.auth` (or `false` for a public route).
 *
 * @example
 * ```ts
 * app.get('/orders', { config: { auth: { scopes: ['orders:read'] } } }, listOrders);
 * app.get('/health', { config: { auth: false } }, health);
 * ```
 */
export interface RouteAuthOptions {
  /** Every one of these scopes. */
  scopes?: readonly string[];
  /** At least one of these scopes. */
  anyScopes?: readonly string[];
  /** The token's tenant must be this one. */
  tenant?: TenantSelector;
  /** Every one of these claim requirements. */
  claims?: readonly ClaimRequirement[];
  /** Anonymous requests pass with `request.auth === null`; bad tokens still fail. */
  optional?: boolean;
}

/** A route's compiled auth settings. */
export interface RouteAuth {
  optional: boolean | undefined;
  requirements: ((request: FastifyRequest) => Requirements) | undefined;
}

const KEYS = new Set(['scopes', 'anyScopes', 'tenant', 'claims', 'optional']);

/** Checks a route's `config.auth` once, when the route is added (a `TypeError` surfaces at `ready()`). */
export function compileRouteAuth(url: string, value: unknown): RouteAuth {
  if (value === undefined) return { optional: undefined, requirements: undefined };
  const where = `route ${url}: config.auth`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`tokenguard: ${where} must be an object or false`);
  }
  for (const key of Object.keys(value)) {
    if (!KEYS.has(key))
      throw new TypeError(`tokenguard: ${where}.${key} is unknown (${[...KEYS].join(', ')})`);
  }
  const { scopes, anyScopes, tenant, claims, optional } = value as RouteAuthOptions;
  if (optional !== undefined && typeof optional !== 'boolean') {
    throw new TypeError(`tokenguard: ${where}.optional must be a boolean`);
  }
  const rules: ScopeRule[] = [];
  if (scopes !== undefined) {
    assertScopeArguments(`${where}.scopes`, asList(scopes, `${where}.scopes`));
    rules.push(...scopes);
  }
  if (anyScopes !== undefined) {
    assertScopeArguments(`${where}.anyScopes`, asList(anyScopes, `${where}.anyScopes`));
    rules.push({ anyOf: anyScopes });
  }
  if (claims !== undefined) assertClaimArguments(`${where}.claims`, asList(claims, `${where}.claims`));
  if (
    tenant !== undefined &&
    typeof tenant !== 'function' &&
    typeof tenant !== 'string' &&
    !Array.isArray(tenant)
  ) {
    throw new TypeError(`tokenguard: ${where}.tenant must be a tenant, a list or a function of the request`);
  }
  const fixed: Requirements = {
    ...(rules.length > 0 ? { scopes: { allOf: rules } } : {}),
    ...(claims !== undefined ? { claims } : {}),
  };
  if (tenant === undefined) {
    return { optional, requirements: rules.length > 0 || claims !== undefined ? () => fixed : undefined };
  }
  return {
    optional,
    requirements: (request) => ({
      ...fixed,
      tenant: typeof tenant === 'function' ? tenant(request) : tenant,
    }),
  };
}

function asList(value: unknown, where: string): readonly unknown[] {
  if (!Array.isArray(value)) throw new TypeError(`tokenguard: ${where} must be a list`);
  return value;
}
