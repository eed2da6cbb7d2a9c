import { decodeJwt, decodeProtectedHeader } from 'jose';

/**
 * A token's header and claims, read WITHOUT verifying anything.
 *
 * @example
 * ```ts
 * const decoded = decodeToken(token);
 * if (!('error' in decoded)) console.log(decoded.header.kid, decoded.claims.iss);
 * ```
 */
export interface DecodedToken {
  readonly header: Readonly<Record<string, unknown>>;
  readonly claims: Readonly<Record<string, unknown>>;
}

/**
 * Why a token could not be decoded.
 *
 * @example
 * ```ts
 * const decoded = decodeToken('opaque');
 * if ('error' in decoded) console.error(decoded.error);
 * ```
 */
export interface DecodeFailure {
  readonly error: string;
}

const BEARER = /^\s*bearer\s+/i;

/**
 * Strips a leading `Bearer ` (so a pasted `Authorization` value works) and surrounding whitespace.
 *
 * @example
 * ```ts
 * normaliseTokenInput('Bearer abc\n'); // 'abc'
 * ```
 */
export function normaliseTokenInput(input: string): string {
  return input.trim().replace(BEARER, '').trim();
}

/**
 * Decodes a compact JWT's header and claims without checking the signature or any claim.
 *
 * @example
 * ```ts
 * const decoded = decodeToken(token);
 * if ('error' in decoded) console.error(decoded.error);
 * else console.log(decoded.claims.iss);
 * ```
 */
export function decodeToken(token: string): DecodedToken | DecodeFailure {
  const parts = token.split('.');
  if (parts.length === 5) {
    return { error: 'the token is an encrypted JWT (JWE, 5 parts); it cannot be read without the key' };
  }
  if (parts.length !== 3) {
    return {
      error: `the token is not a JWT (it has ${parts.length} dot-separated part${parts.length === 1 ? '' : 's'}, a JWT has 3); it may be an opaque token, which only introspection can check`,
    };
  }
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
  } catch {
    return { error: 'the header is not base64url-encoded JSON' };
  }
  try {
    return { header, claims: decodeJwt(token) as Record<string, unknown> };
  } catch {
    return { error: 'the payload is not base64url-encoded JSON claims' };
  }
}
