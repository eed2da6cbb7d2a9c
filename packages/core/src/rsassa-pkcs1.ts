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

type Digest = keyof typeof DIGEST_INFO_PREFIXES;

/** An RSA public key ready for {@link verifyRsassaPkcs1}: node:crypto's arguments and `k`, built once. */
export interface Pkcs1Key {
  /**
   * The key with PKCS#1 v1.5 padding named, for `verify` (the off-thread path): node:crypto's default
   * padding follows the key's type, and is PSS for an `rsa-pss` key.
   */
  readonly input: { readonly key: KeyObject; readonly padding: number };
  /** The key with no padding, for `publicDecrypt`: the whole encoded message comes back. */
  readonly rawInput: { readonly key: KeyObject; readonly padding: number };
  /**
   * `k` of RFC 8017: the modulus length in bytes, the only length a signature may have. The key's
   * `modulusLength` is the exact bit length of `n`, so this is OpenSSL's `RSA_size` (257 for 2049 bits).
   */
  readonly modulusBytes: number;
  /**
   * By digest, the `k - hLen` bytes of every encoded message before its hash (RFC 8017 §9.2):
   * `00 01`, `ff` bytes, `00` and the `DigestInfo` prefix; none where `k` is too short for the digest.
   */
  readonly encodedPrefixes: Readonly<Record<Digest, Buffer | undefined>>;
}

/**
 * The bytes an RSASSA-PKCS1-v1_5 encoded message of `k` bytes holds before its `digest` hash
 * (EMSA-PKCS1-v1_5, RFC 8017 §9.2, steps 3-5), or `undefined` when `k` leaves fewer than eight `ff`
 * bytes ("intended encoded message length too short").
 */
function encodedPrefixOf(k: number, digest: Digest): Buffer | undefined {
  const digestInfo = DIGEST_INFO_PREFIXES[digest];
  const padding = k - 3 - digestInfo.length - HASH_LENGTHS[digest];
  if (padding < 8) return undefined;
  return Buffer.concat([
    Buffer.from([0x00, 0x01]),
    Buffer.alloc(padding, 0xff),
    Buffer.from([0x00]),
    digestInfo,
  ]);
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
  const modulusBytes = Math.ceil((keyObject.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
  return {
    input: { key: keyObject, padding: constants.RSA_PKCS1_PADDING },
    rawInput: { key: keyObject, padding: constants.RSA_NO_PADDING },
    modulusBytes,
    encodedPrefixes: {
      sha256: encodedPrefixOf(modulusBytes, 'sha256'),
      sha384: encodedPrefixOf(modulusBytes, 'sha384'),
      sha512: encodedPrefixOf(modulusBytes, 'sha512'),
    },
  };
}

/**
 * RSASSA-PKCS1-v1_5 verification (RS256/384/512), RFC 8017 §8.2.2, with node:crypto doing the
 * arithmetic: the signature must be exactly `k` bytes (step 1); node:crypto's `publicDecrypt` with no
 * padding (OpenSSL's `RSA_public_decrypt`) raises it to `e` mod `n`, refusing a representative not
 * below `n` (step 2), and gives back all `k` bytes of the encoded message; that must be, byte for
 * byte, the encoding of the hash of `signingInput` (steps 3-4: `00 01`, the `ff` bytes, `00`, the
 * `DigestInfo` with NULL parameters, the hash). Nothing of the message is parsed, so no padding or
 * length can be read wrongly, and the verdict is OpenSSL's `RSA_verify` (node:crypto's `verify`) for an
 * `rsa` key, as the differential tests hold it. About 3 µs (9%) cheaper per RS256 token than `verify`
 * in a loop on the benchmark machine: `verify` also sets up a digest context and checks the padding.
 *
 * `signingInput` is hashed as UTF-8, as every verification path in jws.ts hashes it; the JWS
 * decoders prove it ASCII. Throws when node:crypto refuses the signature (a representative not below
 * `n`) or the key (an `rsa-pss` key refuses to recover a message); the caller turns that into `false`.
 *
 * @example
 * ```ts
 * const ok = verifyRsassaPkcs1('sha256', pkcs1KeyOf(key), 'eyJhbGciOi...', signature);
 * ```
 */
export function verifyRsassaPkcs1(
  digest: Digest,
  key: Pkcs1Key,
  signingInput: string,
  signature: Buffer,
): boolean {
  const prefix = key.encodedPrefixes[digest];
  if (prefix === undefined || signature.length !== key.modulusBytes) return false;
  const encoded = publicDecrypt(key.rawInput, signature);
  if (
    encoded.length !== key.modulusBytes ||
    encoded.compare(prefix, 0, prefix.length, 0, prefix.length) !== 0
  ) {
    return false;
  }
  // The hash as a 'binary' (Latin-1) string, one character per byte: node:crypto makes no Buffer for it.
  const digestOf = oneShotHash as typeof nodeCrypto.hash;
  return digestOf(digest, signingInput, 'binary') === encoded.toString('binary', prefix.length);
}

/**
 * A known answer for the 2048-bit key `spki` (DER, base64), whose private key was discarded:
 * `signature`, made with node:crypto `sign`, is a genuine RS256 signature over `input`; `badPadding`
 * is the same encoded message with one padding byte `fe` instead of `ff` (its DigestInfo and hash
 * intact), raised to `d` without padding, which `verify` refuses. A verifier that skipped the padding
 * bytes would accept it, and with `e = 3` such a check lets signatures be forged.
 */
const KNOWN_ANSWER = {
  spki: 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAsNOlbyJ8oNrDeUX62XBPhVufJARKX2lOZEzo4g089BhY+71s1ItKDnyP0b4H7Yy32thoXmejRx64F6nI/14G9EIO1GQ2t3HMjTGAnKR4lm3tDZ3roQD/me/g+LShRuS4/c/IUqJdsHEK2vGP9p+oZHeW3dHGPnlPQt24NhTyPiWtPZdR8R0F6/UgCBHrZR5xog++EI02MJ3r5HcdL/3lrG9bZ2+lgp6Ism0nntKyR075jXdxDKA2AnSdH+d8WbdJbjuJCTKPo7DGlH4Svwnuxnfy9GdGjXuaiD1zo7jyspDkIYvEte1Mk54/F3i6x0hzHJQP2A79tc0UqLY6svi5YQIDAQAB',
  input: 'tokenguard RSASSA-PKCS1-v1_5 known answer',
  signature:
    'aR6krRGjnirzZ/We6XIQsOKMQn5r7BvZXti/ubzmfXALWvfn/I7t39q1bDinSWH0Xre5kruHe+87ZrXNJXwuPevaWFze5NAbYbxp7vWzSgtG2f+3d3D5ggC6VzhYk4YRwFoweJKMb74fMB36YI4PPL9ORenmZxbLD/M+Mgtd+GhNEkmPvl+KYctUFyq7A4mRI76sb1jEhhFL7x0kHcz1ZNkPZHvGOzjeCMbLbPGSmtqrkEbdoZuJ2xwoRDVvA47Fu+UKC2w5WDHaihf1dGwDz3oOYyJ9qb32NhtMHtLNVX1mfmuOX7l3CAgZjN7lQ5dk8jVAutoPHtzgULd8BZStAw==',
  badPadding:
    'JAZvZGloNg2CEokduVnnQ/XKkLngXWkhR3hrbaGY3MldMYWOvbY2B3W7B7XIx65lVnWXV2vEaRUFqHMwzgAzPnAqpSmmOe1RzkOzPNGIFgxBPz0BM6q4TBw7dTPHiuw48Nqff6SWlqNQ3tj9/aO6Ybfmv8FNwj20D2NaHnWtlYAlqG+xS5fdr90GWvSkQD+mHmQA4Badh05+/iKEVGScTWuiMqivGe3U5+qu5GRUFWvEhh9rED7J68FVHG7BbhmXsCO7bjCw5ySbzNaLrUa2sdgzWI32bptq1Mxs8n+KvWCqX0BQX3/YRTax3ee/yelV33GA2CoYJYF68ph8OmZeSA==',
} as const;

let available: boolean | undefined;

/**
 * Whether {@link verifyRsassaPkcs1} gives node:crypto `verify`'s verdicts on {@link KNOWN_ANSWER} here:
 * checked once, on first use (the genuine signature must verify; it over another input, it with one
 * bit changed, and the signature with one padding byte wrong must not). When it fails (a runtime
 * whose node:crypto lacks `hash` or whose `publicDecrypt` gives back less than the whole message),
 * jws.ts verifies RS256/384/512 inline with node:crypto `verify`, as it verifies the other asymmetric
 * algorithms (off the thread they always take `verify`), so an unusual runtime costs speed, never
 * every RS* token.
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

/**
 * Internal (exported for its tests): whether `verifier` gives the known answer's four verdicts: the
 * genuine signature accepted; refused over another input (the hash is compared), with one bit changed
 * (the encoded message is compared), and as `badPadding` (every padding byte is compared).
 */
export function passesKnownAnswer(verifier: typeof verifyRsassaPkcs1): boolean {
  try {
    const key = pkcs1KeyOf(
      createPublicKey({ key: Buffer.from(KNOWN_ANSWER.spki, 'base64'), format: 'der', type: 'spki' }),
    );
    const signature = Buffer.from(KNOWN_ANSWER.signature, 'base64');
    const changed = Buffer.from(signature);
    changed[changed.length - 1] = (changed[changed.length - 1] as number) ^ 1;
    return (
      verifier('sha256', key, KNOWN_ANSWER.input, signature) &&
      refuses(verifier, key, `${KNOWN_ANSWER.input}.`, signature) &&
      refuses(verifier, key, KNOWN_ANSWER.input, changed) &&
      refuses(verifier, key, KNOWN_ANSWER.input, Buffer.from(KNOWN_ANSWER.badPadding, 'base64'))
    );
  } catch {
    return false;
  }
}

function refuses(
  verifier: typeof verifyRsassaPkcs1,
  key: Pkcs1Key,
  input: string,
  signature: Buffer,
): boolean {
  try {
    return !verifier('sha256', key, input, signature);
  } catch {
    // node:crypto refusing the signature outright (a representative not below n) is a refusal.
    return true;
  }
}
