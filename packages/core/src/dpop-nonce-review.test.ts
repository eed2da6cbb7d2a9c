/**
 * Adversarial review of DPoP server nonces (RFC 9449 §8, §9, §11.1): what a client, an attacker or an
 * operator's mistake does to `dpop.nonce`. A validator with static keys on a clock the test moves;
 * tokens signed by the test's issuer key and bound to the test client's key; proofs signed with
 * node:crypto and jose (test/support), never with the code under test.
 */
import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { type DpopClient, dpopClient } from '../../../test/support/dpop.js';
import {
  accessTokenClaims,
  generateSigningKey,
  type SigningKey,
  signToken,
} from '../../../test/support/keys.js';
import { failure, thrownBy, typeErrorOf } from '../../../test/support/rejections.js';
import { TokenGuardError } from './errors.js';
import type { DpopOptions } from './options.js';
import { authenticateRequest, type TokenSource } from './transport.js';
import { createValidator, type Validator } from './validator.js';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://api.test';
const ORIGIN = 'https://api.test';
const LIFETIME_SEC = 60;
const LIFETIME_MS = LIFETIME_SEC * 1000;
/** The first instant of a nonce window (a multiple of the lifetime), so the tests can step across its edges. */
const WINDOW_START_MS = 28_333_335 * LIFETIME_MS;
const NOW_SEC = WINDOW_START_MS / 1000;
const SECRET = 'the nonce secret of this review, 32 bytes or more';
/** RFC 9449 §8.1: `nonce = 1*NQCHAR`, NQCHAR = %x21 / %x23-5B / %x5D-7E. */
const NQCHARS = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

let issuerKey: SigningKey;
let client: DpopClient;
let token: string;

beforeAll(async () => {
  issuerKey = generateSigningKey('ES256', { kid: 'as-1' });
  client = dpopClient();
  token = await signToken(
    issuerKey,
    accessTokenClaims(
      { iss: ISSUER, aud: AUDIENCE, nowSec: NOW_SEC },
      { exp: NOW_SEC + 24 * 3600, cnf: { jkt: client.jkt } },
    ),
  );
});

/** A clock the test moves, in milliseconds. */
interface Clock {
  nowMs: number;
  /** How many times the validator read it. */
  reads: number;
}

const clockAt = (nowMs = WINDOW_START_MS): Clock => ({ nowMs, reads: 0 });

function makeValidator(clock: Clock, dpop: true | DpopOptions = nonceOptions()): Validator {
  return createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwks: { keys: [issuerKey.publicJwk] },
    realm: 'api',
    now: () => {
      clock.reads++;
      return clock.nowMs;
    },
    dpop,
  });
}

function nonceOptions(secret: string | Uint8Array = SECRET, lifetimeSec = LIFETIME_SEC): DpopOptions {
  return { origin: ORIGIN, nonce: { secret, lifetimeSec } };
}

/** A DPoP request of GET /orders. */
const dpopSource = (proof: string): TokenSource => ({
  method: 'GET',
  url: '/orders',
  headers: { authorization: `DPoP ${token}`, dpop: proof },
});

/** The client's proof of GET /orders at `nowMs`, with the claims given (a `nonce` among them). */
const proofAt = (nowMs: number, claims: Record<string, unknown> = {}, jti?: string) =>
  client.proof({
    htm: 'GET',
    htu: `${ORIGIN}/orders`,
    token,
    iat: Math.floor(nowMs / 1000),
    claims,
    ...(jti === undefined ? {} : { jti }),
  });

/** Whether the validator admits a proof made at the clock's instant with `nonce`. */
async function admits(validator: Validator, clock: Clock, nonce: unknown): Promise<boolean> {
  try {
    await authenticateRequest(validator, dpopSource(await proofAt(clock.nowMs, { nonce })));
    return true;
  } catch (error) {
    if (error instanceof TokenGuardError && error.code === 'ERR_DPOP_NONCE_REQUIRED') return false;
    throw error;
  }
}

describe('dpop.nonce windows', () => {
  it('accepts a nonce handed out in the last millisecond of a window until the end of the next one, not after', async () => {
    const clock = clockAt(WINDOW_START_MS + LIFETIME_MS - 1);
    const validator = makeValidator(clock);
    const lastMs = validator.dpopNonce();
    expect(lastMs).toMatch(NQCHARS);
    clock.nowMs = WINDOW_START_MS + LIFETIME_MS; // the next window's first millisecond
    expect(validator.dpopNonce()).not.toBe(lastMs);
    expect(await admits(validator, clock, lastMs)).toBe(true);
    clock.nowMs = WINDOW_START_MS + 2 * LIFETIME_MS - 1; // its last
    expect(await admits(validator, clock, lastMs)).toBe(true);
    clock.nowMs = WINDOW_START_MS + 2 * LIFETIME_MS; // two windows on
    expect(await admits(validator, clock, lastMs)).toBe(false);
  });

  it('refuses a nonce from the future (an instance whose clock is a window ahead) with its own current one', async () => {
    const behind = clockAt(WINDOW_START_MS - 1);
    const ahead = clockAt(WINDOW_START_MS + 1000);
    const lagging = makeValidator(behind);
    const leading = makeValidator(ahead);
    const fromTheFuture = leading.dpopNonce();
    const refused = await failure(
      authenticateRequest(lagging, dpopSource(await proofAt(behind.nowMs, { nonce: fromTheFuture }))),
    );
    expect(refused.code).toBe('ERR_DPOP_NONCE_REQUIRED');
    expect(refused.headers['dpop-nonce']).toBe(lagging.dpopNonce());
    // The lagging instance's nonce is the leading one's previous: a client sent there next passes.
    expect(await admits(leading, ahead, refused.headers['dpop-nonce'])).toBe(true);
  });

  it('keeps instances that share the secret but not the lifetime apart', async () => {
    const clock = clockAt();
    const other = makeValidator(clockAt(), nonceOptions(SECRET, LIFETIME_SEC * 2));
    expect(await admits(makeValidator(clock), clock, other.dpopNonce())).toBe(false);
  });

  it('runs with the lifetime bounds, 10 s and 3600 s, each nonce good for one to two lifetimes', async () => {
    for (const lifetimeSec of [10, 3600]) {
      const start = Math.ceil(WINDOW_START_MS / (lifetimeSec * 1000)) * lifetimeSec * 1000;
      const clock = clockAt(start);
      const validator = makeValidator(clock, nonceOptions(SECRET, lifetimeSec));
      const nonce = validator.dpopNonce();
      clock.nowMs = start + 2 * lifetimeSec * 1000 - 1;
      expect(await admits(validator, clock, nonce), `${lifetimeSec} s, last ms`).toBe(true);
      clock.nowMs += 1;
      expect(await admits(validator, clock, nonce), `${lifetimeSec} s, two on`).toBe(false);
    }
  });
});

describe('dpop.nonce claims an attacker chooses', () => {
  const hostile: readonly [string, unknown][] = [
    ['a forged nonce of the right shape', 'A'.repeat(22)],
    ['the current nonce with CR LF and a header after it', 'CURRENT\r\nx-injected: yes'],
    ['a nonce of 5,600 characters (a proof near its 8192 bound)', 'n'.repeat(5600)],
    ['a number', 1234],
    ['true', true],
    ['null', null],
    ['an object', { nonce: 'CURRENT' }],
    ['an array holding the nonce', ['CURRENT']],
    ['the nonce in upper case', 'UPPER'],
  ];

  it.each(hostile)(
    'refuses %s with 401 use_dpop_nonce, the current nonce alone in DPoP-Nonce',
    async (_, value) => {
      const clock = clockAt();
      const validator = makeValidator(clock);
      const current = validator.dpopNonce() as string;
      const replaced = JSON.parse(
        JSON.stringify(value)
          .replaceAll('CURRENT', current)
          .replace('"UPPER"', JSON.stringify(current.toUpperCase())),
      ) as unknown;
      // An upper-cased nonce that happens to be unchanged would be the nonce itself.
      if (replaced === current) return;
      const proof = await proofAt(clock.nowMs, { nonce: replaced });
      expect(proof.length).toBeLessThanOrEqual(8192);
      const refused = await failure(authenticateRequest(validator, dpopSource(proof)));
      expect(refused).toMatchObject({
        code: 'ERR_DPOP_NONCE_REQUIRED',
        status: 401,
        oauthError: 'use_dpop_nonce',
      });
      expect(refused.headers['dpop-nonce']).toBe(current);
      for (const [name, headerValue] of Object.entries(refused.headers)) {
        expect(headerValue, name).not.toMatch(/[\r\n]/);
      }
      expect(refused.headers['www-authenticate']).not.toContain('x-injected');
      expect(refused.description).not.toContain('nnnn');
    },
  );

  it('does not spend the jti of a proof refused for its nonce, also after several refusals', async () => {
    const clock = clockAt();
    const validator = makeValidator(clock);
    const jti = 'one-jti-many-tries';
    for (const nonce of [undefined, 'wrong', 42]) {
      const refused = await failure(
        authenticateRequest(validator, dpopSource(await proofAt(clock.nowMs, { nonce }, jti))),
      );
      expect(refused.code).toBe('ERR_DPOP_NONCE_REQUIRED');
    }
    const good = await proofAt(clock.nowMs, { nonce: validator.dpopNonce() }, jti);
    expect((await authenticateRequest(validator, dpopSource(good))).auth?.claims.cnf).toEqual({
      jkt: client.jkt,
    });
    const replay = await failure(authenticateRequest(validator, dpopSource(good)));
    expect(replay.description).toBe('The DPoP proof was used before');
  });

  it('keeps a hand-made dpopNonce outside NQCHAR out of the headers', () => {
    for (const dpopNonce of ['a\r\nb', 'with space', 'quote"d', 'back\\slash', '', 'é']) {
      const error = new TokenGuardError('ERR_DPOP_NONCE_REQUIRED', { dpopNonce });
      expect(error.headers, JSON.stringify(dpopNonce)).not.toHaveProperty('dpop-nonce');
    }
  });
});

describe('the dpop.nonce secret', () => {
  const base = { issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [] } };

  it('never shows in validator.options, JSON, util.inspect or the option errors', () => {
    const validator = makeValidator(clockAt());
    expect(JSON.stringify(validator.options)).not.toContain('nonce secret');
    expect(inspect(validator, { depth: 20, showHidden: true })).not.toContain('nonce secret');
    expect(inspect(validator.options, { depth: 20, showHidden: true, getters: true })).not.toContain(
      'nonce secret',
    );
    const bytes = Buffer.from(SECRET).toString('hex');
    expect(inspect(validator.options, { depth: 20, showHidden: true })).not.toContain(bytes.slice(0, 16));
    for (const nonce of [
      SECRET, // the secret given as the nonce option itself
      { secret: SECRET.slice(0, 31) },
      { secret: [SECRET] },
      { secret: { value: SECRET } },
      { secrett: SECRET },
      { secret: SECRET, lifetimeSec: SECRET },
    ]) {
      const message = typeErrorOf(() => createValidator({ ...base, dpop: { nonce } } as never));
      expect(message, JSON.stringify(nonce)).toMatch(/^tokenguard: invalid option "dpop\.nonce/);
      expect(message).not.toContain('nonce secret');
      expect(message).not.toContain(SECRET.slice(0, 31));
    }
  });

  it('keeps its nonces when the Uint8Array it was given changes afterwards', async () => {
    const given = new Uint8Array(Buffer.from(SECRET));
    const clock = clockAt();
    const validator = makeValidator(clock, nonceOptions(given));
    given.fill(0);
    clock.nowMs += LIFETIME_MS; // a new window, a new HMAC
    const twin = makeValidator(clockAt(clock.nowMs));
    expect(validator.dpopNonce()).toBe(twin.dpopNonce());
    expect(await admits(validator, clock, twin.dpopNonce())).toBe(true);
  });

  it('keeps its nonces when the bytes validator.options reveals are changed afterwards', async () => {
    const clock = clockAt();
    const validator = makeValidator(clock);
    const revealed = validator.options.dpop?.nonce?.secret?.reveal();
    expect(revealed).toBeInstanceOf(Uint8Array);
    revealed?.fill(0);
    clock.nowMs += LIFETIME_MS; // a new window, a new HMAC
    // Same secret, untouched: the nonce the validator must still hand out and accept.
    const twin = makeValidator(clockAt(clock.nowMs));
    expect(validator.dpopNonce()).toBe(twin.dpopNonce());
    expect(await admits(validator, clock, twin.dpopNonce())).toBe(true);
  });

  it("holds the secret's bytes in memory of its own, not in a slab of Node's shared Buffer pool", () => {
    for (const secret of [SECRET, new Uint8Array(Buffer.from(SECRET))]) {
      const validator = makeValidator(clockAt(), nonceOptions(secret));
      const revealed = validator.options.dpop?.nonce?.secret?.reveal() as Uint8Array;
      // A pooled Buffer's .buffer is the 8 KiB slab other small Buffers share: their .buffer holds it too.
      expect(revealed.buffer.byteLength, typeof secret).toBe(revealed.byteLength);
    }
  });

  it('refuses a secret given as undefined (an unset environment variable) instead of making one up', () => {
    // The README's example: `nonce: { secret: process.env.DPOP_NONCE_SECRET }`. Unset, every instance
    // would silently make its own secret and refuse the others' nonces.
    const fromEnvironment = process.env.TOKENGUARD_REVIEW_UNSET_NONCE_SECRET;
    expect(fromEnvironment).toBeUndefined();
    expect(
      typeErrorOf(() => createValidator({ ...base, dpop: { nonce: { secret: fromEnvironment } } })),
    ).toMatch(/^tokenguard: invalid option "dpop\.nonce\.secret"/);
  });
});

describe('Bearer requests with dpop.nonce', () => {
  it('read the clock no more often than with DPoP alone, and never hand out a nonce', async () => {
    const plain = await signToken(
      issuerKey,
      accessTokenClaims({ iss: ISSUER, aud: AUDIENCE, nowSec: NOW_SEC }, { exp: NOW_SEC + 600 }),
    );
    const reads: number[] = [];
    for (const dpop of [{ origin: ORIGIN }, nonceOptions()] as const) {
      const clock = clockAt();
      const validator = makeValidator(clock, dpop);
      const bearer = { headers: { authorization: `Bearer ${plain}` } };
      await authenticateRequest(validator, bearer);
      await authenticateRequest(validator, bearer); // from the cache
      const refused = await failure(
        authenticateRequest(validator, { headers: { authorization: 'Bearer x.y.z' } }),
      );
      expect(refused.headers).not.toHaveProperty('dpop-nonce');
      reads.push(clock.reads);
    }
    expect(reads[1]).toBe(reads[0]);
  });

  it('under dpop.required are answered as no credentials, with a DPoP challenge and no DPoP-Nonce', async () => {
    const validator = makeValidator(clockAt(), { ...nonceOptions(), required: true });
    const refused = await failure(
      authenticateRequest(validator, { headers: { authorization: `Bearer ${token}` } }),
    );
    expect(refused.code).toBe('ERR_TOKEN_MISSING');
    expect(refused.wwwAuthenticate).toMatch(/^DPoP realm="api", algs="/);
    expect(refused.headers).not.toHaveProperty('dpop-nonce');
  });
});

describe('a replaced validate (an app wrapper) with dpop.nonce', () => {
  it('is not called for a proof refused for its nonce; with the nonce it is, and the proof reaches the real validate', async () => {
    const clock = clockAt();
    const validator = makeValidator(clock);
    const real = validator.validate;
    const seen: (string | null | undefined)[] = [];
    validator.validate = (value, requirements) => {
      seen.push(value);
      return real(value, requirements);
    };
    const refused = await failure(authenticateRequest(validator, dpopSource(await proofAt(clock.nowMs))));
    expect(refused.code).toBe('ERR_DPOP_NONCE_REQUIRED');
    expect(refused.wwwAuthenticate).toContain('DPoP realm="api", error="use_dpop_nonce"');
    expect(seen).toEqual([]);
    const nonce = refused.headers['dpop-nonce'];
    const { auth } = await authenticateRequest(validator, dpopSource(await proofAt(clock.nowMs, { nonce })));
    expect(auth?.claims.cnf).toEqual({ jkt: client.jkt });
    expect(seen).toEqual([token]);
  });

  it('refuses, through the wrapper, a bound token sent as Bearer: the nonce is no way round the binding', async () => {
    const clock = clockAt();
    const validator = makeValidator(clock);
    const real = validator.validate;
    validator.validate = (value, requirements) => real(value, requirements);
    const refused = await failure(
      authenticateRequest(validator, {
        headers: {
          authorization: `Bearer ${token}`,
          dpop: await proofAt(clock.nowMs, { nonce: validator.dpopNonce() }),
        },
      }),
    );
    expect(refused.code).toBe('ERR_TOKEN_BOUND');
    expect(refused.headers).not.toHaveProperty('dpop-nonce');
  });

  it("refuses a bound token sent as Bearer after a wrapper that remembers validate's answers by token saw it with its proof", async () => {
    // A wrapper written when validate(token) was a function of the token alone: it caches answers.
    // Since 1c9c6d9 the proof reaches the real validate unseen, and the answer it gives with the
    // proof is the one the wrapper then hands a Bearer request for the same (stolen) token.
    const clock = clockAt();
    const validator = makeValidator(clock);
    const real = validator.validate;
    const answers = new Map<unknown, ReturnType<Validator['validate']>>();
    validator.validate = (value, requirements) => {
      const known = answers.get(value);
      if (known !== undefined) return known;
      const answer = real(value, requirements);
      answers.set(value, answer);
      answer.catch(() => answers.delete(value));
      return answer;
    };
    const proof = await proofAt(clock.nowMs, { nonce: validator.dpopNonce() });
    expect((await authenticateRequest(validator, dpopSource(proof))).auth?.claims.cnf).toEqual({
      jkt: client.jkt,
    });
    const stolen = await failure(
      authenticateRequest(validator, { headers: { authorization: `Bearer ${token}` } }),
    );
    expect(stolen.code).toBe('ERR_TOKEN_BOUND');
  });

  it('refuses a bound token sent as Bearer while a wrapper shares one validation among concurrent requests for it', async () => {
    const clock = clockAt();
    const validator = makeValidator(clock);
    const real = validator.validate;
    const inFlight = new Map<unknown, ReturnType<Validator['validate']>>();
    validator.validate = (value, requirements) => {
      const pending = inFlight.get(value);
      if (pending !== undefined) return pending;
      const answer = real(value, requirements).finally(() => inFlight.delete(value));
      inFlight.set(value, answer);
      return answer;
    };
    const proof = await proofAt(clock.nowMs, { nonce: validator.dpopNonce() });
    const [owner, thief] = await Promise.allSettled([
      authenticateRequest(validator, dpopSource(proof)),
      authenticateRequest(validator, { headers: { authorization: `Bearer ${token}` } }),
    ]);
    expect(owner.status).toBe('fulfilled');
    expect(thief.status).toBe('rejected');
    expect(thief.status === 'rejected' && (thief.reason as TokenGuardError).code).toBe('ERR_TOKEN_BOUND');
  });

  it('throws ERR_INTERNAL, not the secret, when dpopNonce() meets a failing clock', () => {
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [] },
      now: () => {
        throw new Error('clock down');
      },
      dpop: nonceOptions(),
    });
    const error = thrownBy(() => validator.dpopNonce());
    expect(error.code).toBe('ERR_INTERNAL');
    expect(inspect(error, { depth: 10 })).not.toContain('nonce secret');
  });
});
