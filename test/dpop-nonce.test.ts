/**
 * RFC 9449 §9 server nonces end to end: a real authorization server (oidc-provider through the dev
 * issuer, DPoP on) binds a JWT access token to a client key of this test (the client asks the token
 * endpoint itself with a proof of that key, so it can also sign resource proofs with a `nonce`, which
 * the dev issuer's `dpopProof` cannot), and each adapter, with a validator whose `dpop.nonce` is on,
 * asks for a nonce with 401 `use_dpop_nonce` and a `DPoP-Nonce` header, then admits the retry.
 *
 * Per framework, two real servers on 127.0.0.1: one guarded by validator `a`, one by `b`; both share
 * the nonce secret, and `a` runs on a clock the tests move (`clock.offsetMs`).
 */
import { createValidator, type Validator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AdapterApp, FRAMEWORKS, type Framework, startAdapterApp } from './support/adapter-apps.js';
import { parseChallenges } from './support/challenges.js';
import { type DpopClient, dpopBoundToken, dpopClient } from './support/dpop.js';

/** A resource of this test's own, whose tokens live an hour: the clock moves minutes, not the token. */
const API = 'https://nonce.test';
const SECRET = 'the nonce secret every instance of this API shares';
const LIFETIME_SEC = 300;

let issuer: DevIssuer;
let client: DpopClient;
let token: string;
/** Validator `a`'s clock: real time plus `offsetMs`. */
const clock = { offsetMs: 0 };
const validators = {} as Record<'a' | 'b', Validator>;
const apps = {} as Record<Framework, Record<'a' | 'b', AdapterApp>>;

/** A token from oidc-provider bound to `client`'s key: the token request carries a proof of that key. */
const boundToken = (): Promise<string> => dpopBoundToken(issuer, client, API);

beforeAll(async () => {
  issuer = await startDevIssuer({
    dpop: true,
    resources: { [API]: { scope: 'read', format: 'jwt', ttlSec: 3600 } },
  });
  client = dpopClient();
  token = await boundToken();
  const settings = { issuer: issuer.issuer, audience: API, realm: 'api' };
  validators.a = createValidator({
    ...settings,
    now: () => Date.now() + clock.offsetMs,
    dpop: { nonce: { secret: SECRET, lifetimeSec: LIFETIME_SEC } },
  });
  validators.b = createValidator({
    ...settings,
    dpop: { nonce: { secret: Buffer.from(SECRET), lifetimeSec: LIFETIME_SEC } },
  });
  const describeAuth = (auth: { claims: Record<string, unknown> } | null | undefined) => ({
    jkt: (auth?.claims.cnf as { jkt?: unknown } | undefined)?.jkt ?? null,
  });
  await Promise.all(
    FRAMEWORKS.map(async (framework) => {
      const [a, b] = await Promise.all([
        startAdapterApp(framework, validators.a, describeAuth),
        startAdapterApp(framework, validators.b, describeAuth),
      ]);
      apps[framework] = { a, b };
    }),
  );
});

afterEach(() => {
  clock.offsetMs = 0;
});

afterAll(async () => {
  await Promise.all(Object.values(apps).flatMap((pair) => [pair.a.close(), pair.b.close()]));
  await Promise.all(Object.values(validators).map((validator) => validator.close()));
  await issuer?.close();
});

interface Proof {
  /** The proof's `nonce` claim; none when left out. */
  nonce?: string | undefined;
  jti?: string;
  /** The proof's `iat` clock: the real one, or validator `a`'s moved one. */
  offsetMs?: number;
}

/** A proof of `GET <app>/me` by the client's key for the token. */
function proofFor(app: AdapterApp, { nonce, jti, offsetMs = 0 }: Proof = {}): Promise<string> {
  return client.proof({
    htm: 'GET',
    htu: `${app.url}/me`,
    token,
    iat: Math.floor((Date.now() + offsetMs) / 1000),
    ...(jti === undefined ? {} : { jti }),
    ...(nonce === undefined ? {} : { claims: { nonce } }),
  });
}

async function call(app: AdapterApp, proof: string) {
  const response = await fetch(`${app.url}/me`, { headers: { authorization: `DPoP ${token}`, dpop: proof } });
  const header = response.headers.get('www-authenticate');
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    challenges: header === null ? null : parseChallenges(header),
    nonce: response.headers.get('dpop-nonce'),
  };
}

/** The DPoP challenge of a 401 use_dpop_nonce, as a validator without dpop.required sends it. */
const useNonceChallenges = (validator: Validator) => [
  { scheme: 'Bearer', params: { realm: 'api' } },
  {
    scheme: 'DPoP',
    params: {
      realm: 'api',
      error: 'use_dpop_nonce',
      error_description: expect.stringContaining('DPoP-Nonce'),
      algs: validator.options.dpop?.algorithms.join(' '),
    },
  },
];

describe('the token really is bound by oidc-provider to the test client key', () => {
  it('carries cnf.jkt of the key the proofs are signed with', () => {
    expect(decodeJwt(token).cnf).toEqual({ jkt: client.jkt });
    expect(client.jkt).not.toBe(issuer.dpopJkt);
  });
});

describe.each(FRAMEWORKS)('DPoP server nonces through %s', (framework) => {
  it('answers a proof without a nonce 401 use_dpop_nonce with DPoP-Nonce; the retry with it is 200', async () => {
    const app = apps[framework].a;
    const first = await call(app, await proofFor(app));
    expect(first).toEqual({
      status: 401,
      body: { error: 'use_dpop_nonce', error_description: expect.stringContaining('no nonce') },
      challenges: useNonceChallenges(validators.a),
      // RFC 9449 §8.1: 1*NQCHAR.
      nonce: expect.stringMatching(/^[\x21\x23-\x5b\x5d-\x7e]+$/),
    });
    const retry = await call(app, await proofFor(app, { nonce: first.nonce as string }));
    expect(retry).toEqual({ status: 200, body: { jkt: client.jkt }, challenges: null, nonce: null });
  });

  it('refuses a nonce two lifetimes old with a new one, and admits the retry with that', async () => {
    const app = apps[framework].a;
    const old = validators.a.dpopNonce() as string;
    clock.offsetMs = 2 * LIFETIME_SEC * 1000;
    const stale = await call(app, await proofFor(app, { nonce: old, offsetMs: clock.offsetMs }));
    expect(stale).toMatchObject({
      status: 401,
      body: { error: 'use_dpop_nonce', error_description: expect.stringContaining('not a current one') },
      challenges: useNonceChallenges(validators.a),
    });
    expect(stale.nonce).toEqual(expect.any(String));
    expect(stale.nonce).not.toBe(old);
    const retry = await call(
      app,
      await proofFor(app, { nonce: stale.nonce as string, offsetMs: clock.offsetMs }),
    );
    expect(retry.status).toBe(200);
  });

  it('admits at one instance the nonce another instance with the same secret gave', async () => {
    const { a, b } = apps[framework];
    const fromA = await call(a, await proofFor(a));
    expect(fromA.status).toBe(401);
    const atB = await call(b, await proofFor(b, { nonce: fromA.nonce as string }));
    expect(atB).toEqual({ status: 200, body: { jkt: client.jkt }, challenges: null, nonce: null });
  });

  it('does not spend a proof refused for its nonce: its jti is taken once, with the nonce', async () => {
    const app = apps[framework].a;
    const jti = `nonce-then-${framework}`;
    const refused = await call(app, await proofFor(app, { jti }));
    expect(refused.status).toBe(401);
    const withNonce = await proofFor(app, { jti, nonce: refused.nonce as string });
    expect((await call(app, withNonce)).status).toBe(200);
    const replay = await call(app, withNonce);
    expect(replay).toMatchObject({
      status: 401,
      body: { error: 'invalid_dpop_proof', error_description: 'The DPoP proof was used before' },
      nonce: null,
    });
  });
});
