import type { AuthInfo, ErrorCode, TokenGuardError } from '@tokenguard/core';
import type { Check, CheckId } from './checks.js';
import { printable } from './text.js';
import { EXIT } from './usage.js';

/**
 * The real validator's answer, the only source of the verdict.
 *
 * @example
 * ```ts
 * const { verdict } = await verifyToken(token, args);
 * console.log(verdict.valid ? verdict.auth.subject : verdict.error.code);
 * ```
 */
export type Verdict =
  | { readonly valid: true; readonly auth: AuthInfo }
  | { readonly valid: false; readonly error: TokenGuardError };

/** Codes the validator raises before it verifies the signature: the signature is then unknown. */
const BEFORE_SIGNATURE = new Set<ErrorCode>([
  'ERR_TOKEN_MISSING',
  'ERR_INVALID_REQUEST',
  'ERR_TOKEN_MALFORMED',
  'ERR_TOKEN_TOO_LARGE',
  'ERR_TOKEN_NOT_JWT',
  'ERR_ISSUER_MISMATCH',
  'ERR_ALGORITHM_NOT_ALLOWED',
  'ERR_TYPE_MISMATCH',
]);

const SIGNATURE_CODES = new Set<ErrorCode>([
  'ERR_SIGNATURE_INVALID',
  'ERR_KEY_NOT_FOUND',
  'ERR_KEYS_UNAVAILABLE',
]);

/**
 * Whether an error proves the signature was verified: the validator only checks claims, scopes
 * and tenants after a good signature.
 *
 * @example
 * ```ts
 * signatureVerifiedBefore(error); // true for ERR_TOKEN_EXPIRED, false for ERR_TYPE_MISMATCH
 * ```
 */
export function signatureVerifiedBefore(error: TokenGuardError): boolean {
  if (BEFORE_SIGNATURE.has(error.code) || SIGNATURE_CODES.has(error.code)) return false;
  if (error.code === 'ERR_CLAIM_MISSING' && error.claim === 'iss') return false;
  // An internal failure or an introspection problem says nothing about the signature.
  return !error.code.startsWith('ERR_INTROSPECTION') && error.code !== 'ERR_INTERNAL';
}

/**
 * The check a validator error belongs to.
 *
 * @example
 * ```ts
 * checkForCode(new TokenGuardError('ERR_AUDIENCE_MISMATCH')); // 'audience'
 * ```
 */
export function checkForCode(error: TokenGuardError): CheckId {
  switch (error.code) {
    case 'ERR_TOKEN_MALFORMED':
    case 'ERR_TOKEN_TOO_LARGE':
    case 'ERR_TOKEN_NOT_JWT':
    case 'ERR_TOKEN_MISSING':
    case 'ERR_INVALID_REQUEST':
      return 'format';
    case 'ERR_ISSUER_MISMATCH':
      return 'issuer';
    case 'ERR_ALGORITHM_NOT_ALLOWED':
      return 'algorithm';
    case 'ERR_TYPE_MISMATCH':
      return 'type';
    case 'ERR_SIGNATURE_INVALID':
    case 'ERR_KEY_NOT_FOUND':
    case 'ERR_KEYS_UNAVAILABLE':
      return 'signature';
    case 'ERR_TOKEN_EXPIRED':
      return 'expiry';
    case 'ERR_TOKEN_NOT_YET_VALID':
      return error.message.includes('issued') ? 'issued-at' : 'not-before';
    case 'ERR_TOKEN_TOO_OLD':
      return 'issued-at';
    case 'ERR_AUDIENCE_MISMATCH':
      return 'audience';
    case 'ERR_INSUFFICIENT_SCOPE':
      return 'scopes';
    case 'ERR_TOKEN_BOUND':
    case 'ERR_MTLS_BINDING_MISMATCH':
    case 'ERR_DPOP_BINDING_MISMATCH':
      return 'binding';
    case 'ERR_TOKEN_INACTIVE':
    case 'ERR_INTROSPECTION_UNAVAILABLE':
    case 'ERR_INTROSPECTION_MISCONFIGURED':
      return 'introspection';
    case 'ERR_CLAIM_MISSING':
    case 'ERR_CLAIM_INVALID':
      if (error.claim === 'iss') return 'issuer';
      if (error.claim === 'aud') return 'audience';
      if (error.claim === 'exp') return 'expiry';
      if (error.claim === 'nbf') return 'not-before';
      if (error.claim === 'iat') return 'issued-at';
      return 'claims';
    default:
      return 'claims';
  }
}

/**
 * The cause of a 5xx error, for a human: never the token (causes are about URLs and sockets).
 *
 * @example
 * ```ts
 * describeCause(error); // 'could not reach http://127.0.0.1:4000/.well-known/openid-configuration'
 * ```
 */
export function describeCause(error: TokenGuardError): string | undefined {
  let cause: unknown = error.cause;
  const parts: string[] = [];
  for (let depth = 0; depth < 3 && cause instanceof Error; depth++) {
    parts.push(printable(cause.message, 160));
    cause = cause.cause;
  }
  return parts.length > 0 ? parts.join(': ') : undefined;
}

/**
 * Makes the checks agree with the real validator: the check its error belongs to is marked failed
 * with the validator's own message, and the signature check says what the verdict proves.
 *
 * @example
 * ```ts
 * reconcile(checks, verdict, 'key kid-1 from http://id/jwks');
 * ```
 */
export function reconcile(checks: Check[], verdict: Verdict, keyDescription: string): void {
  const signature = checks.find((check) => check.id === 'signature');
  if (verdict.valid) {
    if (signature !== undefined)
      Object.assign(signature, { status: 'pass', message: `verified with ${keyDescription}` });
    return;
  }
  const { error } = verdict;
  if (signature !== undefined && signatureVerifiedBefore(error)) {
    Object.assign(signature, { status: 'pass', message: `verified with ${keyDescription}` });
  }
  const id = checkForCode(error);
  const target = checks.find((check) => check.id === id);
  const cause = error.status >= 500 ? describeCause(error) : undefined;
  const message = `${error.message}${cause === undefined ? '' : ` (${cause})`}`;
  if (target === undefined) {
    checks.push({ id, status: 'fail', message });
  } else if (target.status !== 'fail' || id === 'signature') {
    // Our own sentence stays when it already explains the failure; otherwise the validator's words.
    target.status = 'fail';
    target.message = message;
  }
}

/**
 * The exit code of a verdict: 0 valid, 1 rejected (4xx), 3 no verdict possible (5xx).
 *
 * @example
 * ```ts
 * process.exitCode = exitCodeOf(verdict);
 * ```
 */
export function exitCodeOf(verdict: Verdict): number {
  if (verdict.valid) return EXIT.ok;
  return verdict.error.status >= 500 ? EXIT.unavailable : EXIT.rejected;
}
