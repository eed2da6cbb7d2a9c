/** Value of each base64url character, or -1. */
const VALUES = new Int8Array(128).fill(-1);
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charCodeAt(i)] = i;

/**
 * Whether `segment` is canonical unpadded base64url (RFC 7515 §2): only the URL-safe alphabet, no
 * padding, a length that encodes whole bytes, and zero bits after the last byte. Node's decoder
 * accepts all of these silently, so they are refused here before decoding.
 */
export function isCanonicalBase64url(segment: string, start = 0, end = segment.length): boolean {
  const length = end - start;
  const remainder = length & 3;
  if (remainder === 1) return false;
  for (let i = start; i < end; i++) {
    const c = segment.charCodeAt(i);
    if (c > 127 || VALUES[c] === -1) return false;
  }
  if (remainder === 0) return true;
  const last = VALUES[segment.charCodeAt(end - 1)] as number;
  return remainder === 2 ? (last & 0x0f) === 0 : (last & 0x03) === 0;
}

/** Decodes base64url already checked by {@link isCanonicalBase64url}. */
export function decodeBase64url(segment: string): Buffer {
  return Buffer.from(segment, 'base64url');
}

/**
 * Decodes `segment` if it is canonical unpadded base64url, else returns `undefined`: the same verdict
 * as {@link isCanonicalBase64url}, in native code. Node's decoder is lenient (it skips padding and
 * foreign characters, accepts `+` and `/`, ignores trailing bits), but its encoder emits exactly one
 * string per byte sequence, so a segment is canonical if and only if re-encoding its bytes gives it back.
 */
export function decodeCanonicalBase64url(segment: string): Buffer | undefined {
  const bytes = Buffer.from(segment, 'base64url');
  return bytes.toString('base64url') === segment ? bytes : undefined;
}
