import { constants, sign, type VerifyKeyObjectInput } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { generateSigningKey, type SigningKey } from '../../../test/support/keys.js';
import { keyOptionsAccepted, pssHonoured } from './crypto-support.js';
import { verifySignature, verifyWithAnyOffThread } from './jws.js';
import { importPublicJwk, type VerificationKey } from './keys.js';
import { createValidator } from './validator.js';

// A runtime like Cloudflare's workerd (nodejs_compat): a KeyObject inside verify's options is refused
// and RSA-PSS options are not applied. What such a runtime answers is the one thing this file cannot
// run (test/ runs the real workerd), so only the two known answers are replaced.
vi.mock('./crypto-support.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('./crypto-support.js')>();
  return { ...original, keyOptionsAccepted: vi.fn(() => false), pssHonoured: vi.fn(() => false) };
});

const INPUT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0';

/**
 * The key, its options objects made unusable as workerd makes them (it throws on a KeyObject inside
 * options): a verification that still passed them would fail here, as it would there.
 */
function imported(signer: SigningKey): VerificationKey {
  const result = importPublicJwk(signer.publicJwk);
  if (!result.ok) throw new Error(result.reason);
  const { key } = result;
  const refused = { key: key.keyObject, dsaEncoding: 'refused' } as unknown as VerifyKeyObjectInput;
  return {
    ...key,
    pssInput: refused,
    ...(key.pkcs1 === undefined
      ? {}
      : { pkcs1: { ...key.pkcs1, input: { key: key.keyObject, padding: 'refused' as unknown as number } } }),
  };
}

describe('verification where verify refuses key options and ignores PSS options', () => {
  it('verifies ES256/384/512 with the bare key and a DER signature, inline and off the thread', async () => {
    expect(keyOptionsAccepted()).toBe(false);
    for (const [alg, digest] of [
      ['ES256', 'sha256'],
      ['ES384', 'sha384'],
      ['ES512', 'sha512'],
    ] as const) {
      const signer = generateSigningKey(alg);
      const key = imported(signer);
      const raw = sign(digest, Buffer.from(INPUT), { key: signer.privateKey, dsaEncoding: 'ieee-p1363' });
      const der = sign(digest, Buffer.from(INPUT), signer.privateKey);
      expect(verifySignature(alg, key, INPUT, raw)).toBe(true);
      expect(await verifyWithAnyOffThread(alg, [key], INPUT, raw)).toBe(true);
      expect(verifySignature(alg, key, `${INPUT}x`, raw)).toBe(false);
      expect(await verifyWithAnyOffThread(alg, [key], `${INPUT}x`, raw)).toBe(false);
      // Still only raw r || s of the exact length: a DER signature in the token is refused.
      expect(verifySignature(alg, key, INPUT, der)).toBe(false);
      const zeroR = Buffer.concat([Buffer.alloc(raw.length / 2), raw.subarray(raw.length / 2)]);
      expect(verifySignature(alg, key, INPUT, zeroR)).toBe(false);
    }
  });

  it('verifies RS256 off the thread with the bare key (an rsa key pads PKCS#1 v1.5 by default)', async () => {
    const signer = generateSigningKey('RS256');
    const key = imported(signer);
    const signature = sign('sha256', Buffer.from(INPUT), signer.privateKey);
    const pss = sign('sha256', Buffer.from(INPUT), {
      key: signer.privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    });
    expect(await verifyWithAnyOffThread('RS256', [key], INPUT, signature)).toBe(true);
    expect(await verifyWithAnyOffThread('RS256', [key], INPUT, pss)).toBe(false);
    expect(await verifyWithAnyOffThread('RS256', [key], `${INPUT}x`, signature)).toBe(false);
  });

  it('verifies no PS256 signature, genuine or not, inline or off the thread', async () => {
    expect(pssHonoured()).toBe(false);
    const signer = generateSigningKey('PS256');
    // The options as Node takes them: what stops the verification is the known answer, not the key.
    const result = importPublicJwk(signer.publicJwk);
    if (!result.ok) throw new Error(result.reason);
    const { key } = result;
    const pss = sign('sha256', Buffer.from(INPUT), {
      key: signer.privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    });
    const pkcs1 = sign('sha256', Buffer.from(INPUT), signer.privateKey);
    for (const signature of [pss, pkcs1]) {
      expect(verifySignature('PS256', key, INPUT, signature)).toBe(false);
      expect(await verifyWithAnyOffThread('PS256', [key], INPUT, signature)).toBe(false);
    }
  });

  it('leaves PS256/384/512 out of the default algorithms, and refuses them when listed', () => {
    const validator = createValidator({
      issuer: 'https://id.test',
      audience: 'https://api.test',
      jwks: { keys: [] },
    });
    const algorithms = [...(validator.options.issuers[0]?.algorithms ?? [])];
    expect(algorithms).toContain('RS256');
    expect(algorithms).toContain('ES256');
    expect(algorithms.filter((alg) => alg.startsWith('PS'))).toEqual([]);
    expect(() =>
      createValidator({
        issuer: 'https://id.test',
        audience: 'https://api.test',
        jwks: { keys: [] },
        algorithms: ['RS256', 'PS384'],
      }),
    ).toThrow(/invalid option "algorithms": PS384 cannot be verified on this runtime/);
  });
});
