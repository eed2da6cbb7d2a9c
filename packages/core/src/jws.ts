import { createHmac, type KeyObject, timingSafeEqual, type VerifyKeyObjectInput, verify } from 'node:crypto';
import { keyOptionsAccepted, pssHonoured } from './crypto-support.js';
import { TokenGuardError } from './errors.js';
import { pssInputOf, type VerificationKey } from './keys.js';
import { ALGORITHM_SPECS, type Algorithm, type AlgorithmSpec } from './lib/algorithms.js';
import {
  decodedByteLength,
  hasCanonicalEnd,
  isCanonicalBase64url,
  isDecoderSafeText,
} from './lib/base64url.js';
import { ecdsaDerOf } from './lib/ecdsa-der.js';
import { jsonObjectRefusal, parseJsonObject } from './lib/json.js';
import { type Pkcs1Key, pkcs1KeyOf, rsassaPkcs1Available, verifyRsassaPkcs1 } from './rsassa-pkcs1.js';

/** A compact JWS split and decoded, not yet verified. */
export interface DecodedJws {
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
  /** `header.payload`, the bytes that were signed. */
  readonly signingInput: string;
  readonly signature: Buffer;
}

/** Whether `token` has the shape of a compact JWS: three segments separated by two dots. */
export function looksLikeCompactJws(token: string): boolean {
  const first = token.indexOf('.');
  if (first <= 0) return false;
  const second = token.indexOf('.', first + 1);
  return second > first + 1 && token.indexOf('.', second + 1) === -1;
}

const malformed = (message: string): TokenGuardError =>
  new TokenGuardError('ERR_TOKEN_MALFORMED', { message });

/**
 * Headers already decoded and checked, by their base64url segment. An issuer signs every token with
 * the same few headers, so this saves decoding and parsing one JSON document per token. Only flat
 * headers (no object or array member) are kept, so the depth limit cannot differ between callers;
 * they are frozen, as they are shared. Bounded: cleared when full.
 */
const headerCache = new Map<string, Readonly<Record<string, unknown>>>();
const HEADER_CACHE_MAX_ENTRIES = 64;
/** The header cache entry used last, with its segment. */
let lastHeader: { readonly segment: string; readonly header: Readonly<Record<string, unknown>> } | undefined;

/** Any character that is neither in the base64url alphabet nor a dot. */
const NOT_COMPACT_JWS_TEXT = /[^A-Za-z0-9_.-]/;

/**
 * Whether `token` holds only base64url characters and dots (one native search over the whole token).
 */
export function isCompactJwsText(token: string): boolean {
  return !NOT_COMPACT_JWS_TEXT.test(token);
}

/**
 * The fast way to decode a compact JWS: `undefined` unless `token` is three segments of canonical
 * unpadded base64url (the caller then asks {@link decodeCompactJws}, which says precisely what is
 * wrong). The alphabet is proven without a loop over the characters: the text is ASCII without `+`
 * or `/` ({@link isDecoderSafeText}) and each segment decodes to exactly the bytes its length
 * encodes, which a skipped foreign character would make fewer. Once the text is canonical it throws
 * what {@link decodeCompactJws} throws (a header or payload that is not a JSON object, and so on).
 *
 * @example
 * ```ts
 * const jws = decodeCanonicalJws(token, 32) ?? decodeCompactJws(token, 32);
 * ```
 */
export function decodeCanonicalJws(token: string, maxDepth: number): DecodedJws | undefined {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  // A third dot needs no search: it is foreign to base64url, so the signature's length check below fails.
  if (first <= 0 || second <= first + 1 || second + 1 === token.length) return undefined;
  if (
    !isDecoderSafeText(token) ||
    !hasCanonicalEnd(token, 0, first) ||
    !hasCanonicalEnd(token, first + 1, second) ||
    !hasCanonicalEnd(token, second + 1, token.length)
  ) {
    return undefined;
  }
  // A cached header was checked when it was first seen; its segment matched character for character.
  // The last one used is compared first, with `===` (no hash; an issuer's tokens share one header):
  // a native compare, where `token.startsWith(last.segment)` was inlined by TurboFan (Node 20) as a
  // loop of ~57 instructions per character (~3,700 per token, by callgrind).
  const last = lastHeader;
  const headerSegment = token.slice(0, first);
  const reused = last !== undefined && last.segment === headerSegment;
  const header = reused ? last.header : headerCache.get(headerSegment);
  const headerBytes = header === undefined ? Buffer.from(headerSegment, 'base64url') : undefined;
  if (headerBytes !== undefined && headerBytes.length !== decodedByteLength(first)) return undefined;
  const payloadBytes = Buffer.from(token.slice(first + 1, second), 'base64url');
  if (payloadBytes.length !== decodedByteLength(second - first - 1)) return undefined;
  const signature = Buffer.from(token.slice(second + 1), 'base64url');
  if (signature.length !== decodedByteLength(token.length - second - 1)) return undefined;
  const decodedHeader = header ?? decodeHeader(headerSegment, headerBytes as Buffer, maxDepth);
  // Remembered when it is in the header cache: found there, or just stored there by decodeHeader.
  if (!reused && (header !== undefined || headerCache.get(headerSegment) === decodedHeader)) {
    lastHeader = { segment: headerSegment, header: decodedHeader };
  }
  return {
    header: decodedHeader,
    payload: decodePayload(payloadBytes, maxDepth),
    signingInput: token.slice(0, second),
    signature,
  };
}

/**
 * Splits and decodes a compact JWS. Refuses, before any key is looked at: a segment that is not
 * canonical base64url, a header or payload that is not a JSON object (or is too deep, or has a
 * `__proto__` member), a header without a string `alg`, any `crit` (no extension is understood),
 * `b64` (RFC 7797 unencoded payloads), `zip`, `enc`, and nested JWTs (`cty` `JWT` or `application/jwt`).
 * Says which part is wrong; {@link decodeCanonicalJws} is the faster way for text that is fine.
 *
 * @example
 * ```ts
 * const { header, payload } = decodeCompactJws(token, 32); // throws ERR_TOKEN_MALFORMED
 * ```
 */
export function decodeCompactJws(token: string, maxDepth: number): DecodedJws {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  if (first <= 0 || second <= first + 1 || token.indexOf('.', second + 1) !== -1) {
    throw malformed('The token is not a compact JWS (three dot-separated parts)');
  }
  // Canonical base64url: the alphabet (one search over the whole token, or a loop per segment when a
  // character is foreign, to say which part is wrong), a whole number of bytes, no stray trailing bits.
  const alphabetChecked = isCompactJwsText(token);
  const headerSegment = token.slice(0, first);
  let header = headerCache.get(headerSegment);
  if (
    (header === undefined && !isCanonicalRange(token, 0, first, alphabetChecked)) ||
    !isCanonicalRange(token, first + 1, second, alphabetChecked)
  ) {
    throw malformed('The token header or payload is not canonical base64url');
  }
  if (second + 1 === token.length || !isCanonicalRange(token, second + 1, token.length, alphabetChecked)) {
    throw malformed('The token signature is missing or not canonical base64url');
  }
  if (header === undefined)
    header = decodeHeader(headerSegment, Buffer.from(headerSegment, 'base64url'), maxDepth);
  const payload = decodePayload(Buffer.from(token.slice(first + 1, second), 'base64url'), maxDepth);
  const signature = Buffer.from(token.slice(second + 1), 'base64url');
  return { header, payload, signingInput: token.slice(0, second), signature };
}

function isCanonicalRange(token: string, start: number, end: number, alphabetChecked: boolean): boolean {
  return alphabetChecked ? hasCanonicalEnd(token, start, end) : isCanonicalBase64url(token, start, end);
}

/** Why a token's header or payload was refused, naming the option whose limit it passed. */
const refusalOf = (text: string, maxDepth: number): string =>
  jsonObjectRefusal(text, { maxDepth }, 'maxTokenJsonDepth');

function decodePayload(bytes: Buffer, maxDepth: number): Readonly<Record<string, unknown>> {
  const text = bytes.toString('utf8');
  // Invalid UTF-8 decodes to U+FFFD; a round trip tells it from a genuine U+FFFD.
  if (text.includes('\ufffd') && !Buffer.from(text, 'utf8').equals(bytes)) {
    throw malformed('The token payload is not valid UTF-8');
  }
  const payload = parseJsonObject(text, { maxDepth });
  if (payload === undefined) throw malformed(`The token payload is ${refusalOf(text, maxDepth)}`);
  return payload;
}

/**
 * Whether `cty` names a nested JWT: `JWT`, case-insensitive, with or without the `application/`
 * prefix RFC 7515 §4.1.10 tells recipients to assume where the value has no `/`.
 */
function isNestedJwtType(cty: unknown): boolean {
  if (typeof cty !== 'string') return false;
  const type = cty.toLowerCase();
  return type === 'jwt' || type === 'application/jwt';
}

function decodeHeader(segment: string, bytes: Buffer, maxDepth: number): Readonly<Record<string, unknown>> {
  const text = bytes.toString('utf8');
  // Same UTF-8 check as the payload: a kid or typ must not be matched after U+FFFD substitution.
  if (text.includes('\ufffd') && !Buffer.from(text, 'utf8').equals(bytes)) {
    throw malformed('The token header is not valid UTF-8');
  }
  const header = parseJsonObject(text, { maxDepth });
  if (header === undefined) throw malformed(`The token header is ${refusalOf(text, maxDepth)}`);
  if (typeof header.alg !== 'string') throw malformed('The token header has no alg');
  if (header.crit !== undefined) {
    throw malformed('The token header lists critical extensions (crit) this validator does not understand');
  }
  if (header.b64 !== undefined || header.zip !== undefined || header.enc !== undefined) {
    throw malformed('The token header uses b64, zip or enc, which access tokens never need');
  }
  if (isNestedJwtType(header.cty)) throw malformed('Nested JWTs are not accepted as access tokens');
  if (Object.values(header).every((value) => value === null || typeof value !== 'object')) {
    if (headerCache.size >= HEADER_CACHE_MAX_ENTRIES) headerCache.clear();
    headerCache.set(segment, Object.freeze(header));
  }
  return header;
}

/**
 * Most verifications that wait for libuv's thread pool at once, process-wide: four per thread
 * (`UV_THREADPOOL_SIZE`, default 4). Beyond it a verification runs inline, so an overload never
 * queues unbounded work where file system and DNS requests wait too, and the event loop slows the
 * intake of requests as it would without the option.
 *
 * @example
 * ```ts
 * import { OFF_THREAD_MAX_IN_FLIGHT } from '@tokenguard/core';
 * metrics.gauge('tokenguard.off_thread_max', OFF_THREAD_MAX_IN_FLIGHT); // 16 with UV_THREADPOOL_SIZE unset
 * ```
 */
export const OFF_THREAD_MAX_IN_FLIGHT = 4 * threadPoolSize(process.env.UV_THREADPOOL_SIZE);
let offThreadInFlight = 0;

/** The thread count libuv takes from `UV_THREADPOOL_SIZE` (internal; exported for its test). */
export function threadPoolSize(configured: string | undefined): number {
  // Read as libuv reads it: the leading integer, at least 1 and at most 1024; 4 when unset.
  const size = Number.parseInt(configured ?? '', 10);
  return Number.isNaN(size) ? 4 : Math.min(Math.max(size, 1), 1024);
}

/**
 * {@link verifyWithAny} with the public-key operation run on libuv's thread pool (node:crypto's
 * callback `verify`), leaving the event loop free; HMAC, which costs less than the hop, stays inline,
 * and so does any verification beyond {@link OFF_THREAD_MAX_IN_FLIGHT}.
 */
export async function verifyWithAnyOffThread(
  alg: Algorithm,
  keys: readonly VerificationKey[],
  signingInput: string,
  signature: Buffer,
): Promise<boolean> {
  for (const key of keys) if (await verifySignatureOffThread(alg, key, signingInput, signature)) return true;
  return false;
}

function verifySignatureOffThread(
  alg: Algorithm,
  key: VerificationKey,
  signingInput: string,
  signature: Buffer,
): boolean | Promise<boolean> {
  const spec = ALGORITHM_SPECS[alg];
  if (spec.kty === 'oct' || offThreadInFlight >= OFF_THREAD_MAX_IN_FLIGHT) {
    return verifySignature(alg, key, signingInput, signature);
  }
  if (!hasAcceptedLength(spec, key, signature) || !isVerifiableHere(spec)) return false;
  const keyInput = asymmetricKeyInput(spec, key);
  const signatureBytes = signatureInput(spec, signature);
  return new Promise((resolve) => {
    offThreadInFlight++;
    try {
      verify(spec.hash, signedBytes(signingInput), keyInput, signatureBytes, (error, ok) => {
        offThreadInFlight--;
        resolve(error === null && ok);
      });
    } catch {
      offThreadInFlight--;
      resolve(false);
    }
  });
}

/** Whether any of `keys` verifies the signature (keys sharing a kid are all candidates, in order). */
export function verifyWithAny(
  alg: Algorithm,
  keys: readonly VerificationKey[],
  signingInput: string,
  signature: Buffer,
): boolean {
  for (const key of keys) if (verifySignature(alg, key, signingInput, signature)) return true;
  return false;
}

/**
 * Verifies a JWS signature with node:crypto's synchronous operations: the fastest path Node has.
 * RS256/384/512 take {@link verifyRsassaPkcs1} (the raw public-key operation and a hash, about 3 µs
 * cheaper than `verify`) where its known answer passes ({@link rsassaPkcs1Available}), else
 * `verify`; the other asymmetric algorithms node:crypto's one-shot `verify`, the floor the
 * benchmarks compare against (ECDSA with the signature re-encoded as DER, which costs less than
 * node:crypto's own conversion); HMAC a constant-time comparison. The caller has already checked that
 * `key` fits `alg`. Never throws for a bad signature; returns false.
 */
export function verifySignature(
  alg: Algorithm,
  key: VerificationKey,
  signingInput: string,
  signature: Buffer,
): boolean {
  const spec = ALGORITHM_SPECS[alg];
  try {
    if (spec.kty === 'oct') {
      // Hashed as its UTF-8 form, as on every path (see signedBytes).
      const expected = createHmac(spec.hash as string, key.keyObject)
        .update(signingInput)
        .digest();
      // RFC 7518 §3.2: a key shorter than the hash output MUST NOT be used (HS384 needs 48 bytes).
      if ((key.keyObject.symmetricKeySize ?? 0) < expected.length) return false;
      return expected.length === signature.length && timingSafeEqual(expected, signature);
    }
    if (spec.kty === 'RSA' && spec.pss !== true && rsassaPkcs1Available()) {
      const digest = spec.hash as 'sha256' | 'sha384' | 'sha512';
      return verifyRsassaPkcs1(digest, pkcs1Of(key), signingInput, signature);
    }
    return (
      hasAcceptedLength(spec, key, signature) &&
      isVerifiableHere(spec) &&
      verify(
        spec.hash,
        signedBytes(signingInput),
        asymmetricKeyInput(spec, key),
        signatureInput(spec, signature),
      )
    );
  } catch {
    return false;
  }
}

/** PS256/384/512 only where the runtime applies RSA-PSS options ({@link pssHonoured}). */
function isVerifiableHere(spec: AlgorithmSpec): boolean {
  return spec.pss !== true || pssHonoured();
}

/**
 * The signature as `verify` takes it with {@link asymmetricKeyInput}: ECDSA in DER, re-encoded here
 * ({@link ecdsaDerOf}), which costs less than node:crypto's own conversion of a raw one (with
 * `dsaEncoding: 'ieee-p1363'` it looks the key's curve up by name at every verification: callgrind
 * counts ~14,000 instructions more per ES256 verification, 1.5% of it) and works on every runtime.
 */
function signatureInput(spec: AlgorithmSpec, signature: Buffer): Buffer {
  return spec.kty === 'EC' ? ecdsaDerOf(signature) : signature;
}

/**
 * The bytes a signature covers: the signing input's UTF-8 form, the form `hash` and `Hmac.update`
 * take a string in, so every algorithm, inline or off the thread, hashes the same bytes. Both decoders
 * prove the signing input ASCII, where UTF-8 and Latin-1 agree; for any other string they would not,
 * and the inline and off-thread verdicts would differ.
 */
function signedBytes(signingInput: string): Buffer {
  return Buffer.from(signingInput, 'utf8');
}

/**
 * ECDSA: raw r||s of the exact length only, so DER signatures and truncated or padded ones are refused.
 * RSA: exactly `k` bytes, the modulus length (RFC 8017 §8.1.2 and §8.2.2, step 1). OpenSSL's PSS
 * verification takes a shorter signature as the same integer, so a genuine PS256 signature whose
 * first byte is zero would verify without it, a second spelling of the same token.
 */
function hasAcceptedLength(spec: AlgorithmSpec, key: VerificationKey, signature: Buffer): boolean {
  if (spec.kty === 'RSA') return signature.length === pkcs1Of(key).modulusBytes;
  return spec.kty !== 'EC' || signature.length === spec.signatureLength;
}

/**
 * node:crypto's key argument for an RSA, EC or OKP spec: RSASSA-PSS and RSASSA-PKCS1-v1_5 carry their
 * options with it, built once with the key (built here only for a key made by hand, as tests do);
 * ECDSA and EdDSA take the bare key (ECDSA with a DER signature, {@link signatureInput}).
 * RS256/384/512 name their padding: node:crypto's default follows the key's type, and for an `rsa-pss`
 * key it is PSS, which would verify a PSS signature as RS256.
 */
function asymmetricKeyInput(spec: AlgorithmSpec, key: VerificationKey): KeyObject | VerifyKeyObjectInput {
  if (spec.kty !== 'RSA') return key.keyObject;
  if (spec.pss) return key.pssInput ?? pssInputOf(key.keyObject);
  // Where options are refused, the bare key: an `rsa` key's default padding is PKCS#1 v1.5 (an
  // `rsa-pss` key, whose default is PSS, is never imported from a JWK, and then verifies nothing).
  if (keyOptionsAccepted()) return pkcs1Of(key).input;
  return key.keyObject.asymmetricKeyType === 'rsa' ? key.keyObject : pkcs1Of(key).input;
}

/** An RSA key's PKCS#1 v1.5 argument, built once with the key (here only for a key made by hand). */
function pkcs1Of(key: VerificationKey): Pkcs1Key {
  return key.pkcs1 ?? pkcs1KeyOf(key.keyObject);
}
