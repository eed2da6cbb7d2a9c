import { TokenGuardError } from './errors.js';
import { ReadOnlySet } from './lib/read-only-set.js';

/**
 * A scope requirement as a plain value: a scope, all of several, or any of several, nested freely.
 * Lists must not be empty (an empty all-of would grant everything), each scope must be an RFC 6749
 * §3.3 scope-token (no spaces, quotes or backslashes), and an object has exactly one of `allOf` and
 * `anyOf`; {@link assertScopeRule} checks this once and throws a `TypeError` naming the bad part.
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

/**
 * The scope claims read by default: `scope` (RFC 9068, string or list) and `scp` (Okta, Entra ID).
 * Auth0 RBAC puts scopes in `permissions`: set `scopeClaims: ['scope', 'permissions']` on that issuer.
 *
 * @example
 * ```ts
 * createValidator({ issuer, audience, scopeClaims: [...DEFAULT_SCOPE_CLAIMS, 'permissions'] });
 * ```
 */
export const DEFAULT_SCOPE_CLAIMS: readonly string[] = Object.freeze(['scope', 'scp']);

/** RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
/** Scope-tokens separated by spaces (RFC 6749 §3.3), empty parts allowed. */
const SCOPE_LIST = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * Whether `value` is a single RFC 6749 §3.3 scope-token (printable ASCII, no space, `"` or `\`).
 *
 * @example
 * ```ts
 * isScopeToken('orders:read'); // true
 * isScopeToken('a,b'); // true: one scope, commas are not separators
 * isScopeToken('read write'); // false: two scopes
 * ```
 */
export function isScopeToken(value: unknown): value is string {
  return typeof value === 'string' && SCOPE_TOKEN.test(value);
}

/**
 * Collects the scopes of a token from the given claims. A claim may be a space-delimited string
 * (RFC 6749 §3.3; Entra ID's `scp`) or a list of strings (Okta's `scp`, Auth0's `permissions`, an
 * array-valued `scope`); each list entry is one scope. Scopes are kept whole and case-sensitive: a
 * comma does not separate (`"a,b"` is one scope), and entries that are not scope-tokens (non-strings,
 * empty, containing spaces or control characters) are ignored, never split or trimmed into something
 * else.
 *
 * The set is read-only (`add`, `delete` and `clear` throw a `TypeError`): tokens with the same
 * scope string share one, as cached answers share theirs, so a change would reach other requests.
 *
 * @example
 * ```ts
 * readScopes({ scope: 'a b', scp: ['c'] }, ['scope', 'scp']); // Set { 'a', 'b', 'c' }
 * readScopes({ permissions: ['read:orders'] }, ['permissions']); // Set { 'read:orders' }
 * ```
 */
export function readScopes(
  claims: Readonly<Record<string, unknown>>,
  scopeClaims: readonly string[],
): ReadonlySet<string> {
  // The usual token: one scope claim, a string. Its set is shared by every token that sends it.
  if (scopeClaims === DEFAULT_SCOPE_CLAIMS) {
    // Read by name (no loop over names): the reads stay monomorphic per claim-set shape.
    const { scope, scp } = claims;
    if (scp === undefined && typeof scope === 'string' && Object.hasOwn(claims, 'scope')) {
      return scopeSetOf(scope);
    }
  }
  let only: unknown;
  let found = 0;
  for (const name of scopeClaims) {
    const value = claims[name];
    if (value === undefined || !Object.hasOwn(claims, name)) continue;
    only = value;
    found++;
  }
  if (found === 0) return NO_SCOPES;
  if (found === 1 && typeof only === 'string') return scopeSetOf(only);
  const scopes: string[] = [];
  for (const name of scopeClaims) {
    if (!Object.hasOwn(claims, name)) continue;
    const value = claims[name];
    // One by one: spreading a claim of some 120 000 scopes into push's arguments is a RangeError.
    if (typeof value === 'string') for (const scope of scopeSetOf(value)) scopes.push(scope);
    else if (Array.isArray(value)) for (const scope of value) if (isScopeToken(scope)) scopes.push(scope);
  }
  return readOnlyScopeSet(scopes);
}

const readOnly = (): TypeError =>
  new TypeError('tokenguard: auth.scopes is read-only (copy it with new Set(auth.scopes) to change it)');

/** The set of scopes `auth.scopes` holds, shared between answers: it cannot be changed through one. */
function readOnlyScopeSet(scopes: Iterable<string>): ReadonlySet<string> {
  return new ReadOnlySet(scopes, readOnly);
}

const NO_SCOPES: ReadonlySet<string> = readOnlyScopeSet([]);

/**
 * Scope strings already split, by their text: an issuer sends the same few on every token. Bounded
 * (entries and length of each); cleared when full. The sets are read-only, as they are shared.
 */
const scopeSets = new Map<string, ReadonlySet<string>>();
const SCOPE_SETS_MAX_ENTRIES = 256;
const SCOPE_SETS_MAX_LENGTH = 1024;
/** The scope string looked up last, with its set. */
let lastScopes: { readonly value: string; readonly set: ReadonlySet<string> } | undefined;

/** The scope-tokens of a space-delimited scope string (duplicates dropped, first occurrence first). */
function scopeSetOf(value: string): ReadonlySet<string> {
  // An issuer's tokens mostly repeat one scope string: compared in place, no hash of a new string.
  if (value === lastScopes?.value) return lastScopes.set;
  const cached = scopeSets.get(value);
  if (cached !== undefined) {
    lastScopes = { value, set: cached };
    return cached;
  }
  // One scan of the whole claim: when every character may be in a scope-token, each non-empty
  // part is one, so the parts need no check of their own (the common case).
  const clean = SCOPE_LIST.test(value);
  const set = readOnlyScopeSet(
    value.split(' ').filter((scope) => (clean ? scope !== '' : isScopeToken(scope))),
  );
  if (value.length <= SCOPE_SETS_MAX_LENGTH) {
    if (scopeSets.size >= SCOPE_SETS_MAX_ENTRIES) scopeSets.clear();
    scopeSets.set(value, set);
    lastScopes = { value, set };
  }
  return set;
}

/**
 * Checks a scope rule's shape once, where a route declares it. Throws a `TypeError` naming the bad
 * part: an empty list, a string that is not one scope-token, an object with neither or both of
 * `allOf`/`anyOf`, or other keys.
 *
 * @example
 * ```ts
 * assertScopeRule({ anyOf: ['orders:write', 'admin'] }); // ok
 * assertScopeRule('read write'); // TypeError: two scopes in one string; use a list
 * ```
 */
export function assertScopeRule(rule: unknown, path = 'scopes'): asserts rule is ScopeRule {
  if (typeof rule === 'string') {
    if (SCOPE_TOKEN.test(rule)) return;
    const hint = / /.test(rule.trim()) ? ' (several scopes go in a list, not one string)' : '';
    throw new TypeError(`tokenguard: invalid requirement "${path}": ${describe(rule)} is not a scope${hint}`);
  }
  if (rule === null || typeof rule !== 'object' || Array.isArray(rule)) {
    throw new TypeError(
      `tokenguard: invalid requirement "${path}": must be a scope, { allOf: [...] } or { anyOf: [...] }`,
    );
  }
  const keys = Object.keys(rule);
  if (keys.length !== 1 || (keys[0] !== 'allOf' && keys[0] !== 'anyOf')) {
    throw new TypeError(
      `tokenguard: invalid requirement "${path}": an object needs exactly one of allOf or anyOf`,
    );
  }
  const key = keys[0];
  const parts = (rule as Record<string, unknown>)[key];
  if (!Array.isArray(parts) || parts.length === 0) {
    throw new TypeError(`tokenguard: invalid requirement "${path}.${key}": must be a non-empty list`);
  }
  parts.forEach((part, index) => {
    assertScopeRule(part, `${path}.${key}.${index}`);
  });
}

/**
 * Whether `scopes` satisfy `rule`. Comparison is exact: no prefix, substring or case folding. An
 * empty list satisfies nothing, should one be emptied after {@link assertScopeRule} accepted it.
 *
 * @example
 * ```ts
 * satisfiesScopes({ anyOf: ['a', 'b'] }, new Set(['b'])); // true
 * satisfiesScopes('orders', new Set(['orders:read'])); // false
 * ```
 */
export function satisfiesScopes(rule: ScopeRule, scopes: ReadonlySet<string>): boolean {
  if (typeof rule === 'string') return scopes.has(rule);
  if ('allOf' in rule) {
    return rule.allOf.length > 0 && rule.allOf.every((part) => satisfiesScopes(part, scopes));
  }
  return rule.anyOf.some((part) => satisfiesScopes(part, scopes));
}

/**
 * A set of scopes that satisfies `rule`, for the `scope` parameter of a 403 (RFC 6750 §3): the
 * scope a client should request to be let in. Of each any-of it picks the alternative needing the
 * fewest scopes the token lacks (one it already satisfies needs none), then the smaller one, then
 * the first declared; all-ofs are unions. Scopes the token already holds are included, because the
 * new token must hold them too.
 *
 * @example
 * ```ts
 * neededScopes({ allOf: ['a', { anyOf: ['b', 'c'] }] }, new Set(['c'])); // ['a', 'c']
 * neededScopes({ anyOf: [{ allOf: ['x', 'y'] }, 'z'] }, new Set()); // ['z']
 * ```
 */
export function neededScopes(rule: ScopeRule, scopes: ReadonlySet<string>): string[] {
  return [...need(rule, scopes)];
}

function need(rule: ScopeRule, scopes: ReadonlySet<string>): Set<string> {
  if (typeof rule === 'string') return new Set([rule]);
  if ('allOf' in rule) {
    const union = new Set<string>();
    for (const part of rule.allOf) for (const scope of need(part, scopes)) union.add(scope);
    return union;
  }
  let best: Set<string> | undefined;
  let bestMissing = Number.POSITIVE_INFINITY;
  for (const part of rule.anyOf) {
    const candidate = need(part, scopes);
    let missing = 0;
    for (const scope of candidate) if (!scopes.has(scope)) missing++;
    if (missing < bestMissing || (missing === bestMissing && candidate.size < (best?.size ?? 0))) {
      best = candidate;
      bestMissing = missing;
    }
  }
  return best ?? new Set();
}

/**
 * A scope rule in words, for error messages: `orders:read and (orders:write or admin)`.
 *
 * @example
 * ```ts
 * describeScopeRule({ allOf: ['a', { anyOf: ['b', 'c'] }] }); // 'a and (b or c)'
 * ```
 */
export function describeScopeRule(rule: ScopeRule): string {
  return words(rule, true);
}

function words(rule: ScopeRule, top: boolean): string {
  if (typeof rule === 'string') return rule;
  const [parts, joiner] = 'allOf' in rule ? [rule.allOf, ' and '] : [rule.anyOf, ' or '];
  if (parts.length === 1 && parts[0] !== undefined) return words(parts[0], top);
  const text = parts.map((part) => words(part, false)).join(joiner);
  return top ? text : `(${text})`;
}

/**
 * Throws `ERR_INSUFFICIENT_SCOPE` (403, `insufficient_scope`, with the `scope` parameter naming a
 * set of scopes that would satisfy the route) unless `scopes` satisfy `rule`.
 *
 * @example
 * ```ts
 * assertScopes({ allOf: ['orders:read'] }, auth.scopes);
 * ```
 */
export function assertScopes(rule: ScopeRule, scopes: ReadonlySet<string>): void {
  if (satisfiesScopes(rule, scopes)) return;
  const needed = neededScopes(rule, scopes);
  throw new TokenGuardError('ERR_INSUFFICIENT_SCOPE', {
    message: `The token lacks the scopes this route requires: ${describeScopeRule(rule)}`,
    scope: needed.length > 0 ? needed.join(' ') : undefined,
    expected: needed,
  });
}

function describe(value: string): string {
  const text = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  return text.replace(/[^\x20-\x7e]/g, '?');
}
