/** Every JWS algorithm tokenguard can verify. `none` is not and never will be one of them. */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
export const SYMMETRIC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;

/**
 * A JWS algorithm tokenguard verifies.
 *
 * @example
 * ```ts
 * const algorithms: Algorithm[] = ['RS256', 'ES256'];
 * ```
 */
export type Algorithm = (typeof ASYMMETRIC_ALGORITHMS)[number] | (typeof SYMMETRIC_ALGORITHMS)[number];

/**
 * The default allow-list: every asymmetric algorithm (RFC 8725 §3.1) under its registered JWS name.
 * `Ed25519` (the fully-specified name of RFC 9864) is left to explicit opt-in: issuers sign Ed25519
 * tokens as `EdDSA`, which the default already accepts with the same keys.
 */
export const DEFAULT_ALGORITHMS: readonly Algorithm[] = ASYMMETRIC_ALGORITHMS.filter(
  (alg) => alg !== 'Ed25519',
);

/** What a key must be to verify one algorithm. */
export interface AlgorithmSpec {
  readonly kty: 'RSA' | 'EC' | 'OKP' | 'oct';
  /** node:crypto digest name, or null for EdDSA. */
  readonly hash: 'sha256' | 'sha384' | 'sha512' | null;
  /** Accepted curves (EC, OKP). */
  readonly curves?: readonly string[];
  /** ECDSA raw signature length (r || s). */
  readonly signatureLength?: number;
  readonly pss?: boolean;
}

export const ALGORITHM_SPECS: Readonly<Record<Algorithm, AlgorithmSpec>> = {
  RS256: { kty: 'RSA', hash: 'sha256' },
  RS384: { kty: 'RSA', hash: 'sha384' },
  RS512: { kty: 'RSA', hash: 'sha512' },
  PS256: { kty: 'RSA', hash: 'sha256', pss: true },
  PS384: { kty: 'RSA', hash: 'sha384', pss: true },
  PS512: { kty: 'RSA', hash: 'sha512', pss: true },
  ES256: { kty: 'EC', hash: 'sha256', curves: ['P-256'], signatureLength: 64 },
  ES384: { kty: 'EC', hash: 'sha384', curves: ['P-384'], signatureLength: 96 },
  ES512: { kty: 'EC', hash: 'sha512', curves: ['P-521'], signatureLength: 132 },
  EdDSA: { kty: 'OKP', hash: null, curves: ['Ed25519', 'Ed448'] },
  Ed25519: { kty: 'OKP', hash: null, curves: ['Ed25519'] },
  HS256: { kty: 'oct', hash: 'sha256' },
  HS384: { kty: 'oct', hash: 'sha384' },
  HS512: { kty: 'oct', hash: 'sha512' },
};

export function isKnownAlgorithm(alg: unknown): alg is Algorithm {
  return typeof alg === 'string' && Object.hasOwn(ALGORITHM_SPECS, alg);
}
