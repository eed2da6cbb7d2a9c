import { readScopes, satisfiesScopes, type Validator } from '@tokenguard/core';
import { explainBinding } from './binding.js';
import type { DecodedToken } from './decode.js';
import { joinWords, printable } from './text.js';
import { formatDate, formatRelative } from './time.js';

/**
 * The checks `tokenguard verify` explains, in the order the validator applies them.
 *
 * @example
 * ```ts
 * const failed: CheckId[] = report.checks.filter((check) => check.status === 'fail').map((check) => check.id);
 * ```
 */
export type CheckId =
  | 'format'
  | 'issuer'
  | 'algorithm'
  | 'type'
  | 'signature'
  | 'expiry'
  | 'not-before'
  | 'issued-at'
  | 'audience'
  | 'claims'
  | 'scopes'
  | 'binding'
  | 'introspection';

/**
 * One check and its outcome in plain language.
 *
 * @example
 * ```ts
 * for (const check of report.checks) console.log(check.id, check.status, check.message);
 * ```
 */
export interface Check {
  readonly id: CheckId;
  status: 'pass' | 'fail' | 'skip';
  message: string;
}

/** The settings the checks compare the token to: the validator's own resolved options. */
export type CheckSettings = Validator['options'];

function when(value: number, nowMs: number): string {
  return `${formatRelative(value, nowMs)} (${formatDate(value) ?? value})`;
}

function normaliseTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

function checkIssuer(iss: unknown, trusted: string): Check {
  if (iss === undefined)
    return {
      id: 'issuer',
      status: 'fail',
      message: `the token has no iss claim; this API trusts ${trusted}`,
    };
  const shown = printable(iss);
  if (iss === trusted)
    return { id: 'issuer', status: 'pass', message: `iss is ${shown}, the issuer this API trusts` };
  const hint =
    typeof iss === 'string' && iss.replace(/\/+$/, '') === trusted.replace(/\/+$/, '')
      ? ' (they differ only by a trailing slash: iss must match exactly, so fix --issuer)'
      : '';
  return { id: 'issuer', status: 'fail', message: `iss is ${shown}, this API trusts ${trusted}${hint}` };
}

function checkAlgorithm(alg: unknown, allowed: ReadonlySet<string>): Check {
  const list = [...allowed].join(', ');
  if (typeof alg === 'string' && allowed.has(alg)) {
    return { id: 'algorithm', status: 'pass', message: `alg ${alg} is in the allow-list` };
  }
  const why = alg === 'none' || alg === 'None' ? ' (an unsigned token is never accepted)' : '';
  return {
    id: 'algorithm',
    status: 'fail',
    message: `alg is ${printable(alg)}${why}, this API allows ${list}`,
  };
}

function checkType(typ: unknown, accepted: ReadonlySet<string>, allowMissing: boolean): Check {
  const list = joinWords([...accepted]);
  if (typ === undefined) {
    return allowMissing
      ? { id: 'type', status: 'pass', message: 'no typ header, accepted because missing typ is allowed' }
      : {
          id: 'type',
          status: 'fail',
          message: `the token has no typ header; this API accepts typ ${list} (RFC 9068). If your issuer never sets typ (Amazon Cognito), allow it with --allow-missing-typ`,
        };
  }
  if (typeof typ === 'string' && accepted.has(normaliseTyp(typ))) {
    return { id: 'type', status: 'pass', message: `typ is ${typ}, an accepted access token type` };
  }
  const hint =
    typeof typ === 'string' && normaliseTyp(typ) === 'jwt'
      ? '. Issuers such as Auth0, Entra ID and Keycloak use typ JWT for access tokens: accept it with --typ at+jwt,JWT (ID tokens are typ JWT too: keep the audience check on)'
      : '';
  return { id: 'type', status: 'fail', message: `typ is ${printable(typ)}, this API accepts ${list}${hint}` };
}

function checkExpiry(exp: unknown, nowMs: number, toleranceSec: number): Check {
  if (exp === undefined)
    return { id: 'expiry', status: 'fail', message: 'the token has no exp claim, and exp is required' };
  if (typeof exp !== 'number' || !Number.isFinite(exp)) {
    return { id: 'expiry', status: 'fail', message: `exp is ${printable(exp)}, not a NumericDate` };
  }
  if (nowMs / 1000 >= exp + toleranceSec) {
    return {
      id: 'expiry',
      status: 'fail',
      message: `the token expired ${when(exp, nowMs)}; the clock tolerance is ${toleranceSec} s`,
    };
  }
  return { id: 'expiry', status: 'pass', message: `the token expires ${when(exp, nowMs)}` };
}

function checkNotBefore(nbf: unknown, nowMs: number, toleranceSec: number): Check {
  if (nbf === undefined) return { id: 'not-before', status: 'skip', message: 'no nbf claim' };
  if (typeof nbf !== 'number' || !Number.isFinite(nbf)) {
    return { id: 'not-before', status: 'fail', message: `nbf is ${printable(nbf)}, not a NumericDate` };
  }
  if (nowMs / 1000 + toleranceSec < nbf) {
    return { id: 'not-before', status: 'fail', message: `the token is valid only from ${when(nbf, nowMs)}` };
  }
  return { id: 'not-before', status: 'pass', message: `valid since ${when(nbf, nowMs)}` };
}

function checkIssuedAt(iat: unknown, nowMs: number, toleranceSec: number): Check {
  if (iat === undefined) return { id: 'issued-at', status: 'skip', message: 'no iat claim' };
  if (typeof iat !== 'number' || !Number.isFinite(iat)) {
    return { id: 'issued-at', status: 'fail', message: `iat is ${printable(iat)}, not a NumericDate` };
  }
  if (nowMs / 1000 + toleranceSec < iat) {
    return {
      id: 'issued-at',
      status: 'fail',
      message: `the token claims to be issued ${when(iat, nowMs)}, in the future: check this machine's clock`,
    };
  }
  return { id: 'issued-at', status: 'pass', message: `issued ${when(iat, nowMs)}` };
}

function checkAudience(aud: unknown, expected: readonly string[] | null): Check {
  if (expected === null) {
    return {
      id: 'audience',
      status: 'skip',
      message: `audience check turned off; aud is ${aud === undefined ? 'absent' : printable(aud)}`,
    };
  }
  const ours = joinWords(expected);
  if (aud === undefined) {
    return { id: 'audience', status: 'fail', message: `the token has no aud claim; this API is ${ours}` };
  }
  const list = typeof aud === 'string' ? [aud] : aud;
  if (!Array.isArray(list) || !list.every((value) => typeof value === 'string')) {
    return {
      id: 'audience',
      status: 'fail',
      message: `aud is ${printable(aud)}, not a string or list of strings`,
    };
  }
  const shown =
    list.length === 1 ? printable(list[0]) : `[${list.map((value) => printable(value)).join(', ')}]`;
  const ok = list.some((value) => expected.includes(value));
  return { id: 'audience', status: ok ? 'pass' : 'fail', message: `aud is ${shown}, this API is ${ours}` };
}

function checkScopes(
  claims: Readonly<Record<string, unknown>>,
  scopeClaims: readonly string[],
  required: readonly string[],
): Check {
  const held = readScopes(claims, scopeClaims);
  const heldText =
    held.size === 0 ? 'no scopes' : `scopes ${[...held].map((scope) => printable(scope)).join(' ')}`;
  const where = `read from ${joinWords(scopeClaims)}`;
  if (required.length === 0) {
    return {
      id: 'scopes',
      status: 'skip',
      message: `no scopes required (--scopes); the token has ${heldText} (${where})`,
    };
  }
  if (satisfiesScopes({ allOf: required }, held)) {
    return {
      id: 'scopes',
      status: 'pass',
      message: `the token has ${heldText}, which covers ${required.join(' ')}`,
    };
  }
  const missing = required.filter((scope) => !held.has(scope));
  const hint =
    held.size === 0 && claims.permissions !== undefined && !scopeClaims.includes('permissions')
      ? ' The token has a permissions claim (Auth0 RBAC): read it with --scope-claims scope,permissions'
      : '';
  return {
    id: 'scopes',
    status: 'fail',
    message: `the token has ${heldText} (${where}); this route requires ${required.join(' ')}: missing ${missing.join(' ')}.${hint}`,
  };
}

/**
 * Every check of the validator, computed from the decoded (unverified) token and the validator's
 * resolved options, explained in plain language. The signature is left to the real validator.
 * `certificate`: the `x5t#S256` of the client certificate the token comes with (`--client-certificate`).
 *
 * @example
 * ```ts
 * const checks = explainChecks(token, decoded, validator.options, ['read'], Date.now());
 * ```
 */
export function explainChecks(
  token: string,
  decoded: DecodedToken,
  settings: CheckSettings,
  requiredScopes: readonly string[],
  nowMs: number,
  certificate?: string,
): Check[] {
  const config = settings.issuers[0];
  if (config === undefined) throw new TypeError('tokenguard: the validator has no issuer');
  const { header, claims } = decoded;
  const tolerance = settings.clockToleranceSec;
  const format: Check =
    token.length > settings.maxTokenLength
      ? {
          id: 'format',
          status: 'fail',
          message: `the token has ${token.length} characters, the limit is ${settings.maxTokenLength}`,
        }
      : {
          id: 'format',
          status: 'pass',
          message: `a signed JWT (JWS compact serialization), ${token.length} characters`,
        };
  return [
    format,
    checkIssuer(claims.iss, config.issuer),
    checkAlgorithm(header.alg, config.algorithms),
    checkType(header.typ, config.typ, config.allowMissingTyp),
    { id: 'signature', status: 'skip', message: 'not checked' },
    checkExpiry(claims.exp, nowMs, tolerance),
    checkNotBefore(claims.nbf, nowMs, tolerance),
    checkIssuedAt(claims.iat, nowMs, tolerance),
    checkAudience(claims.aud, config.audience),
    checkScopes(claims, config.scopeClaims, requiredScopes),
    ...explainBinding(claims.cnf, settings, certificate),
  ];
}

/**
 * The checks that still apply to an introspected (opaque) token, computed from the introspection
 * answer the validator accepted: expiry, audience, scopes and binding. `certificate`: as for
 * {@link explainChecks}.
 *
 * @example
 * ```ts
 * const checks = explainIntrospected(auth.claims, validator.options, ['read'], Date.now());
 * ```
 */
export function explainIntrospected(
  claims: Readonly<Record<string, unknown>>,
  settings: CheckSettings,
  requiredScopes: readonly string[],
  nowMs: number,
  certificate?: string,
): Check[] {
  const config = settings.issuers[0];
  if (config === undefined) throw new TypeError('tokenguard: the validator has no issuer');
  const expiry =
    claims.exp === undefined
      ? ({ id: 'expiry', status: 'skip', message: 'the introspection answer has no exp' } as Check)
      : checkExpiry(claims.exp, nowMs, settings.clockToleranceSec);
  return [
    expiry,
    checkAudience(claims.aud, config.audience),
    checkScopes(claims, config.scopeClaims, requiredScopes),
    ...explainBinding(claims.cnf, settings, certificate),
  ];
}
