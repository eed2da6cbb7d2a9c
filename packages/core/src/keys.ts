import {
  constants,
  createPublicKey,
  createSecretKey,
  type KeyObject,
  type VerifyKeyObjectInput,
} from 'node:crypto';
import { ALGORITHM_SPECS, type Algorithm } from './lib/algorithms.js';
import { type Pkcs1Key, pkcs1KeyOf } from './rsassa-pkcs1.js';

/** A key ready to verify signatures, with the JWK metadata that limits what it may verify. */
export interface VerificationKey {
  readonly kid: string | undefined;
  readonly kty: 'RSA' | 'EC' | 'OKP' | 'oct';
  /** The JWK's `alg`, when it names one: the key then verifies only that algorithm. */
  readonly alg: string | undefined;
  readonly use: string | undefined;
  readonly keyOps: readonly string[] | undefined;
  /** `crv` of EC and OKP keys. */
  readonly curve: string | undefined;
  readonly keyObject: KeyObject;
  /**
   * node:crypto's key argument for RSASSA-PSS signatures (RSA keys), which need options with the key:
   * built once per key instead of once per token.
   */
  readonly pssInput?: VerifyKeyObjectInput;
  /** RSA keys: what RS256/384/512 verification needs, built once per key. */
  readonly pkcs1?: Pkcs1Key;
}

/** Why a JWK was not imported. */
export type ImportResult =
  | { ok: true; key: VerificationKey }
  | { ok: false; kid: string | undefined; reason: string };

/** RSA keys shorter than this are refused (RFC 8725 §3.5, NIST SP 800-131A). */
export const MIN_RSA_BITS = 2048;
/** Largest RSA public exponent accepted: 2^31 - 1, Go's crypto/rsa bound (issuers use 65537). */
const MAX_RSA_EXPONENT = 2n ** 31n - 1n;

/** Every JWK member {@link importPublicJwk} reads: a JWK's key and verdict depend on these alone. */
export const IMPORTED_JWK_MEMBERS = [
  'kid',
  'kty',
  'alg',
  'use',
  'key_ops',
  'crv',
  'n',
  'e',
  'x',
  'y',
] as const;

/** How {@link importPublicJwk} builds a key. */
export interface ImportOptions {
  /**
   * Whether RSA and EC keys are imported again from their SPKI encoding, which makes each verification
   * with them cheaper and the import dearer (~0.1-0.2 ms): for keys that verify many tokens (a key
   * set's). Default true; false for a DPoP proof's key, which a client chooses and may change at will.
   */
  readonly reencode?: boolean;
}

/**
 * Imports one JWK from a key set as a public verification key. Symmetric keys, encryption-only keys,
 * keys whose `alg` does not fit their `kty` or `crv`, weak RSA keys and keys node:crypto cannot parse
 * are refused with a reason; nothing throws.
 */
export function importPublicJwk(jwk: unknown, options: ImportOptions = {}): ImportResult {
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) {
    return { ok: false, kid: undefined, reason: 'not a JSON object' };
  }
  const record = jwk as Record<string, unknown>;
  const kid = typeof record.kid === 'string' ? record.kid : undefined;
  const fail = (reason: string): ImportResult => ({ ok: false, kid, reason });
  // Only IMPORTED_JWK_MEMBERS are read: a key set's refetch reuses a key whose members are unchanged.
  const { kty, alg, use, key_ops: keyOps, crv } = record;
  if (record.kid !== undefined && kid === undefined) return fail('kid is not a string');
  if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP') {
    return fail(kty === 'oct' ? 'symmetric keys are never taken from a key set' : 'unsupported kty');
  }
  if (alg !== undefined && typeof alg !== 'string') return fail('alg is not a string');
  if (use !== undefined && use !== 'sig') return fail(`use is ${JSON.stringify(use)}, not "sig"`);
  if (keyOps !== undefined) {
    if (!Array.isArray(keyOps) || !keyOps.every((op) => typeof op === 'string')) {
      return fail('key_ops is not a list of strings');
    }
    if (!keyOps.includes('verify')) return fail('key_ops does not include "verify"');
  }
  if (
    typeof alg === 'string' &&
    (!Object.hasOwn(ALGORITHM_SPECS, alg) || ALGORITHM_SPECS[alg as Algorithm].kty !== kty)
  ) {
    return fail(`alg ${alg} does not fit kty ${kty}`);
  }
  // A key announcing an alg on another curve could never verify a token: reported, not kept silently.
  const curves = typeof alg === 'string' ? ALGORITHM_SPECS[alg as Algorithm].curves : undefined;
  if (curves !== undefined && (typeof crv !== 'string' || !curves.includes(crv))) {
    return fail(`crv ${String(crv)} does not fit alg ${alg}`);
  }
  let keyObject: KeyObject;
  try {
    const publicJwk: Record<string, unknown> = { kty };
    for (const member of ['n', 'e', 'crv', 'x', 'y'])
      if (record[member] !== undefined) publicJwk[member] = record[member];
    keyObject = createPublicKey({ key: publicJwk as import('node:crypto').JsonWebKey, format: 'jwk' });
  } catch {
    return fail('node:crypto could not import it');
  }
  const details = keyObject.asymmetricKeyDetails;
  if (kty === 'RSA' && (details?.modulusLength ?? 0) < MIN_RSA_BITS) {
    return fail(`RSA modulus shorter than ${MIN_RSA_BITS} bits`);
  }
  if (kty === 'RSA') {
    // e = 1 makes every signature its own message representative: anyone could forge one.
    const e = details?.publicExponent ?? 0n;
    if (e < 3n || e % 2n === 0n) return fail('RSA public exponent is not an odd number >= 3');
    // Issuers use 65537 (RFC 8017 allows any odd e < n): an exponent near the modulus' size makes
    // every verification, forged signatures included, cost milliseconds instead of microseconds.
    // Bounded as Go's crypto/rsa bounds it.
    if (e > MAX_RSA_EXPONENT) return fail('RSA public exponent is larger than 2^31 - 1');
    if (hasRocaFingerprint(Buffer.from(String(record.n), 'base64url'))) {
      return fail('RSA modulus has the ROCA fingerprint (CVE-2017-15361): its private key can be computed');
    }
  }
  if ((kty === 'RSA' || kty === 'EC') && options.reencode !== false) {
    // Imported again from its SPKI encoding, the form PEM keys have: node:crypto builds an RSA or EC
    // key from a JWK's numbers in OpenSSL's legacy form, and every verification with it then sets up
    // its context the slow way (callgrind: ~2,500 instructions more per ES256 verification, ~0.6 µs
    // per RS256 one). Once per accepted key (~0.2 ms, OpenSSL's decoder) against every token it
    // verifies; OKP keys verify alike either way, so they keep the cheaper import.
    try {
      keyObject = createPublicKey({
        key: keyObject.export({ format: 'der', type: 'spki' }),
        format: 'der',
        type: 'spki',
      });
    } catch {
      return fail('node:crypto could not import it');
    }
  }
  if (kty === 'OKP' && keyObject.asymmetricKeyType !== 'ed25519' && keyObject.asymmetricKeyType !== 'ed448') {
    return fail('OKP key is not a signature key');
  }
  return {
    ok: true,
    key: {
      kid,
      kty,
      alg: alg as string | undefined,
      use: use as string | undefined,
      keyOps: keyOps as string[] | undefined,
      curve: typeof crv === 'string' ? crv : undefined,
      keyObject,
      ...(kty === 'RSA' ? { pssInput: pssInputOf(keyObject), pkcs1: pkcs1KeyOf(keyObject) } : {}),
    },
  };
}

/** The options RFC 7518 §3.5 fixes for PS256/384/512: MGF1 with the JWS hash, a salt as long as the hash. */
export function pssInputOf(keyObject: KeyObject): VerifyKeyObjectInput {
  return {
    key: keyObject,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
  };
}

/** Wraps a configured shared secret for HS* verification. */
export function importSecret(secret: string | Uint8Array): VerificationKey {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  return {
    kid: undefined,
    kty: 'oct',
    alg: undefined,
    use: undefined,
    keyOps: undefined,
    curve: undefined,
    keyObject: createSecretKey(bytes),
  };
}

/**
 * Whether `key` may verify `alg` (RFC 8725 §3.1): the key type fits, the JWK's own `alg` (when set)
 * is the same, and the curve is the algorithm's.
 */
export function keyFitsAlgorithm(key: VerificationKey, alg: Algorithm): boolean {
  const spec = ALGORITHM_SPECS[alg];
  if (spec.kty !== key.kty) return false;
  if (key.alg !== undefined && key.alg !== alg && !(alg === 'Ed25519' && key.alg === 'EdDSA')) return false;
  if (spec.curves !== undefined && (key.curve === undefined || !spec.curves.includes(key.curve)))
    return false;
  return true;
}

/** Small primes of the ROCA test: an Infineon-generated modulus is a power of 65537 modulo each. */
const ROCA_PRIMES = [
  3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107,
  109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
];
let rocaSubgroups: ReadonlySet<number>[] | undefined;

/**
 * Whether an RSA modulus (big-endian bytes) has the ROCA fingerprint (Nemec et al., CCS 2017): its
 * residue modulo each small prime lies in the subgroup generated by 65537. A random modulus passes
 * every prime with negligible probability.
 */
export function hasRocaFingerprint(modulus: Uint8Array): boolean {
  rocaSubgroups ??= ROCA_PRIMES.map((p) => {
    const members = new Set<number>();
    let x = 1;
    do {
      members.add(x);
      x = (x * (65537 % p)) % p;
    } while (x !== 1);
    return members;
  });
  return ROCA_PRIMES.every((p, i) => {
    let residue = 0;
    for (const byte of modulus) residue = (residue * 256 + byte) % p;
    return (rocaSubgroups as ReadonlySet<number>[])[i]?.has(residue) === true;
  });
}
