/**
 * The keys of the adversarial suite, generated once per test file: the trusted issuer's keys of every
 * algorithm, a second RSA key (rotation), an unrelated "attacker" key, and a weak 1024-bit RSA key.
 *
 * @example
 * ```ts
 * const ring = createKeyring();
 * const token = forge({ alg: 'RS256', kid: ring.rs256.kid, typ: 'at+jwt' }, claims(), ring.rs256.privateKey);
 * ```
 */

import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { type AsymmetricAlg, generateSigningKey, type SigningKey } from '../support/keys.js';

export interface Keyring {
  rs256: SigningKey;
  rs256Next: SigningKey;
  ps256: SigningKey;
  es256: SigningKey;
  es384: SigningKey;
  es512: SigningKey;
  ed25519: SigningKey;
  attacker: SigningKey;
  rsa1024: SigningKey;
  /** A real self-signed X.509 certificate (PEM) and its private key, for `x5c` headers. */
  attackerCert: { pem: string; der: Buffer; privateKey: KeyObject };
}

/** A JWK with `alg` removed, for keys that must verify several algorithms of one family. */
export function withoutAlg(jwk: JWK): JWK {
  const { alg: _alg, ...rest } = jwk;
  return rest;
}

/** The keyring; each key is generated on first use (RSA generation is what makes test files slow). */
export function createKeyring(): Keyring {
  const gen = (alg: AsymmetricAlg, kid: string, modulusLength?: number) => () =>
    generateSigningKey(alg, modulusLength === undefined ? { kid } : { kid, modulusLength });
  const factories: { [K in keyof Keyring]: () => Keyring[K] } = {
    rs256: gen('RS256', 'rsa-2026'),
    rs256Next: gen('RS256', 'rsa-2027'),
    ps256: gen('PS256', 'ps-1'),
    es256: gen('ES256', 'ec-256'),
    es384: gen('ES384', 'ec-384'),
    es512: gen('ES512', 'ec-521'),
    ed25519: gen('EdDSA', 'ed-1'),
    attacker: gen('RS256', 'attacker'),
    rsa1024: gen('RS256', 'weak-1024', 1024),
    attackerCert: () => {
      const pem = readFileSync(new URL('./fixtures/attacker-cert.pem', import.meta.url), 'utf8');
      const der = Buffer.from(
        pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, ''),
        'base64',
      );
      const privateKey = createPrivateKey(
        readFileSync(new URL('./fixtures/attacker-key.pem', import.meta.url), 'utf8'),
      );
      return { pem, der, privateKey };
    },
  };
  const ring = {} as Keyring;
  for (const name of Object.keys(factories) as (keyof Keyring)[]) {
    let value: unknown;
    Object.defineProperty(ring, name, {
      enumerable: true,
      get: () => {
        value ??= factories[name]();
        return value;
      },
    });
  }
  return ring;
}

/** The public key of a signing key as a KeyObject. */
export function publicKeyOf(key: SigningKey): KeyObject {
  return createPublicKey(key.privateKey);
}
