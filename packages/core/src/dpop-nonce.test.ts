import { inspect } from 'node:util';
import { calculateJwkThumbprint } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { type DpopProofRequest, dpopProof, proofJwk } from '../../../test/support/dpop.js';
import {
  accessTokenClaims,
  generateSigningKey,
  type SigningKey,
  signToken,
} from '../../../test/support/keys.js';
import { failure, thrownBy, typeErrorOf } from '../../../test/support/rejections.js';
import { createDpopVerifier, type DpopRequest } from './dpop.js';
import { createDpopNonces } from './dpop-nonce.js';
import type { TokenGuardError } from './errors.js';
import { Redacted } from './lib/secret.js';
import {
  type DpopOptions,
  type ResolvedDpopOptions,
  resolveOptions,
  type ValidatorOptions,
} from './options.js';
import { authenticateRequest, type TokenSource } from './transport.js';
import { createValidator, type Validator } from './validator.js';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://api.test';
const ORIGIN = 'https://api.test';
const NOW_SEC = 1_700_000_100;
const NOW_MS = NOW_SEC * 1000;
const SECRET = 'a shared secret of at least 32 bytes, for every instance';
/** RFC 9449 §8.1: `nonce = 1*NQCHAR`, NQCHAR = %x21 / %x23-5B / %x5D-7E. */
const NQCHARS = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

let issuerKey: SigningKey;
let client: SigningKey;
let clientJkt: string;

beforeAll(async () => {
  issuerKey = generateSigningKey('ES256', { kid: 'as-1' });
  client = generateSigningKey('ES256');
  clientJkt = await calculateJwkThumbprint(proofJwk(client), 'sha256');
});

/** The nonces of `secret` (`null`: none given, so a random one) and `lifetimeSec`. */
const nonces = (lifetimeSec = 300, secret: string | null = SECRET) =>
  createDpopNonces({
    secret: secret === null ? undefined : new Redacted(Buffer.from(secret)),
    previousSecrets: [],
    lifetimeSec,
  });

describe('createDpopNonces', () => {
  it('hands out one nonce of NQCHARs per window, a new one in the next window', () => {
    const maker = nonces(300);
    const windowStartMs = Math.floor(NOW_MS / 300_000) * 300_000;
    const nonce = maker.current(windowStartMs);
    expect(nonce).toMatch(NQCHARS);
    expect(nonce.length).toBeGreaterThanOrEqual(22); // 16 bytes of HMAC, base64url
    expect(maker.current(windowStartMs + 299_999)).toBe(nonce);
    expect(maker.current(windowStartMs + 300_000)).not.toBe(nonce);
  });

  it("accepts the current window's nonce and the previous one's, not older ones", () => {
    const maker = nonces(300);
    const nonce = maker.current(NOW_MS);
    expect(maker.accepts(nonce, NOW_MS)).toBe(true);
    expect(maker.accepts(nonce, NOW_MS + 300_000)).toBe(true);
    expect(maker.accepts(nonce, NOW_MS + 600_000)).toBe(false);
    // A clock set back (the previous window's view) does not accept a later nonce as current.
    expect(maker.accepts(maker.current(NOW_MS + 600_000), NOW_MS)).toBe(false);
    expect(maker.accepts(nonce, NOW_MS)).toBe(true);
  });

  it('refuses anything but a nonce of this secret and lifetime', () => {
    const maker = nonces(300);
    const nonce = maker.current(NOW_MS);
    for (const value of [
      undefined,
      null,
      42,
      [nonce],
      '',
      `${nonce}x`,
      nonce.slice(1),
      `${nonce.slice(0, -1)}${nonce.endsWith('A') ? 'B' : 'A'}`,
      nonces(300, `${SECRET}!`).current(NOW_MS),
      nonces(600).current(NOW_MS),
      'é'.repeat(nonce.length / 2),
    ]) {
      expect(maker.accepts(value, NOW_MS), String(value)).toBe(false);
    }
  });

  it('gives instances with the same secret and lifetime the same nonces; without a secret, each its own', () => {
    expect(nonces(300).current(NOW_MS)).toBe(nonces(300).current(NOW_MS));
    expect(nonces(300).accepts(nonces(300).current(NOW_MS), NOW_MS)).toBe(true);
    const a = nonces(300, null);
    const b = nonces(300, null);
    expect(a.current(NOW_MS)).not.toBe(b.current(NOW_MS));
    expect(b.accepts(a.current(NOW_MS), NOW_MS)).toBe(false);
    expect(a.accepts(a.current(NOW_MS), NOW_MS)).toBe(true);
  });
});

describe('the dpop.nonce option', () => {
  const base = { issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [] } };
  const resolve = (nonce: unknown) =>
    resolveOptions({ ...base, dpop: { nonce } } as ValidatorOptions).dpop?.nonce;
  const rejection = (nonce: unknown) => typeErrorOf(() => resolve(nonce));

  it('reads true as the defaults: a validator-made secret, 300 s', () => {
    expect(resolve(true)).toEqual({ secret: undefined, previousSecrets: [], lifetimeSec: 300 });
    expect(resolve({})).toEqual({ secret: undefined, previousSecrets: [], lifetimeSec: 300 });
    expect(resolve({ lifetimeSec: 10 })?.lifetimeSec).toBe(10);
    expect(resolve({ lifetimeSec: 3600 })?.lifetimeSec).toBe(3600);
    expect(resolveOptions({ ...base, dpop: true }).dpop?.nonce).toBeUndefined();
  });

  it('takes a secret of 32 bytes or more, text (UTF-8) or bytes, copied and never printed', () => {
    expect(resolve({ secret: 'x'.repeat(32) })?.secret?.reveal()).toEqual(Buffer.from('x'.repeat(32)));
    // 16 characters of two UTF-8 bytes each: 32 bytes.
    expect(resolve({ secret: 'é'.repeat(16) })?.secret?.reveal().byteLength).toBe(32);
    const bytes = new Uint8Array(32).fill(7);
    const resolved = resolve({ secret: bytes });
    bytes.fill(0);
    expect(resolved?.secret?.reveal()).toEqual(Buffer.alloc(32, 7));
    const options = resolveOptions({ ...base, dpop: { nonce: { secret: SECRET } } });
    expect(JSON.stringify(options)).not.toContain(SECRET);
    expect(inspect(options, { depth: 10 })).not.toContain(SECRET);
    expect(Object.isFrozen(options.dpop?.nonce)).toBe(true);
  });

  it('refuses bad settings with a TypeError naming dpop.nonce.<field>', () => {
    expect(rejection({ secret: 'x'.repeat(31) })).toBe(
      'tokenguard: invalid option "dpop.nonce.secret": must be at least 32 bytes',
    );
    expect(rejection({ secret: 'é'.repeat(15) })).toMatch(/"dpop\.nonce\.secret": must be at least 32 bytes/);
    expect(rejection({ secret: new Uint8Array(31) })).toMatch(/"dpop\.nonce\.secret": must be at least/);
    expect(rejection({ secret: 42 })).toMatch(/"dpop\.nonce\.secret": must be a string or a Uint8Array/);
    for (const lifetimeSec of [9, 3601, 10.5, '300', Number.NaN]) {
      expect(rejection({ lifetimeSec }), String(lifetimeSec)).toMatch(
        /^tokenguard: invalid option "dpop\.nonce\.lifetimeSec"/,
      );
    }
    expect(rejection({ lifetime: 300 })).toMatch(/"dpop\.nonce\.lifetime": is not a known option/);
    for (const nonce of [false, 'yes', 300, null, []]) {
      expect(rejection(nonce), String(nonce)).toMatch(
        /^tokenguard: invalid option "dpop\.nonce": must be true or an object/,
      );
    }
  });
});

const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJl';
const REQUEST: DpopRequest = { method: 'GET', url: `${ORIGIN}/orders`, accessToken: TOKEN };
const RESOLVED: ResolvedDpopOptions = {
  algorithms: ['ES256'],
  maxProofAgeSec: 60,
  required: false,
  origin: undefined,
  replayCacheMaxEntries: 1000,
  replayStoreTimeoutMs: 1000,
};

describe('createDpopVerifier with dpop.nonce', () => {
  const withNonce = (clock: { nowMs: number }) =>
    createDpopVerifier(
      {
        ...RESOLVED,
        nonce: { secret: new Redacted(Buffer.from(SECRET)), previousSecrets: [], lifetimeSec: 60 },
      },
      { now: () => clock.nowMs, clockToleranceSec: 5 },
    );
  const proof = (changes: Partial<DpopProofRequest> = {}) =>
    dpopProof(client, { htm: 'GET', htu: `${ORIGIN}/orders`, token: TOKEN, iat: NOW_SEC, ...changes });

  it('refuses a proof without a nonce: ERR_DPOP_NONCE_REQUIRED, 401 use_dpop_nonce, with the nonce to use', async () => {
    const dpop = withNonce({ nowMs: NOW_MS });
    const refused = thrownBy(() => dpop.verify(withoutNonce, REQUEST));
    expect(refused).toMatchObject({
      code: 'ERR_DPOP_NONCE_REQUIRED',
      status: 401,
      oauthError: 'use_dpop_nonce',
    });
    expect(refused.message).toBe(
      'The DPoP proof has no nonce: this API requires the one in its DPoP-Nonce header',
    );
    expect(refused.dpopNonce).toBe(dpop.currentNonce());
    expect(refused.dpopNonce).toMatch(NQCHARS);
    expect(refused.headers['dpop-nonce']).toBe(dpop.currentNonce());
    const withIt = await proof({ claims: { nonce: refused.dpopNonce } });
    expect(dpop.verify(withIt, REQUEST).jkt).toBe(clientJkt);
  });

  it('refuses a nonce that is not a current one of this API, and names it so', async () => {
    const clock = { nowMs: NOW_MS };
    const dpop = withNonce(clock);
    const stale = dpop.currentNonce();
    clock.nowMs += 120_000; // two lifetimes on
    for (const nonce of [stale, 'not-a-nonce', 42, nonces(60, `${SECRET}?`).current(clock.nowMs)]) {
      const made = await proof({ iat: clock.nowMs / 1000, claims: { nonce } });
      const refused = thrownBy(() => dpop.verify(made, REQUEST));
      expect(refused.code, String(nonce)).toBe('ERR_DPOP_NONCE_REQUIRED');
      expect(refused.message).toBe(
        'The DPoP proof nonce is not a current one of this API: use the one in its DPoP-Nonce header',
      );
      expect(refused.dpopNonce).toBe(dpop.currentNonce());
      expect(refused.dpopNonce).not.toBe(stale);
    }
  });

  it('checks the nonce last: a proof wrong otherwise is invalid_dpop_proof, with no DPoP-Nonce', async () => {
    const dpop = withNonce({ nowMs: NOW_MS });
    for (const changes of [
      { claims: { htu: `${ORIGIN}/other` } },
      { claims: { htm: 'POST' } },
      { iat: NOW_SEC - 3600 },
      { claims: { ath: 'x' } },
      { header: { typ: 'JWT' } },
      { signWith: generateSigningKey('ES256').privateKey },
    ]) {
      const made = await proof(changes);
      const refused = thrownBy(() => dpop.verify(made, REQUEST));
      expect(refused.code, JSON.stringify(changes)).toBe('ERR_DPOP_PROOF_INVALID');
      expect(refused.dpopNonce).toBeUndefined();
      expect(refused.headers).not.toHaveProperty('dpop-nonce');
    }
  });

  it('without dpop.nonce: no nonce handed out, and a nonce claim is ignored', async () => {
    const dpop = createDpopVerifier(RESOLVED, { now: () => NOW_MS, clockToleranceSec: 5 });
    expect(dpop.currentNonce()).toBeUndefined();
    expect(dpop.verify(withoutNonce, REQUEST).jkt).toBe(clientJkt);
    expect(dpop.verify(await proof({ claims: { nonce: 'anything' } }), REQUEST).jkt).toBe(clientJkt);
  });

  let withoutNonce: string;
  beforeAll(async () => {
    withoutNonce = await proof();
  });
});

/** A validator with DPoP nonces (lifetime 60 s) on a clock the test moves. */
function makeValidator(
  clock = { nowMs: NOW_MS },
  dpop: true | DpopOptions = { nonce: { secret: SECRET, lifetimeSec: 60 } },
): Validator {
  return createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwks: { keys: [issuerKey.publicJwk] },
    realm: 'api',
    now: () => clock.nowMs,
    dpop,
  });
}

/** An access token by the issuer's key bound to the client's key (`claims` changes it), valid 10 minutes. */
function accessToken(claims: Record<string, unknown> = {}): Promise<string> {
  const overrides = { exp: NOW_SEC + 600, cnf: { jkt: clientJkt }, ...claims };
  return signToken(issuerKey, accessTokenClaims({ iss: ISSUER, aud: AUDIENCE, nowSec: NOW_SEC }, overrides));
}

/** A DPoP request of GET /orders with the token and proof, as an adapter describes it. */
const dpopSource = (token: string, proof: string): TokenSource => ({
  method: 'GET',
  url: '/orders',
  origin: ORIGIN,
  headers: { authorization: `DPoP ${token}`, dpop: proof },
});

/** The client's proof of GET /orders at `nowMs` for `token`, with `nonce` unless undefined. */
const requestProof = (token: string, nowMs: number, nonce?: string, jti?: string) =>
  dpopProof(client, {
    htm: 'GET',
    htu: `${ORIGIN}/orders`,
    token,
    iat: Math.floor(nowMs / 1000),
    ...(jti === undefined ? {} : { jti }),
    ...(nonce === undefined ? {} : { claims: { nonce } }),
  });

describe('authenticateRequest with dpop.nonce', () => {
  it('answers a proof without a nonce 401 use_dpop_nonce in the DPoP challenge, with DPoP-Nonce; the retry passes', async () => {
    const validator = makeValidator();
    const token = await accessToken();
    const refused = await failure(
      authenticateRequest(validator, dpopSource(token, await requestProof(token, NOW_MS))),
    );
    expect(refused.code).toBe('ERR_DPOP_NONCE_REQUIRED');
    expect(refused.headers).toEqual({
      'www-authenticate': `Bearer realm="api", DPoP realm="api", error="use_dpop_nonce", error_description="${refused.description}", algs="${validator.options.dpop?.algorithms.join(' ')}"`,
      'dpop-nonce': validator.dpopNonce(),
    });
    const nonce = refused.headers['dpop-nonce'];
    const { auth } = await authenticateRequest(
      validator,
      dpopSource(token, await requestProof(token, NOW_MS, nonce)),
    );
    expect(auth?.claims.cnf).toEqual({ jkt: clientJkt });
  });

  it('puts it in the DPoP challenge alone under dpop.required', async () => {
    const validator = makeValidator(undefined, { required: true, nonce: true });
    const token = await accessToken();
    const refused = await failure(
      authenticateRequest(validator, dpopSource(token, await requestProof(token, NOW_MS))),
    );
    expect(refused.wwwAuthenticate).toMatch(/^DPoP realm="api", error="use_dpop_nonce", /);
    expect(refused.headers['dpop-nonce']).toBe(validator.dpopNonce());
  });

  it('refuses a nonce two lifetimes old with a new one; one lifetime old still passes', async () => {
    const clock = { nowMs: NOW_MS };
    const validator = makeValidator(clock);
    const token = await accessToken();
    const nonce = validator.dpopNonce() as string;
    clock.nowMs += 60_000;
    const oneOn = await authenticateRequest(
      validator,
      dpopSource(token, await requestProof(token, clock.nowMs, nonce)),
    );
    expect(oneOn.auth?.subject).toBe('user-1');
    clock.nowMs += 60_000;
    const refused = await failure(
      authenticateRequest(validator, dpopSource(token, await requestProof(token, clock.nowMs, nonce))),
    );
    expect(refused.code).toBe('ERR_DPOP_NONCE_REQUIRED');
    expect(refused.headers['dpop-nonce']).toBe(validator.dpopNonce());
    expect(refused.headers['dpop-nonce']).not.toBe(nonce);
  });

  it("accepts another validator's nonce when they share the secret, not when either made its own", async () => {
    const token = await accessToken();
    const [a, b] = [makeValidator(), makeValidator()];
    const fromA = a.dpopNonce() as string;
    expect(
      (await authenticateRequest(b, dpopSource(token, await requestProof(token, NOW_MS, fromA)))).auth,
    ).toBeDefined();
    const own = makeValidator(undefined, { nonce: true });
    const refused = await failure(
      authenticateRequest(own, dpopSource(token, await requestProof(token, NOW_MS, fromA))),
    );
    expect(refused.code).toBe('ERR_DPOP_NONCE_REQUIRED');
    expect(makeValidator(undefined, { nonce: true }).dpopNonce()).not.toBe(own.dpopNonce());
  });

  it('refuses for the nonce before the token is looked at, and does not spend the proof', async () => {
    const validator = makeValidator();
    const token = await accessToken();
    // A token that would fail (expired) is not reached: the answer is about the nonce.
    const expired = await accessToken({ exp: NOW_SEC - 60 });
    const early = await failure(
      authenticateRequest(validator, dpopSource(expired, await requestProof(expired, NOW_MS))),
    );
    expect(early.code).toBe('ERR_DPOP_NONCE_REQUIRED');
    // The refused proof's jti is not remembered: a proof with the same jti and the nonce passes once.
    const jti = 'the-same-jti';
    await failure(
      authenticateRequest(validator, dpopSource(token, await requestProof(token, NOW_MS, undefined, jti))),
    );
    const withNonce = await requestProof(token, NOW_MS, validator.dpopNonce(), jti);
    expect((await authenticateRequest(validator, dpopSource(token, withNonce))).auth).toBeDefined();
    const replay = await failure(authenticateRequest(validator, dpopSource(token, withNonce)));
    expect(replay.code).toBe('ERR_DPOP_PROOF_INVALID');
    expect(replay.description).toBe('The DPoP proof was used before');
    expect(replay.headers).not.toHaveProperty('dpop-nonce');
  });

  it('leaves Bearer requests alone: accepted without any nonce, refused without DPoP-Nonce', async () => {
    const validator = makeValidator();
    const plain = await accessToken({ cnf: undefined });
    const { auth } = await authenticateRequest(validator, { headers: { authorization: `Bearer ${plain}` } });
    expect(auth?.subject).toBe('user-1');
    const refused = await failure(
      authenticateRequest(validator, { headers: { authorization: 'Bearer x.y' } }),
    );
    expect(refused.headers).not.toHaveProperty('dpop-nonce');
  });
});

describe('validator.dpopNonce()', () => {
  it('is the nonce of the current window by the validator clock; undefined without dpop.nonce', () => {
    const clock = { nowMs: NOW_MS };
    const validator = makeValidator(clock);
    const nonce = validator.dpopNonce();
    expect(nonce).toMatch(NQCHARS);
    expect(validator.dpopNonce()).toBe(nonce);
    clock.nowMs += 60_000;
    expect(validator.dpopNonce()).not.toBe(nonce);
    expect(makeValidator(clock, true).dpopNonce()).toBeUndefined();
    expect(
      createValidator({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [] } }).dpopNonce(),
    ).toBeUndefined();
  });

  it('throws ERR_INTERNAL when the clock fails, as validate() would', () => {
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [] },
      now: () => Number.NaN,
      dpop: { nonce: true },
    });
    const error: TokenGuardError = thrownBy(() => validator.dpopNonce());
    expect(error.code).toBe('ERR_INTERNAL');
    expect(error.status).toBe(500);
  });
});

const OLD = 'the secret every instance has used so far, 32+ bytes';
const NEXT = 'the secret that replaces it on every instance, 32+ b';
const OTHER = 'a secret no instance of this API has ever been given';

const bytesOf = (secret: string) => new Redacted<Uint8Array>(Buffer.from(secret));
const noncesOf = (secret: string, previousSecrets: string[] = [], lifetimeSec = 60) =>
  createDpopNonces({ secret: bytesOf(secret), previousSecrets: previousSecrets.map(bytesOf), lifetimeSec });

describe('createDpopNonces with previousSecrets', () => {
  it("hands out the secret's nonces and accepts a previous secret's, for the current and the previous window", () => {
    const old = noncesOf(OLD);
    const rotated = noncesOf(NEXT, [OLD]);
    expect(rotated.current(NOW_MS)).toBe(noncesOf(NEXT).current(NOW_MS));
    expect(rotated.current(NOW_MS)).not.toBe(old.current(NOW_MS));
    const held = old.current(NOW_MS);
    expect(rotated.accepts(held, NOW_MS)).toBe(true);
    // One lifetime on: still the previous window's; two on: gone, whichever secret made it.
    expect(rotated.accepts(held, NOW_MS + 60_000)).toBe(true);
    expect(rotated.accepts(held, NOW_MS + 120_000)).toBe(false);
    expect(rotated.accepts(rotated.current(NOW_MS), NOW_MS + 60_000)).toBe(true);
    expect(rotated.accepts(rotated.current(NOW_MS), NOW_MS + 120_000)).toBe(false);
  });

  it('refuses the nonces of a secret it was not given, and of a previous secret once it is dropped', () => {
    const held = noncesOf(OLD).current(NOW_MS);
    expect(noncesOf(NEXT, [OTHER]).accepts(held, NOW_MS)).toBe(false);
    expect(noncesOf(NEXT).accepts(held, NOW_MS)).toBe(false);
    expect(noncesOf(NEXT, [OTHER, OLD]).accepts(held, NOW_MS)).toBe(true);
    expect(
      noncesOf(NEXT, [OLD]).accepts(`${held.slice(0, -1)}${held.endsWith('A') ? 'B' : 'A'}`, NOW_MS),
    ).toBe(false);
    for (const given of ['', 'é'.repeat(11), held.slice(1), `${held}x`, 42, undefined]) {
      expect(noncesOf(NEXT, [OLD]).accepts(given, NOW_MS), String(given)).toBe(false);
    }
  });
});

describe('the dpop.nonce.previousSecrets option', () => {
  const base = { issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [] } };
  const resolve = (nonce: unknown) =>
    resolveOptions({ ...base, dpop: { nonce } } as ValidatorOptions).dpop?.nonce;
  const rejection = (nonce: unknown) => typeErrorOf(() => resolve(nonce));

  it('defaults to none, and keeps copies of the secrets given, never printed', () => {
    expect(resolve({ secret: NEXT })?.previousSecrets).toEqual([]);
    const bytes = new Uint8Array(32).fill(9);
    const resolved = resolve({ secret: NEXT, previousSecrets: [OLD, bytes] });
    bytes.fill(0);
    expect(resolved?.previousSecrets.map((secret) => Buffer.from(secret.reveal()))).toEqual([
      Buffer.from(OLD),
      Buffer.alloc(32, 9),
    ]);
    expect(Object.isFrozen(resolved?.previousSecrets)).toBe(true);
    const options = resolveOptions({ ...base, dpop: { nonce: { secret: NEXT, previousSecrets: [OLD] } } });
    expect(JSON.stringify(options)).not.toContain(OLD);
    expect(inspect(options, { depth: 10 })).not.toContain(OLD);
  });

  it('refuses bad settings with a TypeError naming dpop.nonce.previousSecrets', () => {
    expect(rejection({ previousSecrets: [OLD] })).toBe(
      'tokenguard: invalid option "dpop.nonce.previousSecrets": needs "dpop.nonce.secret", the secret whose nonces are handed out',
    );
    expect(rejection({ secret: NEXT, previousSecrets: ['x'.repeat(31)] })).toBe(
      'tokenguard: invalid option "dpop.nonce.previousSecrets.0": must be at least 32 bytes',
    );
    // An unset environment variable in the list is named by its place.
    expect(rejection({ secret: NEXT, previousSecrets: [OLD, undefined] })).toMatch(
      /^tokenguard: invalid option "dpop\.nonce\.previousSecrets\.1": must be a string or a Uint8Array/,
    );
    expect(rejection({ secret: NEXT, previousSecrets: OLD })).toMatch(
      /^tokenguard: invalid option "dpop\.nonce\.previousSecrets": must be a list of secrets/,
    );
    expect(rejection({ secret: NEXT, previousSecrets: [OLD, OLD, OLD, OLD, OLD] })).toMatch(
      /^tokenguard: invalid option "dpop\.nonce\.previousSecrets": must list at most 4 secrets/,
    );
  });
});

/** An instance of the API: a validator whose DPoP nonces come from `nonce`. */
const instance = (nonce: NonNullable<DpopOptions['nonce']>): Validator => makeValidator(undefined, { nonce });

/** The client's DPoP request of GET /orders with `nonce` (a new proof each time). */
async function request(validator: Validator, nonce: string | undefined) {
  const token = await accessToken();
  return authenticateRequest(validator, dpopSource(token, await requestProof(token, NOW_MS, nonce)));
}

describe('rotating the nonce secret across instances, as the option documents', () => {
  it('accepts the nonce a client holds at every step, on every instance of this step and the one before', async () => {
    const before = instance({ secret: OLD });
    const first = instance({ secret: OLD, previousSecrets: [NEXT] });
    const second = instance({ secret: NEXT, previousSecrets: [OLD] });
    const after = instance({ secret: NEXT });
    // Step 1 still hands out the old secret's nonces.
    expect(first.dpopNonce()).toBe(before.dpopNonce());
    // While step 1 rolls out, instances before it and in it accept each other's nonces; likewise for
    // steps 1 and 2, and 2 and 3.
    for (const [a, b] of [
      [before, first],
      [first, second],
      [second, after],
    ] as const) {
      for (const [from, to] of [
        [a, b],
        [b, a],
      ] as const) {
        const { auth } = await request(to, from.dpopNonce());
        expect(auth?.claims.cnf).toEqual({ jkt: clientJkt });
      }
    }
  });

  it("refuses the old secret's nonce once no instance lists it, with the new secret's nonce to use", async () => {
    const after = instance({ secret: NEXT });
    const refused = await failure(request(after, instance({ secret: OLD }).dpopNonce()));
    expect(refused.code).toBe('ERR_DPOP_NONCE_REQUIRED');
    expect(refused.headers['dpop-nonce']).toBe(after.dpopNonce());
    expect(refused.headers['dpop-nonce']).toBe(
      instance({ secret: NEXT, previousSecrets: [OLD] }).dpopNonce(),
    );
    // Skipping step 1 refuses, for a while, what instances not yet updated hand out: why it exists.
    const skipped = await failure(request(instance({ secret: OLD }), after.dpopNonce()));
    expect(skipped.code).toBe('ERR_DPOP_NONCE_REQUIRED');
  });
});
