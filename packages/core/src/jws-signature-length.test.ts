/**
 * RSA signatures must be exactly `k` bytes (the modulus length) on every algorithm and path: RFC 8017
 * §8.1.2 step 1 (RSASSA-PSS) and §8.2.2 step 1 (PKCS#1 v1.5). OpenSSL's PSS verification does not
 * hold to it: it raises a shorter signature to `e` as it is, so a genuine PS256 signature whose first
 * byte is zero verifies with that byte dropped, and the token has a second spelling (a new cache key,
 * a new replay-store key) with the same signature value. RS* never had this: its own path, and
 * OpenSSL's `RSA_verify` off the thread, check the length.
 */
import { constants, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import type { JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { TokenGuardError } from './errors.js';
import { verifySignature, verifyWithAnyOffThread } from './jws.js';
import { importPublicJwk, type VerificationKey } from './keys.js';
import { createValidator } from './validator.js';

const ISSUER = 'https://issuer.length.test';
const AUDIENCE = 'https://api.length.test';
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

const pem = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const privateKey = createPrivateKey(pem.privateKey);
const jwkOf = (alg: string): JWK => ({
  ...createPublicKey(pem.publicKey).export({ format: 'jwk' }),
  kid: `length-${alg}`,
  alg,
  use: 'sig',
});

const HASHES = { PS256: 'sha256', PS384: 'sha384', PS512: 'sha512', RS256: 'sha256' } as const;
type Alg = keyof typeof HASHES;

function signed(alg: Alg, input: string): Buffer {
  const hash = HASHES[alg];
  const data = Buffer.from(input, 'utf8');
  if (alg === 'RS256') return sign(hash, data, privateKey);
  return sign(hash, data, {
    key: privateKey,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
  });
}

/** A genuine token whose signature starts with a zero byte (about one in 256), as its parts. */
function tokenWithLeadingZero(alg: Alg): { signingInput: string; signature: Buffer } {
  const nowSec = Math.floor(Date.now() / 1000);
  const header = b64({ alg, kid: `length-${alg}`, typ: 'at+jwt' });
  for (let jti = 0; ; jti++) {
    const payload = b64({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'u',
      jti: `${jti}`,
      iat: nowSec,
      exp: nowSec + 300,
    });
    const signingInput = `${header}.${payload}`;
    const signature = signed(alg, signingInput);
    if (signature[0] === 0) return { signingInput, signature };
  }
}

function keyFor(alg: Alg): VerificationKey {
  const result = importPublicJwk(jwkOf(alg));
  if (!result.ok) throw new Error(result.reason);
  return result.key;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'accepted';
  } catch (error) {
    return error instanceof TokenGuardError ? error.code : String(error);
  }
}

describe('RSA signatures of other than the modulus length', () => {
  it.each(['PS256', 'PS384', 'PS512', 'RS256'] as const)(
    'refuses a genuine %s signature with its leading zero byte dropped (k - 1 bytes), inline and off the thread',
    async (alg) => {
      const { signingInput, signature } = tokenWithLeadingZero(alg);
      const key = keyFor(alg);
      expect(verifySignature(alg, key, signingInput, signature)).toBe(true);
      expect(await verifyWithAnyOffThread(alg, [key], signingInput, signature)).toBe(true);
      const short = signature.subarray(1);
      const padded = Buffer.concat([Buffer.alloc(1), signature]);
      for (const variant of [short, padded]) {
        expect(verifySignature(alg, key, signingInput, variant)).toBe(false);
        expect(await verifyWithAnyOffThread(alg, [key], signingInput, variant)).toBe(false);
      }
    },
  );

  it('refuses the shortened PS256 token through validate, inline and off the thread', async () => {
    const { signingInput, signature } = tokenWithLeadingZero('PS256');
    const options = { issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [jwkOf('PS256')] } } as const;
    const genuine = `${signingInput}.${signature.toString('base64url')}`;
    const shortened = `${signingInput}.${signature.subarray(1).toString('base64url')}`;
    for (const verifyOffThread of [false, true]) {
      const validator = createValidator({ ...options, verifyOffThread } as never);
      expect(await codeOf(validator.validate(genuine))).toBe('accepted');
      expect(await codeOf(validator.validate(shortened))).toBe('ERR_SIGNATURE_INVALID');
      await validator.close();
    }
  });
});
