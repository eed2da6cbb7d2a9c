/** Value of each base64url character (by char code, below 128), or -1. */
export const BASE64URL_VALUES: Int8Array = new Int8Array(128).fill(-1);
const VALUES = BASE64URL_VALUES;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charCodeAt(i)] = i;

/** Any character outside the base64url alphabet. */
const NOT_BASE64URL = /[^A-Za-z0-9_-]/;

/**
 * Whether `segment` is canonical unpadded base64url (RFC 7515 §2): only the URL-safe alphabet, no
 * padding, a length that encodes whole bytes, and zero bits after the last byte. Node's decoder
 * accepts all of these silently, so they are refused here before decoding.
 */
export function isCanonicalBase64url(segment: string, start = 0, end = segment.length): boolean {
  for (let i = start; i < end; i++) {
    const c = segment.charCodeAt(i);
    if (c > 127 || VALUES[c] === -1) return false;
  }
  return hasCanonicalEnd(segment, start, end);
}

/**
 * The rest of {@link isCanonicalBase64url} for a range already known to hold only base64url
 * characters: a length that encodes whole bytes, and zero bits after the last byte. Constant time:
 * only the length and the last character are looked at.
 */
export function hasCanonicalEnd(text: string, start: number, end: number): boolean {
  const remainder = (end - start) & 3;
  if (remainder === 0) return true;
  if (remainder === 1) return false;
  const last = VALUES[text.charCodeAt(end - 1)] as number;
  return remainder === 2 ? (last & 0x0f) === 0 : (last & 0x03) === 0;
}

/** The number of bytes `chars` characters of canonical unpadded base64url encode. */
export function decodedByteLength(chars: number): number {
  const remainder = chars & 3;
  return (chars >> 2) * 3 + (remainder === 0 ? 0 : remainder - 1);
}

/**
 * Whether Node's base64url decoder can only have read `text` as written: every character is ASCII
 * (the decoder truncates a UTF-16 code unit to its low byte, so U+0141 would read as `A`) and none is
 * `+` or `/` (it takes the standard alphabet too). Every other character outside the base64url
 * alphabet is skipped by the decoder (or ends it), so after this check a segment is in the alphabet
 * exactly when it decodes to {@link decodedByteLength} of its length: three native scans instead of
 * a loop over every character.
 */
export function isDecoderSafeText(text: string): boolean {
  return (
    Buffer.byteLength(text, 'utf8') === text.length && text.indexOf('+') === -1 && text.indexOf('/') === -1
  );
}

/** Decodes base64url already checked by {@link isCanonicalBase64url}. */
export function decodeBase64url(segment: string): Buffer {
  return Buffer.from(segment, 'base64url');
}

/**
 * Decodes `segment` if it is canonical unpadded base64url, else returns `undefined`: the verdict of
 * {@link isCanonicalBase64url}, with the alphabet checked by one native search instead of a loop.
 */
export function decodeCanonicalBase64url(segment: string): Buffer | undefined {
  if (NOT_BASE64URL.test(segment) || !hasCanonicalEnd(segment, 0, segment.length)) return undefined;
  return Buffer.from(segment, 'base64url');
}
