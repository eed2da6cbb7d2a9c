/**
 * Algorithm confusion: `alg: none`, HMAC signed with the issuer's public key in every encoding, and
 * symmetric keys published in a key set. The public key must never work as an HMAC secret.
 */
import { createPublicKey, randomBytes } from 'node:crypto';
import type { KeySetEvent, Validator } from '@tokenguard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { jwksOf } from '../support/keys.js';
import { AUDIENCE, b64u, claims, expectRejection, forge, ISSUER, validatorFor } from './forge.js';
import { createKeyring, publicKeyOf } from './keyring.js';

const ring = createKeyring();
const rsaOnly = validatorFor({
  issuer: ISSUER,
  audience: AUDIENCE,
  jwks: jwksOf(ring.rs256),
  algorithms: ['RS256'],
});
const anyAsymmetric = validatorFor({
  issuer: ISSUER,
  audience: AUDIENCE,
  jwks: jwksOf(ring.rs256, ring.es256, ring.ed25519),
});
const secret = randomBytes(64);
const hmacIssuer = 'https://hmac.issuer.test';
/** One validator trusting an RSA issuer and an HS issuer side by side. */
const mixed = validatorFor({
  issuers: [
    { issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(ring.rs256) },
    { issuer: hmacIssuer, audience: AUDIENCE, secret },
  ],
});
const validators: Validator[] = [rsaOnly, anyAsymmetric, mixed];
afterAll(async () => {
  for (const validator of validators) await validator.close();
});

/** A header with the issuer's RSA kid, or with no kid when `kid` is null. */
const header = (alg: string, kid: string | null = ring.rs256.kid) =>
  kid === null ? { alg, typ: 'at+jwt' } : { alg, typ: 'at+jwt', kid };

describe('alg none', () => {
  const spellings = ['none', 'None', 'NONE', 'nOnE', 'none ', ' none', 'none\u0000'];
  for (const alg of spellings) {
    it(`rejects alg ${JSON.stringify(alg)} with an empty signature`, async () => {
      const token = forge(header(alg), claims(), undefined);
      expect(token.endsWith('.')).toBe(true);
      await expectRejection(rsaOnly.validate(token), 'ERR_TOKEN_MALFORMED');
      await expectRejection(anyAsymmetric.validate(token), 'ERR_TOKEN_MALFORMED');
    });
    it(`rejects alg ${JSON.stringify(alg)} carrying a genuine RS256 signature`, async () => {
      const token = forge(header(alg), claims(), ring.rs256.privateKey, 'RS256');
      await expectRejection(rsaOnly.validate(token), 'ERR_ALGORITHM_NOT_ALLOWED');
      await expectRejection(anyAsymmetric.validate(token), 'ERR_ALGORITHM_NOT_ALLOWED');
      await expectRejection(mixed.validate(token), 'ERR_ALGORITHM_NOT_ALLOWED');
    });
  }
  it('rejects alg none without a kid and without a signature segment at all (not a JWS)', async () => {
    const token = forge(header('none', null), claims(), undefined).slice(0, -1);
    await expectRejection(anyAsymmetric.validate(token), 'ERR_TOKEN_NOT_JWT');
  });
  it('rejects an alg that is not a string, or absent', async () => {
    for (const alg of [null, ['RS256'], { name: 'RS256' }, 256, true]) {
      const token = forge(
        { alg, typ: 'at+jwt', kid: ring.rs256.kid },
        claims(),
        ring.rs256.privateKey,
        'RS256',
      );
      await expectRejection(rsaOnly.validate(token), 'ERR_TOKEN_MALFORMED');
    }
    const token = forge({ typ: 'at+jwt' }, claims(), ring.rs256.privateKey, 'RS256');
    await expectRejection(rsaOnly.validate(token), 'ERR_TOKEN_MALFORMED');
  });
  it('rejects case and whitespace variants of a real algorithm', async () => {
    for (const alg of ['rs256', 'Rs256', 'RS256 ', 'RS-256', 'RSA256']) {
      const token = forge(header(alg), claims(), ring.rs256.privateKey, 'RS256');
      await expectRejection(rsaOnly.validate(token), 'ERR_ALGORITHM_NOT_ALLOWED');
    }
  });
});

describe('HMAC signed with the public key', () => {
  const rsaPublic = publicKeyOf(ring.rs256);
  const pem = rsaPublic.export({ type: 'spki', format: 'pem' }) as string;
  const n = ring.rs256.publicJwk.n as string;
  const encodings: [string, Buffer][] = [
    ['PEM (SPKI)', Buffer.from(pem)],
    ['PEM with a leading newline', Buffer.from(`\n${pem}`)],
    ['PEM with leading spaces', Buffer.from(`   ${pem}`)],
    ['PEM without its trailing newline', Buffer.from(pem.trimEnd())],
    ['PEM with CRLF line ends', Buffer.from(pem.replace(/\n/g, '\r\n'))],
    ['PEM (PKCS#1)', Buffer.from(rsaPublic.export({ type: 'pkcs1', format: 'pem' }) as string)],
    ['DER (SPKI)', rsaPublic.export({ type: 'spki', format: 'der' })],
    ['DER (PKCS#1)', rsaPublic.export({ type: 'pkcs1', format: 'der' })],
    ['JWK JSON as published', Buffer.from(JSON.stringify(ring.rs256.publicJwk))],
    ['JWK JSON, only kty/n/e', Buffer.from(JSON.stringify({ kty: 'RSA', n, e: 'AQAB' }))],
    ['the modulus n as bytes', Buffer.from(n, 'base64url')],
    ['the modulus n as base64url text', Buffer.from(n)],
    [
      'EC public key PEM',
      Buffer.from(publicKeyOf(ring.es256).export({ type: 'spki', format: 'pem' }) as string),
    ],
    ['EC public key raw point x', Buffer.from(ring.es256.publicJwk.x as string, 'base64url')],
    [
      'Ed25519 public key PEM',
      Buffer.from(publicKeyOf(ring.ed25519).export({ type: 'spki', format: 'pem' }) as string),
    ],
    ['Ed25519 public key raw bytes', Buffer.from(ring.ed25519.publicJwk.x as string, 'base64url')],
  ];
  for (const [name, keyBytes] of encodings) {
    for (const alg of ['HS256', 'HS384', 'HS512']) {
      it(`rejects ${alg} keyed with ${name}, for RS256-only, asymmetric-default and HS-allowing validators`, async () => {
        const token = forge(header(alg), claims(), keyBytes);
        await expectRejection(rsaOnly.validate(token), 'ERR_ALGORITHM_NOT_ALLOWED');
        await expectRejection(anyAsymmetric.validate(token), 'ERR_ALGORITHM_NOT_ALLOWED');
        await expectRejection(mixed.validate(token), 'ERR_ALGORITHM_NOT_ALLOWED');
        // The same forgery claimed for the HS issuer: checked against its secret, never the public key.
        const forHmac = forge(header(alg), claims({ iss: hmacIssuer }), keyBytes);
        await expectRejection(mixed.validate(forHmac), 'ERR_SIGNATURE_INVALID');
      });
    }
  }
  it('accepts a token of the HS issuer signed with its real secret (the rejections above are not blanket)', async () => {
    const token = forge(header('HS256', null), claims({ iss: hmacIssuer }), secret);
    const auth = await mixed.validate(token);
    expect(auth.issuer).toBe(hmacIssuer);
  });
  it('refuses, at configuration time, HS algorithms without a secret or a secret beside a key set', () => {
    expect(() =>
      validatorFor({ issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(ring.rs256), algorithms: ['HS256'] }),
    ).toThrow(TypeError);
    expect(() =>
      validatorFor({ issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(ring.rs256), secret }),
    ).toThrow(TypeError);
    expect(() =>
      validatorFor({ issuer: ISSUER, audience: AUDIENCE, secret, algorithms: ['HS256', 'RS256'] }),
    ).toThrow(TypeError);
  });
});

describe('symmetric keys published in a key set', () => {
  it('skips an oct key in a configured JWKS and never verifies HS tokens with it', async () => {
    const k = randomBytes(32);
    const events: KeySetEvent[] = [];
    const validator = validatorFor({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [{ kty: 'oct', k: b64u(k), kid: 'hs', alg: 'HS256', use: 'sig' }, ring.rs256.publicJwk] },
      onEvent: (event) => events.push(event),
    });
    validators.push(validator);
    expect(events).toContainEqual(expect.objectContaining({ type: 'key_skipped', kid: 'hs' }));
    expect(validator.state().issuers[0]?.keySet.kids).toEqual([ring.rs256.kid]);
    const token = forge(header('HS256', 'hs'), claims(), k);
    await expectRejection(validator.validate(token), 'ERR_ALGORITHM_NOT_ALLOWED');
  });
  it('skips an oct key whose k is the RSA public key itself', async () => {
    const pem = createPublicKey(ring.rs256.privateKey).export({ type: 'spki', format: 'pem' }) as string;
    const events: KeySetEvent[] = [];
    const validator = validatorFor({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [{ kty: 'oct', k: b64u(pem), kid: ring.rs256.kid }, ring.rs256.publicJwk] },
      onEvent: (event) => events.push(event),
    });
    validators.push(validator);
    expect(events.filter((event) => event.type === 'key_skipped')).toHaveLength(1);
    await expectRejection(
      validator.validate(forge(header('HS256'), claims(), Buffer.from(pem))),
      'ERR_ALGORITHM_NOT_ALLOWED',
    );
  });
});
