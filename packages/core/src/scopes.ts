import { TokenGuardError } from './errors.js';

/**
 * A scope requirement as a plain value: a scope, all of several, or any of several, nested freely.
 *
 * @example
 * ```ts
 * // orders:read, and one of orders:write or admin
 * const rule: ScopeRule = { allOf: ['orders:read', { anyOf: ['orders:write', 'admin'] }] };
 * ```
 */
export type ScopeRule =
  | string
  | { readonly allOf: readonly ScopeRule[] }
  | { readonly anyOf: readonly ScopeRule[] };

/** The scope claims read by default: `scope` (RFC 9068, string or list) and `scp` (Okta, Entra ID). */
export const DEFAULT_SCOPE_CLAIMS: readonly string[] = ['scope', 'scp'];

/**
 * Collects the scopes of a token from the given claims. Each claim may be a space-delimited string
 * or a list of strings; scopes are compared whole and case-sensitively.
 *
 * @example
 * ```ts
 * readScopes({ scope: 'a b', scp: ['c'] }, ['scope', 'scp']); // Set { 'a', 'b', 'c' }
 * ```
 */
export function readScopes(
  claims: Readonly<Record<string, unknown>>,
  scopeClaims: readonly string[],
): Set<string> {
  const scopes = new Set<string>();
  for (const name of scopeClaims) {
    const value = claims[name];
    if (typeof value === 'string') {
      for (const scope of value.split(' ')) if (scope !== '') scopes.add(scope);
    } else if (Array.isArray(value)) {
      for (const scope of value) if (typeof scope === 'string' && scope !== '') scopes.add(scope);
    }
  }
  return scopes;
}

/**
 * Whether `scopes` satisfy `rule`.
 *
 * @example
 * ```ts
 * satisfiesScopes({ anyOf: ['a', 'b'] }, new Set(['b'])); // true
 * ```
 */
export function satisfiesScopes(rule: ScopeRule, scopes: ReadonlySet<string>): boolean {
  if (typeof rule === 'string') return scopes.has(rule);
  if ('allOf' in rule) return rule.allOf.every((part) => satisfiesScopes(part, scopes));
  return rule.anyOf.some((part) => satisfiesScopes(part, scopes));
}

/**
 * A smallest set of scopes that satisfies `rule`, preferring the alternatives the token already
 * holds: the value of the `scope` parameter of a 403 (RFC 6750 §3).
 *
 * @example
 * ```ts
 * neededScopes({ allOf: ['a', { anyOf: ['b', 'c'] }] }, new Set(['c'])); // ['a', 'c']
 * ```
 */
export function neededScopes(rule: ScopeRule, scopes: ReadonlySet<string>): string[] {
  const result = new Set<string>();
  const walk = (part: ScopeRule): void => {
    if (typeof part === 'string') result.add(part);
    else if ('allOf' in part) part.allOf.forEach(walk);
    else {
      const held = part.anyOf.find((option) => satisfiesScopes(option, scopes));
      const first = held ?? part.anyOf[0];
      if (first !== undefined) walk(first);
    }
  };
  walk(rule);
  return [...result];
}

/** Throws `ERR_INSUFFICIENT_SCOPE` (403, with the `scope` parameter) unless `scopes` satisfy `rule`. */
export function assertScopes(rule: ScopeRule, scopes: ReadonlySet<string>): void {
  if (satisfiesScopes(rule, scopes)) return;
  const needed = neededScopes(rule, scopes);
  const missing = needed.filter((scope) => !scopes.has(scope));
  throw new TokenGuardError('ERR_INSUFFICIENT_SCOPE', {
    message: `The token lacks the scope${missing.length === 1 ? '' : 's'} ${missing.join(', ')}`,
    scope: needed.join(' '),
    expected: needed,
  });
}
