/**
 * Test helpers: signing keys and signed tokens, made with node:crypto and jose (never with the code
 * under test).
 *
 * @example
 * ```ts
 * const key = generateSigningKey('ES256');
 * const token = await signToken(key, { iss, aud, exp }, { typ: 'at+jwt' });
 * ```
 */
import {
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { CompactSign, type JWK } from 'jose';

/** Every asymmetric algorithm the validator verifies, with the key type generated for it. */
export type AsymmetricAlg =
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA';

/** A key pair (or shared secret) to sign test tokens with. */
export interface SigningKey {
  /** The private key (or the secret, for HS*). */
  privateKey: KeyObject;
  /** The public JWK with `kid`, `alg` and `use: 'sig'`; empty for a shared secret. */
  publicJwk: JWK;
  kid: string;
  alg: string;
}

let counter = 0;

function pemPair(alg: AsymmetricAlg, modulusLength: number): { publicKey: string; privateKey: string } {
  const publicKeyEncoding = { type: 'spki', format: 'pem' } as const;
  const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const;
  if (alg.startsWith('RS') || alg.startsWith('PS')) {
    return generateKeyPairSync('rsa', { modulusLength, publicKeyEncoding, privateKeyEncoding });
  }
  if (alg === 'EdDSA') return generateKeyPairSync('ed25519', { publicKeyEncoding, privateKeyEncoding });
  const namedCurve = alg === 'ES256' ? 'P-256' : alg === 'ES384' ? 'P-384' : 'P-521';
  return generateKeyPairSync('ec', { namedCurve, publicKeyEncoding, privateKeyEncoding });
}

/**
 * Generates a signing key for `alg`. Keys go through PEM before the JWK export (exporting a freshly
 * generated KeyObject to JWK directly was seen to hang on Node 20.20).
 *
 * @example
 * ```ts
 * const { privateKey, publicJwk, kid } = generateSigningKey('RS256');
 * ```
 */
export function generateSigningKey(
  alg: AsymmetricAlg,
  options: { kid?: string; modulusLength?: number } = {},
): SigningKey {
  const pair = pemPair(alg, options.modulusLength ?? 2048);
  const kid = options.kid ?? `test-${alg.toLowerCase()}-${++counter}`;
  const publicJwk: JWK = {
    ...createPublicKey(pair.publicKey).export({ format: 'jwk' }),
    kid,
    alg,
    use: 'sig',
  };
  return { privateKey: createPrivateKey(pair.privateKey), publicJwk, kid, alg };
}

/**
 * Wraps a shared secret for HS256/384/512 signing.
 *
 * @example
 * ```ts
 * const key = secretSigningKey('a'.repeat(32), 'HS256');
 * ```
 */
export function secretSigningKey(
  secret: string | Uint8Array,
  alg: 'HS256' | 'HS384' | 'HS512' = 'HS256',
): SigningKey {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  return { privateKey: createSecretKey(bytes), publicJwk: {}, kid: `test-${alg.toLowerCase()}`, alg };
}

/**
 * A JSON Web Key Set of the given keys' public JWKs.
 *
 * @example
 * ```ts
 * createValidator({ issuer, audience, jwks: jwksOf(rsa, ec) });
 * ```
 */
export function jwksOf(...keys: readonly SigningKey[]): { keys: JWK[] } {
  return { keys: keys.map((key) => ({ ...key.publicJwk })) };
}

/**
 * Signs `claims` as a compact JWS. The header is `{ alg, kid, typ: 'at+jwt' }` with `headerOverrides`
 * applied; an override of `undefined` removes that parameter (e.g. `{ typ: undefined }`). `alg` in
 * the overrides changes only the header, not how the signature is made (for mismatch tests, sign
 * with a key of the header's algorithm family).
 *
 * @example
 * ```ts
 * const token = await signToken(key, { iss, aud, exp }, { typ: 'JWT' });
 * ```
 */
export async function signToken(
  key: SigningKey,
  claims: Record<string, unknown>,
  headerOverrides: Record<string, unknown> = {},
): Promise<string> {
  const header: Record<string, unknown> = { alg: key.alg, kid: key.kid, typ: 'at+jwt', ...headerOverrides };
  for (const [name, value] of Object.entries(header)) if (value === undefined) delete header[name];
  const payload = new TextEncoder().encode(JSON.stringify(claims));
  return new CompactSign(payload).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
}

/**
 * Access-token claims for a fixed instant: `iss`, `aud`, `sub`, `client_id`, `jti`, `iat` and
 * `exp` (`iat + 300`), with `overrides` applied (an override of `undefined` removes the claim).
 *
 * @example
 * ```ts
 * accessTokenClaims({ iss, aud: 'https://api.test', nowSec: 1_700_000_000, scope: 'read' });
 * ```
 */
export function accessTokenClaims(
  options: { iss: string; aud: string | string[]; nowSec: number },
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const claims: Record<string, unknown> = {
    iss: options.iss,
    aud: options.aud,
    sub: 'user-1',
    client_id: 'client-1',
    jti: `jti-${++counter}`,
    iat: options.nowSec,
    exp: options.nowSec + 300,
    ...overrides,
  };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  return claims;
}
