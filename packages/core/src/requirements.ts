import type { AuthInfo } from './auth-info.js';
import { TokenGuardError } from './errors.js';
import { ignoreRejection } from './lib/ignore-rejection.js';
import { assertScopeRule, assertScopes, type ScopeRule } from './scopes.js';

/**
 * A check on one claim of a verified token. Failing it is a 403 (`insufficient_scope`). An absent
 * claim fails; it is never skipped. `equals` compares with `===`; `includes` looks for one entry of
 * a list claim, or one space-delimited word of a string claim (whole words, case-sensitive). A
 * `test` predicate must be synchronous; if it throws, the requirement fails. Other keys, a `claim`
 * beside a `test`, and an empty `includes` are a `TypeError` where the route is declared.
 *
 * @example
 * ```ts
 * const isAdmin: ClaimRequirement = { claim: 'roles', includes: 'admin' };
 * const sameOrg: ClaimRequirement = { claim: 'org_id', equals: 'acme' };
 * const custom: ClaimRequirement = { test: (auth) => auth.subject !== undefined, description: 'a subject' };
 * ```
 */
export type ClaimRequirement =
  | {
      readonly claim: string;
      readonly equals: string | number | boolean;
      readonly includes?: never;
      readonly test?: never;
      readonly description?: never;
    }
  | {
      readonly claim: string;
      readonly includes: string | number;
      readonly equals?: never;
      readonly test?: never;
      readonly description?: never;
    }
  | {
      readonly test: (auth: AuthInfo) => boolean;
      readonly description: string;
      readonly claim?: never;
      readonly equals?: never;
      readonly includes?: never;
    };

/** The keys of an {@link AuthenticationRequirement}, each optional on its own. */
interface AuthenticationKeys {
  /**
   * The token's `acr` claim (a string) must equal one of these exactly; an absent `acr` fails. In
   * order of preference, as the challenge's `acr_values` lists them. Never empty; each value is
   * printable ASCII without space, `"` or `\` (it goes into the challenge as is).
   */
  readonly acrValues?: readonly string[];
  /**
   * The token's `auth_time` (seconds since the epoch) must be at most this many seconds old at the
   * validator's clock, with its `clockToleranceSec` in the caller's favour; an absent `auth_time`, or
   * one further in the future than the tolerance, fails. A non-negative integer.
   */
  readonly maxAgeSec?: number;
}

/**
 * What a route requires of the user's authentication behind a token (RFC 9470 step-up): how the
 * user authenticated (`acr`) and how recently (`auth_time`). Failing it is a 401
 * `insufficient_user_authentication` whose challenge carries `acr_values` and/or `max_age`, so the
 * client can ask the authorization server for a token that meets them. At least one key is set (the
 * type requires it; at run time `{}` is a `TypeError`).
 *
 * @example
 * ```ts
 * const mfa: AuthenticationRequirement = { acrValues: ['urn:example:mfa'] };
 * const recent: AuthenticationRequirement = { maxAgeSec: 300 };
 * await validator.validate(header, { scopes: ['payments:write'], authentication: { ...mfa, ...recent } });
 * ```
 */
export type AuthenticationRequirement = AuthenticationKeys &
  ({ readonly acrValues: readonly string[] } | { readonly maxAgeSec: number });

/**
 * What a route requires of a verified token, as plain values. Checked in this order: tenant,
 * scopes, claims (the first failure is the 403), then `authentication` (the 401
 * `insufficient_user_authentication` of RFC 9470): a 403 cannot be cured by stepping up, so a
 * client is told to authenticate again only when that is all that is missing. Unknown keys are a
 * `TypeError` (a typo such as `scope:` must not silently drop a check).
 *
 * @example
 * ```ts
 * await validator.validate(header, { scopes: ['orders:read'] });
 * await validator.validate(header, {
 *   scopes: { allOf: ['orders:read', { anyOf: ['orders:write', 'admin'] }] },
 *   tenant: req.params.tenant,
 * });
 * await validator.validate(header, { authentication: { acrValues: ['urn:example:mfa'], maxAgeSec: 300 } });
 * ```
 */
export interface Requirements {
  /** A list is all-of; a {@link ScopeRule} expresses any-of and combinations. Never empty. */
  readonly scopes?: readonly string[] | ScopeRule;
  /**
   * The token's tenant must be this one (or one of these), compared exactly. Usually taken from the
   * request (route parameter, header, host; see `readRequestTenant`). When the key is present but
   * the value is `undefined`, `null`, `''` or `[]` (the request named no tenant), the check fails
   * closed with 403: leave the key out entirely for routes that belong to no tenant.
   */
  readonly tenant?: string | readonly string[] | null | undefined;
  /** Claim guards; all must hold. */
  readonly claims?: readonly ClaimRequirement[];
  /** Step-up: how and how recently the user must have authenticated (RFC 9470). */
  readonly authentication?: AuthenticationRequirement;
}

/**
 * The clock {@link checkRequirements} judges `authentication.maxAgeSec` by. The validator passes its
 * own `now` and `clockToleranceSec`.
 *
 * @example
 * ```ts
 * const clock: RequirementsClock = { now: () => Date.now(), clockToleranceSec: 5 };
 * checkRequirements(auth, { authentication: { maxAgeSec: 300 } }, clock);
 * ```
 */
export interface RequirementsClock {
  /** Milliseconds since the epoch. Default `Date.now`. */
  readonly now?: () => number;
  /** Seconds allowed for clock skew, in the caller's favour. Default 0. */
  readonly clockToleranceSec?: number;
}

const REQUIREMENT_KEYS = new Set(['scopes', 'tenant', 'claims', 'authentication']);
const AUTHENTICATION_KEYS = new Set(['acrValues', 'maxAgeSec']);
const PREDICATE_KEYS = new Set(['test', 'description']);
const CLAIM_CHECK_KEYS = new Set(['claim', 'equals', 'includes']);
/** An `acr_values` entry: printable ASCII without space (the separator), `"` or `\`. */
const ACR_VALUE = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const checked = new WeakSet<object>();

/**
 * Checks the shape of a route's requirements, once per object (the result is remembered), so a
 * mistake surfaces as a `TypeError` naming it rather than as a check that never runs. Adapters call
 * it when a guard is created; {@link checkRequirements} calls it too.
 *
 * @example
 * ```ts
 * assertRequirements({ scopes: ['orders:read'] }); // ok
 * assertRequirements({ scope: 'orders:read' }); // TypeError: unknown requirement "scope"
 * ```
 */
export function assertRequirements(value: unknown): asserts value is Requirements {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError('tokenguard: invalid requirements: must be an object like { scopes: [...] }');
  }
  if (checked.has(value)) return;
  for (const key of Object.keys(value)) {
    if (!REQUIREMENT_KEYS.has(key)) {
      throw new TypeError(
        `tokenguard: invalid requirement "${key}": unknown (expected scopes, tenant, claims or authentication)`,
      );
    }
  }
  const { scopes, tenant, claims, authentication } = value as Record<string, unknown>;
  if (scopes !== undefined) assertScopeRule(Array.isArray(scopes) ? { allOf: scopes } : scopes, 'scopes');
  if (tenant !== undefined && tenant !== null) {
    const list: unknown[] = Array.isArray(tenant) ? tenant : [tenant];
    if (!list.every((entry) => typeof entry === 'string')) {
      throw new TypeError('tokenguard: invalid requirement "tenant": must be a string or a list of strings');
    }
  }
  if (claims !== undefined) {
    if (!Array.isArray(claims)) {
      throw new TypeError('tokenguard: invalid requirement "claims": must be a list');
    }
    claims.forEach((claim, index) => {
      assertClaimRequirement(claim, `claims.${index}`);
    });
  }
  if (authentication !== undefined) assertAuthenticationRequirement(authentication);
  checked.add(value);
}

function assertAuthenticationRequirement(value: unknown): void {
  const fail = (path: string, why: string): never => {
    throw new TypeError(`tokenguard: invalid requirement "${path}": ${why}`);
  };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail('authentication', 'must be an object like { acrValues: [...] } or { maxAgeSec: 300 }');
  }
  for (const key of Object.keys(value as object)) {
    if (!AUTHENTICATION_KEYS.has(key)) {
      fail(`authentication.${key}`, 'unknown (expected acrValues or maxAgeSec)');
    }
  }
  const { acrValues, maxAgeSec } = value as Record<string, unknown>;
  if (acrValues === undefined && maxAgeSec === undefined) {
    fail('authentication', 'needs acrValues, maxAgeSec or both');
  }
  if (acrValues !== undefined) {
    if (!Array.isArray(acrValues) || acrValues.length === 0) {
      fail('authentication.acrValues', 'must be a non-empty list of strings');
    }
    (acrValues as unknown[]).forEach((entry, index) => {
      if (typeof entry !== 'string' || !ACR_VALUE.test(entry)) {
        fail(
          `authentication.acrValues.${index}`,
          'must be a non-empty string of printable ASCII without space, double quote or backslash (it goes into the challenge)',
        );
      }
    });
  }
  if (maxAgeSec !== undefined && !(Number.isSafeInteger(maxAgeSec) && (maxAgeSec as number) >= 0)) {
    fail('authentication.maxAgeSec', 'must be a non-negative integer (seconds)');
  }
}

function assertClaimRequirement(value: unknown, path: string): void {
  const fail = (why: string): never => {
    throw new TypeError(`tokenguard: invalid requirement "${path}": ${why}`);
  };
  if (value === null || typeof value !== 'object') fail('must be an object');
  const entry = value as Record<string, unknown>;
  // Unknown keys are refused, as for the requirements themselves: a `claim` beside a `test` (or a
  // misspelt key) would otherwise be a check that silently never runs.
  const allowed = 'test' in entry ? PREDICATE_KEYS : CLAIM_CHECK_KEYS;
  for (const key of Object.keys(entry)) {
    if (!allowed.has(key)) {
      fail(
        `unknown key "${key}" (expected ${'test' in entry ? 'test and description' : 'claim with equals or includes'})`,
      );
    }
  }
  if ('test' in entry) {
    if (typeof entry.test !== 'function') fail('test must be a function');
    if (typeof entry.description !== 'string' || entry.description === '')
      fail('a test needs a description (it goes into the 403 message)');
    return;
  }
  if (typeof entry.claim !== 'string' || entry.claim === '') fail('claim must be a non-empty string');
  const hasEquals = 'equals' in entry;
  if (hasEquals === 'includes' in entry) fail('needs exactly one of equals or includes');
  const operand = hasEquals ? entry.equals : entry.includes;
  const types = hasEquals ? ['string', 'number', 'boolean'] : ['string', 'number'];
  if (!types.includes(typeof operand))
    fail(`${hasEquals ? 'equals' : 'includes'} must be a ${types.join(' or ')}`);
  // '' is a "word" of a claim that is '' or holds two spaces in a row: never what a guard means.
  if (operand === '' && !hasEquals) fail('includes must not be empty');
}

/**
 * Applies a route's requirements to a verified token: throws the error that names what is missing
 * (403 for tenant, scopes and claims; 401 `insufficient_user_authentication` for `authentication`),
 * or returns. `clock` judges `authentication.maxAgeSec` (default `Date.now`, no tolerance; the
 * validator passes its own). A malformed requirement throws a `TypeError` (see
 * {@link assertRequirements}).
 *
 * @example
 * ```ts
 * checkRequirements(auth, { scopes: ['read'], tenant: req.params.tenant });
 * checkRequirements(auth, { authentication: { maxAgeSec: 300 } }, { now: Date.now, clockToleranceSec: 5 });
 * ```
 */
export function checkRequirements(
  auth: AuthInfo,
  requirements: Requirements | undefined,
  clock?: RequirementsClock,
): void {
  if (requirements === undefined) return;
  assertRequirements(requirements);
  if (Object.hasOwn(requirements, 'tenant')) assertTenant(auth, requirements.tenant);
  const { scopes, claims, authentication } = requirements;
  if (scopes !== undefined) {
    const rule: ScopeRule = Array.isArray(scopes)
      ? { allOf: scopes as readonly string[] }
      : (scopes as ScopeRule);
    assertScopes(rule, auth.scopes);
  }
  if (claims !== undefined) for (const requirement of claims) assertClaim(auth, requirement);
  // Last: a 403 above cannot be cured by authenticating again, so step-up is asked for only when
  // it is all that is missing.
  if (authentication !== undefined) assertAuthentication(auth, authentication, clock);
}

/**
 * Throws `ERR_INSUFFICIENT_USER_AUTHENTICATION` (401, RFC 9470) unless the token's `acr` is one of
 * `acrValues` and its `auth_time` is within `maxAgeSec` of the clock. The challenge names every
 * part of the requirement (`acr_values`, `max_age`), so a new token obtained with them meets it all.
 * Works alike for JWTs and introspection answers (RFC 9470 §6: both carry `acr` and `auth_time`).
 */
function assertAuthentication(
  auth: AuthInfo,
  requirement: AuthenticationRequirement,
  clock: RequirementsClock | undefined,
): void {
  const { acrValues, maxAgeSec } = requirement;
  // The shape was checked once per object; one changed in place since (a reload writing a string
  // '300', a list replaced by a string that `includes` would match by substring, both keys removed)
  // would pass every token: checked again here, it is a TypeError naming the key instead.
  if (
    (acrValues === undefined ? maxAgeSec === undefined : !Array.isArray(acrValues)) ||
    (maxAgeSec !== undefined && !(Number.isSafeInteger(maxAgeSec) && maxAgeSec >= 0))
  ) {
    assertAuthenticationRequirement(requirement);
  }
  // Own properties only, as for claim requirements: an inherited `acr` is not the token's.
  const { claims } = auth;
  const acr = Object.hasOwn(claims, 'acr') ? claims.acr : undefined;
  const authTime = Object.hasOwn(claims, 'auth_time') ? claims.auth_time : undefined;
  let message: string | undefined;
  let claim: string | undefined;
  if (acrValues !== undefined && !(typeof acr === 'string' && acrValues.includes(acr))) {
    claim = 'acr';
    message =
      acr === undefined
        ? 'A different authentication level is required (the token has no acr claim)'
        : 'A different authentication level is required';
  } else if (maxAgeSec !== undefined) {
    const tolerance = clock?.clockToleranceSec ?? 0;
    const nowSec = (clock?.now ?? Date.now)() / 1000;
    // A clock answering NaN would make both comparisons below false, and pass: fail closed instead.
    if (!Number.isFinite(nowSec)) {
      throw new TypeError('tokenguard: the clock given to checkRequirements answered no finite number');
    }
    if (typeof authTime !== 'number' || !Number.isFinite(authTime)) {
      claim = 'auth_time';
      message =
        authTime === undefined
          ? 'More recent authentication is required (the token has no auth_time claim)'
          : 'More recent authentication is required (the token has an auth_time that is not a number)';
    } else if (nowSec + tolerance < authTime) {
      claim = 'auth_time';
      message = 'More recent authentication is required (the token has an auth_time in the future)';
    } else if (nowSec > authTime + maxAgeSec + tolerance) {
      claim = 'auth_time';
      message = 'More recent authentication is required';
    }
  }
  if (claim === undefined) return;
  throw new TokenGuardError('ERR_INSUFFICIENT_USER_AUTHENTICATION', {
    message,
    claim,
    acrValues,
    maxAgeSec,
  });
}

/**
 * Throws `ERR_TENANT_MISMATCH` (403) unless the token's tenant is `expected` (or one of them),
 * compared exactly. A token without a tenant fails, and so does a missing expectation
 * (`undefined`, `null`, `''`, `[]`): a route whose tenant the request did not name admits no one.
 *
 * @example
 * ```ts
 * assertTenant(auth, req.params.tenant);
 * ```
 */
export function assertTenant(auth: AuthInfo, expected: string | readonly string[] | null | undefined): void {
  const allowed = (typeof expected === 'string' ? [expected] : (expected ?? [])).filter(
    (tenant) => typeof tenant === 'string' && tenant !== '',
  );
  if (auth.tenant !== undefined && allowed.includes(auth.tenant)) return;
  throw new TokenGuardError('ERR_TENANT_MISMATCH', {
    message:
      allowed.length === 0
        ? 'The request names no tenant, and this route belongs to one'
        : auth.tenant === undefined
          ? 'The token names no tenant, and this route belongs to one'
          : 'The token belongs to another tenant than this route',
  });
}

function assertClaim(auth: AuthInfo, requirement: ClaimRequirement): void {
  if (requirement.test !== undefined) {
    let verdict: unknown;
    let cause: unknown;
    try {
      verdict = requirement.test(auth);
    } catch (error) {
      cause = error;
    }
    if (verdict === true) return;
    // The route fails either way; a rejection nobody awaits would crash the process (Node's default).
    const async = ignoreRejection(verdict);
    const why = async ? ' (the predicate returned a Promise; claim predicates must be synchronous)' : '';
    throw new TokenGuardError('ERR_CLAIM_REQUIREMENT', {
      message: `The token does not meet the requirement: ${requirement.description}${why}`,
      cause,
    });
  }
  const value = Object.hasOwn(auth.claims, requirement.claim) ? auth.claims[requirement.claim] : undefined;
  const { includes } = requirement;
  // An `includes` that is no longer a string or number (its requirement changed in place after the
  // remembered shape check) matches nothing, rather than the word "undefined".
  const ok =
    'equals' in requirement
      ? value === requirement.equals
      : (typeof includes === 'string' || typeof includes === 'number') &&
        (Array.isArray(value)
          ? value.includes(includes)
          : typeof value === 'string' && value.split(' ').includes(String(includes)));
  if (ok) return;
  throw new TokenGuardError('ERR_CLAIM_REQUIREMENT', {
    claim: requirement.claim,
    message:
      value === undefined
        ? `The token has no ${requirement.claim} claim, which this route requires`
        : 'equals' in requirement
          ? `The claim ${requirement.claim} does not have the value this route requires`
          : `The claim ${requirement.claim} does not include the value this route requires`,
  });
}
