/**
 * The signature path against hostile but plausible tokens, with real keys: the fast decoder against
 * the precise one on every foreign character, duplicate header members and the shared header cache,
 * Ed448 under EdDSA, ECDSA values out of range, and the batch and off-thread paths against the
 * direct one on a phase of mixed genuine and altered tokens.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import type { JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, jwksOf, type SigningKey, signToken } from '../../../test/support/keys.js';
import { TokenGuardError } from './errors.js';
import {
  type DecodedJws,
  decodeCanonicalJws,
  decodeCompactJws,
  verifySignature,
  verifyWithAnyOffThread,
} from './jws.js';
import { importPublicJwk, type VerificationKey } from './keys.js';
import { isCanonicalBase64url } from './lib/base64url.js';
import { createValidator, validateFound } from './validator.js';

const ISS = 'https://issuer.adversarial.test';
const AUD = 'https://api.adversarial.test';
const NOW_SEC = 1_700_000_000;
const now = () => NOW_SEC * 1000;
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const claims = (overrides: Record<string, unknown> = {}) => ({
  iss: ISS,
  aud: AUD,
  sub: 'user-1',
  iat: NOW_SEC,
  exp: NOW_SEC + 300,
  ...overrides,
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'accepted';
  } catch (error) {
    return error instanceof TokenGuardError ? error.code : `thrown: ${String(error)}`;
  }
}

function imported(jwk: JWK): VerificationKey {
  const result = importPublicJwk(jwk);
  if (!result.ok) throw new Error(result.reason);
  return result.key;
}

/** Signs `header.payload` with node:crypto (raw header text, so duplicate members survive). */
function signRaw(headerJson: string, payload: unknown, privateKey: KeyObject, hash: string | null): string {
  const input = `${Buffer.from(headerJson).toString('base64url')}.${b64(payload)}`;
  const signature = sign(hash, Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/** What `decode` gives, or the message of the ERR_TOKEN_MALFORMED it throws. */
function outcome(decode: () => DecodedJws | undefined): DecodedJws | string | undefined {
  try {
    return decode();
  } catch (error) {
    expect((error as TokenGuardError).code).toBe('ERR_TOKEN_MALFORMED');
    return (error as Error).message;
  }
}

describe('decodeCanonicalJws against decodeCompactJws, on every foreign character', () => {
  it('decodes a token only when every segment is canonical, and then exactly as decodeCompactJws does', () => {
    const token = `${b64({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })}.${b64({ sub: 'abc', n: 1 })}.${Buffer.alloc(64, 7).toString('base64url')}`;
    const replacements = [
      ...Array.from({ length: 128 }, (_, code) => String.fromCharCode(code)),
      '\u0141', // truncated by the decoder to its low byte, 'A'
      '\u012b', // to '+'
      '\u015f', // to '_'
      '\u00ff',
      '\ufffd',
    ];
    let decoded = 0;
    for (let at = 0; at < token.length; at++) {
      for (const replacement of replacements) {
        for (const variant of [
          `${token.slice(0, at)}${replacement}${token.slice(at + 1)}`, // replaced
          `${token.slice(0, at)}${replacement}${token.slice(at)}`, // inserted
        ]) {
          const fast = outcome(() => decodeCanonicalJws(variant, 32));
          if (fast === undefined) continue;
          decoded++;
          const parts = variant.split('.');
          expect({ variant, parts: parts.length }).toEqual({ variant, parts: 3 });
          for (const part of parts)
            expect({ variant, canonical: isCanonicalBase64url(part) }).toEqual({ variant, canonical: true });
          const precise = outcome(() => decodeCompactJws(variant, 32));
          if (typeof fast === 'string' || typeof precise !== 'object') {
            // Canonical text with a header or payload that is not UTF-8 JSON: both refuse it alike.
            expect({ variant, fast }).toEqual({ variant, fast: precise });
            continue;
          }
          expect(fast.header).toEqual(precise.header);
          expect(fast.payload).toEqual(precise.payload);
          expect(fast.signature.equals(precise.signature)).toBe(true);
          expect(fast.signingInput).toBe(precise.signingInput);
        }
      }
    }
    expect(decoded).toBeGreaterThan(0); // replacing a character by itself, or by another letter
  });
});

describe('duplicate header members and the header cache', () => {
  let ec: SigningKey;
  beforeAll(() => {
    ec = generateSigningKey('ES256');
  });

  it('checks the alg JSON.parse keeps (the last), on first sight and on every cache hit, in every validator', async () => {
    const genuine = signRaw(
      `{"alg":"HS256","kid":"${ec.kid}","typ":"at+jwt","alg":"ES256"}`,
      claims(),
      ec.privateKey,
      'sha256',
    );
    const confused = signRaw(
      `{"alg":"ES256","kid":"${ec.kid}","typ":"at+jwt","alg":"HS256"}`,
      claims(),
      ec.privateKey,
      'sha256',
    );
    const esOnly = createValidator({ issuer: ISS, audience: AUD, jwks: jwksOf(ec), now, tokenCache: false });
    const hsOnly = createValidator({
      issuer: ISS,
      audience: AUD,
      secret: 's'.repeat(32),
      algorithms: ['HS256'],
      now,
    });
    for (let round = 0; round < 2; round++) {
      expect(await codeOf(esOnly.validate(genuine))).toBe('accepted');
      expect(await codeOf(hsOnly.validate(genuine))).toBe('ERR_ALGORITHM_NOT_ALLOWED');
      expect(await codeOf(esOnly.validate(confused))).toBe('ERR_ALGORITHM_NOT_ALLOWED');
      expect(await codeOf(hsOnly.validate(confused))).toBe('ERR_SIGNATURE_INVALID');
      expect(decodeCanonicalJws(genuine, 32)?.header.alg).toBe('ES256');
      expect(decodeCompactJws(confused, 32).header.alg).toBe('HS256');
    }
  });

  it('keeps each validator to its own maxTokenJsonDepth for a header another validator has seen', async () => {
    const token = await signToken(ec, claims(), { ext: { a: { b: 1 } } });
    const deep = createValidator({
      issuer: ISS,
      audience: AUD,
      jwks: jwksOf(ec),
      now,
      maxTokenJsonDepth: 32,
    });
    const shallow = createValidator({
      issuer: ISS,
      audience: AUD,
      jwks: jwksOf(ec),
      now,
      maxTokenJsonDepth: 2,
    });
    expect(await codeOf(deep.validate(token))).toBe('accepted');
    expect(await codeOf(shallow.validate(token))).toBe('ERR_TOKEN_MALFORMED');
    expect(await codeOf(deep.validate(token))).toBe('accepted');
  });
});

describe('EdDSA with Ed448', () => {
  const pem = generateKeyPairSync('ed448', {
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const privateKey = createPrivateKey(pem.privateKey);
  const jwk: JWK = { ...createPublicKey(pem.publicKey).export({ format: 'jwk' }), kid: 'ed448', use: 'sig' };

  it('verifies an Ed448 EdDSA token inline and off the thread; never under Ed25519; refuses a changed one', async () => {
    const token = signRaw('{"alg":"EdDSA","kid":"ed448","typ":"at+jwt"}', claims(), privateKey, null);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const changed = `${header}.${b64(claims({ sub: 'admin' }))}.${signature}`;
    for (const verifyOffThread of [false, true]) {
      const validator = createValidator({
        issuer: ISS,
        audience: AUD,
        jwks: { keys: [jwk] as never },
        now,
        verifyOffThread,
      });
      expect(await codeOf(validator.validate(token))).toBe('accepted');
      expect(await codeOf(validator.validate(changed))).toBe('ERR_SIGNATURE_INVALID');
    }
    const key = imported(jwk);
    const bytes = Buffer.from(signature, 'base64url');
    expect(bytes.length).toBe(114);
    expect(verifySignature('EdDSA', key, `${header}.${payload}`, bytes)).toBe(true);
    const ed25519Only = createValidator({
      issuer: ISS,
      audience: AUD,
      jwks: { keys: [jwk] as never },
      now,
      algorithms: ['Ed25519'],
    });
    const relabelled = signRaw('{"alg":"Ed25519","kid":"ed448","typ":"at+jwt"}', claims(), privateKey, null);
    expect(await codeOf(ed25519Only.validate(relabelled))).not.toBe('accepted');
  });
});

describe('ECDSA values out of range', () => {
  const ORDERS = {
    ES256: 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551',
    ES384: 'ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973',
    ES512: `01${'f'.repeat(64)}fa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409`,
  } as const;
  const HASHES = { ES256: 'sha256', ES384: 'sha384', ES512: 'sha512' } as const;

  it.each(['ES256', 'ES384', 'ES512'] as const)(
    '%s: refuses r or s of zero, of the order n, and r + n or s + n where they fit, inline and off the thread',
    async (alg) => {
      const signer = generateSigningKey(alg);
      const key = imported(signer.publicJwk);
      const input = `${b64({ alg, typ: 'at+jwt' })}.${b64(claims())}`;
      const raw = sign(HASHES[alg], Buffer.from(input), {
        key: signer.privateKey,
        dsaEncoding: 'ieee-p1363',
      });
      const half = raw.length / 2;
      const n = BigInt(`0x${ORDERS[alg]}`);
      const r = BigInt(`0x${raw.subarray(0, half).toString('hex')}`);
      const s = BigInt(`0x${raw.subarray(half).toString('hex')}`);
      const limit = 1n << BigInt(half * 8);
      const encode = (a: bigint, b: bigint) =>
        Buffer.from(a.toString(16).padStart(half * 2, '0') + b.toString(16).padStart(half * 2, '0'), 'hex');
      const refused: [string, bigint, bigint][] = [
        ['r = 0', 0n, s],
        ['s = 0', r, 0n],
        ['r = n', n, s],
        ['s = n', r, n],
        ['r = s = 0', 0n, 0n],
      ];
      if (r + n < limit) refused.push(['r + n', r + n, s]);
      if (s + n < limit) refused.push(['s + n', r, s + n]);
      expect(verifySignature(alg, key, input, raw)).toBe(true);
      // n - s verifies too (RFC 7518 asks for no low s): proof that n above is the curve's order.
      expect(verifySignature(alg, key, input, encode(r, n - s))).toBe(true);
      for (const [label, a, b] of refused) {
        const signature = encode(a, b);
        expect(signature.length).toBe(raw.length);
        expect({ label, inline: verifySignature(alg, key, input, signature) }).toEqual({
          label,
          inline: false,
        });
        expect({ label, offThread: await verifyWithAnyOffThread(alg, [key], input, signature) }).toEqual({
          label,
          offThread: false,
        });
      }
    },
  );
});

describe('the phase batch and the off-thread path give the direct verdicts', () => {
  let keys: Record<'RS256' | 'PS256' | 'ES256' | 'ES512' | 'EdDSA', SigningKey>;
  beforeAll(() => {
    keys = {
      RS256: generateSigningKey('RS256'),
      PS256: generateSigningKey('PS256'),
      ES256: generateSigningKey('ES256'),
      ES512: generateSigningKey('ES512'),
      EdDSA: generateSigningKey('EdDSA'),
    };
  });

  it('on mixed genuine and altered tokens of five algorithms found in one phase', async () => {
    const options = { issuer: ISS, audience: AUD, jwks: jwksOf(...Object.values(keys)), now };
    const tokens: string[] = [];
    for (const key of Object.values(keys)) {
      const genuine = await signToken(key, claims({ sub: key.alg }));
      const [header, payload, signature] = genuine.split('.') as [string, string, string];
      const sigBytes = Buffer.from(signature, 'base64url');
      const flipped = Buffer.from(sigBytes);
      flipped[flipped.length >> 1] = (flipped[flipped.length >> 1] as number) ^ 0x10;
      tokens.push(
        genuine,
        `${header}.${b64(claims({ sub: 'admin' }))}.${signature}`, // payload swapped
        `${header}.${payload}.${flipped.toString('base64url')}`, // one bit of the signature
        `${header}.${payload}.${sigBytes.subarray(1).toString('base64url')}`, // a byte short
        `${header}.${payload}.${Buffer.concat([Buffer.alloc(1), sigBytes]).toString('base64url')}`, // a byte long
        genuine, // the genuine one again, after its altered copies, in the same phase
      );
    }
    const direct = createValidator(options);
    const expected: string[] = [];
    for (const token of tokens) expected.push(await codeOf(direct.validate(token)));
    expect(expected.filter((code) => code === 'accepted')).toHaveLength(10);

    const batched = createValidator(options);
    const found = await Promise.all(
      tokens.map((token) => codeOf(validateFound(batched, token, undefined, false))),
    );
    expect(found).toEqual(expected);

    const offThread = createValidator({ ...options, verifyOffThread: true });
    const pooled = await Promise.all(tokens.map((token) => codeOf(offThread.validate(token))));
    expect(pooled).toEqual(expected);
  });
});
