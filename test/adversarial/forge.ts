/**
 * Hand-made tokens for the adversarial suite: headers and payloads are JSON text (or raw bytes) that
 * we base64url-encode ourselves and sign with node:crypto, so nothing here goes through the code under
 * test or through a JOSE library that would refuse to produce a hostile token.
 *
 * @example
 * ```ts
 * const token = forge({ alg: 'RS256', kid: rsa.kid, typ: 'at+jwt' }, claims(), rsa.privateKey);
 * ```
 */
import { constants, createHmac, type KeyObject, sign } from 'node:crypto';
import {
  createValidator,
  type ErrorCode,
  isTokenGuardError,
  type TokenGuardError,
  type Validator,
  type ValidatorOptions,
} from '@tokenguard/core';
import { expect } from 'vitest';

export const ISSUER = 'https://issuer.test';
export const OTHER_ISSUER = 'https://other-tenant.issuer.test';
export const AUDIENCE = 'https://api.test';
/** The fixed clock of every validator in the suite (ms). */
export const NOW_MS = 1_800_000_000_000;
export const NOW_SEC = NOW_MS / 1000;

/** base64url without padding of a string (UTF-8) or bytes. */
export function b64u(data: string | Uint8Array): string {
  return Buffer.from(data as Uint8Array).toString('base64url');
}

/** A header or payload segment: an object is JSON-encoded; a string is taken as the exact JSON text. */
export function segment(part: object | string | Buffer): string {
  if (Buffer.isBuffer(part)) return b64u(part);
  return b64u(typeof part === 'string' ? part : JSON.stringify(part));
}

/** Signs `input` the way JWS `alg` says, with node:crypto. `none` gives an empty signature. */
export function signInput(alg: string, key: KeyObject | Buffer | undefined, input: string): Buffer {
  const data = Buffer.from(input, 'latin1');
  if (alg === 'none' || key === undefined) return Buffer.alloc(0);
  const hash = `sha${alg.slice(2)}`;
  if (alg.startsWith('HS'))
    return createHmac(hash, key as Buffer)
      .update(data)
      .digest();
  const k = key as KeyObject;
  if (alg.startsWith('RS')) return sign(hash, data, k);
  if (alg.startsWith('PS'))
    return sign(hash, data, {
      key: k,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    });
  if (alg.startsWith('ES'))
    return sign(hash === 'sha512' ? 'sha512' : hash, data, { key: k, dsaEncoding: 'ieee-p1363' });
  if (alg === 'EdDSA' || alg === 'Ed25519') return sign(null, data, k);
  throw new Error(`forge: cannot sign ${alg}`);
}

/**
 * A compact JWS: `header` and `payload` are objects, exact JSON text, or raw bytes; signed with the
 * algorithm `signAs` (default: the header's `alg`) and `key`.
 */
export function forge(
  header: object | string | Buffer,
  payload: object | string | Buffer,
  key: KeyObject | Buffer | undefined,
  signAs?: string,
): string {
  const input = `${segment(header)}.${segment(payload)}`;
  const alg =
    signAs ??
    (typeof header === 'object' && !Buffer.isBuffer(header) ? (header as { alg: string }).alg : 'none');
  return `${input}.${b64u(signInput(alg, key, input))}`;
}

/** Access-token claims valid at {@link NOW_SEC}, with overrides (`undefined` removes a claim). */
export function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    client_id: 'client-1',
    jti: 'jti-1',
    iat: NOW_SEC - 10,
    exp: NOW_SEC + 300,
    scope: 'orders:read',
    ...overrides,
  };
  for (const [name, value] of Object.entries(base)) if (value === undefined) delete base[name];
  return base;
}

/** A validator with the suite's fixed clock and no token cache, so every call runs every check. */
export function validatorFor(options: ValidatorOptions): Validator {
  return createValidator({ now: () => NOW_MS, tokenCache: false, ...options } as ValidatorOptions);
}

/**
 * Awaits `promise`, which must reject with a TokenGuardError of `code` and a 4xx status, and returns
 * the error.
 */
export async function expectRejection(promise: Promise<unknown>, code: ErrorCode): Promise<TokenGuardError> {
  const outcome = await promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error(`expected ${code}, but the token was accepted`);
  const { error } = outcome;
  if (!isTokenGuardError(error))
    throw new Error(`expected ${code}, got a non-library error: ${String(error)}`);
  expect(error.code).toBe(code);
  expect([400, 401, 403]).toContain(error.status);
  return error;
}

/** Flips one base64url character of segment `index` (0 header, 1 payload, 2 signature) to another. */
export function tamper(token: string, index: 0 | 1 | 2, position = 5): string {
  const parts = token.split('.');
  const part = parts[index] as string;
  const c = part[position] as string;
  const replacement = c === 'A' ? 'B' : 'A';
  parts[index] = part.slice(0, position) + replacement + part.slice(position + 1);
  return parts.join('.');
}
