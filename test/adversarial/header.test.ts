/**
 * Hostile JOSE headers: keys embedded in or pointed to by the token (`jwk`, `jku`, `x5u`, `x5c`),
 * `kid` values that are paths, SQL, objects or another issuer's, `crit`, `b64`, `zip`, nested JWTs,
 * JWE and JSON serialization, and `typ`. Keys come from a real JWKS server on 127.0.0.1 that counts
 * requests, so "never fetched" is measured, not assumed.
 */

import type { Validator } from '@tokenguard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, jwksOf } from '../support/keys.js';
import {
  AUDIENCE,
  b64u,
  claims,
  expectRejection,
  forge,
  ISSUER,
  OTHER_ISSUER,
  segment,
  validatorFor,
} from './forge.js';
import { type JsonServer, startJsonServer } from './jwks-server.js';
import { createKeyring } from './keyring.js';

const ring = createKeyring();
/** The other tenant's key reuses our RSA key's kid. */
const otherTenant = generateSigningKey('RS256', { kid: ring.rs256.kid });
let server: JsonServer;
let validator: Validator;

beforeAll(async () => {
  server = await startJsonServer({
    '/jwks': jwksOf(ring.rs256, ring.es256, ring.ed25519),
    '/other/jwks': jwksOf(otherTenant),
    '/attacker/jwks': jwksOf(ring.attacker),
    '/attacker/cert.pem': ring.attackerCert.pem,
  });
  validator = validatorFor({
    issuers: [
      { issuer: ISSUER, audience: AUDIENCE, jwksUri: server.url('/jwks') },
      { issuer: OTHER_ISSUER, audience: AUDIENCE, jwksUri: server.url('/other/jwks') },
    ],
  });
  await validator.warm();
});
afterAll(async () => {
  await validator.close();
  await server.close();
});

const rs = (extra: Record<string, unknown> = {}) => ({
  alg: 'RS256',
  typ: 'at+jwt',
  kid: ring.rs256.kid,
  ...extra,
});

describe('control', () => {
  it('accepts a well-formed token from each issuer', async () => {
    expect((await validator.validate(forge(rs(), claims(), ring.rs256.privateKey))).issuer).toBe(ISSUER);
    const other = forge(rs(), claims({ iss: OTHER_ISSUER }), otherTenant.privateKey);
    expect((await validator.validate(other)).issuer).toBe(OTHER_ISSUER);
  });
});

describe('keys named by the token are never used', () => {
  const attackerJwk = ring.attacker.publicJwk;
  const attackerKey = ring.attacker.privateKey;
  it('rejects a token signed by the key in its own jwk header', async () => {
    await expectRejection(
      validator.validate(forge(rs({ kid: 'attacker', jwk: attackerJwk }), claims(), attackerKey)),
      'ERR_KEY_NOT_FOUND',
    );
    await expectRejection(
      validator.validate(forge(rs({ jwk: { ...attackerJwk, kid: ring.rs256.kid } }), claims(), attackerKey)),
      'ERR_SIGNATURE_INVALID',
    );
    const { kid: _kid, ...noKid } = rs({ jwk: attackerJwk });
    await expectRejection(validator.validate(forge(noKid, claims(), attackerKey)), 'ERR_SIGNATURE_INVALID');
  });
  it('never fetches a jku or x5u URL, even one that serves the signing key', async () => {
    const before = server.requests.length;
    for (const pointer of [
      { jku: server.url('/attacker/jwks') },
      { x5u: server.url('/attacker/cert.pem') },
      { jku: server.url('/attacker/jwks'), x5u: server.url('/attacker/cert.pem') },
    ]) {
      await expectRejection(
        validator.validate(forge(rs({ kid: 'attacker', ...pointer }), claims(), attackerKey)),
        'ERR_KEY_NOT_FOUND',
      );
      await expectRejection(
        validator.validate(forge(rs(pointer), claims(), attackerKey)),
        'ERR_SIGNATURE_INVALID',
      );
    }
    expect(server.count('/attacker/jwks')).toBe(0);
    expect(server.count('/attacker/cert.pem')).toBe(0);
    // At most the one unknown-kid refetch of the issuer's own set; then the cooldown holds.
    expect(server.requests.slice(before).every((path) => path === '/jwks')).toBe(true);
    expect(server.requests.length - before).toBeLessThanOrEqual(1);
  });
  it('rejects a token signed by the key of a real certificate in x5c', async () => {
    const x5c = [ring.attackerCert.der.toString('base64')];
    const key = ring.attackerCert.privateKey;
    await expectRejection(validator.validate(forge(rs({ x5c }), claims(), key)), 'ERR_SIGNATURE_INVALID');
    const { kid: _kid, ...noKid } = rs({ x5c });
    await expectRejection(validator.validate(forge(noKid, claims(), key)), 'ERR_SIGNATURE_INVALID');
  });
});

describe('kid', () => {
  const unknownKids = [
    '../../../../etc/passwd',
    '/dev/null',
    'file:///etc/passwd',
    "' OR '1'='1",
    '"; DROP TABLE keys; --',
    '',
    '__proto__',
    'constructor',
    'toString',
    '\u0000',
    'rsa-2026\u0000',
    'RSA-2026',
    'x'.repeat(256),
  ];
  for (const kid of unknownKids) {
    it(`rejects kid ${JSON.stringify(kid.length > 40 ? `${kid.slice(0, 8)}... (${kid.length})` : kid)} as an unknown key`, async () => {
      await expectRejection(
        validator.validate(forge(rs({ kid }), claims(), ring.rs256.privateKey)),
        'ERR_KEY_NOT_FOUND',
      );
    });
  }
  for (const kid of [
    {},
    { kid: 'rsa-2026' },
    ['rsa-2026'],
    42,
    null,
    true,
    'x'.repeat(257),
    'x'.repeat(2000),
  ]) {
    const name = typeof kid === 'string' ? `a ${kid.length}-character string` : JSON.stringify(kid);
    it(`rejects kid ${name} as malformed`, async () => {
      await expectRejection(
        validator.validate(forge(rs({ kid }), claims(), ring.rs256.privateKey)),
        'ERR_TOKEN_MALFORMED',
      );
    });
  }
  it('refuses a malformed kid as a header rule, before the issuer, algorithm or typ (SECURITY.md item 5)', async () => {
    for (const kid of ['x'.repeat(257), 42]) {
      for (const token of [
        forge(rs({ kid }), claims({ iss: 'https://evil.test' }), ring.rs256.privateKey),
        forge(rs({ kid }), claims({ iss: undefined }), ring.rs256.privateKey),
        forge(rs({ kid, alg: 'HS999' }), claims(), ring.rs256.privateKey, 'RS256'),
        forge(rs({ kid, typ: 'JWT' }), claims(), ring.rs256.privateKey),
      ]) {
        await expectRejection(validator.validate(token), 'ERR_TOKEN_MALFORMED');
      }
    }
  });
  it('rejects a token naming our issuer but signed by the other tenant key that shares our kid', async () => {
    await expectRejection(
      validator.validate(forge(rs(), claims(), otherTenant.privateKey)),
      'ERR_SIGNATURE_INVALID',
    );
    const reverse = forge(rs(), claims({ iss: OTHER_ISSUER }), ring.rs256.privateKey);
    await expectRejection(validator.validate(reverse), 'ERR_SIGNATURE_INVALID');
  });
  it('rejects a kid naming our EC key on an RS256 token', async () => {
    await expectRejection(
      validator.validate(forge(rs({ kid: ring.es256.kid }), claims(), ring.rs256.privateKey)),
      'ERR_KEY_NOT_FOUND',
    );
  });
});

describe('crit, b64, zip, enc', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['crit naming an unknown parameter that is present', { crit: ['x-custom'], 'x-custom': 1 }],
    ['crit naming an absent parameter', { crit: ['x-absent'] }],
    ['crit naming a registered parameter', { crit: ['exp'], exp: 1 }],
    ['an empty crit list', { crit: [] }],
    ['crit that is not a list', { crit: 'b64' }],
    ['b64 false with crit', { b64: false, crit: ['b64'] }],
    ['b64 false without crit', { b64: false }],
    ['b64 true', { b64: true, crit: ['b64'] }],
    ['zip DEF', { zip: 'DEF' }],
    ['enc', { enc: 'A256GCM' }],
  ];
  for (const [name, extra] of cases) {
    it(`rejects ${name}`, async () => {
      await expectRejection(
        validator.validate(forge(rs(extra), claims(), ring.rs256.privateKey)),
        'ERR_TOKEN_MALFORMED',
      );
    });
  }
  it('rejects an RFC 7797 unencoded-payload token signed over the raw payload', async () => {
    const header = segment(rs({ b64: false, crit: ['b64'] }));
    const payload = JSON.stringify(claims());
    const signature = b64u(
      (await import('node:crypto')).sign(
        'sha256',
        Buffer.from(`${header}.${payload}`),
        ring.rs256.privateKey,
      ),
    );
    // The compact form with a detached payload is not a JWS at all; with the payload inlined, malformed.
    await expectRejection(validator.validate(`${header}..${signature}`), 'ERR_TOKEN_NOT_JWT');
    await expectRejection(
      validator.validate(`${header}.${segment(payload)}.${signature}`),
      'ERR_TOKEN_MALFORMED',
    );
  });
});

describe('other serializations and nesting', () => {
  const inner = () => forge(rs(), claims(), ring.rs256.privateKey);
  for (const cty of ['JWT', 'jwt', 'application/jwt', 'application/JWT']) {
    it(`rejects a nested JWT with cty ${cty}`, async () => {
      await expectRejection(
        validator.validate(forge(rs({ cty }), `"${inner()}"`, ring.rs256.privateKey)),
        'ERR_TOKEN_MALFORMED',
      );
      await expectRejection(
        validator.validate(forge(rs({ cty }), inner(), ring.rs256.privateKey)),
        'ERR_TOKEN_MALFORMED',
      );
    });
  }
  it('rejects a nested JWT whose cty claims JWT even with a claims-set payload, with or without application/', async () => {
    // RFC 7515 §4.1.10: a cty without "/" has "application/" implied, so application/jwt is JWT too.
    for (const cty of ['JWT', 'jwt', 'application/jwt', 'Application/JWT']) {
      await expectRejection(
        validator.validate(forge(rs({ cty }), claims(), ring.rs256.privateKey)),
        'ERR_TOKEN_MALFORMED',
      );
    }
  });
  it('rejects a JWE (five parts)', async () => {
    const jwe = [
      segment({ alg: 'RSA-OAEP-256', enc: 'A256GCM', typ: 'at+jwt' }),
      b64u('k'),
      b64u('iv'),
      segment(claims()),
      b64u('tag'),
    ].join('.');
    await expectRejection(validator.validate(jwe), 'ERR_TOKEN_NOT_JWT');
    await expectRejection(validator.validate(`Bearer ${jwe}`), 'ERR_TOKEN_NOT_JWT');
  });
  it('rejects the JWS JSON serializations (flattened and general)', async () => {
    const [protectedHeader, payload, signature] = inner().split('.');
    const flattened = JSON.stringify({ payload, protected: protectedHeader, signature });
    const general = JSON.stringify({ payload, signatures: [{ protected: protectedHeader, signature }] });
    for (const json of [flattened, general]) {
      await expectRejection(validator.validate(json), 'ERR_TOKEN_NOT_JWT');
      await expectRejection(validator.validate(`Bearer ${json}`), 'ERR_INVALID_REQUEST');
      await expectRejection(validator.validate(b64u(json)), 'ERR_TOKEN_NOT_JWT');
    }
  });
  it('rejects tokens with too many or too few dots', async () => {
    const token = inner();
    for (const candidate of [
      `${token}.`,
      `.${token}`,
      `${token}.${token}`,
      token.replace('.', '..'),
      '..',
      '...',
      '.'.repeat(5000),
      `a${'.a'.repeat(3000)}`,
      token.split('.').slice(0, 2).join('.'),
    ]) {
      const error = await expectRejection(validator.validate(candidate), error_code(candidate));
      expect(error.status).toBe(401);
    }
  });
});

/** Three non-empty segments look like a JWS (and are then refused as malformed); anything else is not a JWT. */
function error_code(candidate: string): 'ERR_TOKEN_NOT_JWT' | 'ERR_TOKEN_MALFORMED' {
  const parts = candidate.split('.');
  return parts.length === 3 && parts[0] !== '' && parts[1] !== ''
    ? 'ERR_TOKEN_MALFORMED'
    : 'ERR_TOKEN_NOT_JWT';
}

describe('typ', () => {
  for (const typ of ['at+jwt', 'AT+JWT', 'application/at+jwt', 'Application/AT+JWT']) {
    it(`accepts typ ${typ}`, async () => {
      const auth = await validator.validate(forge(rs({ typ }), claims(), ring.rs256.privateKey));
      expect(auth.subject).toBe('user-1');
    });
  }
  for (const typ of [
    undefined,
    'JWT',
    'jwt',
    'at+jwt ',
    'at+jwt;charset=utf-8',
    'id_token+jwt',
    'dpop+jwt',
    'application/jwt',
    '',
    ['at+jwt'],
    null,
    1,
  ]) {
    it(`rejects typ ${JSON.stringify(typ) ?? 'missing'} by default`, async () => {
      await expectRejection(
        validator.validate(forge(rs({ typ }), claims(), ring.rs256.privateKey)),
        'ERR_TYPE_MISMATCH',
      );
    });
  }
});
