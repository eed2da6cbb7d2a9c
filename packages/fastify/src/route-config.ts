import {
  type AuthenticationRequirement,
  assertClaimArguments,
  assertRequirements,
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
  /**
   * Step-up (RFC 9470): the token's `acr` one of `acrValues`, its `auth_time` at most `maxAgeSec`
   * old; else 401 `insufficient_user_authentication` with `acr_values` / `max_age`. Checked after
   * scopes, tenant and claims.
   */
  authentication?: AuthenticationRequirement;
  /** Anonymous requests pass with `request.auth === null`; bad tokens still fail. */
  optional?: boolean;
}

/** A route's compiled auth settings. */
export interface RouteAuth {
  optional: boolean | undefined;
  requirements: ((request: FastifyRequest) => Requirements) | undefined;
}

const KEYS = new Set(['scopes', 'anyScopes', 'tenant', 'claims', 'authentication', 'optional']);

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
  const { scopes, anyScopes, tenant, claims, authentication, optional } = value as RouteAuthOptions;
  if (optional !== undefined && typeof optional !== 'boolean') {
    throw new TypeError(`tokenguard: ${where}.optional must be a boolean`);
  }
  // Lists are copied once checked: a caller's array changed later does not change the route.
  const rules: ScopeRule[] = [];
  if (scopes !== undefined) {
    const list = [...asList(scopes, `${where}.scopes`)];
    assertScopeArguments(`${where}.scopes`, list);
    rules.push(...list);
  }
  if (anyScopes !== undefined) {
    const list = [...asList(anyScopes, `${where}.anyScopes`)];
    assertScopeArguments(`${where}.anyScopes`, list);
    rules.push({ anyOf: list });
  }
  const claimList = claims === undefined ? undefined : [...asList(claims, `${where}.claims`)];
  if (claimList !== undefined) assertClaimArguments(`${where}.claims`, claimList);
  const fixedTenant =
    tenant === undefined || typeof tenant === 'function' ? undefined : checkTenant(tenant, `${where}.tenant`);
  const fixed: Requirements = {
    ...(rules.length > 0 ? { scopes: { allOf: rules } } : {}),
    ...(claimList !== undefined ? { claims: claimList } : {}),
    ...(authentication !== undefined ? { authentication: copyAuthentication(authentication, where) } : {}),
  };
  // Malformed claim or authentication requirements are a TypeError now, not a 500 on every request.
  assertRequirements(fixed);
  if (tenant === undefined) {
    const any = rules.length > 0 || claims !== undefined || authentication !== undefined;
    return { optional, requirements: any ? () => fixed : undefined };
  }
  if (typeof tenant !== 'function') {
    const withTenant: Requirements = { ...fixed, tenant: fixedTenant };
    return { optional, requirements: () => withTenant };
  }
  return { optional, requirements: (request) => ({ ...fixed, tenant: tenant(request) }) };
}

/**
 * A fixed tenant (or list) of a route: non-empty strings, copied. A list holding anything else
 * would be a 500 on every request; `''` or `[]` would be a 403 on every request.
 */
function checkTenant(tenant: unknown, where: string): string | readonly string[] {
  const list = typeof tenant === 'string' ? [tenant] : Array.isArray(tenant) ? [...tenant] : undefined;
  if (list === undefined) {
    throw new TypeError(`tokenguard: ${where} must be a tenant, a list or a function of the request`);
  }
  if (list.length === 0 || list.some((entry) => typeof entry !== 'string' || entry === '')) {
    throw new TypeError(`tokenguard: ${where} must be a non-empty tenant or a non-empty list of them`);
  }
  return typeof tenant === 'string' ? tenant : (list as string[]);
}

/**
 * A copy of a checked `config.auth` (its lists and claim requirements copied), which the plugin puts
 * in the route's config: the caller's arrays changed later do not change what the route requires.
 *
 * @example
 * ```ts
 * route.config = { ...route.config, auth: snapshotRouteAuth(route.config.auth) };
 * ```
 */
export function snapshotRouteAuth(value: RouteAuthOptions): RouteAuthOptions {
  const copy: Record<string, unknown> = { ...value };
  const { authentication } = value;
  if (authentication !== null && typeof authentication === 'object' && !Array.isArray(authentication)) {
    const { acrValues } = authentication;
    copy.authentication = Array.isArray(acrValues)
      ? { ...authentication, acrValues: [...acrValues] }
      : { ...authentication };
  }
  for (const key of ['scopes', 'anyScopes', 'tenant', 'claims'] as const) {
    const entry = value[key];
    if (Array.isArray(entry)) {
      copy[key] = entry.map((item: unknown) =>
        item !== null && typeof item === 'object' ? { ...(item as object) } : item,
      );
    }
  }
  return copy as RouteAuthOptions;
}

/**
 * `config.auth.authentication`, checked (a `TypeError` naming the route and the key, such as
 * `authentication.maxAgeSec`) and copied with its `acrValues`.
 */
function copyAuthentication(value: unknown, where: string): AuthenticationRequirement {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`tokenguard: ${where}.authentication must be an object like { acrValues: [...] }`);
  }
  const copy: Record<string, unknown> = { ...value };
  if (Array.isArray(copy.acrValues)) copy.acrValues = [...copy.acrValues];
  try {
    assertRequirements({ authentication: copy });
  } catch (error) {
    throw new TypeError(`tokenguard: ${where}: ${(error as Error).message.replace(/^tokenguard: /, '')}`);
  }
  return copy as unknown as AuthenticationRequirement;
}

function asList(value: unknown, where: string): readonly unknown[] {
  if (!Array.isArray(value)) throw new TypeError(`tokenguard: ${where} must be a list`);
  return value;
}
