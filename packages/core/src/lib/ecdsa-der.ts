/**
 * The DER form (RFC 3279 §2.2.3: `SEQUENCE { r INTEGER, s INTEGER }`) of a JWS ECDSA signature, which
 * is raw `r || s`, each half as long as the curve's order (RFC 7518 §3.4). Each integer is minimal:
 * leading zero bytes dropped, one `00` put back when the first byte has its high bit set. Values are
 * not range-checked here: `r` or `s` of zero, or not below the order, encode as they are and the
 * verifier refuses them. The caller has checked the length; an odd length has no halves to split.
 *
 * @example
 * ```ts
 * verify('sha256', data, ecKeyObject, ecdsaDerOf(rawSignature)); // node:crypto's default encoding
 * ```
 */
export function ecdsaDerOf(signature: Uint8Array): Buffer {
  const half = signature.length >> 1;
  const r = derInteger(signature.subarray(0, half));
  const s = derInteger(signature.subarray(half, half * 2));
  const body = Buffer.concat([r, s]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

function derInteger(unsigned: Uint8Array): Buffer {
  let start = 0;
  while (start < unsigned.length - 1 && unsigned[start] === 0) start++;
  const digits = unsigned.subarray(start);
  const sign = (digits[0] ?? 0) >= 0x80 ? [0] : [];
  const content = Buffer.concat([Buffer.from(sign), digits.length === 0 ? Buffer.from([0]) : digits]);
  return Buffer.concat([Buffer.from([0x02]), derLength(content.length), content]);
}

/** A DER length: one byte below 128, else `81 nn` (every ECDSA signature of a JWS curve fits in 255). */
function derLength(length: number): Buffer {
  return length < 0x80 ? Buffer.from([length]) : Buffer.from([0x81, length]);
}
