import {
  constants,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
} from 'node:crypto';

/** The algorithms the in-process benchmark covers. */
export const BENCH_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA', 'HS256'] as const;
export type BenchAlgorithm = (typeof BENCH_ALGORITHMS)[number];

export const ISSUER = 'https://issuer.bench.test';
export const AUDIENCE = 'https://api.bench.test';

/** A signing key and the matching verification material in every form the contenders take. */
export interface BenchKey {
  readonly alg: BenchAlgorithm;
  readonly kid: string;
  readonly privateKey: KeyObject;
  /** Cached verification key (the floor's). */
  readonly publicKey: KeyObject;
  /** SPKI PEM (or the secret, for HS256). */
  readonly publicPem: string;
  /** Public JWK with kid, alg and use (undefined for HS256). */
  readonly jwk: Record<string, unknown> | undefined;
  readonly secret: Buffer | undefined;
}

/**
 * Generates a key for `alg`. Keys are generated as PEM and imported, then exported as JWK: exporting
 * a freshly generated KeyObject to JWK directly hung once on Node 20.20.
 */
export function generateBenchKey(alg: BenchAlgorithm): BenchKey {
  const kid = `bench-${alg.toLowerCase()}`;
  if (alg === 'HS256') {
    const secret = randomBytes(32);
    const key = createSecretKey(secret);
    return { alg, kid, privateKey: key, publicKey: key, publicPem: '', jwk: undefined, secret };
  }
  const pair =
    alg === 'ES256'
      ? generateKeyPairSync('ec', {
          namedCurve: 'P-256',
          publicKeyEncoding: { type: 'spki', format: 'pem' },
          privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        })
      : alg === 'EdDSA'
        ? generateKeyPairSync('ed25519', {
            publicKeyEncoding: { type: 'spki', format: 'pem' },
            privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
          })
        : generateKeyPairSync('rsa', {
            modulusLength: 2048,
            publicKeyEncoding: { type: 'spki', format: 'pem' },
            privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
          });
  const privateKey = createPrivateKey(pair.privateKey);
  const publicKey = createPublicKey(pair.publicKey);
  const jwk = { ...createPublicKey(pair.publicKey).export({ format: 'jwk' }), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, publicKey, publicPem: pair.publicKey, jwk, secret: undefined };
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Claims shaped like an RFC 9068 access token of a typical issuer. */
export function accessTokenClaims(n: number, nowSec: number, ttlSec = 3600): Record<string, unknown> {
  return {
    iss: ISSUER,
    sub: `user-${n}`,
    aud: AUDIENCE,
    client_id: 'bench-client',
    scope: 'orders:read orders:write profile',
    iat: nowSec,
    nbf: nowSec,
    exp: nowSec + ttlSec,
    jti: `jti-${n}-${nowSec}`,
  };
}

/** Signs a compact JWS with node:crypto (typ at+jwt, kid set). */
export function signToken(key: BenchKey, claims: Record<string, unknown>): string {
  const header: Record<string, unknown> = { alg: key.alg, typ: 'at+jwt' };
  if (key.alg !== 'HS256') header.kid = key.kid;
  const input = `${b64(header)}.${b64(claims)}`;
  let signature: Buffer;
  switch (key.alg) {
    case 'RS256':
      signature = sign('sha256', Buffer.from(input), key.privateKey);
      break;
    case 'PS256':
      signature = sign('sha256', Buffer.from(input), {
        key: key.privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
      });
      break;
    case 'ES256':
      signature = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
      break;
    case 'EdDSA':
      signature = sign(null, Buffer.from(input), key.privateKey);
      break;
    case 'HS256':
      signature = createHmac('sha256', key.privateKey).update(input).digest();
      break;
  }
  return `${input}.${signature.toString('base64url')}`;
}

/** `count` distinct tokens (distinct `sub` and `jti`), all valid for an hour; `overrides` replace claims. */
export function signPool(
  key: BenchKey,
  count: number,
  offset = 0,
  overrides: Record<string, unknown> = {},
): string[] {
  const nowSec = Math.floor(Date.now() / 1000);
  const pool: string[] = [];
  for (let i = 0; i < count; i++) {
    pool.push(signToken(key, { ...accessTokenClaims(offset + i, nowSec), ...overrides }));
  }
  return pool;
}
