/**
 * Keys a JWKS should not give us: encryption keys, keys whose `key_ops` exclude verify, keys bound to
 * another algorithm, weak RSA keys (short, e = 1, ROCA), private and symmetric members, duplicate
 * `kid`s. Each is checked both as a configured `jwks` and as a key set served by a real HTTP server.
 */

import type { KeySetEvent, Validator, ValidatorOptions } from '@tokenguard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, type SigningKey } from '../support/keys.js';
import { AUDIENCE, claims, expectRejection, forge, ISSUER, validatorFor } from './forge.js';
import { type JsonServer, startJsonServer } from './jwks-server.js';
import { createKeyring } from './keyring.js';

const ring = createKeyring();
let server: JsonServer;
const opened: Validator[] = [];
beforeAll(async () => {
  server = await startJsonServer({});
});
afterAll(async () => {
  for (const validator of opened) await validator.close();
  await server.close();
});

type Source = 'configured' | 'remote';
let route = 0;
/** A validator whose key set is `keys`, configured or served; collects its events. */
async function withKeys(
  source: Source,
  keys: unknown[],
  extra: Partial<ValidatorOptions> = {},
): Promise<{ validator: Validator; events: KeySetEvent[] }> {
  const events: KeySetEvent[] = [];
  const common = {
    issuer: ISSUER,
    audience: AUDIENCE,
    onEvent: (event: KeySetEvent) => events.push(event),
    ...extra,
  };
  let validator: Validator;
  if (source === 'configured') {
    validator = validatorFor({ ...common, jwks: { keys } } as ValidatorOptions);
  } else {
    const path = `/jwks/${++route}`;
    server.set(path, { keys });
    validator = validatorFor({ ...common, jwksUri: server.url(path) } as ValidatorOptions);
    await validator.warm();
  }
  opened.push(validator);
  return { validator, events };
}

const signWith = (key: SigningKey, alg = key.alg) =>
  forge({ alg, typ: 'at+jwt', kid: key.kid }, claims(), key.privateKey);
const skipped = (events: KeySetEvent[]) => events.filter((event) => event.type === 'key_skipped');

for (const source of ['configured', 'remote'] as const) {
  describe(`JWKS key hygiene (${source})`, () => {
    const unusable: [string, (jwk: Record<string, unknown>) => Record<string, unknown>][] = [
      ['use enc', (jwk) => ({ ...jwk, use: 'enc' })],
      ['an unknown use', (jwk) => ({ ...jwk, use: 'signature' })],
      ['key_ops without verify', (jwk) => ({ ...jwk, key_ops: ['encrypt', 'wrapKey'] })],
      ['key_ops sign only (the private half)', (jwk) => ({ ...jwk, key_ops: ['sign'] })],
      ['an empty key_ops', (jwk) => ({ ...jwk, key_ops: [] })],
      ['key_ops as a string', (jwk) => ({ ...jwk, key_ops: 'verify' })],
      ['alg of another key type (ES256 on RSA)', (jwk) => ({ ...jwk, alg: 'ES256' })],
      ['alg HS256 on an RSA key', (jwk) => ({ ...jwk, alg: 'HS256' })],
      ['alg none', (jwk) => ({ ...jwk, alg: 'none' })],
      ['kty oct', (jwk) => ({ ...jwk, kty: 'oct', k: jwk.n })],
      ['an unknown kty', (jwk) => ({ ...jwk, kty: 'RSA-HSM' })],
      ['a numeric kid', (jwk) => ({ ...jwk, kid: 7 })],
    ];
    for (const [name, change] of unusable) {
      it(`skips a key with ${name} and never verifies with it`, async () => {
        const { validator, events } = await withKeys(source, [
          change(ring.rs256.publicJwk as Record<string, unknown>),
        ]);
        expect(skipped(events)).toHaveLength(1);
        expect(validator.state().issuers[0]?.keySet.keys).toBe(0);
        const error = await validator.validate(signWith(ring.rs256)).then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(error).toMatchObject({ code: 'ERR_KEY_NOT_FOUND', status: 401 });
      });
    }
    it('accepts key_ops [verify, sign] and use sig (the usable control)', async () => {
      const { validator, events } = await withKeys(source, [
        { ...ring.rs256.publicJwk, key_ops: ['sign', 'verify'] },
      ]);
      expect(skipped(events)).toHaveLength(0);
      expect((await validator.validate(signWith(ring.rs256))).subject).toBe('user-1');
    });
    it('keeps a key bound to RS384 out of RS256 verification', async () => {
      const { validator } = await withKeys(source, [{ ...ring.rs256.publicJwk, alg: 'RS384' }]);
      await expectRejection(validator.validate(signWith(ring.rs256)), 'ERR_KEY_NOT_FOUND');
      expect((await validator.validate(signWith(ring.rs256, 'RS384'))).subject).toBe('user-1');
    });
    it('keeps an ES256 key on P-384 out of ES256 and ES384 verification', async () => {
      const { validator } = await withKeys(source, [{ ...ring.es384.publicJwk, alg: 'ES256' }]);
      await expectRejection(validator.validate(signWith(ring.es384)), 'ERR_KEY_NOT_FOUND');
    });
    it('skips RSA keys under 2048 bits, or with e = 1 or even (the ROCA fingerprint: keys.test.ts)', async () => {
      const weak = [
        ring.rsa1024.publicJwk,
        { ...ring.rs256Next.publicJwk, kid: 'e1', e: 'AQ' },
        { ...ring.rs256Next.publicJwk, kid: 'e2', e: 'Ag' },
        { ...ring.rs256Next.publicJwk, kid: 'e65536', e: 'AQAA' },
      ];
      const { validator, events } = await withKeys(source, weak);
      expect(skipped(events).map((event) => event.kid)).toEqual(['weak-1024', 'e1', 'e2', 'e65536']);
      await expectRejection(validator.validate(signWith(ring.rsa1024)), 'ERR_KEY_NOT_FOUND');
      // With e = 1 the "signature" is just the padded message: anyone can make one.
      const forged = forge({ alg: 'RS256', typ: 'at+jwt', kid: 'e1' }, claims(), ring.rs256Next.privateKey);
      await expectRejection(validator.validate(forged), 'ERR_KEY_NOT_FOUND');
    });
    it('imports only the public half of a JWK that carries private members', async () => {
      const full = generateSigningKey('RS256', { kid: 'with-private' });
      const privateJwk = {
        ...full.privateKey.export({ format: 'jwk' }),
        kid: 'with-private',
        alg: 'RS256',
        use: 'sig',
      };
      const { validator } = await withKeys(source, [privateJwk]);
      expect((await validator.validate(signWith(full))).subject).toBe('user-1');
    });
    it('tries every key of a duplicated kid (all are the issuer’s), and rejects a signature by neither', async () => {
      const twin = generateSigningKey('RS256', { kid: ring.rs256.kid });
      const { validator } = await withKeys(source, [ring.rs256.publicJwk, twin.publicJwk]);
      expect((await validator.validate(signWith(ring.rs256))).subject).toBe('user-1');
      expect((await validator.validate(signWith(twin))).subject).toBe('user-1');
      const stranger = generateSigningKey('RS256', { kid: ring.rs256.kid });
      await expectRejection(validator.validate(signWith(stranger)), 'ERR_SIGNATURE_INVALID');
    });
  });
}
