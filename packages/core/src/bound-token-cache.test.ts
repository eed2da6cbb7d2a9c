import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientCertificates, type TestCertificate } from '../../../test/support/certificates.js';
import { type DpopClient, dpopClient } from '../../../test/support/dpop.js';
import { type JwksServer, startJwksServer } from '../../../test/support/jwks-server.js';
import { accessTokenClaims, generateSigningKey, jwksOf, signToken } from '../../../test/support/keys.js';
import { failure } from '../../../test/support/rejections.js';
import type { ValidatorOptions } from './options.js';
import { authenticateRequest, authenticateRequestNow, type TokenSource } from './transport.js';
import { createValidator, type Validator } from './validator.js';

// Bound tokens (RFC 9449 DPoP, RFC 8705 mTLS) verified before are answered from a cache of their own,
// asked only by requests that bring a proof, and held to that proof at every hit. A hit is seen as the
// very AuthInfo object an earlier request got (a token is stored from its second verification on), and
// by a validateClaims hook that is not called again.

const ISS = 'https://issuer.test';
const AUD = 'https://api.test';
const ORIGIN = AUD;
const issuerKey = generateSigningKey('ES256', { kid: 'as-bound' });
const NOW_SEC = Math.floor(Date.now() / 1000);

let alice: TestCertificate;
let mallory: TestCertificate;
let client: DpopClient;
let other: DpopClient;

beforeAll(async () => {
  [alice, mallory] = await createClientCertificates('alice', 'mallory');
  client = dpopClient(generateSigningKey('ES256'));
  other = dpopClient(generateSigningKey('ES256'));
});

/** A validator taking DPoP and mTLS, counting the claims it checks (once per verification). */
function counted(extra: Partial<ValidatorOptions> = {}, clock = { nowMs: NOW_SEC * 1000 }) {
  const checked: string[] = [];
  const validator = createValidator({
    issuer: ISS,
    audience: AUD,
    jwks: jwksOf(issuerKey),
    dpop: true,
    mtls: true,
    now: () => clock.nowMs,
    validateClaims: (claims: Readonly<Record<string, unknown>>) => {
      checked.push(String(claims.jti));
    },
    ...extra,
  } as ValidatorOptions);
  return { validator, checked, clock };
}

function tokenWith(overrides: Record<string, unknown>): Promise<string> {
  return signToken(issuerKey, accessTokenClaims({ iss: ISS, aud: AUD, nowSec: NOW_SEC }, overrides));
}

/** A DPoP request of GET /orders with `token` and a new proof by `by` (the client unless given). */
async function dpopRequest(
  token: string,
  by: DpopClient = client,
  clientCertificate?: Uint8Array,
  iat = NOW_SEC,
) {
  const proof = await by.proof({ htm: 'GET', htu: `${ORIGIN}/orders`, token, iat });
  const source: TokenSource = {
    method: 'GET',
    url: '/orders',
    origin: ORIGIN,
    headers: { authorization: `DPoP ${token}`, dpop: proof },
    clientCertificate,
  };
  return source;
}

const bearer = (token: string, clientCertificate?: Uint8Array): TokenSource => ({
  headers: { authorization: `Bearer ${token}` },
  clientCertificate,
});

/** Authenticates `source` three times: the third is answered from the cache. */
async function threeTimes(validator: Validator, source: () => Promise<TokenSource> | TokenSource) {
  const answers = [];
  for (let i = 0; i < 3; i++) answers.push((await authenticateRequest(validator, await source())).auth);
  return answers;
}

describe('DPoP-bound tokens, verified before', () => {
  it('are answered from the cache with a proof of their key, every proof still checked and spent', async () => {
    const { validator, checked } = counted();
    const token = await tokenWith({ jti: 'dpop-1', cnf: { jkt: client.jkt } });
    const [first, second, third] = await threeTimes(validator, () => dpopRequest(token));
    expect(first?.claims.cnf).toEqual({ jkt: client.jkt });
    expect(second).not.toBe(first);
    expect(third).toBe(second);
    expect(checked).toEqual(['dpop-1', 'dpop-1']);
    // A hit still spends its proof: the same proof again is a replay.
    const source = await dpopRequest(token);
    await authenticateRequest(validator, source);
    const replayed = await failure(authenticateRequest(validator, source));
    expect([replayed.code, replayed.message]).toEqual([
      'ERR_DPOP_PROOF_INVALID',
      'The DPoP proof was used before',
    ]);
  });

  it('are refused from the cache as they would be verified: as a bearer token, with another key, to validate()', async () => {
    const { validator, checked } = counted();
    const token = await tokenWith({ jti: 'dpop-2', cnf: { jkt: client.jkt } });
    await threeTimes(validator, () => dpopRequest(token));
    const asBearer = await failure(authenticateRequest(validator, bearer(token)));
    expect(asBearer.code).toBe('ERR_TOKEN_BOUND');
    const otherKey = await failure(authenticateRequest(validator, await dpopRequest(token, other)));
    expect(otherKey.code).toBe('ERR_DPOP_BINDING_MISMATCH');
    expect(otherKey.message).toBe('Invalid DPoP key binding: the token is bound to another key');
    expect((await failure(validator.validate(token))).code).toBe('ERR_TOKEN_BOUND');
    expect((await failure(validator.validate(`Bearer ${token}`))).code).toBe('ERR_TOKEN_BOUND');
    // The adapters' synchronous answer (bearer requests) never finds it: it is verified, and refused.
    const now = authenticateRequestNow(validator, bearer(token), {});
    expect(now).toBeInstanceOf(Promise);
    expect((await failure(now as Promise<unknown>)).code).toBe('ERR_TOKEN_BOUND');
    // The two verifications that stored it, none since: the refusals above came before any claims hook.
    expect(checked).toEqual(['dpop-2', 'dpop-2']);
  });

  it('are counted apart in state(): tokenCache.boundEntries, only where there is such a cache', async () => {
    const { validator } = counted();
    expect(validator.state().tokenCache).toEqual({ entries: 0, maxEntries: 10_000, boundEntries: 0 });
    const token = await tokenWith({ cnf: { jkt: client.jkt } });
    await threeTimes(validator, () => dpopRequest(token));
    const unbound = await tokenWith({ jti: 'unbound' });
    await validator.validate(unbound);
    await validator.validate(unbound);
    expect(validator.state().tokenCache).toEqual({ entries: 1, maxEntries: 10_000, boundEntries: 1 });
    const bearerOnly = createValidator({ issuer: ISS, audience: AUD, jwks: jwksOf(issuerKey) });
    expect(bearerOnly.state().tokenCache).toEqual({ entries: 0, maxEntries: 10_000 });
    const downgrading = counted({ mtls: false, acceptBoundTokens: true }).validator;
    expect(downgrading.state().tokenCache).not.toHaveProperty('boundEntries');
  });

  it("apply the route's requirements at every hit", async () => {
    const { validator } = counted();
    const token = await tokenWith({ cnf: { jkt: client.jkt }, scope: 'orders:read' });
    await threeTimes(validator, () => dpopRequest(token));
    const source = await dpopRequest(token);
    const refused = await failure(
      authenticateRequest(validator, source, { requirements: { scopes: ['orders:write'] } }),
    );
    expect(refused.code).toBe('ERR_INSUFFICIENT_SCOPE');
    const passed = await authenticateRequest(validator, await dpopRequest(token), {
      requirements: { scopes: ['orders:read'] },
    });
    expect([...(passed.auth?.scopes ?? [])]).toEqual(['orders:read']);
  });

  it('are never answered past exp', async () => {
    const { validator, clock } = counted();
    const token = await tokenWith({ cnf: { jkt: client.jkt }, exp: NOW_SEC + 120 });
    await threeTimes(validator, () => dpopRequest(token));
    // Past exp and the clock tolerance (60 s), with a proof made then.
    const later = NOW_SEC + 120 + 61;
    clock.nowMs = later * 1000;
    const expired = await failure(
      authenticateRequest(validator, await dpopRequest(token, client, undefined, later)),
    );
    expect(expired.code).toBe('ERR_TOKEN_EXPIRED');
  });

  it('go to the main cache, good as bearer tokens, only under acceptBoundTokens (which refuses mtls)', async () => {
    const { validator } = counted({ mtls: false, acceptBoundTokens: true });
    const token = await tokenWith({ cnf: { jkt: client.jkt } });
    // DPoP requests are verified every time then (the main cache holds bearer answers)...
    const [first, second, third] = await threeTimes(validator, () => dpopRequest(token));
    expect(new Set([first, second, third]).size).toBe(3);
    // ... and a bearer request is answered from it, as the option asks.
    const asBearer = (await authenticateRequest(validator, bearer(token))).auth;
    expect(asBearer?.subject).toBe('user-1');
    expect((await authenticateRequest(validator, bearer(token))).auth).toBe(asBearer);
  });
});

describe('the binding a cache keeps', () => {
  it('is the cnf its verification saw: a validateClaims hook that deletes it from the claims unbinds nothing', async () => {
    const { validator } = counted({
      validateClaims: (claims: Record<string, unknown>) => {
        delete claims.cnf;
      },
    } as Partial<ValidatorOptions>);
    const token = await tokenWith({ cnf: { 'x5t#S256': alice.thumbprint } });
    await threeTimes(validator, () => bearer(token, alice.der));
    // Neither cached as a bearer token nor, in the cache of bound tokens, for any certificate.
    expect((await failure(authenticateRequest(validator, bearer(token)))).code).toBe(
      'ERR_MTLS_BINDING_MISMATCH',
    );
    const another = await failure(authenticateRequest(validator, bearer(token, mallory.der)));
    expect(another.code).toBe('ERR_MTLS_BINDING_MISMATCH');
  });
});

describe('certificate-bound tokens, verified before', () => {
  it('are answered from the cache with their certificate and refused without it or with another', async () => {
    const { validator, checked } = counted();
    const token = await tokenWith({ jti: 'mtls-1', cnf: { 'x5t#S256': alice.thumbprint } });
    const [first, second, third] = await threeTimes(validator, () => bearer(token, alice.der));
    expect(first?.subject).toBe('user-1');
    expect(third).toBe(second);
    expect(checked).toEqual(['mtls-1', 'mtls-1']);
    const another = await failure(authenticateRequest(validator, bearer(token, mallory.der)));
    expect(another.code).toBe('ERR_MTLS_BINDING_MISMATCH');
    expect(another.message).toBe(
      'Invalid certificate binding: the token is bound to another TLS client certificate',
    );
    const none = await failure(authenticateRequest(validator, bearer(token)));
    expect(none.code).toBe('ERR_MTLS_BINDING_MISMATCH');
    // A DPoP proof (of any key) does not prove the certificate binding.
    const dpop = await failure(authenticateRequest(validator, await dpopRequest(token, client, alice.der)));
    expect(dpop.code).toBe('ERR_DPOP_BINDING_MISMATCH');
    expect(checked).toEqual(['mtls-1', 'mtls-1']);
  });

  it('bound both ways, need both proven at every hit', async () => {
    const { validator } = counted();
    const token = await tokenWith({ cnf: { jkt: client.jkt, 'x5t#S256': alice.thumbprint } });
    const [, second, third] = await threeTimes(validator, () => dpopRequest(token, client, alice.der));
    expect(third).toBe(second);
    const noCertificate = await failure(authenticateRequest(validator, await dpopRequest(token)));
    expect(noCertificate.code).toBe('ERR_MTLS_BINDING_MISMATCH');
    const noProof = await failure(authenticateRequest(validator, bearer(token, alice.der)));
    expect(noProof.code).toBe('ERR_MTLS_BINDING_MISMATCH');
  });
});

describe('the cache of bound tokens and the key set', () => {
  let jwks: JwksServer;
  beforeAll(async () => {
    jwks = await startJwksServer([issuerKey.publicJwk]);
  });
  afterAll(async () => {
    await jwks.close();
  });

  it('is cleared when the key that verified them is replaced under the same kid (moved from bound-cache-review.test.ts)', async () => {
    const validator = createValidator({ issuer: ISS, audience: AUD, jwksUri: jwks.url, dpop: true });
    const token = await tokenWith({ cnf: { jkt: client.jkt } });
    await threeTimes(validator, () => dpopRequest(token));
    jwks.keys = [generateSigningKey('ES256', { kid: 'as-bound' }).publicJwk];
    await validator.refreshKeys();
    const refused = await failure(authenticateRequest(validator, await dpopRequest(token)));
    expect(refused.code).toBe('ERR_SIGNATURE_INVALID');
    await validator.close();
    jwks.keys = [issuerKey.publicJwk];
  });

  it('is cleared when the key that verified them leaves the set', async () => {
    const validator = createValidator({
      issuer: ISS,
      audience: AUD,
      jwksUri: jwks.url,
      dpop: true,
      mtls: true,
    });
    const token = await tokenWith({ cnf: { jkt: client.jkt } });
    const [, second, third] = await threeTimes(validator, () => dpopRequest(token));
    expect(third).toBe(second);
    jwks.keys = [generateSigningKey('ES256', { kid: 'as-next' }).publicJwk];
    await validator.refreshKeys();
    const refused = await failure(authenticateRequest(validator, await dpopRequest(token)));
    expect(refused.code).toBe('ERR_KEY_NOT_FOUND');
    await validator.close();
  });
});
