import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  generatePrimeSync,
  type JsonWebKey,
  type KeyObject,
  privateEncrypt,
  publicDecrypt,
  hash as sha,
  sign,
  verify,
} from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, type SigningKey } from '../../../test/support/keys.js';
import { verifySignature, verifyWithAnyOffThread } from './jws.js';
import { importPublicJwk, type VerificationKey } from './keys.js';
import { passesKnownAnswer, pkcs1KeyOf, rsassaPkcs1Available, verifyRsassaPkcs1 } from './rsassa-pkcs1.js';

const DIGEST_INFO = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
} as const;
type Digest = keyof typeof DIGEST_INFO;
const ALG_OF = { sha256: 'RS256', sha384: 'RS384', sha512: 'RS512' } as const;

const INPUT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0';

let shared: SigningKey | undefined;
/** One 2048-bit RS256 key for the whole file: generating one costs 0.3-1 s. */
const sharedSigner = (): SigningKey => {
  shared ??= generateSigningKey('RS256');
  return shared;
};

function imported(key: SigningKey): VerificationKey {
  const result = importPublicJwk(key.publicJwk);
  if (!result.ok) throw new Error(result.reason);
  return result.key;
}

/**
 * node:crypto's own RSASSA-PKCS1-v1_5 verdict, the reference every case is held against: `verify` as
 * jws.ts called it before RS* had its own path (the signing input as Latin-1 bytes, the bare key).
 */
function nodeVerdict(digest: Digest, key: VerificationKey, input: string, signature: Buffer): boolean {
  try {
    return verify(digest, Buffer.from(input, 'latin1'), key.keyObject, signature);
  } catch {
    return false;
  }
}

/** {@link verifyRsassaPkcs1}'s verdict, a throw (node:crypto refusing the signature) counted as false. */
function directVerdict(digest: Digest, key: VerificationKey, signature: Buffer): boolean {
  try {
    return verifyRsassaPkcs1(digest, key.pkcs1 ?? pkcs1KeyOf(key.keyObject), INPUT, signature);
  } catch {
    return false;
  }
}

/**
 * A "signature" whose public-key operation yields exactly `encoded`: the raw RSA private operation
 * applied to a hand-built message, so malformed encodings can be tried against the verifier.
 */
function rawSignature(signer: { privateKey: KeyObject }, encoded: Buffer): Buffer {
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
    signer = sharedSigner();
    key = imported(signer);
  });

  it("builds its key once with the import: k, the paddings and each digest's encoded message up to its hash", () => {
    expect(key.pkcs1?.modulusBytes).toBe(k);
    expect(key.pkcs1?.input.padding).toBe(constants.RSA_PKCS1_PADDING);
    expect(key.pkcs1?.rawInput.padding).toBe(constants.RSA_NO_PADDING);
    expect(pkcs1KeyOf(createPublicKey(signer.privateKey)).modulusBytes).toBe(k);
    for (const digest of ['sha256', 'sha384', 'sha512'] as const) {
      const whole = encodedMessage(k, digestInfo(digest, INPUT));
      const hashLength = sha(digest, INPUT, 'buffer').length;
      expect(key.pkcs1?.encodedPrefixes[digest]?.equals(whole.subarray(0, k - hashLength))).toBe(true);
    }
  });

  it('takes eight ff bytes, not seven: SHA-512 with k = 94 verifies, with k = 93 refuses as verify does', () => {
    // k = 94 (752 bits) leaves SHA-512's encoding exactly eight ff bytes; k = 93 (744 bits) seven.
    const pem = (bits: number) =>
      generateKeyPairSync('rsa', {
        modulusLength: bits,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      });
    const fits = pem(752);
    const fitsKey = pkcs1KeyOf(createPublicKey(fits.publicKey));
    const genuine = sign('sha512', Buffer.from(INPUT), createPrivateKey(fits.privateKey));
    expect(fitsKey.encodedPrefixes.sha512?.length).toBe(94 - 64);
    expect(verifyRsassaPkcs1('sha512', fitsKey, INPUT, genuine)).toBe(true);

    const short = pem(744);
    const publicKey = createPublicKey(short.publicKey);
    const shortKey = pkcs1KeyOf(publicKey);
    expect(shortKey.encodedPrefixes.sha512).toBeUndefined();
    // What a verifier taking seven ff bytes would accept: the whole encoding, seven ff bytes long.
    const sevenFf = rawSignature(
      { privateKey: createPrivateKey(short.privateKey) },
      encodedMessage(93, digestInfo('sha512', INPUT)),
    );
    expect(sevenFf.length).toBe(93);
    expect(verifyRsassaPkcs1('sha512', shortKey, INPUT, sevenFf)).toBe(false);
    expect(verify('sha512', Buffer.from(INPUT), publicKey, sevenFf)).toBe(false);
  });

  it('refuses every signature for a digest whose encoding does not fit k with eight ff bytes (RFC 8017 §9.2)', () => {
    // 512 bits: k = 64 leaves ten ff bytes for SHA-256 and none for SHA-512. Such keys are refused at
    // import (MIN_RSA_BITS); this holds the verifier to the RFC on its own.
    const small = generateKeyPairSync('rsa', {
      modulusLength: 512,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const smallKey = pkcs1KeyOf(createPublicKey(small.publicKey));
    expect(smallKey.encodedPrefixes.sha256?.length).toBe(64 - 32);
    expect(smallKey.encodedPrefixes.sha512).toBeUndefined();
    const signature = sign('sha256', Buffer.from(INPUT), createPrivateKey(small.privateKey));
    expect(verifyRsassaPkcs1('sha256', smallKey, INPUT, signature)).toBe(true);
    expect(verifyRsassaPkcs1('sha512', smallKey, INPUT, signature)).toBe(false);
    expect(verifyRsassaPkcs1('sha512', smallKey, INPUT, Buffer.alloc(64, 1))).toBe(false);
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
          Buffer.concat([Buffer.from('302f300b06096086480165030402010420', 'hex'), hashOnly()]),
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

const toBase64url = (value: bigint): string => {
  const hex = value.toString(16);
  return Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex').toString('base64url');
};

/** `a` to the power -1 modulo `m` (extended Euclid), for `a` prime to `m`. */
function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1, t0, t1] = [m, a % m, 0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1, t0, t1] = [r1, r0 - q * r1, t1, t0 - q * t1];
  }
  return ((t0 % m) + m) % m;
}

/**
 * An RSA key with e = 3 and a modulus of exactly 2049 bits: its leading byte is 01 and k = 257, where
 * a byte count taken as `bits >> 3` or PSS's `ceil((bits - 1) / 8)` is one short. OpenSSL's key
 * generation does not give one (asked for 2049 bits, it gave 2048 each time), so it is built from primes.
 */
function rsaKeyOf2049Bits(): { privateKey: KeyObject; publicJwk: JsonWebKey } {
  const e = 3n;
  // A prime of `bits` bits with p - 1 prime to 3. OpenSSL sets its top two bits, so a 1025-bit and a
  // 1024-bit one multiply to 2049 bits; the loop only guards that.
  const prime = (bits: number): bigint => {
    for (;;) {
      const candidate = generatePrimeSync(bits, { bigint: true });
      if (candidate % 3n === 2n) return candidate;
    }
  };
  const p = prime(1025);
  let q = prime(1024);
  while ((p * q) >> 2048n !== 1n) q = prime(1024);
  const d = inverse(e, (p - 1n) * (q - 1n));
  const publicJwk = { kty: 'RSA', n: toBase64url(p * q), e: toBase64url(e) };
  const privateJwk = {
    ...publicJwk,
    d: toBase64url(d),
    p: toBase64url(p),
    q: toBase64url(q),
    dp: toBase64url(d % (p - 1n)),
    dq: toBase64url(d % (q - 1n)),
    qi: toBase64url(inverse(q, p)),
  };
  return { privateKey: createPrivateKey({ key: privateJwk, format: 'jwk' }), publicJwk };
}

/** Encoded messages (k bytes each) near the genuine one, and whether each is the genuine one. */
function encodedMessagesAround(k: number, digest: Digest): [string, Buffer][] {
  const tail = digestInfo(digest, INPUT);
  const genuine = encodedMessage(k, tail);
  const fill = k - 3 - tail.length;
  const cases: [string, Buffer][] = [['genuine', genuine]];
  // Each byte changed once: the header, both ends of the padding, the separator, all of DigestInfo || hash.
  const positions = [0, 1, 2, 3, 9, 10, fill, fill + 1];
  for (let i = fill + 2; i < k; i++) positions.push(i);
  for (const i of positions) {
    const changed = Buffer.from(genuine);
    changed[i] = (changed[i] as number) ^ (i < 2 ? 0x01 : 0x80);
    cases.push([`byte ${i} changed`, changed]);
  }
  // The separator elsewhere: padding of 0, 7, 8, 9 bytes or one short, with bytes before or after the tail.
  const header = (padding: number) => Buffer.from([0x00, 0x01, ...Buffer.alloc(padding, 0xff), 0x00]);
  for (const padding of [0, 7, 8, 9, fill - 1]) {
    const spare = Buffer.alloc(fill - padding);
    cases.push([`padding ${padding}, zeros before the tail`, Buffer.concat([header(padding), spare, tail])]);
    const ffs = Buffer.alloc(fill - padding, 0xff);
    cases.push([`padding ${padding}, ff before the tail`, Buffer.concat([header(padding), ffs, tail])]);
    cases.push([`padding ${padding}, zeros after the hash`, Buffer.concat([header(padding), tail, spare])]);
  }
  // The separator later: the tail loses its first or last bytes.
  for (const lost of [1, 2]) {
    cases.push([`padding +${lost}, tail cut at the front`, encodedMessage(k, tail.subarray(lost))]);
    cases.push([`padding +${lost}, tail cut at the end`, encodedMessage(k, tail.subarray(0, -lost))]);
  }
  cases.push([
    'no separator',
    Buffer.concat([Buffer.from([0x00, 0x01]), Buffer.alloc(fill + 1, 0xff), tail]),
  ]);
  for (const other of ['sha256', 'sha384', 'sha512'] as const) {
    if (other !== digest) cases.push([`DigestInfo of ${other}`, encodedMessage(k, digestInfo(other, INPUT))]);
  }
  return cases;
}

describe('verifyRsassaPkcs1 against node:crypto verify, case by case', () => {
  const keys: { name: string; privateKey: KeyObject; key: VerificationKey; k: number }[] = [];

  beforeAll(() => {
    const odd = rsaKeyOf2049Bits();
    for (const [name, privateKey, jwk] of [
      ['2048 bits, e = 65537', sharedSigner().privateKey, sharedSigner().publicJwk as JsonWebKey],
      ['2049 bits, e = 3', odd.privateKey, odd.publicJwk],
    ] as const) {
      const result = importPublicJwk(jwk);
      if (!result.ok) throw new Error(result.reason);
      const k = Buffer.from(String(jwk.n), 'base64url').length;
      keys.push({ name, privateKey, key: result.key, k });
    }
  });

  /**
   * The four verdicts on one signature: this module's own (not behind the known answer, so a fault in
   * it cannot hide behind the fallback to `verify`), verifySignature's, node:crypto `verify`'s and the
   * off-thread path's; the cases where they are not all the same, and how many verdicts were true.
   */
  async function disagreements(
    digest: Digest,
    key: VerificationKey,
    cases: readonly (readonly [string, Buffer])[],
  ): Promise<{ differing: unknown[]; accepted: string[] }> {
    const differing: unknown[] = [];
    const accepted: string[] = [];
    for (const [label, signature] of cases) {
      const own = directVerdict(digest, key, signature);
      const ours = verifySignature(ALG_OF[digest], key, INPUT, signature);
      const node = nodeVerdict(digest, key, INPUT, signature);
      const offThread = await verifyWithAnyOffThread(ALG_OF[digest], [key], INPUT, signature);
      if (own !== node || ours !== node || offThread !== node) {
        differing.push({ label, own, ours, node, offThread });
      }
      if (ours) accepted.push(label);
    }
    return { differing, accepted };
  }

  it('builds k from the exact modulus length: 256 bytes for 2048 bits, 257 for 2049', () => {
    expect(keys.map(({ key, k }) => [key.keyObject.asymmetricKeyDetails?.modulusLength, k])).toEqual([
      [2048, 256],
      [2049, 257],
    ]);
    expect(keys.map(({ key }) => key.pkcs1?.modulusBytes)).toEqual([256, 257]);
  });

  it.each(['sha256', 'sha384', 'sha512'] as const)(
    '%s: every encoded message near the genuine one gets the same verdict, for both keys',
    async (digest) => {
      for (const { name, privateKey, key, k } of keys) {
        const n = Buffer.from(String(key.keyObject.export({ format: 'jwk' }).n), 'base64url');
        // A message not below n cannot be signed: it is itself a representative not below n.
        const cases = encodedMessagesAround(k, digest).map(
          ([label, encoded]) =>
            [label, encoded.compare(n) < 0 ? rawSignature({ privateKey }, encoded) : encoded] as const,
        );
        expect(cases.length).toBeGreaterThan(60);
        const { differing, accepted } = await disagreements(digest, key, cases);
        expect({ name, differing, accepted }).toEqual({ name, differing: [], accepted: ['genuine'] });
      }
    },
  );

  it('gives the same verdict on edge representatives and lengths, and on every single-bit change of a signature', async () => {
    for (const { name, privateKey, key, k } of keys) {
      const n = BigInt(
        `0x${Buffer.from(String(key.keyObject.export({ format: 'jwk' }).n), 'base64url').toString('hex')}`,
      );
      const bytes = (value: bigint, length = k) =>
        Buffer.from(value.toString(16).padStart(2 * length, '0'), 'hex');
      const genuine = sign('sha256', Buffer.from(INPUT), privateKey);
      const cases: [string, Buffer][] = [
        ['genuine', genuine],
        ['s = 0', bytes(0n)],
        ['s = 1', bytes(1n)],
        ['s = n - 1', bytes(n - 1n)],
        ['s = n', bytes(n)],
        ['s = n + 1', bytes(n + 1n)],
        ['s = genuine + n', bytes(BigInt(`0x${genuine.toString('hex')}`) + n, k + 1)],
        ['k bytes of ff', Buffer.alloc(k, 0xff)],
        ['k - 1 bytes', genuine.subarray(1)],
        ['a zero byte first', Buffer.concat([Buffer.alloc(1), genuine])],
        ['a zero byte last', Buffer.concat([genuine, Buffer.alloc(1)])],
        ['empty', Buffer.alloc(0)],
      ];
      for (let bit = 0; bit < k * 8; bit++) {
        const flipped = Buffer.from(genuine);
        flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7));
        cases.push([`bit ${bit}`, flipped]);
      }
      const { differing, accepted } = await disagreements('sha256', key, cases);
      expect({ name, differing, accepted }).toEqual({ name, differing: [], accepted: ['genuine'] });
    }
  });
});

/** A DER element: tag, definite length, body. */
function der(tag: number, body: Buffer): Buffer {
  const length = body.length;
  const encodedLength =
    length < 0x80 ? [length] : length < 0x100 ? [0x81, length] : [0x82, length >> 8, length & 0xff];
  return Buffer.concat([Buffer.from([tag, ...encodedLength]), body]);
}

describe('RS256 with an RSA-PSS key object', () => {
  it('verifies no PSS signature as RS256, inline or off the thread (node:crypto would default to PSS)', async () => {
    // The shared key's public half as an `rsa-pss` KeyObject: its SPKI with the id-RSASSA-PSS OID.
    const { privateKey } = sharedSigner();
    const rsaPublicKey = createPublicKey(privateKey).export({ format: 'der', type: 'pkcs1' });
    const idRsassaPss = Buffer.from('300b06092a864886f70d01010a', 'hex');
    const spki = der(
      0x30,
      Buffer.concat([idRsassaPss, der(0x03, Buffer.concat([Buffer.alloc(1), rsaPublicKey]))]),
    );
    const publicKey = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    expect(publicKey.asymmetricKeyType).toBe('rsa-pss');
    const key: VerificationKey = {
      kid: undefined,
      kty: 'RSA',
      alg: undefined,
      use: undefined,
      keyOps: undefined,
      curve: undefined,
      keyObject: publicKey,
    };
    const pss = sign('sha256', Buffer.from(INPUT), {
      key: privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    });
    expect(verify('sha256', Buffer.from(INPUT), publicKey, pss)).toBe(true);
    expect(() => verifyRsassaPkcs1('sha256', pkcs1KeyOf(publicKey), INPUT, pss)).toThrow();
    expect(verifySignature('RS256', key, INPUT, pss)).toBe(false);
    await expect(verifyWithAnyOffThread('RS256', [key], INPUT, pss)).resolves.toBe(false);
    expect(verifySignature('PS256', key, INPUT, pss)).toBe(true);
  });
});

describe('rsassaPkcs1Available: the known answer', () => {
  it('passes on this Node, with the verifier the validator uses', () => {
    expect(passesKnownAnswer(verifyRsassaPkcs1)).toBe(true);
    expect(rsassaPkcs1Available()).toBe(true);
  });

  it('fails for a verifier that throws, as one would on a runtime without node:crypto hash', () => {
    const missingHash: typeof verifyRsassaPkcs1 = () => {
      throw new TypeError('hash is not a function');
    };
    expect(passesKnownAnswer(missingHash)).toBe(false);
  });

  it('fails for a verifier that accepts every signature, or refuses every one', () => {
    expect(passesKnownAnswer(() => true)).toBe(false);
    expect(passesKnownAnswer(() => false)).toBe(false);
  });

  it('fails for a verifier that hashes other bytes than the known input', () => {
    const otherInput: typeof verifyRsassaPkcs1 = (digest, key, input, signature) =>
      verifyRsassaPkcs1(digest, key, `${input} `, signature);
    expect(passesKnownAnswer(otherInput)).toBe(false);
  });

  it('fails for a verifier that never compares the hash, which would take a signature over any token', () => {
    const noHash: typeof verifyRsassaPkcs1 = (_digest, key, _input, signature) => {
      publicDecrypt(key.input, signature);
      return true;
    };
    expect(passesKnownAnswer(noHash)).toBe(false);
  });

  it('fails for a publicDecrypt that skips the padding bytes to the first 00, which with e = 3 admits forgeries', () => {
    const lenient: typeof verifyRsassaPkcs1 = (digest, key, input, signature) => {
      const em = publicDecrypt({ key: key.input.key, padding: constants.RSA_NO_PADDING }, signature);
      const separator = em.indexOf(0, 2);
      if (em[0] !== 0 || em[1] !== 1 || separator < 0) throw new Error('padding');
      const expected = Buffer.concat([Buffer.from(DIGEST_INFO.sha256, 'hex'), sha(digest, input, 'buffer')]);
      return em.subarray(separator + 1).equals(expected);
    };
    expect(passesKnownAnswer(lenient)).toBe(false);
  });
});
