import { createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ecdsaDerOf } from './ecdsa-der.js';

const CURVES = [
  ['P-256', 'sha256', 32],
  ['P-384', 'sha384', 48],
  ['P-521', 'sha512', 66],
] as const;

describe('ecdsaDerOf', () => {
  it('gives the DER signature node:crypto verifies with the bare key, for each JWS curve', () => {
    for (const [namedCurve, digest] of CURVES) {
      const pair = generateKeyPairSync('ec', {
        namedCurve,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      });
      const publicKey = createPublicKey(pair.publicKey);
      const data = Buffer.from('header.payload');
      // Several signatures, so halves with a high first bit and with leading zeros both come up.
      for (let i = 0; i < 16; i++) {
        const raw = sign(digest, data, { key: pair.privateKey, dsaEncoding: 'ieee-p1363' });
        expect(verify(digest, data, publicKey, ecdsaDerOf(raw))).toBe(true);
        const changed = Buffer.from(raw);
        changed[raw.length - 1] = (changed[raw.length - 1] as number) ^ 1;
        expect(verify(digest, data, publicKey, ecdsaDerOf(changed))).toBe(false);
      }
    }
  });

  it('writes minimal integers: leading zeros dropped, a 00 before a high first byte', () => {
    const raw = Buffer.concat([
      Buffer.concat([Buffer.alloc(30), Buffer.from([0x01, 0x02])]),
      Buffer.concat([Buffer.from([0x80]), Buffer.alloc(31, 0x11)]),
    ]);
    expect(ecdsaDerOf(raw).toString('hex')).toBe(`30270202010202210080${'11'.repeat(31)}`);
  });

  it('writes an all-zero half as the integer 0, which verification then refuses', () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const data = Buffer.from('header.payload');
    const raw = sign('sha256', data, { key: pair.privateKey, dsaEncoding: 'ieee-p1363' });
    const zeroR = Buffer.concat([Buffer.alloc(32), raw.subarray(32)]);
    expect(ecdsaDerOf(zeroR).subarray(2, 5).toString('hex')).toBe('020100');
    expect(verify('sha256', data, pair.publicKey, ecdsaDerOf(zeroR))).toBe(false);
  });

  it('uses the long length form when the sequence passes 127 bytes (P-521)', () => {
    const raw = Buffer.alloc(132, 0xff);
    const der = ecdsaDerOf(raw);
    // Two integers of 67 bytes (00 + 66), each with a two-byte header: 138 bytes of content.
    expect(der.subarray(0, 3).toString('hex')).toBe('30818a');
    expect(der).toHaveLength(3 + 138);
  });

  it('encodes as a DER encoder built on BigInt does, for random halves with zero and high leading bytes', () => {
    // An independent encoder: the integer's minimal two's-complement bytes, from its value.
    const integer = (half: Uint8Array): number[] => {
      const value = BigInt(`0x${Buffer.from(half).toString('hex') || '0'}`);
      let hex = value.toString(16);
      if (hex.length % 2 === 1) hex = `0${hex}`;
      const bytes = [...Buffer.from(hex, 'hex')];
      if ((bytes[0] as number) >= 0x80) bytes.unshift(0);
      return [0x02, bytes.length, ...bytes];
    };
    const expected = (raw: Uint8Array): string => {
      const half = raw.length / 2;
      const content = [...integer(raw.subarray(0, half)), ...integer(raw.subarray(half))];
      const length = content.length < 0x80 ? [content.length] : [0x81, content.length];
      return Buffer.from([0x30, ...length, ...content]).toString('hex');
    };
    for (const [, , half] of CURVES) {
      for (let i = 0; i < 500; i++) {
        const raw = randomBytes(half * 2);
        // Leading zero bytes (up to a whole half) and high first bytes in either half.
        raw.fill(0, 0, i % (half + 1));
        raw.fill(0, half, half + ((i * 7) % (half + 1)));
        if (i % 3 === 0) raw[0] = 0x80 | (raw[0] as number);
        if (i % 5 === 0) raw[half] = 0xff;
        expect(ecdsaDerOf(raw).toString('hex')).toBe(expected(raw));
      }
    }
  });
});
