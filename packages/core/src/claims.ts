import { TokenGuardError } from './errors.js';
import { safeName } from './lib/safe-name.js';
import type { ClaimsValidator, ResolvedValidatorOptions } from './options.js';

/** What a claim set is, for messages: a verified JWT, or an RFC 7662 introspection answer. */
export type ClaimSource = 'token' | 'introspection answer';

/** How {@link checkClaims} judges one claim set. */
export interface ClaimCheck {
  readonly rules: Pick<
    ResolvedValidatorOptions,
    'clockToleranceSec' | 'maxTokenAgeSec' | 'requiredClaims' | 'acceptBoundTokens' | 'mtls'
  >;
  /** The issuer's audience, or `null` when the audience check is opted out. */
  readonly audience: readonly string[] | null;
  /** A JWT must carry `exp` (RFC 9068 §2.2); an introspection answer may omit it (RFC 7662 §2.2). */
  readonly requireExp: boolean;
  readonly source: ClaimSource;
  /**
   * Leave `cnf` to {@link checkBinding}, run when the claims are used: an introspection answer is
   * cached and then used with or without a DPoP proof or client certificate.
   */
  readonly deferBinding?: boolean;
}

/** What {@link checkClaims} found in a claim set that passed. */
export interface CheckedClaims {
  /** `aud` as a list (empty when absent and the audience check is opted out). */
  readonly audience: readonly string[];
  /** `exp` in seconds, when present. */
  readonly exp: number | undefined;
  /** The instant (ms) after which an answer derived from these claims must not be reused. */
  readonly notAfterMs: number;
}

/** Past this many seconds a `Date` cannot hold the instant (`expiresAt` would break `JSON.stringify`). */
const MAX_NUMERIC_DATE = 8.64e12;

/**
 * The checks every claim set gets before it grants access, whether it came from a verified JWT or
 * an introspection answer (RFC 7662 §4 leaves them to the resource server): `exp`, `nbf` and `iat`
 * with the clock tolerance, `maxTokenAgeSec`, `aud` (RFC 9068 §4, RFC 8725 §3.9), the string
 * claims `sub`, `client_id` and `jti`, `requiredClaims`, and that the token is not bound to a key
 * (`cnf`, unless `acceptBoundTokens`) or bound only by what `proof` proved ({@link checkBinding}). Throws the 401 {@link TokenGuardError}
 * of the first failure. The issuer is checked by the caller (selection for JWTs, equality for answers).
 *
 * @example
 * ```ts
 * const check = { rules: resolved, audience: config.audience, requireExp: true, source: 'token' } as const;
 * const { notAfterMs } = checkClaims(payload, check, Date.now());
 * ```
 */
export function checkClaims(
  claims: Readonly<Record<string, unknown>>,
  check: ClaimCheck,
  nowMs: number,
  proof?: KeyProof,
): CheckedClaims {
  const { rules, source } = check;
  const tolerance = rules.clockToleranceSec;
  const nowSec = nowMs / 1000;
  // Each claim read by its own name: one shape of claim set, so the reads stay monomorphic.
  const exp = readNumericDate(claims.exp, 'exp', check.requireExp, source);
  if (exp !== undefined && nowSec >= exp + tolerance) throw new TokenGuardError('ERR_TOKEN_EXPIRED');
  const nbf = readNumericDate(claims.nbf, 'nbf', false, source);
  if (nbf !== undefined && nowSec + tolerance < nbf) throw new TokenGuardError('ERR_TOKEN_NOT_YET_VALID');
  const iat = readNumericDate(claims.iat, 'iat', rules.maxTokenAgeSec !== undefined, source);
  if (iat !== undefined && nowSec + tolerance < iat) {
    throw new TokenGuardError('ERR_TOKEN_NOT_YET_VALID', {
      message: `The ${source} was issued in the future`,
    });
  }
  let notAfterSec = exp === undefined ? Number.POSITIVE_INFINITY : exp + tolerance;
  if (rules.maxTokenAgeSec !== undefined) {
    const limit = (iat as number) + rules.maxTokenAgeSec + tolerance;
    if (nowSec > limit) throw new TokenGuardError('ERR_TOKEN_TOO_OLD');
    notAfterSec = Math.min(notAfterSec, limit);
  }
  const audience = checkAudience(claims.aud, check.audience, source);
  checkStringClaim(claims.sub, 'sub');
  checkStringClaim(claims.client_id, 'client_id');
  checkStringClaim(claims.jti, 'jti');
  // RFC 7800 `cnf`: the token is only good with proof of a key (RFC 9449 §7.2, RFC 8705 §3), which a
  // bearer token does not bring: refused rather than downgraded to a bearer token.
  if (check.deferBinding !== true) checkBinding(claims, proof, rules, source);
  for (const name of rules.requiredClaims) {
    // Own members only: `toString`, `constructor` ... are found on every object's prototype.
    if (!Object.hasOwn(claims, name) || claims[name] === undefined || claims[name] === null) {
      throw missing(name, source);
    }
  }
  return { audience, exp, notAfterMs: notAfterSec * 1000 };
}

/**
 * What a request proved of keys, for its token's `cnf` (RFC 7800): the key of its DPoP proof
 * (RFC 9449), its TLS client certificate (RFC 8705, with the `mtls` option), or both.
 *
 * @example
 * ```ts
 * checkBinding(claims, { certificate: certificateThumbprint(der) }, resolved, 'token');
 * ```
 */
export interface KeyProof {
  /** The RFC 7638 thumbprint of the key that signed the request's DPoP proof. */
  readonly jkt?: string | undefined;
  /** The `x5t#S256` (SHA-256 thumbprint) of the request's TLS client certificate. */
  readonly certificate?: string | undefined;
}

/**
 * RFC 7800 `cnf` against what the request proved: each confirmation method the token names must be
 * proven. `cnf.jkt` by the DPoP proof's key (a DPoP proof also requires the token to name it, RFC 9449
 * §7.1), `cnf["x5t#S256"]` by the TLS client certificate when the `mtls` option is on (RFC 8705 §3).
 * A bound token whose binding nothing proves is refused (RFC 9449 §7.2, RFC 8705 §3) unless
 * `acceptBoundTokens` and no DPoP proof came.
 *
 * @example
 * ```ts
 * checkBinding(auth.claims, proof, resolved, 'introspection answer');
 * ```
 */
export function checkBinding(
  claims: Readonly<Record<string, unknown>>,
  proof: KeyProof | undefined,
  rules: Pick<ResolvedValidatorOptions, 'acceptBoundTokens' | 'mtls'>,
  source: ClaimSource,
): void {
  const cnf = claims.cnf;
  const jkt = proof?.jkt;
  if (jkt !== undefined) {
    const bound = (cnf as { jkt?: unknown } | null | undefined)?.jkt;
    if (typeof bound !== 'string' || bound !== jkt) {
      throw new TokenGuardError('ERR_DPOP_BINDING_MISMATCH', {
        message:
          typeof bound === 'string'
            ? `Invalid DPoP key binding: the ${source} is bound to another key`
            : `Invalid DPoP key binding: the ${source} is not bound to a DPoP key (no cnf.jkt)`,
      });
    }
  }
  if (cnf === undefined || cnf === null) return;
  // The downgrade the option asks for (never set together with `mtls`).
  if (jkt === undefined && rules.acceptBoundTokens) return;
  let proven = jkt === undefined ? 0 : 1;
  const x5t = rules.mtls ? (cnf as Record<string, unknown>)['x5t#S256'] : undefined;
  if (x5t !== undefined) {
    const certificate = proof?.certificate;
    if (certificate === undefined || x5t !== certificate) {
      throw new TokenGuardError('ERR_MTLS_BINDING_MISMATCH', {
        message:
          certificate === undefined
            ? `Invalid certificate binding: the ${source} is bound to a TLS client certificate (cnf x5t#S256) and the request came without one`
            : `Invalid certificate binding: the ${source} is bound to another TLS client certificate`,
      });
    }
    proven += 1;
  }
  // Every method named must be proven: a bound token with nothing proven, or one bound by a method
  // the request did not prove as well (DPoP and mTLS both named, one proven), is refused.
  if (proven > 0 && typeof cnf === 'object' && Object.keys(cnf).length === proven) return;
  const others = boundMethods(
    cnf,
    jkt === undefined ? undefined : 'jkt',
    x5t === undefined ? undefined : 'x5t#S256',
  );
  if (jkt !== undefined) {
    throw new TokenGuardError('ERR_DPOP_BINDING_MISMATCH', {
      message: `Invalid DPoP key binding: the ${source} is also bound by cnf ${others}, which a DPoP proof does not prove`,
    });
  }
  if (proven > 0) {
    throw new TokenGuardError('ERR_MTLS_BINDING_MISMATCH', {
      message: `Invalid certificate binding: the ${source} is also bound by cnf ${others}, which a client certificate does not prove`,
    });
  }
  // A bearer token does not prove the key: refused rather than downgraded to a bearer token.
  throw new TokenGuardError('ERR_TOKEN_BOUND', {
    message: `The ${source} is bound to a key (cnf ${boundMethods(cnf)}) and was presented as a bearer token`,
  });
}

/**
 * Runs the `validateClaims` option: `false` (or any falsy answer but `undefined`) or a throw rejects
 * (401 `ERR_CLAIM_INVALID`, the thrown value as `cause`); a thrown {@link TokenGuardError} passes
 * through unchanged.
 *
 * @example
 * ```ts
 * if (resolved.validateClaims !== undefined)
 *   await runClaimsValidator(resolved.validateClaims, payload, { issuer: iss, header });
 * ```
 */
export async function runClaimsValidator(
  validate: ClaimsValidator,
  claims: Readonly<Record<string, unknown>>,
  context: Parameters<ClaimsValidator>[1],
): Promise<void> {
  // `unknown`: a JavaScript check may answer anything; every falsy answer but `undefined` (a check
  // that only throws) refuses, so `claims.org && claims.org.length` answering 0 fails closed.
  let verdict: unknown;
  try {
    verdict = await validate(claims, context);
  } catch (error) {
    if (error instanceof TokenGuardError) throw error;
    throw new TokenGuardError('ERR_CLAIM_INVALID', {
      message: 'The token failed the custom claims check',
      cause: error,
    });
  }
  if (verdict !== undefined && !verdict) {
    throw new TokenGuardError('ERR_CLAIM_INVALID', { message: 'The token failed the custom claims check' });
  }
}

function checkAudience(
  aud: unknown,
  expected: readonly string[] | null,
  source: ClaimSource,
): readonly string[] {
  if (aud === undefined) {
    if (expected === null) return [];
    throw missing('aud', source);
  }
  const list = typeof aud === 'string' ? [aud] : aud;
  if (!Array.isArray(list) || !list.every((value) => typeof value === 'string')) {
    throw new TokenGuardError('ERR_CLAIM_INVALID', {
      claim: 'aud',
      message: 'The aud claim is not a string or list of strings',
    });
  }
  if (expected !== null && !list.some((value) => expected.includes(value))) {
    throw new TokenGuardError('ERR_AUDIENCE_MISMATCH', {
      message: `The token audience is not this API (${expected.join(', ')})`,
      expected,
      actual: list.slice(0, 5).map(safeName),
    });
  }
  return list;
}

function checkStringClaim(value: unknown, name: 'sub' | 'client_id' | 'jti'): void {
  if (value !== undefined && typeof value !== 'string') {
    throw new TokenGuardError('ERR_CLAIM_INVALID', {
      claim: name,
      message: `The ${name} claim is not a string`,
    });
  }
}

function readNumericDate(
  value: unknown,
  name: 'exp' | 'nbf' | 'iat',
  required: boolean,
  source: ClaimSource,
): number | undefined {
  if (value === undefined) {
    if (!required) return undefined;
    throw missing(name, source);
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_NUMERIC_DATE) {
    throw new TokenGuardError('ERR_CLAIM_INVALID', {
      claim: name,
      message: `The ${name} claim is not a NumericDate`,
    });
  }
  return value;
}

function missing(claim: string, source: ClaimSource): TokenGuardError {
  return new TokenGuardError('ERR_CLAIM_MISSING', { claim, message: `The ${source} has no ${claim} claim` });
}

/**
 * The confirmation methods a `cnf` names but for `proven`, for the message: at most four, each a safe
 * short name.
 */
function boundMethods(cnf: unknown, ...proven: readonly (string | undefined)[]): string {
  if (typeof cnf !== 'object' || Array.isArray(cnf)) return 'of an unknown form';
  const names = Object.keys(cnf as object).filter((name) => !proven.includes(name));
  if (names.length === 0) return 'with no method';
  return names.slice(0, 4).map(safeName).join(', ');
}
