import * as nodeCrypto from 'node:crypto';
import { constants, createPublicKey, type KeyObject, publicDecrypt } from 'node:crypto';

/**
 * node:crypto's one-shot `hash` (Node 20.12+), read when the module runs rather than imported by
 * name: on a runtime without it the module still loads, the known answer fails, and jws.ts keeps to
 * `verify` ({@link rsassaPkcs1Available}).
 */
const oneShotHash: typeof nodeCrypto.hash | undefined = nodeCrypto.hash;

/**
 * The DER `DigestInfo` that precedes the hash in an RSASSA-PKCS1-v1_5 signature (RFC 8017 §9.2,
 * note 1), with the algorithm's NULL parameters: the only encoding OpenSSL and RFC 8017 accept.
 */
const DIGEST_INFO_PREFIXES = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
} as const;

const HASH_LENGTHS = { sha256: 32, sha384: 48, sha512: 64 } as const;

/** An RSA public key ready for {@link verifyRsassaPkcs1}: node:crypto's argument and `k`, built once. */
export interface Pkcs1Key {
  /**
   * The key with PKCS#1 v1.5 padding named, for `publicDecrypt` and for `verify` (the off-thread
   * path): node:crypto's default padding follows the key's type, and is PSS for an `rsa-pss` key.
   */
  readonly input: { readonly key: KeyObject; readonly padding: number };
  /**
   * `k` of RFC 8017: the modulus length in bytes, the only length a signature may have. The key's
   * `modulusLength` is the exact bit length of `n`, so this is OpenSSL's `RSA_size` (257 for 2049 bits).
   */
  readonly modulusBytes: number;
}

/**
 * Prepares an RSA public key for {@link verifyRsassaPkcs1}.
 *
 * @example
 * ```ts
 * const pkcs1 = pkcs1KeyOf(createPublicKey(pem));
 * ```
 */
export function pkcs1KeyOf(keyObject: KeyObject): Pkcs1Key {
  return {
    input: { key: keyObject, padding: constants.RSA_PKCS1_PADDING },
    modulusBytes: Math.ceil((keyObject.asymmetricKeyDetails?.modulusLength ?? 0) / 8),
  };
}

/**
 * RSASSA-PKCS1-v1_5 verification (RS256/384/512), RFC 8017 §8.2.2, with node:crypto doing the
 * arithmetic: the signature must be exactly `k` bytes (step 1); node:crypto's `publicDecrypt`
 * (OpenSSL's `RSA_public_decrypt`) raises it to `e` mod `n`, refusing a representative not below `n`
 * (step 2), and checks the type-1 padding (`00 01`, at least eight `ff`, `00`); what is left must be
 * byte for byte the `DigestInfo` (NULL parameters) and hash of `signingInput`. That fixes the
 * padding's length too, so it is the whole-message comparison of steps 3-4, and what OpenSSL's own
 * `RSA_verify` (node:crypto's `verify`) does: for an `rsa` key the verdict is `verify`'s, as the
 * differential tests hold it. ~2 µs (6-8%) cheaper per RS256 token than `verify`, which also sets up
 * a digest context per call.
 *
 * `signingInput` is hashed as UTF-8, as every verification path in jws.ts hashes it; the JWS
 * decoders prove it ASCII. Throws when node:crypto refuses the signature (bad padding, a
 * representative not below `n`) or the key (an `rsa-pss` key refuses PKCS#1 v1.5 padding); the
 * caller turns that into `false`.
 *
 * @example
 * ```ts
 * const ok = verifyRsassaPkcs1('sha256', pkcs1KeyOf(key), 'eyJhbGciOi...', signature);
 * ```
 */
export function verifyRsassaPkcs1(
  digest: keyof typeof DIGEST_INFO_PREFIXES,
  key: Pkcs1Key,
  signingInput: string,
  signature: Buffer,
): boolean {
  if (signature.length !== key.modulusBytes) return false;
  const recovered = publicDecrypt(key.input, signature);
  const prefix = DIGEST_INFO_PREFIXES[digest];
  if (
    recovered.length !== prefix.length + HASH_LENGTHS[digest] ||
    recovered.compare(prefix, 0, prefix.length, 0, prefix.length) !== 0
  ) {
    return false;
  }
  const digestOf = oneShotHash as typeof nodeCrypto.hash;
  return digestOf(digest, signingInput, 'buffer').compare(recovered, prefix.length) === 0;
}

/**
 * A known answer: an RS256 signature over `input` by the 2048-bit key `spki` (DER, base64), made once
 * with node:crypto `sign`; its private key was discarded.
 */
const KNOWN_ANSWER = {
  spki: 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAuy+bvckiLuihFyDEg5g8AqlFD7EAJ/O5nLxcdzPCzaKfVSFjKXo4L5BPsl2m6/TKjwZk/6QYd5JRyBvWCud2LuDcMTneNdSJWi5hjA+4luGkE+e97P0I52gTK/nEdkJ841qN0IIqWu27kP4ywmPmFsGHPxpkLkyVEZO2bhJhD8tV4H7igSBp0urVrBNuq2D6Fe6gTNICJ6XJgoaaepW2TQEPsdDV9vAZ4py8KT8IQR22s4/h/AmmupYczsujY7VixitwBSw3kvH4imSQqSSqMOnwpUEGmFjGtjWFAE6PApWe90vQOBR9H+di9fyOEzZpnHECCcBNETkdjJSzEItu0QIDAQAB',
  input: 'tokenguard RSASSA-PKCS1-v1_5 known answer',
  signature:
    'D9Mr8pQTh8y2+43VeM0wqyLwvbQUDxdL9fRLWGExyxUEkVMfKzrLHymVXJ9RtFDXvyd3lnvlpfj0C3eSEZarAvz1Z44FWr7ERltC/vHLLu6GhdYiQd+BrVkDw+ZrWe80DQrGq3vNBBNEKuqTR9Hesifi4xhhVFhfysC7Ut4pygZwG05zIMVSNwHIFHC79NoSx9IUTtxykAqhqOi4/wqEfyrY1b2A5XrO42rpTF4mBoaL7dfi5l/5/RdU580y7kcFwk9NvYcTvTRkYnsGsHKwEEClmv/vmXzWr3D+IKF4cjiA8mjxGmx1WruUfFARZhW08zhGSpzB3LqBupfdtDbi4g==',
} as const;

let available: boolean | undefined;

/**
 * Whether {@link verifyRsassaPkcs1} works on this runtime: checked once, on first use, against
 * {@link KNOWN_ANSWER} (the signature must verify, the same signature with one bit changed must
 * not). When it fails (a runtime whose node:crypto lacks `hash` or whose `publicDecrypt` differs),
 * jws.ts verifies RS256/384/512 with node:crypto `verify`, as it verifies every other algorithm, so
 * an unusual runtime costs speed, never every RS* token.
 *
 * @example
 * ```ts
 * const ok = rsassaPkcs1Available() ? verifyRsassaPkcs1('sha256', k, input, sig) : verify('sha256', data, key, sig);
 * ```
 */
export function rsassaPkcs1Available(): boolean {
  available ??= passesKnownAnswer(verifyRsassaPkcs1);
  return available;
}

/** Internal (exported for its tests): whether `verifier` gives the known answer's two verdicts. */
export function passesKnownAnswer(verifier: typeof verifyRsassaPkcs1): boolean {
  try {
    const key = pkcs1KeyOf(
      createPublicKey({ key: Buffer.from(KNOWN_ANSWER.spki, 'base64'), format: 'der', type: 'spki' }),
    );
    const signature = Buffer.from(KNOWN_ANSWER.signature, 'base64');
    const changed = Buffer.from(signature);
    changed[changed.length - 1] = (changed[changed.length - 1] as number) ^ 1;
    return verifier('sha256', key, KNOWN_ANSWER.input, signature) && refuses(verifier, key, changed);
  } catch {
    return false;
  }
}

function refuses(verifier: typeof verifyRsassaPkcs1, key: Pkcs1Key, signature: Buffer): boolean {
  try {
    return !verifier('sha256', key, KNOWN_ANSWER.input, signature);
  } catch {
    // node:crypto refusing the changed signature outright (its padding no longer checks) is a refusal.
    return true;
  }
}
