/**
 * Forged and damaged signatures: ECDSA r/s at and beyond the group order, DER instead of raw r||s,
 * all-zero RSA/EdDSA/ECDSA signatures, non-canonical Ed25519 S, and signatures stripped, swapped,
 * truncated, extended or made for another algorithm.
 */
import { sign } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { AUDIENCE, b64u, claims, expectRejection, forge, ISSUER, segment, validatorFor } from './forge.js';
import { createKeyring, withoutAlg } from './keyring.js';

const ring = createKeyring();
const validator = validatorFor({
  issuer: ISSUER,
  audience: AUDIENCE,
  jwks: {
    keys: [
      ring.rs256.publicJwk,
      ring.es256.publicJwk,
      ring.es384.publicJwk,
      ring.es512.publicJwk,
      ring.ed25519.publicJwk,
      { ...withoutAlg(ring.rs256Next.publicJwk) },
    ],
  },
});
afterAll(() => validator.close());

const ORDERS = {
  ES256: {
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    size: 32,
    key: ring.es256,
  },
  ES384: {
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    size: 48,
    key: ring.es384,
  },
  ES512: {
    n: 0x1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
    size: 66,
    key: ring.es512,
  },
} as const;

function fixed(value: bigint, size: number): Buffer {
  const hex = value.toString(16).padStart(size * 2, '0');
  if (hex.length > size * 2) throw new Error('value does not fit');
  return Buffer.from(hex, 'hex');
}
const toBig = (bytes: Buffer) => BigInt(`0x${bytes.toString('hex') || '0'}`);

/** A token whose signature segment is replaced by `signature`. */
function withSignature(token: string, signature: Buffer): string {
  return `${token.slice(0, token.lastIndexOf('.'))}.${b64u(signature)}`;
}

describe('ECDSA signature values', () => {
  for (const [alg, { n, size, key }] of Object.entries(ORDERS)) {
    const header = { alg, typ: 'at+jwt', kid: key.kid };
    const good = forge(header, claims(), key.privateKey);
    const raw = Buffer.from(good.split('.')[2] as string, 'base64url');
    const r = toBig(raw.subarray(0, size));
    const s = toBig(raw.subarray(size));
    const values = { zero: 0n, one: 1n, 'n-1': n - 1n, n, 'n+1': n + 1n, max: 2n ** BigInt(size * 8) - 1n };
    it(`${alg}: control — the genuine signature verifies`, async () => {
      expect((await validator.validate(good)).subject).toBe('user-1');
    });
    for (const [rName, rValue] of Object.entries(values)) {
      for (const [sName, sValue] of Object.entries(values)) {
        it(`${alg}: rejects r = ${rName}, s = ${sName}`, async () => {
          const forged = withSignature(good, Buffer.concat([fixed(rValue, size), fixed(sValue, size)]));
          await expectRejection(validator.validate(forged), 'ERR_SIGNATURE_INVALID');
        });
      }
    }
    it(`${alg}: rejects the genuine r with s = 0, s + n, and the genuine s with r + n where they fit`, async () => {
      const candidates = [Buffer.concat([fixed(r, size), fixed(0n, size)])];
      if (s + n < 2n ** BigInt(size * 8))
        candidates.push(Buffer.concat([fixed(r, size), fixed(s + n, size)]));
      if (r + n < 2n ** BigInt(size * 8))
        candidates.push(Buffer.concat([fixed(r + n, size), fixed(s, size)]));
      for (const candidate of candidates) {
        await expectRejection(validator.validate(withSignature(good, candidate)), 'ERR_SIGNATURE_INVALID');
      }
    });
    it(`${alg}: rejects a genuine DER-encoded signature instead of raw r||s`, async () => {
      const input = good.slice(0, good.lastIndexOf('.'));
      const hash = `sha${alg.slice(2)}`;
      const der = sign(hash, Buffer.from(input), { key: key.privateKey, dsaEncoding: 'der' });
      expect(der[0]).toBe(0x30);
      await expectRejection(validator.validate(withSignature(good, der)), 'ERR_SIGNATURE_INVALID');
    });
    it(`${alg}: rejects raw r||s with a byte added, removed, or zero-padded`, async () => {
      for (const candidate of [
        Buffer.concat([raw, Buffer.from([0])]),
        Buffer.concat([Buffer.from([0]), raw]),
        raw.subarray(0, raw.length - 1),
        Buffer.concat([Buffer.from([0]), raw.subarray(0, size), Buffer.from([0]), raw.subarray(size)]),
      ]) {
        await expectRejection(validator.validate(withSignature(good, candidate)), 'ERR_SIGNATURE_INVALID');
      }
    });
    it(`${alg}: accepts the high-s twin n - s (documented: ECDSA is malleable; never key a replay cache on the token string)`, async () => {
      const twin = withSignature(good, Buffer.concat([fixed(r, size), fixed(n - s, size)]));
      expect(twin).not.toBe(good);
      expect((await validator.validate(twin)).claims.jti).toBe('jti-1');
    });
  }
});

describe('zero and non-canonical signatures', () => {
  const rsaHeader = { alg: 'RS256', typ: 'at+jwt', kid: ring.rs256.kid };
  const edHeader = { alg: 'EdDSA', typ: 'at+jwt', kid: ring.ed25519.kid };
  it('rejects all-zero RSA signatures of every length', async () => {
    const good = forge(rsaHeader, claims(), ring.rs256.privateKey);
    for (const length of [1, 255, 256, 257, 512]) {
      await expectRejection(
        validator.validate(withSignature(good, Buffer.alloc(length))),
        'ERR_SIGNATURE_INVALID',
      );
    }
  });
  it('rejects an RSA signature equal to 1, the modulus, or the modulus minus one', async () => {
    const good = forge(rsaHeader, claims(), ring.rs256.privateKey);
    const n = Buffer.from(ring.rs256.publicJwk.n as string, 'base64url');
    const nBig = toBig(n);
    for (const value of [1n, nBig, nBig - 1n, nBig + 1n]) {
      await expectRejection(
        validator.validate(withSignature(good, fixed(value, 256))),
        'ERR_SIGNATURE_INVALID',
      );
    }
  });
  it('rejects all-zero EdDSA signatures', async () => {
    const good = forge(edHeader, claims(), ring.ed25519.privateKey);
    for (const length of [32, 63, 64, 65]) {
      await expectRejection(
        validator.validate(withSignature(good, Buffer.alloc(length))),
        'ERR_SIGNATURE_INVALID',
      );
    }
  });
  it('rejects an Ed25519 signature whose S is not reduced (S + L)', async () => {
    const good = forge(edHeader, claims(), ring.ed25519.privateKey);
    const raw = Buffer.from(good.split('.')[2] as string, 'base64url');
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    const sLittle = Buffer.from(raw.subarray(32)).reverse();
    const bumped = fixed(toBig(sLittle) + L, 32).reverse();
    const forged = withSignature(good, Buffer.concat([raw.subarray(0, 32), bumped]));
    await expectRejection(validator.validate(forged), 'ERR_SIGNATURE_INVALID');
  });
});

describe('stripped, swapped and truncated signatures', () => {
  const header = { alg: 'RS256', typ: 'at+jwt', kid: ring.rs256.kid };
  const a = forge(header, claims({ sub: 'alice' }), ring.rs256.privateKey);
  const b = forge(header, claims({ sub: 'mallory', scope: 'admin' }), ring.rs256.privateKey);
  const [ha, pa, sa] = a.split('.') as [string, string, string];
  const [hb, pb, sb] = b.split('.') as [string, string, string];
  it('rejects a stripped signature', async () => {
    await expectRejection(validator.validate(`${ha}.${pa}.`), 'ERR_TOKEN_MALFORMED');
    await expectRejection(validator.validate(`${ha}.${pa}`), 'ERR_TOKEN_NOT_JWT');
  });
  it('answers a bad signature before any claim: a forged token never reveals what its claims checks would say', async () => {
    const forgeries = [
      claims({ exp: 1 }),
      claims({ exp: undefined }),
      claims({ exp: 'soon' }),
      claims({ nbf: 4_000_000_000 }),
      claims({ iat: 4_000_000_000 }),
      claims({ aud: 'https://evil.test' }),
      claims({ aud: undefined }),
      claims({ sub: 42 }),
      claims({ client_id: null }),
      claims({ jti: [] }),
    ];
    for (const payload of forgeries) {
      // Signed by the attacker's key under our kid, and our genuine signature over another payload.
      const byAttacker = forge(header, payload, ring.attacker.privateKey, 'RS256');
      const [hf, pf] = byAttacker.split('.') as [string, string];
      for (const token of [byAttacker, `${hf}.${pf}.${sa}`]) {
        await expectRejection(validator.validate(token), 'ERR_SIGNATURE_INVALID');
        await expectRejection(validator.validate(`Bearer ${token}`), 'ERR_SIGNATURE_INVALID');
      }
    }
  });
  it("rejects one token's payload with another token's signature", async () => {
    await expectRejection(validator.validate(`${ha}.${pb}.${sa}`), 'ERR_SIGNATURE_INVALID');
    await expectRejection(validator.validate(`${hb}.${pa}.${sb}`), 'ERR_SIGNATURE_INVALID');
  });
  it('rejects truncated and extended signatures', async () => {
    const raw = Buffer.from(sa, 'base64url');
    for (const candidate of [
      raw.subarray(0, raw.length - 1),
      raw.subarray(0, raw.length / 2),
      raw.subarray(1),
      Buffer.concat([raw, Buffer.from([0])]),
      Buffer.concat([Buffer.from([0]), raw]),
      Buffer.concat([raw, raw]),
    ]) {
      await expectRejection(validator.validate(`${ha}.${pa}.${b64u(candidate)}`), 'ERR_SIGNATURE_INVALID');
    }
  });
  it('rejects a signature made with the right key for another algorithm of the same family', async () => {
    const key = ring.rs256Next; // published without alg, so RS256, RS384 and PS256 are all candidates
    const input = (alg: string) => `${segment({ alg, typ: 'at+jwt', kid: key.kid })}.${segment(claims())}`;
    const pairs: [string, string][] = [
      ['RS384', 'RS256'],
      ['RS256', 'RS512'],
      ['PS256', 'RS256'],
      ['RS256', 'PS256'],
      ['PS384', 'PS256'],
    ];
    for (const [claimed, used] of pairs) {
      const token = forge({ alg: claimed, typ: 'at+jwt', kid: key.kid }, claims(), key.privateKey, used);
      await expectRejection(validator.validate(token), 'ERR_SIGNATURE_INVALID');
      expect(token.startsWith(input(claimed))).toBe(true);
    }
    // and the control: each claimed algorithm verifies when it is the one used.
    for (const alg of ['RS256', 'RS384', 'PS256']) {
      const token = forge({ alg, typ: 'at+jwt', kid: key.kid }, claims(), key.privateKey);
      expect((await validator.validate(token)).subject).toBe('user-1');
    }
  });
  it('rejects a key published with alg RS256 used for RS384 (algorithm binding)', async () => {
    const token = forge(
      { alg: 'RS384', typ: 'at+jwt', kid: ring.rs256.kid },
      claims(),
      ring.rs256.privateKey,
    );
    await expectRejection(validator.validate(token), 'ERR_KEY_NOT_FOUND');
  });
});
