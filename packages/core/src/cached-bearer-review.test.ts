/**
 * Review of createCachedBearerLookup (7d85c75, e0b10d5): wherever it answers, the whole way
 * (authenticateRequestNow) must answer the very same auth; elsewhere it answers nothing and leaves
 * the cache as it was. Differential checks against real validators (secrets, a JWKS server, issuer
 * template tenants, client certificates); all pass: they pin what the change keeps.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientCertificate, type TestCertificate } from '../../../test/support/certificates.js';
import { startJwksServer } from '../../../test/support/jwks-server.js';
import {
  accessTokenClaims,
  generateSigningKey,
  jwksOf,
  type SigningKey,
  secretSigningKey,
  signToken,
} from '../../../test/support/keys.js';
import type { AuthInfo } from './auth-info.js';
import { createCachedBearerLookup } from './cached-bearer.js';
import type { ValidatorOptions } from './options.js';
import { authenticateRequestNow, type TokenSource } from './transport.js';
import { createValidator, type Validator } from './validator.js';

const AUD = 'https://api.example';
const NOW_SEC = 1_800_000_000;
const SECRET = 'a-shared-secret-of-at-least-32-bytes!';
const validators: Validator[] = [];
function track(validator: Validator): Validator {
  validators.push(validator);
  return validator;
}

/** A validator of https://id.example for AUD at NOW_SEC (closed after the file), with `options` on top. */
function validatorWith(options: Partial<ValidatorOptions>): Validator {
  return track(
    createValidator({
      issuer: 'https://id.example',
      audience: AUD,
      now: () => NOW_SEC * 1000,
      ...options,
    } as ValidatorOptions),
  );
}

afterAll(async () => {
  for (const validator of validators) await validator.close();
});

/** A Node-like request with one Authorization header, under `name` in the raw list. */
function request(value: string, name = 'Authorization', certificate?: Uint8Array): TokenSource {
  return {
    headers: { host: 'api.example', authorization: value },
    rawHeaders: ['Host', 'api.example', name, value],
    ...(certificate === undefined ? {} : { clientCertificate: certificate }),
  };
}

async function wholeWay(validator: Validator, source: TokenSource): Promise<AuthInfo | string> {
  try {
    return (await authenticateRequestNow(validator, source)).auth ?? 'anonymous';
  } catch (error) {
    return (error as { code: string }).code;
  }
}

function ask(validator: Validator, source: TokenSource): AuthInfo | undefined {
  const lookup = createCachedBearerLookup(validator, {});
  if (lookup === undefined) throw new Error('expected a lookup');
  return lookup((source.headers as { authorization?: string }).authorization, source.rawHeaders);
}

describe('header spellings and lengths', () => {
  it('answers for any spelling of the header name, and a token exactly maxTokenLength long', async () => {
    const token = await signToken(
      secretSigningKey(SECRET),
      accessTokenClaims({ iss: 'https://id.example', aud: AUD, nowSec: NOW_SEC }),
    );
    const validator = validatorWith({ secret: SECRET, maxTokenLength: token.length });
    await validator.validate(token);
    const auth = await validator.validate(token);
    for (const name of ['Authorization', 'authorization', 'AUTHORIZATION', 'aUtHoRiZaTiOn']) {
      const source = request(`Bearer ${token}`, name);
      expect(ask(validator, source), name).toBe(auth);
      expect(await wholeWay(validator, source), name).toBe(auth);
    }
    // A validator whose limit the token passes by one character never caches it: nothing to answer.
    const shorter = validatorWith({ secret: SECRET, maxTokenLength: token.length - 1 });
    for (let i = 0; i < 2; i++)
      expect(await wholeWay(shorter, request(`Bearer ${token}`))).toBe('ERR_TOKEN_TOO_LARGE');
    expect(shorter.state().tokenCache.entries).toBe(0);
    expect(ask(shorter, request(`Bearer ${token}`))).toBeUndefined();
  });

  it('answers nothing when `validate` was replaced before the lookup was made', async () => {
    const validator = validatorWith({ secret: SECRET });
    const token = await signToken(
      secretSigningKey(SECRET),
      accessTokenClaims({ iss: 'https://id.example', aud: AUD, nowSec: NOW_SEC }),
    );
    await validator.validate(token);
    await validator.validate(token);
    const own = validator.validate;
    validator.validate = (value, requirements) => own(value, requirements);
    expect(ask(validator, request(`Bearer ${token}`))).toBeUndefined();
  });
});

describe('a remote key set past its max age', () => {
  it('answers nothing once the key set is past max age; the whole way re-verifies against a fetched set', async () => {
    const key = generateSigningKey('ES256', { kid: 'k1' });
    const server = await startJwksServer(jwksOf(key).keys);
    try {
      const clock = { ms: NOW_SEC * 1000 };
      const validator = validatorWith({ jwksUri: server.url, now: () => clock.ms });
      const token = await signToken(
        key,
        accessTokenClaims({ iss: 'https://id.example', aud: AUD, nowSec: NOW_SEC }, { exp: NOW_SEC + 7200 }),
      );
      await validator.validate(token);
      const auth = await validator.validate(token);
      const source = request(`Bearer ${token}`);
      expect(ask(validator, source)).toBe(auth);
      // Past the default max age (600 s): the cache must not answer from a set not revalidated.
      clock.ms += 700_000;
      expect(ask(validator, source)).toBeUndefined();
      expect(validator.state().tokenCache.entries).toBe(1);
      const fetched = server.fetchCount;
      const again = await wholeWay(validator, source);
      expect(again).not.toBe(auth);
      expect((again as AuthInfo).subject).toBe(auth.subject);
      expect(server.fetchCount).toBeGreaterThan(fetched);
    } finally {
      await server.close();
    }
  });
});

describe('template tenants evicted and brought back', () => {
  const keysOf = new Map<string, SigningKey[]>();
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      const match = /^\/t\/([^/]+)\/(\.well-known\/openid-configuration|jwks)$/.exec(req.url ?? '');
      const keys = match === null ? undefined : keysOf.get(match[1] as string);
      if (match === null || keys === undefined) {
        res.writeHead(404).end();
        return;
      }
      const issuer = `${base}/t/${match[1]}`;
      const body = match[2] === 'jwks' ? jwksOf(...keys) : { issuer, jwks_uri: `${issuer}/jwks` };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('answers nothing for a tenant`s token once its context was evicted, nor once the key was removed', async () => {
    const oldKey = generateSigningKey('ES256', { kid: 'old' });
    const newKey = generateSigningKey('ES256', { kid: 'new' });
    const otherKey = generateSigningKey('ES256', { kid: 'other' });
    keysOf.set('a', [oldKey]);
    keysOf.set('b', [otherKey]);
    const validator = track(
      createValidator({
        issuers: [{ issuer: `${base}/t/{tenant}`, audience: AUD, tenants: ['a', 'b'], maxTenants: 1 }],
        now: () => NOW_SEC * 1000,
      }),
    );
    const sign = (key: SigningKey, tenant: string) =>
      signToken(key, accessTokenClaims({ iss: `${base}/t/${tenant}`, aud: AUD, nowSec: NOW_SEC }));
    const old = await sign(oldKey, 'a');
    await validator.validate(old);
    const auth = await validator.validate(old);
    const source = request(`Bearer ${old}`);
    expect(ask(validator, source)).toBe(auth);
    expect(await wholeWay(validator, source)).toBe(auth);

    // b evicts a; a rotates its old key out while evicted.
    await validator.validate(await sign(otherKey, 'b'));
    keysOf.set('a', [newKey]);
    expect(ask(validator, source)).toBeUndefined();
    expect(validator.state().tokenCache.entries).toBeGreaterThan(0);
    expect(await wholeWay(validator, source)).not.toBe(auth);
    expect(ask(validator, source)).toBeUndefined();
  });
});

describe('certificate-bound tokens (mtls)', () => {
  const key = generateSigningKey('ES256', { kid: 'mtls' });
  let alice: TestCertificate;
  beforeAll(async () => {
    alice = await createClientCertificate({ commonName: 'alice' });
  });

  async function boundToken(): Promise<string> {
    return signToken(
      key,
      accessTokenClaims(
        { iss: 'https://id.example', aud: AUD, nowSec: NOW_SEC },
        { cnf: { 'x5t#S256': alice.thumbprint } },
      ),
    );
  }

  it('a bound token (kept in the bound cache) is not answered; the whole way refuses it without the certificate', async () => {
    const validator = validatorWith({ jwks: jwksOf(key), mtls: true });
    const token = await boundToken();
    const withCertificate = request(`Bearer ${token}`, 'Authorization', alice.der);
    for (let i = 0; i < 3; i++)
      expect(await wholeWay(validator, withCertificate)).toMatchObject({ subject: 'user-1' });
    expect(validator.state().tokenCache.entries).toBe(0);
    expect(validator.state().tokenCache.boundEntries).toBe(1);
    expect(ask(validator, withCertificate)).toBeUndefined();
    expect(await wholeWay(validator, request(`Bearer ${token}`))).toBe('ERR_MTLS_BINDING_MISMATCH');
  });

  it('with acceptBoundTokens (no proofs taken) a bound token is cached and answered as the whole way does', async () => {
    const validator = validatorWith({ jwks: jwksOf(key), acceptBoundTokens: true });
    const token = await boundToken();
    const source = request(`Bearer ${token}`);
    await wholeWay(validator, source);
    const auth = await wholeWay(validator, source);
    expect(validator.state().tokenCache.entries).toBe(1);
    expect(ask(validator, source)).toBe(auth);
    expect(await wholeWay(validator, source)).toBe(auth);
  });
});
