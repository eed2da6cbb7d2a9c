import { constants, sign } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, type SigningKey } from '../../../test/support/keys.js';
import { verifySignature } from './jws.js';
import {
  hasRocaFingerprint,
  IMPORTED_JWK_MEMBERS,
  type ImportResult,
  importPublicJwk,
  importSecret,
  keyFitsAlgorithm,
  type VerificationKey,
} from './keys.js';

let rsa: SigningKey;
let ec: SigningKey;
let ed: SigningKey;

beforeAll(() => {
  rsa = generateSigningKey('RS256');
  ec = generateSigningKey('ES256');
  ed = generateSigningKey('EdDSA');
});

function imported(jwk: unknown): VerificationKey {
  const result = importPublicJwk(jwk);
  if (!result.ok) throw new Error(result.reason);
  return result.key;
}

function refused(jwk: unknown): string {
  const result: ImportResult = importPublicJwk(jwk);
  if (result.ok) throw new Error('imported');
  return result.reason;
}

describe('importPublicJwk', () => {
  it('refuses an RSA public exponent past 2^31 - 1 (each verification would cost milliseconds)', () => {
    const exponent = (value: number[]): string => Buffer.from(value).toString('base64url');
    expect(imported({ ...rsa.publicJwk, e: exponent([0x7f, 0xff, 0xff, 0xff]) }).kid).toBe(rsa.kid);
    expect(refused({ ...rsa.publicJwk, e: exponent([0x80, 0x00, 0x00, 0x01]) })).toMatch(/exponent/);
    // Odd, below the modulus, as long as it: what makes verification slowest.
    const near = Buffer.from(rsa.publicJwk.n as string, 'base64url');
    near[0] = 0x01;
    near[near.length - 1] = (near[near.length - 1] as number) | 1;
    expect(refused({ ...rsa.publicJwk, e: near.toString('base64url') })).toMatch(/exponent/);
  });

  it('imports RSA, EC and OKP public keys with their metadata', () => {
    const key = imported(rsa.publicJwk);
    expect(key.kid).toBe(rsa.kid);
    expect(key.kty).toBe('RSA');
    expect(key.alg).toBe('RS256');
    expect(key.use).toBe('sig');
    expect(key.keyObject.type).toBe('public');
    expect(imported(ec.publicJwk).curve).toBe('P-256');
    expect(imported(ed.publicJwk).curve).toBe('Ed25519');
  });

  it('keeps the public key exactly, and builds the PSS and raw-ECDSA key arguments once per key', () => {
    for (const source of [rsa, ec, ed]) {
      const { keyObject } = imported(source.publicJwk);
      const { kty, n, e, crv, x, y } = keyObject.export({ format: 'jwk' });
      expect({ kty, n, e, crv, x, y }).toEqual({
        kty: source.publicJwk.kty,
        n: source.publicJwk.n,
        e: source.publicJwk.e,
        crv: source.publicJwk.crv,
        x: source.publicJwk.x,
        y: source.publicJwk.y,
      });
    }
    const rsaKey = imported(rsa.publicJwk);
    expect(rsaKey.pssInput).toEqual({
      key: rsaKey.keyObject,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    });
    const ecKey = imported(ec.publicJwk);
    expect(ecKey.pssInput).toBeUndefined();
    expect(imported(ed.publicJwk)).not.toHaveProperty('pssInput');
  });

  it('reads no member outside IMPORTED_JWK_MEMBERS, which a key set refetch compares to reuse a key', () => {
    const read = new Set<PropertyKey>();
    const watched = (jwk: object): object =>
      new Proxy(jwk, {
        get(target, name, receiver) {
          read.add(name);
          return Reflect.get(target, name, receiver);
        },
        has(target, name) {
          read.add(name);
          return Reflect.has(target, name);
        },
        getOwnPropertyDescriptor(target, name) {
          read.add(name);
          return Reflect.getOwnPropertyDescriptor(target, name);
        },
        ownKeys(target) {
          read.add('(every member)');
          return Reflect.ownKeys(target);
        },
      });
    const privateRsa = { ...rsa.publicJwk, d: 'AQAB', p: 'AQAB', q: 'AQAB', x5t: 'AA' };
    for (const jwk of [
      privateRsa,
      { ...ec.publicJwk, key_ops: ['verify'], x5c: ['AA'] },
      ed.publicJwk,
      { ...rsa.publicJwk, use: 'enc' },
      { ...ec.publicJwk, alg: 'ES384', key_ops: ['verify'] },
      { kty: 'OKP', crv: 'X25519', x: ed.publicJwk.x },
      { kty: 'oct', k: 'c2VjcmV0' },
    ]) {
      importPublicJwk(watched(jwk));
    }
    expect(
      [...read].filter((name) => !(IMPORTED_JWK_MEMBERS as readonly PropertyKey[]).includes(name)),
    ).toEqual([]);
    expect(read).toContain('n');
  });

  it('verifies with a key made without its prebuilt PSS argument as with an imported one', () => {
    const input = 'eyJhbGciOiJQUzI1NiJ9.eyJzdWIiOiJhIn0';
    const data = Buffer.from(input, 'latin1');
    const { pssInput: _p, ...rsaByHand } = imported(rsa.publicJwk);
    const pss = sign('sha256', data, {
      key: rsa.privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    });
    expect(verifySignature('PS256', rsaByHand, input, pss)).toBe(true);
    expect(verifySignature('PS256', rsaByHand, input, sign('sha256', data, rsa.privateKey))).toBe(false);
    expect(verifySignature('RS256', rsaByHand, input, sign('sha256', data, rsa.privateKey))).toBe(true);
  });

  it('imports only the public members of a JWK that carries private ones', () => {
    const privateJwk = { ...ec.privateKey.export({ format: 'jwk' }), kid: 'k' };
    expect(imported(privateJwk).keyObject.type).toBe('public');
  });

  it('refuses symmetric keys from a key set', () => {
    expect(refused({ kty: 'oct', k: 'c2VjcmV0', kid: 'h' })).toMatch(/symmetric/);
  });

  it('refuses use enc and key_ops without verify', () => {
    expect(refused({ ...ec.publicJwk, use: 'enc' })).toMatch(/use/);
    expect(refused({ ...ec.publicJwk, key_ops: ['encrypt'] })).toMatch(/key_ops/);
    expect(refused({ ...ec.publicJwk, key_ops: 'verify' })).toMatch(/key_ops/);
    expect(imported({ ...ec.publicJwk, key_ops: ['verify'] }).keyOps).toEqual(['verify']);
  });

  it('refuses an alg that does not fit the kty', () => {
    expect(refused({ ...rsa.publicJwk, alg: 'ES256' })).toMatch(/does not fit/);
    expect(refused({ ...ec.publicJwk, alg: 'none' })).toMatch(/does not fit/);
    expect(refused({ ...ec.publicJwk, alg: 'HS256' })).toMatch(/does not fit/);
  });

  it('refuses an EC or OKP key whose crv does not fit its alg, so the set reports it', () => {
    const p384 = generateSigningKey('ES384');
    expect(refused({ ...p384.publicJwk, alg: 'ES256' })).toMatch(/crv P-384 does not fit alg ES256/);
    expect(refused({ ...ec.publicJwk, alg: 'ES512' })).toMatch(/crv P-256 does not fit alg ES512/);
    expect(imported({ ...p384.publicJwk, alg: 'ES384' }).curve).toBe('P-384');
    expect(imported({ ...ed.publicJwk, alg: 'EdDSA' }).curve).toBe('Ed25519');
    expect(imported({ ...ed.publicJwk, alg: 'Ed25519' }).curve).toBe('Ed25519');
  });

  it('refuses RSA keys shorter than 2048 bits', () => {
    const weak = generateSigningKey('RS256', { modulusLength: 1024 });
    expect(refused(weak.publicJwk)).toMatch(/2048/);
  });

  it('refuses X25519 (an OKP key that cannot sign)', () => {
    expect(refused({ kty: 'OKP', crv: 'X25519', x: ed.publicJwk.x })).toMatch(/signature|import/);
  });

  it('refuses non-objects, unknown kty, non-string kid and garbage key material', () => {
    expect(refused(null)).toMatch(/object/);
    expect(refused([])).toMatch(/object/);
    expect(refused({ kty: 'XYZ' })).toMatch(/kty/);
    expect(refused({ ...ec.publicJwk, kid: 7 })).toMatch(/kid/);
    expect(refused({ kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' })).toMatch(/import/);
  });
});

describe('keyFitsAlgorithm', () => {
  it('matches kty, JWK alg and curve to the header alg', () => {
    const rsaKey = imported({ ...rsa.publicJwk, alg: undefined });
    expect(keyFitsAlgorithm(rsaKey, 'RS256')).toBe(true);
    expect(keyFitsAlgorithm(rsaKey, 'PS512')).toBe(true);
    expect(keyFitsAlgorithm(rsaKey, 'ES256')).toBe(false);
    expect(keyFitsAlgorithm(rsaKey, 'HS256')).toBe(false);
    const rs256 = imported(rsa.publicJwk);
    expect(keyFitsAlgorithm(rs256, 'RS256')).toBe(true);
    expect(keyFitsAlgorithm(rs256, 'RS384')).toBe(false);
    const p256 = imported(ec.publicJwk);
    expect(keyFitsAlgorithm(p256, 'ES256')).toBe(true);
    const p256NoAlg = imported({ ...ec.publicJwk, alg: undefined });
    expect(keyFitsAlgorithm(p256NoAlg, 'ES384')).toBe(false);
    const edKey = imported(ed.publicJwk);
    expect(keyFitsAlgorithm(edKey, 'EdDSA')).toBe(true);
    expect(keyFitsAlgorithm(edKey, 'Ed25519')).toBe(true);
  });

  it('never lets a secret verify an asymmetric algorithm', () => {
    const secret = importSecret('s'.repeat(32));
    expect(keyFitsAlgorithm(secret, 'HS256')).toBe(true);
    expect(keyFitsAlgorithm(secret, 'RS256')).toBe(false);
  });
});

/** Big-endian bytes of a positive bigint. */
function bytesOf(value: bigint): Buffer {
  const hex = value.toString(16);
  return Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex');
}

/** The product of the small primes the ROCA test looks at (written out here, not taken from keys.ts). */
const ROCA_PRODUCT = [
  3n,
  5n,
  7n,
  11n,
  13n,
  17n,
  19n,
  23n,
  29n,
  31n,
  37n,
  41n,
  43n,
  47n,
  53n,
  59n,
  61n,
  67n,
  71n,
  73n,
  79n,
  83n,
  89n,
  97n,
  101n,
  103n,
  107n,
  109n,
  113n,
  127n,
  131n,
  137n,
  139n,
  149n,
  151n,
  157n,
  163n,
  167n,
].reduce((product, p) => product * p, 1n);

/** `value`, made odd by adding the product (which changes no residue modulo the small primes). */
function odd(value: bigint): bigint {
  return value % 2n === 0n ? value + ROCA_PRODUCT : value;
}

/**
 * A 2048-bit odd modulus with the ROCA fingerprint: built (not factored) as a power of 65537 modulo
 * the product of the test's small primes, plus a multiple of that product, the form every modulus of
 * the vulnerable Infineon library has modulo each of those primes (Nemec et al., CCS 2017).
 */
function rocaShapedModulus(): bigint {
  let residue = 1n;
  for (let i = 0; i < 4321; i++) residue = (residue * 65537n) % ROCA_PRODUCT;
  return odd(residue + ROCA_PRODUCT * ((1n << 2047n) / ROCA_PRODUCT + 1n));
}

describe('hasRocaFingerprint', () => {
  it('finds the fingerprint in a modulus that is a power of 65537 modulo each small prime', () => {
    const modulus = rocaShapedModulus();
    expect(modulus.toString(2)).toHaveLength(2048);
    expect(hasRocaFingerprint(bytesOf(modulus))).toBe(true);
  });

  it('does not find it in generated moduli', () => {
    expect(hasRocaFingerprint(Buffer.from(String(rsa.publicJwk.n), 'base64url'))).toBe(false);
    const other = generateSigningKey('RS256');
    expect(hasRocaFingerprint(Buffer.from(String(other.publicJwk.n), 'base64url'))).toBe(false);
  });

  it('does not find it once one residue leaves the subgroup (a multiple of 3, every other residue kept)', () => {
    const modulus = rocaShapedModulus();
    // Adding multiples of product/3 moves the residue modulo 3 alone; 0 is in no subgroup of the units.
    const step = ROCA_PRODUCT / 3n;
    let moved = modulus;
    while (moved % 3n !== 0n) moved += step;
    moved = odd(moved);
    expect(moved % 3n).toBe(0n);
    expect(moved % 167n).toBe(modulus % 167n);
    expect(hasRocaFingerprint(bytesOf(moved))).toBe(false);
  });

  it('keeps a key set from importing an RSA key with the fingerprint', () => {
    const n = bytesOf(rocaShapedModulus()).toString('base64url');
    expect(refused({ kty: 'RSA', kid: 'roca', n, e: 'AQAB' })).toMatch(/ROCA/);
  });
});
