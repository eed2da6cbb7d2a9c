/**
 * Adversarial review of the cache of bound tokens (e7ea2f2) and of `dpop.nonce.previousSecrets`
 * (10eab4b). Real tokens, DPoP proofs and client certificates; a JWKS server and a per-tenant issuer
 * on 127.0.0.1.
 *
 * Tests named "DEFECT: ..." fail on the code they were written against; every other test pins an
 * invariant that was checked and holds.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientCertificate, type TestCertificate } from '../../../test/support/certificates.js';
import { type DpopClient, dpopClient } from '../../../test/support/dpop.js';
import {
  accessTokenClaims,
  generateSigningKey,
  jwksOf,
  type SigningKey,
  signToken,
} from '../../../test/support/keys.js';
import { failure } from '../../../test/support/rejections.js';
import type { AuthInfo } from './auth-info.js';
import type { TokenGuardError } from './errors.js';
import type { ValidatorOptions } from './options.js';
import { authenticateRequest, type TokenSource } from './transport.js';
import { createValidator, type Validator } from './validator.js';

const ISS = 'https://issuer.test';
const AUD = 'https://api.test';
const ORIGIN = AUD;
const issuerKey = generateSigningKey('ES256', { kid: 'as-review' });
const NOW_SEC = Math.floor(Date.now() / 1000);
const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const SECURITY = readFileSync(new URL('../../../SECURITY.md', import.meta.url), 'utf8');

let alice: TestCertificate;
let mallory: TestCertificate;
let client: DpopClient;
let other: DpopClient;

beforeAll(async () => {
  [alice, mallory] = await Promise.all([
    createClientCertificate({ commonName: 'alice' }),
    createClientCertificate({ commonName: 'mallory' }),
  ]);
  client = dpopClient(generateSigningKey('ES256'));
  other = dpopClient(generateSigningKey('ES256'));
});

function make(extra: Partial<ValidatorOptions> = {}, clock = { nowMs: NOW_SEC * 1000 }): Validator {
  return createValidator({
    issuer: ISS,
    audience: AUD,
    jwks: jwksOf(issuerKey),
    dpop: true,
    mtls: true,
    now: () => clock.nowMs,
    ...extra,
  } as ValidatorOptions);
}

function tokenWith(overrides: Record<string, unknown>, key: SigningKey = issuerKey, iss = ISS) {
  return signToken(key, accessTokenClaims({ iss, aud: AUD, nowSec: NOW_SEC }, overrides));
}

async function dpopRequest(
  token: string,
  by: DpopClient = client,
  clientCertificate?: Uint8Array,
  iat = NOW_SEC,
  claims?: Record<string, unknown>,
): Promise<TokenSource> {
  const proof = await by.proof({ htm: 'GET', htu: `${ORIGIN}/orders`, token, iat, claims });
  return {
    method: 'GET',
    url: '/orders',
    origin: ORIGIN,
    headers: { authorization: `DPoP ${token}`, dpop: proof },
    clientCertificate,
  };
}

const bearer = (token: string, clientCertificate?: Uint8Array): TokenSource => ({
  headers: { authorization: `Bearer ${token}` },
  clientCertificate,
});

/** Authenticates three times: the token is kept from its second verification, the third is a hit. */
async function threeTimes(validator: Validator, source: () => Promise<TokenSource> | TokenSource) {
  const answers: (AuthInfo | undefined)[] = [];
  for (let i = 0; i < 3; i++) answers.push((await authenticateRequest(validator, await source())).auth);
  expect(answers[2]).toBe(answers[1]);
  return answers;
}

/** What a client sees of a refusal. */
const seen = (error: TokenGuardError) => ({
  code: error.code,
  status: error.status,
  message: error.message,
  scheme: error.scheme,
  headers: error.headers,
});

describe('DEFECTS', () => {
  it('was a defect: a handler changing a copy of a cached certificate-bound auth (README: "copy it ({ ...auth })") does not unbind the token for other certificates', async () => {
    const validator = make();
    const token = await tokenWith({ cnf: { 'x5t#S256': alice.thumbprint } });
    const [, second] = await threeTimes(validator, () => bearer(token, alice.der));
    // A handler, as the README says, copies the auth before changing it, then drops the claim it does
    // not forward downstream. `{ ...auth }` is shallow: its claims are the cached entry's own.
    const mine = { ...(second as AuthInfo) } as { claims: Record<string, unknown> };
    // The claims are frozen now: the shared object cannot lose its cnf.
    expect(() => {
      delete mine.claims.cnf;
    }).toThrow(TypeError);
    // Verified afresh, this token with Mallory's certificate is ERR_MTLS_BINDING_MISMATCH; the hit
    // checks the binding from the shared, now unbound, claims and lets Mallory in.
    const refused = await failure(authenticateRequest(validator, bearer(token, mallory.der)));
    expect(refused.code).toBe('ERR_MTLS_BINDING_MISMATCH');
  });

  it('was a defect: validator.state() shows the bound tokens it holds (a second cache of tokenCache.maxEntries)', async () => {
    const validator = make();
    const before = JSON.stringify(validator.state());
    const token = await tokenWith({ cnf: { jkt: client.jkt } });
    await threeTimes(validator, () => dpopRequest(token));
    // One token held in memory: state() (health checks and metrics) is unchanged.
    expect(JSON.stringify(validator.state())).not.toBe(before);
  });

  it('was a docs defect: SECURITY.md item 12 lists the nonces of dpop.nonce.previousSecrets among those accepted', () => {
    const item12 = SECURITY.slice(SECURITY.indexOf('12. **DPoP'), SECURITY.indexOf('13. **'));
    expect(item12).toContain('previousSecrets');
  });

  it("was a docs defect: the README's nonce cost counts the comparisons and HMACs of previousSecrets", () => {
    const section = README.slice(README.indexOf('### Server nonces'), README.indexOf('## Certificate-bound'));
    const cost = section.slice(section.indexOf('- **Cost:**'));
    expect(cost).toMatch(/previousSecrets/);
  });

  it('was a docs defect: the README says a certificate-bound token is kept from its second verification, not "verified once"', async () => {
    // The behaviour: one verification with the certificate keeps nothing; the second does.
    const validator = make();
    const token = await tokenWith({ cnf: { 'x5t#S256': alice.thumbprint } });
    const first = (await authenticateRequest(validator, bearer(token, alice.der))).auth;
    const second = (await authenticateRequest(validator, bearer(token, alice.der))).auth;
    const third = (await authenticateRequest(validator, bearer(token, alice.der))).auth;
    expect(second).not.toBe(first);
    expect(third).toBe(second);
    const mtls = README.slice(README.indexOf('## Certificate-bound tokens'));
    expect(mtls).not.toContain('verified once with their certificate, they are kept');
  });

  it('was a docs defect: the README DPoP cost note does not say bearer requests never find a bound token (an mTLS Bearer request with its certificate does)', async () => {
    const validator = make();
    const token = await tokenWith({ cnf: { 'x5t#S256': alice.thumbprint } });
    // A Bearer-scheme request with its certificate is answered from the cache of bound tokens.
    await threeTimes(validator, () => bearer(token, alice.der));
    const cost = README.slice(README.indexOf('- **Cost:** a proof is a second signature'));
    expect(cost.slice(0, 1500)).not.toContain('a bearer request, `validate()` and the');
  });

  it('was a docs defect: the validateClaims row says the hook is not run again for a token answered from a cache (now also DPoP and mTLS tokens)', async () => {
    let calls = 0;
    const validator = make({
      validateClaims: () => {
        calls++;
        return true;
      },
    });
    const token = await tokenWith({ cnf: { jkt: client.jkt } });
    await threeTimes(validator, () => dpopRequest(token));
    expect(calls).toBe(2);
    const row = README.split('\n').find((line) => line.startsWith('| `validateClaims`')) ?? '';
    expect(row).toMatch(/cache/);
  });
});

describe('invariants that hold', () => {
  it('a hit refuses exactly as a verification does (code, status, message, scheme, headers)', async () => {
    const cached = make();
    const fresh = make({ tokenCache: false });
    const dpopToken = await tokenWith({ cnf: { jkt: client.jkt } });
    const certToken = await tokenWith({ cnf: { 'x5t#S256': alice.thumbprint } });
    const bothToken = await tokenWith({ cnf: { jkt: client.jkt, 'x5t#S256': alice.thumbprint } });
    await threeTimes(cached, () => dpopRequest(dpopToken));
    await threeTimes(cached, () => bearer(certToken, alice.der));
    await threeTimes(cached, () => dpopRequest(bothToken, client, alice.der));
    const cases: (() => Promise<TokenSource>)[] = [
      () => dpopRequest(dpopToken, other),
      async () => bearer(dpopToken, alice.der),
      async () => bearer(dpopToken),
      async () => bearer(certToken, mallory.der),
      async () => bearer(certToken),
      () => dpopRequest(certToken, client, alice.der),
      () => dpopRequest(bothToken, client),
      () => dpopRequest(bothToken, client, mallory.der),
      () => dpopRequest(bothToken, other, alice.der),
      async () => bearer(bothToken, alice.der),
    ];
    for (const source of cases) {
      const fromCache = seen(await failure(authenticateRequest(cached, await source())));
      const verified = seen(await failure(authenticateRequest(fresh, await source())));
      expect(fromCache).toEqual(verified);
    }
    // validate() never consults it: refused as bound, as verified.
    expect(seen(await failure(cached.validate(dpopToken)))).toEqual(
      seen(await failure(fresh.validate(dpopToken))),
    );
  });

  it('a hit is never used past maxTokenAgeSec (ERR_TOKEN_TOO_OLD)', async () => {
    const clock = { nowMs: NOW_SEC * 1000 };
    const validator = make({ maxTokenAgeSec: 120, clockToleranceSec: 0 }, clock);
    const token = await tokenWith({ cnf: { jkt: client.jkt }, exp: NOW_SEC + 3600 });
    await threeTimes(validator, () => dpopRequest(token));
    const later = NOW_SEC + 121;
    clock.nowMs = later * 1000;
    const refused = await failure(
      authenticateRequest(validator, await dpopRequest(token, client, undefined, later)),
    );
    expect(refused.code).toBe('ERR_TOKEN_TOO_OLD');
  });

  it("a route guard's refusal names DPoP for a DPoP hit, Bearer for an mTLS hit", async () => {
    const validator = make();
    const dpopToken = await tokenWith({ cnf: { jkt: client.jkt } });
    const certToken = await tokenWith({ cnf: { 'x5t#S256': alice.thumbprint } });
    const [, , dpopHit] = await threeTimes(validator, () => dpopRequest(dpopToken));
    const [, , certHit] = await threeTimes(validator, () => bearer(certToken, alice.der));
    const guard = (auth: AuthInfo | undefined) => {
      try {
        validator.check(auth as AuthInfo, { scopes: ['admin'] });
      } catch (error) {
        return (error as TokenGuardError).scheme;
      }
      return 'passed';
    };
    expect(guard(dpopHit)).toBe('DPoP');
    expect(guard(certHit)).toBe('Bearer');
  });

  it('a wrapper of validate that shares answers by token hands no cached bound token to another proof or to none', async () => {
    const validator = make();
    const own = validator.validate;
    const answers = new Map<string, Promise<AuthInfo>>();
    validator.validate = (token, requirements) => {
      const key = String(token);
      const known = answers.get(key);
      if (known !== undefined) return known;
      const answer = own(token, requirements);
      answers.set(key, answer);
      answer.catch(() => answers.delete(key));
      return answer;
    };
    const token = await tokenWith({ cnf: { jkt: client.jkt } });
    await authenticateRequest(validator, await dpopRequest(token));
    expect((await failure(authenticateRequest(validator, await dpopRequest(token, other)))).code).toBe(
      'ERR_DPOP_BINDING_MISMATCH',
    );
    expect((await failure(authenticateRequest(validator, bearer(token, alice.der)))).code).toBe(
      'ERR_TOKEN_BOUND',
    );
  });

  it('a DPoP hit still meets dpop.nonce: a proof without one is use_dpop_nonce, not answered', async () => {
    const secret = 'a'.repeat(32);
    const validator = make({ dpop: { nonce: { secret } } });
    const token = await tokenWith({ cnf: { jkt: client.jkt } });
    const nonce = validator.dpopNonce();
    await threeTimes(validator, () => dpopRequest(token, client, undefined, NOW_SEC, { nonce }));
    const refused = await failure(authenticateRequest(validator, await dpopRequest(token)));
    expect([refused.code, refused.headers['DPoP-Nonce'] ?? refused.headers['dpop-nonce']]).toEqual([
      'ERR_DPOP_NONCE_REQUIRED',
      nonce,
    ]);
  });
});

describe('invariants that hold: a template tenant evicted', () => {
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
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  });

  it('a bound token whose key left while its tenant was evicted is not answered from the cache', async () => {
    const oldKey = generateSigningKey('ES256', { kid: 'old' });
    const otherKey = generateSigningKey('ES256', { kid: 'other' });
    keysOf.set('a', [oldKey]);
    keysOf.set('b', [otherKey]);
    const validator = createValidator({
      issuers: [{ issuer: `${base}/t/{tenant}`, audience: AUD, tenants: ['a', 'b'], maxTenants: 1 }],
      dpop: true,
    });
    const token = await tokenWith({ cnf: { jkt: client.jkt } }, oldKey, `${base}/t/a`);
    await threeTimes(validator, () => dpopRequest(token));
    // b evicts a; a's issuer rotates its key out meanwhile; a comes back with a fresh key set.
    keysOf.set('a', [generateSigningKey('ES256', { kid: 'new' })]);
    const bToken = await tokenWith({ cnf: { jkt: client.jkt } }, otherKey, `${base}/t/b`);
    await authenticateRequest(validator, await dpopRequest(bToken));
    const refused = await failure(authenticateRequest(validator, await dpopRequest(token)));
    expect(refused.code).toBe('ERR_KEY_NOT_FOUND');
    await validator.close();
  });
});

describe('invariants that hold: dpop.nonce.previousSecrets', () => {
  const OLD = 'o'.repeat(32);
  const NEXT = 'n'.repeat(32);

  it("accepts a previous secret's nonce, never hands one out, and refuses it once dropped", async () => {
    const clock = { nowMs: NOW_SEC * 1000 };
    const old = make({ dpop: { nonce: { secret: OLD } } }, clock);
    const rotated = make({ dpop: { nonce: { secret: NEXT, previousSecrets: [OLD] } } }, clock);
    const done = make({ dpop: { nonce: { secret: NEXT } } }, clock);
    const stranger = make({ dpop: { nonce: { secret: 'x'.repeat(32), previousSecrets: [NEXT] } } }, clock);
    const oldNonce = old.dpopNonce();
    expect(rotated.dpopNonce()).not.toBe(oldNonce);
    expect(rotated.dpopNonce()).toBe(done.dpopNonce());
    const token = await tokenWith({ cnf: { jkt: client.jkt } });
    const withNonce = (nonce: string | undefined) =>
      dpopRequest(token, client, undefined, Math.floor(clock.nowMs / 1000), { nonce });
    expect((await authenticateRequest(rotated, await withNonce(oldNonce))).auth?.subject).toBe('user-1');
    expect((await failure(authenticateRequest(done, await withNonce(oldNonce)))).code).toBe(
      'ERR_DPOP_NONCE_REQUIRED',
    );
    // A previous secret's nonces are good only as current and previous windows: two windows on, refused.
    clock.nowMs += 2 * 300 * 1000;
    expect((await failure(authenticateRequest(rotated, await withNonce(oldNonce)))).code).toBe(
      'ERR_DPOP_NONCE_REQUIRED',
    );
    // The stranger hands out its own secret's nonce, not NEXT's.
    expect(stranger.dpopNonce()).not.toBe(done.dpopNonce());
  });
});
