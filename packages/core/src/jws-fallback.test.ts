import { constants, sign } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { generateSigningKey } from '../../../test/support/keys.js';
import { verifySignature, verifyWithAny } from './jws.js';
import { importPublicJwk } from './keys.js';
import { verifyRsassaPkcs1 } from './rsassa-pkcs1.js';

// A runtime where the known answer fails (no node:crypto `hash`, a `publicDecrypt` of its own): the
// one thing this file cannot run for real, so only the availability check is replaced.
vi.mock('./rsassa-pkcs1.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('./rsassa-pkcs1.js')>();
  return {
    ...original,
    rsassaPkcs1Available: () => false,
    verifyRsassaPkcs1: vi.fn(original.verifyRsassaPkcs1),
  };
});

describe('verifySignature where the RSASSA-PKCS1-v1_5 known answer fails', () => {
  it('verifies RS256/384/512 with node:crypto verify: genuine accepted, changed input and PSS refused', () => {
    for (const [alg, digest] of [
      ['RS256', 'sha256'],
      ['RS384', 'sha384'],
      ['RS512', 'sha512'],
    ] as const) {
      const signer = generateSigningKey(alg);
      const imported = importPublicJwk(signer.publicJwk);
      if (!imported.ok) throw new Error(imported.reason);
      const input = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0';
      const signature = sign(digest, Buffer.from(input), signer.privateKey);
      const pss = sign(digest, Buffer.from(input), {
        key: signer.privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
      });
      expect(verifySignature(alg, imported.key, input, signature)).toBe(true);
      expect(verifyWithAny(alg, [imported.key], input, signature)).toBe(true);
      expect(verifySignature(alg, imported.key, `${input}x`, signature)).toBe(false);
      expect(verifySignature(alg, imported.key, input, pss)).toBe(false);
      expect(verifySignature(alg, imported.key, input, signature.subarray(1))).toBe(false);
    }
    expect(verifyRsassaPkcs1).not.toHaveBeenCalled();
  });
});
