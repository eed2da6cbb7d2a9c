import { constants, createPublicKey, privateEncrypt, hash as sha, sign, verify } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, type SigningKey } from '../../../test/support/keys.js';
import { verifySignature } from './jws.js';
import { importPublicJwk, type VerificationKey } from './keys.js';
import { pkcs1KeyOf, verifyRsassaPkcs1 } from './rsassa-pkcs1.js';

const DIGEST_INFO = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
} as const;
type Digest = keyof typeof DIGEST_INFO;
const ALG_OF = { sha256: 'RS256', sha384: 'RS384', sha512: 'RS512' } as const;

const INPUT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0';

function imported(key: SigningKey): VerificationKey {
  const result = importPublicJwk(key.publicJwk);
  if (!result.ok) throw new Error(result.reason);
  return result.key;
}

/** node:crypto's own RSASSA-PKCS1-v1_5 verdict, the reference every case is held against. */
function nodeVerdict(digest: Digest, key: VerificationKey, input: string, signature: Buffer): boolean {
  try {
    return verify(digest, Buffer.from(input), key.keyObject, signature);
  } catch {
    return false;
  }
}

/**
 * A "signature" whose public-key operation yields exactly `encoded`: the raw RSA private operation
 * applied to a hand-built message, so malformed encodings can be tried against the verifier.
 */
function rawSignature(signer: SigningKey, encoded: Buffer): Buffer {
  return privateEncrypt({ key: signer.privateKey, padding: constants.RSA_NO_PADDING }, encoded);
}

/** `00 01 ff.. 00 || tail`, `k` bytes, with `padLength` bytes of ff (the rest of the length, when omitted). */
function encodedMessage(
  k: number,
  tail: Buffer,
  options: { blockType?: number; fill?: number } = {},
): Buffer {
  const padding = Buffer.alloc(k - 3 - tail.length, options.fill ?? 0xff);
  return Buffer.concat([Buffer.from([0x00, options.blockType ?? 0x01]), padding, Buffer.from([0x00]), tail]);
}

const digestInfo = (digest: Digest, input: string) =>
  Buffer.concat([Buffer.from(DIGEST_INFO[digest], 'hex'), sha(digest, input, 'buffer')]);

describe('verifyRsassaPkcs1', () => {
  let signer: SigningKey;
  let key: VerificationKey;
  const k = 256;

  beforeAll(() => {
    signer = generateSigningKey('RS256');
    key = imported(signer);
  });

  it('builds its key once with the import: k and the PKCS#1 padding', () => {
    expect(key.pkcs1?.modulusBytes).toBe(k);
    expect(key.pkcs1?.input.padding).toBe(constants.RSA_PKCS1_PADDING);
    expect(pkcs1KeyOf(createPublicKey(signer.privateKey)).modulusBytes).toBe(k);
  });

  it.each([
    ['sha256', 2048],
    ['sha384', 3072],
    ['sha512', 4096],
  ] as const)('verifies %s signatures of a %d-bit key and refuses a changed input', (digest, bits) => {
    const rsa = generateSigningKey(ALG_OF[digest], { modulusLength: bits });
    const rsaKey = imported(rsa);
    const signature = sign(digest, Buffer.from(INPUT), rsa.privateKey);
    expect(rsaKey.pkcs1?.modulusBytes).toBe(bits / 8);
    expect(verifyRsassaPkcs1(digest, rsaKey.pkcs1 ?? pkcs1KeyOf(rsaKey.keyObject), INPUT, signature)).toBe(
      true,
    );
    expect(verifySignature(ALG_OF[digest], rsaKey, INPUT, signature)).toBe(true);
    expect(verifySignature(ALG_OF[digest], rsaKey, `${INPUT}x`, signature)).toBe(false);
    expect(verifySignature(ALG_OF[digest], rsaKey, INPUT.slice(0, -1), signature)).toBe(false);
  });

  it('agrees with node:crypto verify on every single-bit change of a signature', () => {
    const signature = sign('sha256', Buffer.from(INPUT), signer.privateKey);
    let accepted = 0;
    for (let bit = 0; bit < signature.length * 8; bit++) {
      const changed = Buffer.from(signature);
      changed[bit >> 3] = (changed[bit >> 3] as number) ^ (1 << (bit & 7));
      const ours = verifySignature('RS256', key, INPUT, changed);
      expect(ours, `bit ${bit}`).toBe(nodeVerdict('sha256', key, INPUT, changed));
      if (ours) accepted++;
    }
    expect(accepted).toBe(0);
  });

  it('refuses a signature that is not exactly k bytes, as RFC 8017 §8.2.2 step 1 requires', () => {
    // A signature whose leading byte is zero is the same integer without that byte: only the length differs.
    let signature = sign('sha256', Buffer.from(INPUT), signer.privateKey);
    let input = INPUT;
    for (let i = 0; signature[0] !== 0; i++) {
      input = `${INPUT}${i}`;
      signature = sign('sha256', Buffer.from(input), signer.privateKey);
    }
    expect(verifySignature('RS256', key, input, signature)).toBe(true);
    const shorter = signature.subarray(1);
    const longer = Buffer.concat([Buffer.from([0]), signature]);
    for (const wrong of [shorter, longer, Buffer.alloc(0)]) {
      expect(verifySignature('RS256', key, input, wrong)).toBe(false);
      expect(nodeVerdict('sha256', key, input, wrong)).toBe(false);
    }
    expect(verifyRsassaPkcs1('sha256', key.pkcs1 ?? pkcs1KeyOf(key.keyObject), input, shorter)).toBe(false);
  });

  it('refuses a signature representative that is not below the modulus, without throwing', () => {
    const tooLarge = Buffer.alloc(k, 0xff);
    expect(verifySignature('RS256', key, INPUT, tooLarge)).toBe(false);
    expect(nodeVerdict('sha256', key, INPUT, tooLarge)).toBe(false);
  });

  it('accepts the exact encoding built by hand, so the forgeries below differ from it only where they say', () => {
    const signature = rawSignature(signer, encodedMessage(k, digestInfo('sha256', INPUT)));
    expect(signature.equals(sign('sha256', Buffer.from(INPUT), signer.privateKey))).toBe(true);
    expect(verifySignature('RS256', key, INPUT, signature)).toBe(true);
  });

  const hashOnly = () => sha('sha256', INPUT, 'buffer');
  const forgeries: ReadonlyArray<readonly [string, () => Buffer]> = [
    [
      'the DigestInfo of another hash (SHA-384 for RS256)',
      () => encodedMessage(k, digestInfo('sha384', INPUT)),
    ],
    [
      'a DigestInfo without the NULL parameters',
      () =>
        encodedMessage(
          k,
          Buffer.concat([Buffer.from('302f300b0609608648016503040201' + '0420', 'hex'), hashOnly()]),
        ),
    ],
    ['the bare hash without a DigestInfo', () => encodedMessage(k, hashOnly())],
    [
      'bytes after the hash, with the padding shortened to make room (Bleichenbacher 2006)',
      () => encodedMessage(k, Buffer.concat([digestInfo('sha256', INPUT), Buffer.alloc(16, 0x41)])),
    ],
    ['block type 2 instead of 1', () => encodedMessage(k, digestInfo('sha256', INPUT), { blockType: 0x02 })],
    ['padding of 00 instead of ff', () => encodedMessage(k, digestInfo('sha256', INPUT), { fill: 0x00 })],
    [
      'fewer than eight bytes of padding',
      () => {
        const tail = Buffer.concat([Buffer.alloc(k - 3 - 7 - 51, 0x41), digestInfo('sha256', INPUT)]);
        return Buffer.concat([Buffer.from([0x00, 0x01]), Buffer.alloc(7, 0xff), Buffer.from([0x00]), tail]);
      },
    ],
    [
      'a DigestInfo of the right length with one byte changed',
      () => {
        const tail = digestInfo('sha256', INPUT);
        tail[4] = (tail[4] as number) ^ 1;
        return encodedMessage(k, tail);
      },
    ],
    ['the hash of another input', () => encodedMessage(k, digestInfo('sha256', `${INPUT}x`))],
  ];

  it.each(forgeries)('refuses %s, as node:crypto verify does', (_name, build) => {
    const encoded = build();
    expect(encoded.length).toBe(k);
    const signature = rawSignature(signer, encoded);
    expect(verifySignature('RS256', key, INPUT, signature)).toBe(false);
    expect(nodeVerdict('sha256', key, INPUT, signature)).toBe(false);
  });

  it("keeps RS256 and PS256 apart: neither verifies the other one's signature with the same key", () => {
    const pkcs1 = sign('sha256', Buffer.from(INPUT), signer.privateKey);
    const pss = sign('sha256', Buffer.from(INPUT), {
      key: signer.privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    });
    expect(verifySignature('PS256', key, INPUT, pss)).toBe(true);
    expect(verifySignature('RS256', key, INPUT, pss)).toBe(false);
    expect(verifySignature('PS256', key, INPUT, pkcs1)).toBe(false);
  });

  it('verifies with a key made by hand, without the prebuilt PKCS#1 argument', () => {
    const { pkcs1: _prebuilt, ...byHand } = key;
    const signature = sign('sha256', Buffer.from(INPUT), signer.privateKey);
    expect(verifySignature('RS256', byHand, INPUT, signature)).toBe(true);
    expect(verifySignature('RS256', byHand, `${INPUT}x`, signature)).toBe(false);
  });
});
