import type { AuthInfo } from './auth-info.js';
import { TokenGuardError } from './errors.js';
import { assertScopes, type ScopeRule } from './scopes.js';

/**
 * A check on one claim of a verified token. Failing it is a 403 (`insufficient_scope`).
 *
 * @example
 * ```ts
 * const isAdmin: ClaimRequirement = { claim: 'roles', includes: 'admin' };
 * const sameOrg: ClaimRequirement = { claim: 'org_id', equals: 'acme' };
 * const custom: ClaimRequirement = { test: (auth) => auth.subject !== undefined, description: 'a subject' };
 * ```
 */
export type ClaimRequirement =
  | { readonly claim: string; readonly equals: string | number | boolean }
  | { readonly claim: string; readonly includes: string | number }
  | { readonly test: (auth: AuthInfo) => boolean; readonly description: string };

/**
 * What a route requires of a verified token, as plain values.
 *
 * @example
 * ```ts
 * await validator.validate(header, { scopes: ['orders:read'] });
 * await validator.validate(header, { scopes: { anyOf: ['orders:write', 'admin'] }, tenant: 'acme' });
 * ```
 */
export interface Requirements {
  /** A list is all-of; a {@link ScopeRule} expresses any-of and combinations. */
  readonly scopes?: readonly string[] | ScopeRule;
  /** The token's tenant must be this one (or one of these). */
  readonly tenant?: string | readonly string[];
  readonly claims?: readonly ClaimRequirement[];
}

/**
 * Applies a route's requirements to a verified token: throws the 403 error that names what is
 * missing, or returns.
 *
 * @example
 * ```ts
 * checkRequirements(auth, { scopes: ['read'], tenant: req.params.tenant });
 * ```
 */
export function checkRequirements(auth: AuthInfo, requirements: Requirements | undefined): void {
  if (requirements === undefined) return;
  const { scopes, tenant, claims } = requirements;
  if (scopes !== undefined) {
    assertScopes(
      Array.isArray(scopes) ? { allOf: scopes as readonly string[] } : (scopes as ScopeRule),
      auth.scopes,
    );
  }
  if (tenant !== undefined) assertTenant(auth, tenant);
  if (claims !== undefined) for (const requirement of claims) assertClaim(auth, requirement);
}

/** Throws `ERR_TENANT_MISMATCH` (403) unless the token's tenant is `expected` (or one of them). */
export function assertTenant(auth: AuthInfo, expected: string | readonly string[]): void {
  const allowed = typeof expected === 'string' ? [expected] : expected;
  if (auth.tenant !== undefined && allowed.includes(auth.tenant)) return;
  throw new TokenGuardError('ERR_TENANT_MISMATCH', {
    message:
      auth.tenant === undefined
        ? 'The token names no tenant, and this route belongs to one'
        : 'The token belongs to another tenant than this route',
  });
}

function assertClaim(auth: AuthInfo, requirement: ClaimRequirement): void {
  if ('test' in requirement) {
    if (requirement.test(auth) === true) return;
    throw new TokenGuardError('ERR_CLAIM_REQUIREMENT', {
      message: `The token does not meet the requirement: ${requirement.description}`,
    });
  }
  const value = auth.claims[requirement.claim];
  const ok =
    'equals' in requirement
      ? value === requirement.equals
      : Array.isArray(value)
        ? value.includes(requirement.includes)
        : typeof value === 'string' && value.split(' ').includes(String(requirement.includes));
  if (ok) return;
  throw new TokenGuardError('ERR_CLAIM_REQUIREMENT', {
    claim: requirement.claim,
    message:
      'equals' in requirement
        ? `The claim ${requirement.claim} does not have the value this route requires`
        : `The claim ${requirement.claim} does not include the value this route requires`,
  });
}
