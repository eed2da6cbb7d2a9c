/**
 * The DER form (RFC 3279 §2.2.3: `SEQUENCE { r INTEGER, s INTEGER }`) of a JWS ECDSA signature, which
 * is raw `r || s`, each half as long as the curve's order (RFC 7518 §3.4). Each integer is minimal:
 * leading zero bytes dropped, one `00` put back when the first byte has its high bit set. Values are
 * not range-checked here: `r` or `s` of zero, or not below the order, encode as they are and the
 * verifier refuses them. The caller has checked the length (64, 96 or 132 bytes for ES256, ES384 and
 * ES512): an odd length has no halves to split.
 *
 * Written into one buffer: node:crypto's own conversion of a raw signature (`dsaEncoding:
 * 'ieee-p1363'`) costs more than this and the bare-key verification it saves from the options object.
 *
 * @example
 * ```ts
 * verify('sha256', data, ecKeyObject, ecdsaDerOf(rawSignature)); // node:crypto's default encoding
 * ```
 */
export function ecdsaDerOf(signature: Uint8Array): Buffer {
  const half = signature.length >> 1;
  const rStart = firstSignificantByte(signature, 0, half);
  const sStart = firstSignificantByte(signature, half, half * 2);
  const rSign = signByteNeeded(signature, rStart);
  const sSign = signByteNeeded(signature, sStart);
  // Each integer is at most 67 bytes (P-521: 00 and 66), so its length is one byte; the sequence's
  // content (at most 138 bytes) takes the long form `81 nn` past 127.
  const content = 4 + (half - rStart + rSign) + (half * 2 - sStart + sSign);
  const der = Buffer.allocUnsafe(content + (content < 0x80 ? 2 : 3));
  der[0] = 0x30;
  let at = 1;
  if (content >= 0x80) der[at++] = 0x81;
  der[at++] = content;
  at = writeInteger(der, at, signature, rStart, half, rSign);
  writeInteger(der, at, signature, sStart, half * 2, sSign);
  return der;
}

/** Where the minimal form of the unsigned integer in `bytes[start, end)` starts: its last byte at the latest. */
function firstSignificantByte(bytes: Uint8Array, start: number, end: number): number {
  let at = start;
  while (at < end - 1 && bytes[at] === 0) at++;
  return at;
}

/** 1 when the integer's first byte has its high bit set: DER integers are signed, so a `00` goes first. */
function signByteNeeded(bytes: Uint8Array, start: number): number {
  return (bytes[start] ?? 0) >= 0x80 ? 1 : 0;
}

/** Writes `02 len [00] bytes[start, end)` at `at`; returns where the next element goes. */
function writeInteger(
  der: Buffer,
  at: number,
  bytes: Uint8Array,
  start: number,
  end: number,
  signByte: number,
): number {
  let next = at;
  der[next++] = 0x02;
  der[next++] = end - start + signByte;
  if (signByte === 1) der[next++] = 0;
  for (let i = start; i < end; i++) der[next++] = bytes[i] as number;
  return next;
}
