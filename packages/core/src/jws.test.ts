import { constants, createHmac, sign } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, type SigningKey, signToken } from '../../../test/support/keys.js';
import { TokenGuardError } from './errors.js';
import {
  decodeCanonicalJws,
  decodeCompactJws,
  looksLikeCompactJws,
  OFF_THREAD_MAX_IN_FLIGHT,
  threadPoolSize,
  verifySignature,
  verifyWithAnyOffThread,
} from './jws.js';
import { importPublicJwk, importSecret, type VerificationKey } from './keys.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const HEADER = b64({ alg: 'ES256', typ: 'at+jwt' });
const PAYLOAD = b64({ sub: 'a' });

function malformed(token: string): string {
  try {
    decodeCompactJws(token, 32);
  } catch (error) {
    expect(error).toBeInstanceOf(TokenGuardError);
    expect((error as TokenGuardError).code).toBe('ERR_TOKEN_MALFORMED');
    return (error as TokenGuardError).message;
  }
  throw new Error('decoded');
}

function publicKey(key: SigningKey): VerificationKey {
  const result = importPublicJwk(key.publicJwk);
  if (!result.ok) throw new Error(result.reason);
  return result.key;
}

describe('looksLikeCompactJws', () => {
  it('tells three dot-separated segments from anything else', () => {
    expect(looksLikeCompactJws('a.b.c')).toBe(true);
    expect(looksLikeCompactJws('a.b.')).toBe(true);
    expect(looksLikeCompactJws('a.b')).toBe(false);
    expect(looksLikeCompactJws('a.b.c.d')).toBe(false);
    expect(looksLikeCompactJws('.b.c')).toBe(false);
    expect(looksLikeCompactJws('a..c')).toBe(false);
    expect(looksLikeCompactJws('opaque')).toBe(false);
  });
});

describe('decodeCompactJws', () => {
  it('decodes header, payload, signing input and signature', () => {
    const decoded = decodeCompactJws(`${HEADER}.${PAYLOAD}.AQID`, 32);
    expect(decoded.header).toEqual({ alg: 'ES256', typ: 'at+jwt' });
    expect(decoded.payload).toEqual({ sub: 'a' });
    expect(decoded.signingInput).toBe(`${HEADER}.${PAYLOAD}`);
    expect([...decoded.signature]).toEqual([1, 2, 3]);
  });

  it('rejects the wrong number of segments', () => {
    malformed(`${HEADER}.${PAYLOAD}`);
    malformed(`${HEADER}.${PAYLOAD}.AQID.AQID`);
    malformed(`${HEADER}..AQID`);
  });

  it('rejects a missing signature', () => {
    expect(malformed(`${HEADER}.${PAYLOAD}.`)).toMatch(/signature/);
  });

  it('rejects padding, standard base64 characters and non-canonical trailing bits', () => {
    malformed(`${HEADER}=.${PAYLOAD}.AQID`);
    malformed(`${HEADER}.${PAYLOAD}.AQ+D`);
    malformed(`${HEADER}.${PAYLOAD}.AQ/D`);
    malformed(`${HEADER}.${PAYLOAD}.AR`); // 'R' leaves non-zero bits after the last byte
  });

  it('rejects a header or payload that is not a JSON object', () => {
    malformed(`${b64([1])}.${PAYLOAD}.AQID`);
    malformed(`${HEADER}.${Buffer.from('not json').toString('base64url')}.AQID`);
    malformed(`${HEADER}.${b64('string')}.AQID`);
    malformed(`${HEADER}.${b64(null)}.AQID`);
  });

  it('rejects a header without a string alg', () => {
    expect(malformed(`${b64({ typ: 'at+jwt' })}.${PAYLOAD}.AQID`)).toMatch(/alg/);
    malformed(`${b64({ alg: 1 })}.${PAYLOAD}.AQID`);
  });

  it('rejects crit, b64, zip and nested JWTs', () => {
    expect(malformed(`${b64({ alg: 'ES256', crit: ['x'], x: 1 })}.${PAYLOAD}.AQID`)).toMatch(/crit/);
    malformed(`${b64({ alg: 'ES256', b64: false, crit: ['b64'] })}.${PAYLOAD}.AQID`);
    malformed(`${b64({ alg: 'ES256', b64: true })}.${PAYLOAD}.AQID`);
    malformed(`${b64({ alg: 'ES256', zip: 'DEF' })}.${PAYLOAD}.AQID`);
    malformed(`${b64({ alg: 'ES256', cty: 'JWT' })}.${PAYLOAD}.AQID`);
  });

  it('rejects a __proto__ member and nesting deeper than the limit', () => {
    const proto = Buffer.from('{"sub":"a","__proto__":{"admin":true}}').toString('base64url');
    malformed(`${HEADER}.${proto}.AQID`);
    const deep = b64({ a: { b: { c: { d: 1 } } } });
    expect(decodeCompactJws(`${HEADER}.${deep}.AQID`, 5).payload).toBeDefined();
    expect(() => decodeCompactJws(`${HEADER}.${deep}.AQID`, 3)).toThrow(TokenGuardError);
  });

  it('rejects a payload that is not valid UTF-8', () => {
    const bytes = Buffer.concat([Buffer.from('{"sub":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    malformed(`${HEADER}.${bytes.toString('base64url')}.AQID`);
    // A genuine U+FFFD is fine.
    expect(decodeCompactJws(`${HEADER}.${b64({ sub: '\ufffd' })}.AQID`, 32).payload.sub).toBe('\ufffd');
  });
});

/** The signing input and signature of a freshly signed token. */
async function parts(key: SigningKey) {
  const decoded = decodeCompactJws(await signToken(key, { sub: 'a' }), 32);
  return { input: decoded.signingInput, signature: decoded.signature };
}

describe('verifySignature', () => {
  let es256: SigningKey;
  let es256Key: VerificationKey;

  beforeAll(() => {
    es256 = generateSigningKey('ES256');
    es256Key = publicKey(es256);
  });

  it.each(['RS256', 'PS384', 'ES384', 'ES512', 'EdDSA'] as const)(
    'verifies %s and refuses a changed input',
    async (alg) => {
      const key = generateSigningKey(alg);
      const { input, signature } = await parts(key);
      expect(verifySignature(alg, publicKey(key), input, signature)).toBe(true);
      expect(verifySignature(alg, publicKey(key), `${input}x`, signature)).toBe(false);
    },
  );

  it('refuses an ECDSA signature in DER form or of the wrong length', async () => {
    const { input, signature } = await parts(es256);
    expect(verifySignature('ES256', es256Key, input, signature)).toBe(true);
    const der = sign('sha256', Buffer.from(input), { key: es256.privateKey, dsaEncoding: 'der' });
    expect(verifySignature('ES256', es256Key, input, der)).toBe(false);
    expect(verifySignature('ES256', es256Key, input, Buffer.concat([signature, Buffer.from([0])]))).toBe(
      false,
    );
    expect(verifySignature('ES256', es256Key, input, signature.subarray(0, 63))).toBe(false);
  });

  it('verifies HS256 in constant time and refuses a truncated MAC', async () => {
    const secret = importSecret('k'.repeat(32));
    const { createHmac } = await import('node:crypto');
    const mac = createHmac('sha256', 'k'.repeat(32)).update('a.b').digest();
    expect(verifySignature('HS256', secret, 'a.b', mac)).toBe(true);
    expect(verifySignature('HS256', secret, 'a.b', mac.subarray(0, 16))).toBe(false);
    expect(verifySignature('HS256', secret, 'a.c', mac)).toBe(false);
  });

  it('returns false instead of throwing for an empty signature', () => {
    expect(verifySignature('RS256', es256Key, 'a.b', Buffer.alloc(0))).toBe(false);
  });
});

describe('threadPoolSize', () => {
  it('reads UV_THREADPOOL_SIZE as libuv does: the leading integer, 1 to 1024, else 4', () => {
    expect(threadPoolSize(undefined)).toBe(4);
    expect(threadPoolSize('')).toBe(4);
    expect(threadPoolSize('eight')).toBe(4);
    expect(threadPoolSize('8')).toBe(8);
    expect(threadPoolSize('8x')).toBe(8);
    expect(threadPoolSize('0')).toBe(1);
    expect(threadPoolSize('-3')).toBe(1);
    expect(threadPoolSize('5000')).toBe(1024);
    expect(OFF_THREAD_MAX_IN_FLIGHT).toBe(4 * threadPoolSize(process.env.UV_THREADPOOL_SIZE));
  });
});

describe('verifyWithAnyOffThread', () => {
  it.each(['RS256', 'PS256', 'ES256', 'ES512', 'EdDSA'] as const)(
    'gives the inline verdict for %s: a genuine signature, a changed input, a changed signature',
    async (alg) => {
      const key = generateSigningKey(alg);
      const { input, signature } = await parts(key);
      const keys = [publicKey(key)];
      await expect(verifyWithAnyOffThread(alg, keys, input, signature)).resolves.toBe(true);
      await expect(verifyWithAnyOffThread(alg, keys, `${input}x`, signature)).resolves.toBe(false);
      const flipped = Buffer.from(signature);
      flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
      await expect(verifyWithAnyOffThread(alg, keys, input, flipped)).resolves.toBe(false);
    },
  );

  it('tries every key sharing a kid, in order, and is false when none verifies', async () => {
    const signer = generateSigningKey('RS256');
    const other = generateSigningKey('RS256');
    const { input, signature } = await parts(signer);
    await expect(
      verifyWithAnyOffThread('RS256', [publicKey(other), publicKey(signer)], input, signature),
    ).resolves.toBe(true);
    await expect(verifyWithAnyOffThread('RS256', [publicKey(other)], input, signature)).resolves.toBe(false);
    await expect(verifyWithAnyOffThread('RS256', [], input, signature)).resolves.toBe(false);
  });

  it('refuses an ECDSA signature of the wrong length or in DER form, and an empty one, without throwing', async () => {
    const key = generateSigningKey('ES256');
    const { input, signature } = await parts(key);
    const keys = [publicKey(key)];
    const der = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'der' });
    await expect(verifyWithAnyOffThread('ES256', keys, input, der)).resolves.toBe(false);
    await expect(verifyWithAnyOffThread('ES256', keys, input, signature.subarray(0, 63))).resolves.toBe(
      false,
    );
    await expect(verifyWithAnyOffThread('RS256', keys, input, Buffer.alloc(0))).resolves.toBe(false);
  });

  it('verifies HMAC inline, with the same checks as verifySignature', async () => {
    const { createHmac } = await import('node:crypto');
    const mac = createHmac('sha256', 'k'.repeat(32)).update('a.b').digest();
    const keys = [importSecret('k'.repeat(32))];
    await expect(verifyWithAnyOffThread('HS256', keys, 'a.b', mac)).resolves.toBe(true);
    await expect(verifyWithAnyOffThread('HS256', keys, 'a.b', mac.subarray(0, 16))).resolves.toBe(false);
  });

  it('verifies inline once OFF_THREAD_MAX_IN_FLIGHT verifications wait for the thread pool', async () => {
    const key = generateSigningKey('ES256');
    const { input, signature } = await parts(key);
    const keys = [publicKey(key)];
    const settled: boolean[] = [];
    const all = Array.from({ length: OFF_THREAD_MAX_IN_FLIGHT + 2 }, (_, i) =>
      verifyWithAnyOffThread('ES256', keys, input, signature).then((valid) => {
        settled[i] = valid;
      }),
    );
    for (let i = 0; i < 100; i++) await Promise.resolve();
    // The ones beyond the bound were verified inline: settled before the event loop turned.
    expect(settled.filter((valid) => valid === true)).toHaveLength(2);
    expect(settled.slice(0, OFF_THREAD_MAX_IN_FLIGHT).every((valid) => valid === undefined)).toBe(true);
    await Promise.all(all);
    expect(settled.every((valid) => valid === true)).toBe(true);
    // Every slot is free again: the next verification leaves the event loop.
    let next: boolean | undefined;
    const pending = verifyWithAnyOffThread('ES256', keys, input, signature).then((valid) => {
      next = valid;
    });
    for (let i = 0; i < 100; i++) await Promise.resolve();
    expect(next).toBeUndefined();
    await pending;
  });

  it('leaves the event loop before the verdict: microtasks alone never settle it', async () => {
    const key = generateSigningKey('ES256');
    const { input, signature } = await parts(key);
    let verdict: boolean | undefined;
    const pending = verifyWithAnyOffThread('ES256', [publicKey(key)], input, signature).then((valid) => {
      verdict = valid;
    });
    for (let i = 0; i < 100; i++) await Promise.resolve();
    expect(verdict).toBeUndefined();
    await pending;
    expect(verdict).toBe(true);
  });
});

describe('verifyWithAnyOffThread: same verdict as verifySignature, slots always freed', () => {
  /** Whether `promise` settles while only microtasks run, i.e. it was verified on the event loop. */
  async function settledInline(promise: Promise<boolean>): Promise<boolean> {
    let settled = false;
    const done = promise.then(() => {
      settled = true;
    });
    for (let i = 0; i < 100; i++) await Promise.resolve();
    const early = settled;
    await done;
    return early;
  }

  it('agrees with verifySignature on PS256 salt lengths and on RSA signatures of the wrong length', async () => {
    const key = generateSigningKey('PS256');
    const verifier = publicKey(key);
    const input = 'eyJhbGciOiJQUzI1NiJ9.eyJzdWIiOiJhIn0';
    const data = Buffer.from(input, 'latin1');
    const pss = (saltLength: number) =>
      sign('sha256', data, { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });
    const cases: [string, Buffer][] = [
      ['salt 0', pss(0)],
      ['salt 20', pss(20)],
      ['salt 32 (the digest length)', pss(32)],
      ['salt 64', pss(64)],
      ['salt max', pss(constants.RSA_PSS_SALTLEN_MAX_SIGN)],
      ['truncated', pss(32).subarray(0, 255)],
      ['extended', Buffer.concat([pss(32), Buffer.alloc(1)])],
      ['PKCS#1 v1.5', sign('sha256', data, key.privateKey)],
    ];
    for (const [label, signature] of cases) {
      const inline = verifySignature('PS256', verifier, input, signature);
      const offThread = await verifyWithAnyOffThread('PS256', [verifier], input, signature);
      expect({ label, offThread }).toEqual({ label, offThread: inline });
    }
    expect(verifySignature('PS256', verifier, input, pss(32))).toBe(true);
    expect(verifySignature('PS256', verifier, input, pss(0))).toBe(false);
  });

  it('agrees with verifySignature on ES256/ES384/ES512 raw, DER and wrong-length signatures', async () => {
    for (const [alg, hash] of [
      ['ES256', 'sha256'],
      ['ES384', 'sha384'],
      ['ES512', 'sha512'],
    ] as const) {
      const key = generateSigningKey(alg);
      const verifier = publicKey(key);
      const input = 'eyJhbGciOiJFUyJ9.eyJzdWIiOiJhIn0';
      const data = Buffer.from(input, 'latin1');
      const raw = sign(hash, data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
      const cases = [
        raw,
        sign(hash, data, { key: key.privateKey, dsaEncoding: 'der' }),
        raw.subarray(0, raw.length - 1),
        Buffer.concat([raw, Buffer.alloc(1)]),
        Buffer.concat([Buffer.alloc(1), raw]),
        Buffer.alloc(raw.length),
      ];
      for (const [index, signature] of cases.entries()) {
        const inline = verifySignature(alg, verifier, input, signature);
        const offThread = await verifyWithAnyOffThread(alg, [verifier], input, signature);
        expect({ alg, index, offThread }).toEqual({ alg, index, offThread: inline });
      }
      expect(verifySignature(alg, verifier, input, raw)).toBe(true);
    }
  });

  it('hashes a signing input that is not ASCII as UTF-8, inline and off the thread alike', async () => {
    // The decoders never let one through; were one to reach verification, every path must hash the
    // same bytes (UTF-8 and Latin-1 differ here, and U+0141 in Latin-1 would be 'A').
    const rsa = generateSigningKey('RS256');
    const es256 = generateSigningKey('ES256');
    const ed25519 = generateSigningKey('EdDSA');
    const signers = [
      ['RS256', rsa, (data: Buffer) => sign('sha256', data, rsa.privateKey)],
      [
        'PS256',
        rsa,
        (data: Buffer) =>
          sign('sha256', data, {
            key: rsa.privateKey,
            padding: constants.RSA_PKCS1_PSS_PADDING,
            saltLength: 32,
          }),
      ],
      [
        'ES256',
        es256,
        (data: Buffer) => sign('sha256', data, { key: es256.privateKey, dsaEncoding: 'ieee-p1363' }),
      ],
      ['EdDSA', ed25519, (data: Buffer) => sign(null, data, ed25519.privateKey)],
    ] as const;
    for (const input of ['\u00e9.x', '\u0141.x']) {
      for (const [alg, signer, signWith] of signers) {
        const verifier = publicKey(signer);
        for (const encoding of ['utf8', 'latin1'] as const) {
          const signature = signWith(Buffer.from(input, encoding));
          const inline = verifySignature(alg, verifier, input, signature);
          const offThread = await verifyWithAnyOffThread(alg, [verifier], input, signature);
          expect({ alg, input, encoding, inline, offThread }).toEqual({
            alg,
            input,
            encoding,
            inline: encoding === 'utf8',
            offThread: encoding === 'utf8',
          });
        }
      }
    }
    const secret = importSecret('k'.repeat(32));
    const mac = createHmac('sha256', 'k'.repeat(32)).update(Buffer.from('\u00e9.x', 'utf8')).digest();
    expect(verifySignature('HS256', secret, '\u00e9.x', mac)).toBe(true);
  });

  it('frees its slot when node:crypto throws at once or reports an error: later ones still leave the event loop', async () => {
    const key = generateSigningKey('ES256');
    const decoded = decodeCompactJws(await signToken(key, { sub: 'a' }), 32);
    const genuine = () =>
      verifyWithAnyOffThread('ES256', [publicKey(key)], decoded.signingInput, decoded.signature);
    // Keys that do not fit the algorithm (the validator never pairs them; here they reach node:crypto):
    // a secret key makes verify throw at once, an Ed25519 key with a digest makes it call back an error.
    const secret = importSecret('k'.repeat(32));
    const ed25519 = publicKey(generateSigningKey('EdDSA'));
    for (let i = 0; i <= OFF_THREAD_MAX_IN_FLIGHT; i++) {
      await expect(verifyWithAnyOffThread('RS256', [secret], 'a.b', Buffer.alloc(256))).resolves.toBe(false);
      await expect(verifyWithAnyOffThread('RS256', [ed25519], 'a.b', Buffer.alloc(256))).resolves.toBe(false);
    }
    expect(await settledInline(genuine())).toBe(false);
    // Many at once, a failing key first: every slot comes back.
    await Promise.all(
      Array.from({ length: 2 * OFF_THREAD_MAX_IN_FLIGHT }, () =>
        verifyWithAnyOffThread('ES256', [ed25519, publicKey(key)], decoded.signingInput, decoded.signature),
      ),
    );
    expect(await settledInline(genuine())).toBe(false);
  });
});

describe('decodeCompactJws header reuse', () => {
  it('returns an equal, frozen header for tokens that share a header segment', () => {
    const header = b64({ alg: 'ES256', typ: 'at+jwt', kid: 'reuse-test' });
    const first = decodeCompactJws(`${header}.${PAYLOAD}.AQID`, 32);
    const second = decodeCompactJws(`${header}.${b64({ sub: 'b' })}.AQID`, 32);
    expect(second.header).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: 'reuse-test' });
    expect(Object.isFrozen(second.header)).toBe(true);
    expect(first.payload).toEqual({ sub: 'a' });
    expect(second.payload).toEqual({ sub: 'b' });
  });

  it('still checks the payload and signature of a token whose header was seen before', () => {
    const header = b64({ alg: 'ES256', kid: 'reuse-checks' });
    decodeCompactJws(`${header}.${PAYLOAD}.AQID`, 32);
    malformed(`${header}.${PAYLOAD}=.AQID`);
    expect(malformed(`${header}.${PAYLOAD}.AR`)).toMatch(/signature/);
    malformed(`${header}.${b64([1])}.AQID`);
  });

  it('applies the depth limit of each call to a header with nested members', () => {
    const header = b64({ alg: 'ES256', jwk: { kty: 'EC', x: { y: 1 } } });
    expect(decodeCompactJws(`${header}.${PAYLOAD}.AQID`, 5).header.alg).toBe('ES256');
    expect(() => decodeCompactJws(`${header}.${PAYLOAD}.AQID`, 2)).toThrow(TokenGuardError);
  });
});

describe('decodeCanonicalJws', () => {
  const SIGNATURE = 'AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA'; // 32 bytes
  const segments = [HEADER, PAYLOAD, SIGNATURE] as const;

  // The header used last is compared to the next token's whole segment: a header of the same length
  // differing in one character, anywhere, must be decoded on its own, never taken for the last one.
  it('never reuses the last header for a same-length segment that differs in one character', () => {
    const headers = ['kid-1', 'kid-2', 'jid-1'].map((kid) => b64({ alg: 'ES256', typ: 'at+jwt', kid }));
    expect(new Set(headers.map((header) => header.length)).size).toBe(1);
    for (let round = 0; round < 3; round++) {
      for (const [i, kid] of ['kid-1', 'kid-2', 'jid-1', 'kid-1', 'kid-1', 'jid-1'].entries()) {
        const header = headers[['kid-1', 'kid-2', 'jid-1'].indexOf(kid)] as string;
        const token = `${header}.${b64({ sub: `s${round}-${i}` })}.${SIGNATURE}`;
        const decoded = decodeCanonicalJws(token, 32);
        expect(decoded?.header.kid).toBe(kid);
        expect(decoded?.signingInput.startsWith(`${header}.`)).toBe(true);
      }
    }
  });

  it('decodes a canonical token exactly as decodeCompactJws does', () => {
    const token = segments.join('.');
    expect(decodeCanonicalJws(token, 32)).toEqual(decodeCompactJws(token, 32));
  });

  // It proves the alphabet from decoded lengths: every foreign character, anywhere, must be caught.
  it('returns undefined for every character outside the alphabet, in every segment and position', () => {
    const foreign: string[] = [];
    for (let code = 0; code < 128; code++) {
      const c = String.fromCharCode(code);
      if (!/[A-Za-z0-9_.-]/.test(c)) foreign.push(c);
    }
    // Characters the decoder would truncate or map into the alphabet: Latin-1, U+0141 (low byte 'A'), fullwidth 'a'.
    foreign.push('\u00e9', '\u00ff', '\u0141', '\uff41', '\u2028');
    let cases = 0;
    for (const c of foreign) {
      for (let part = 0; part < 3; part++) {
        const segment = segments[part] as string;
        for (const at of [0, 1, segment.length - 1, segment.length]) {
          for (const mode of ['insert', 'replace'] as const) {
            const changed =
              mode === 'insert'
                ? segment.slice(0, at) + c + segment.slice(at)
                : segment.slice(0, at) + c + segment.slice(at + 1);
            const parts = [...segments];
            parts[part] = changed;
            const token = parts.join('.');
            cases++;
            expect(decodeCanonicalJws(token, 32), JSON.stringify(token)).toBeUndefined();
            expect(() => decodeCompactJws(token, 32), JSON.stringify(token)).toThrow(TokenGuardError);
          }
        }
      }
    }
    expect(cases).toBeGreaterThan(1500);
  });

  it('returns undefined for padding, a stray length, stray trailing bits and the wrong number of segments', () => {
    for (const token of [
      `${HEADER}.${PAYLOAD}.${SIGNATURE}=`,
      `${HEADER}=.${PAYLOAD}.${SIGNATURE}`,
      `${HEADER}.${PAYLOAD}.${SIGNATURE}AA`,
      `${HEADER}.${PAYLOAD}.${SIGNATURE.slice(0, -1)}B`,
      `${HEADER}.${PAYLOAD}.`,
      `${HEADER}.${PAYLOAD}`,
      `${HEADER}..${SIGNATURE}`,
      `.${PAYLOAD}.${SIGNATURE}`,
      `${HEADER}.${PAYLOAD}.${SIGNATURE}.${SIGNATURE}`,
    ]) {
      expect(decodeCanonicalJws(token, 32), token).toBeUndefined();
    }
  });

  it('names maxTokenJsonDepth when a header or payload is refused for its depth', () => {
    const deep = b64({ a: { b: { c: 1 } } });
    expect(() => decodeCanonicalJws(`${HEADER}.${deep}.${SIGNATURE}`, 2)).toThrow(
      'The token payload is nested deeper than 2 levels (maxTokenJsonDepth)',
    );
    expect(() => decodeCompactJws(`${b64({ alg: 'ES256', x: { y: { z: 1 } } })}.${PAYLOAD}.AQID`, 2)).toThrow(
      'The token header is nested deeper than 2 levels (maxTokenJsonDepth)',
    );
  });

  it('throws what decodeCompactJws throws once the text is canonical', () => {
    const token = `${HEADER}.${b64([1, 2])}.${SIGNATURE}`;
    expect(() => decodeCanonicalJws(token, 32)).toThrow(/payload is not a JSON object/);
    expect(() => decodeCompactJws(token, 32)).toThrow(/payload is not a JSON object/);
  });
});
