import { constants, sign } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, type SigningKey } from '../../../test/support/keys.js';
import { verifySignature } from './jws.js';
import {
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
    expect(rsaKey.ecdsaInput).toBeUndefined();
    const ecKey = imported(ec.publicJwk);
    expect(ecKey.ecdsaInput).toEqual({ key: ecKey.keyObject, dsaEncoding: 'ieee-p1363' });
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

  it('verifies with a key made without its prebuilt PSS and ECDSA arguments as with an imported one', () => {
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
    const { ecdsaInput: _e, ...ecByHand } = imported(ec.publicJwk);
    const raw = sign('sha256', data, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
    expect(verifySignature('ES256', ecByHand, input, raw)).toBe(true);
    expect(verifySignature('ES256', ecByHand, input, sign('sha256', data, ec.privateKey))).toBe(false);
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
