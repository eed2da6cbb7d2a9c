import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { dpopProof } from '../../../test/support/dpop.js';
import {
  AUDIENCE,
  ISSUER,
  NOW_SEC,
  ORIGIN,
  RedisLikeStore,
  type ReplayWorld,
  replayInstance,
  replayProof,
  replayRequest,
  replayWorld,
} from './__fixtures__/dpop-replay-world.js';
import { replayStoreKey } from './dpop-replay.js';
import { TokenGuardError } from './errors.js';
import type { DpopOptions, DpopReplayStore } from './options.js';
import { authenticateRequest, type TokenSource } from './transport.js';
import { createValidator, type Validator } from './validator.js';

let world: ReplayWorld;
beforeAll(async () => {
  world = await replayWorld();
});

/** An instance of the API (a validator) with `dpop` settings, on a clock the test may move. */
const instance = (dpop: DpopOptions, clock?: { nowMs: number }): Validator =>
  replayInstance(world, dpop, clock);
const proof = (jti?: string): Promise<string> => replayProof(world, jti === undefined ? {} : { jti });
const request = (dpop: string): TokenSource => replayRequest(dpop, world.token);

async function refusal(validator: Validator, source: TokenSource): Promise<TokenGuardError> {
  try {
    await authenticateRequest(validator, source);
  } catch (error) {
    expect(error).toBeInstanceOf(TokenGuardError);
    return error as TokenGuardError;
  }
  throw new Error('the request was accepted');
}

describe('dpop.replayStore: a proof spent on one instance is refused on the others', () => {
  it('accepts a proof once across two instances sharing a store, and refuses it on the second', async () => {
    const store = new RedisLikeStore();
    const a = instance({ replayStore: store });
    const b = instance({ replayStore: store });
    const dpop = await proof();
    const { auth } = await authenticateRequest(a, request(dpop));
    expect(auth?.claims.cnf).toEqual({ jkt: world.clientJkt });
    const error = await refusal(b, request(dpop));
    expect(error.code).toBe('ERR_DPOP_PROOF_INVALID');
    expect(error.status).toBe(401);
    expect(error.description).toBe('The DPoP proof was used before');
    expect(error.wwwAuthenticate).toContain('DPoP realm="api", error="invalid_dpop_proof"');
    expect(store.calls).toHaveLength(2);
  });

  it('without a store, the second instance accepts the replayed proof (what the store is for)', async () => {
    const a = instance({});
    const b = instance({});
    const dpop = await proof();
    await authenticateRequest(a, request(dpop));
    const { auth } = await authenticateRequest(b, request(dpop));
    expect(auth?.subject).toBe('user-1');
  });

  it('gives the store the SHA-256 of thumbprint and jti, and the instant the proof expires anyway plus clockToleranceSec and replayStoreTimeoutMs', async () => {
    const store = new RedisLikeStore();
    const jti = 'a jti with spaces, \u00e9 and "quotes"'.padEnd(200, '!');
    const dpop = await proof(jti);
    await authenticateRequest(instance({ replayStore: store }), request(dpop));
    const expected = createHash('sha256').update(`${world.clientJkt}.${jti}`).digest('base64url');
    expect(store.calls.map(({ key, expiresAtMs }) => ({ key, expiresAtMs }))).toEqual([
      { key: expected, expiresAtMs: (NOW_SEC + 60 + 5 + 5) * 1000 + 1000 },
    ]);
    expect(expected).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(replayStoreKey(`${world.clientJkt}.${jti}`)).toBe(expected);
    expect(decodeJwt(dpop).jti).toBe(jti);
  });

  it('refuses a replay on the same instance from its own cache, without asking the store again', async () => {
    const store = new RedisLikeStore();
    const a = instance({ replayStore: store });
    const dpop = await proof();
    await authenticateRequest(a, request(dpop));
    const error = await refusal(a, request(dpop));
    expect(error.description).toBe('The DPoP proof was used before');
    expect(store.calls).toHaveLength(1);
  });

  it('accepts exactly one of the same proof sent to two instances at once', async () => {
    const store = new RedisLikeStore();
    const dpop = await proof();
    const results = await Promise.allSettled([
      authenticateRequest(instance({ replayStore: store }), request(dpop)),
      authenticateRequest(instance({ replayStore: store }), request(dpop)),
    ]);
    expect(results.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
  });

  it('is not asked about a proof refused for anything else (its token, its nonce)', async () => {
    const store = new RedisLikeStore();
    const expiredClock = { nowMs: (NOW_SEC + 700) * 1000 };
    const expired = instance({ replayStore: store, maxProofAgeSec: 3600 }, expiredClock);
    const late = await dpopProof(world.client, {
      htm: 'GET',
      htu: `${ORIGIN}/orders`,
      iat: NOW_SEC + 700,
      token: world.token,
    });
    expect((await refusal(expired, request(late))).code).toBe('ERR_TOKEN_EXPIRED');
    const withNonce = instance({ replayStore: store, nonce: true });
    expect((await refusal(withNonce, request(await proof()))).code).toBe('ERR_DPOP_NONCE_REQUIRED');
    expect(store.calls).toEqual([]);
  });

  it('takes a store that answers synchronously', async () => {
    const seen = new Set<string>();
    const store: DpopReplayStore = {
      markUsed(key) {
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      },
    };
    const dpop = await proof();
    await authenticateRequest(instance({ replayStore: store }), request(dpop));
    expect((await refusal(instance({ replayStore: store }), request(dpop))).description).toBe(
      'The DPoP proof was used before',
    );
  });
});

describe('dpop.replayStore: a store that fails closes, with a 503 that blames the server', () => {
  async function expectUnavailable(store: DpopReplayStore, timeoutMs?: number): Promise<TokenGuardError> {
    const validator = instance({
      replayStore: store,
      ...(timeoutMs === undefined ? {} : { replayStoreTimeoutMs: timeoutMs }),
    });
    const error = await refusal(validator, request(await proof()));
    expect(error.code).toBe('ERR_DPOP_REPLAY_UNAVAILABLE');
    expect(error.status).toBe(503);
    expect(error.retryAfterSec).toBe(1);
    expect(error.headers).toEqual({ 'retry-after': '1' });
    expect(error.wwwAuthenticate).toBeUndefined();
    expect(error.message).not.toContain(world.token);
    return error;
  }

  it('a store that throws', async () => {
    const cause = new Error('ECONNREFUSED 127.0.0.1:6379');
    const error = await expectUnavailable({
      markUsed() {
        throw cause;
      },
    });
    expect(error.cause).toBe(cause);
    expect(error.message).toBe('The DPoP replay store failed: whether this proof was used before is unknown');
  });

  it('a store that rejects', async () => {
    const cause = new Error('READONLY');
    const error = await expectUnavailable({ markUsed: () => Promise.reject(cause) });
    expect(error.cause).toBe(cause);
  });

  it('a store that never answers, after replayStoreTimeoutMs', async () => {
    const started = performance.now();
    const error = await expectUnavailable({ markUsed: () => new Promise<boolean>(() => {}) }, 50);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(error.message).toBe(
      'The DPoP replay store did not answer in 50 ms: whether this proof was used before is unknown',
    );
  });

  it('a store that answers something other than true or false is a 500 naming the answer', async () => {
    for (const [answer, named] of [
      ['OK', 'a string ("OK")'],
      [null, 'null'],
      [1, '1'],
      [undefined, 'undefined'],
      [() => true, 'a function'],
    ] as const) {
      const validator = instance({ replayStore: { markUsed: () => Promise.resolve(answer as never) } });
      const error = await refusal(validator, request(await proof()));
      expect(error.code).toBe('ERR_INTERNAL');
      expect(error.status).toBe(500);
      expect(String((error.cause as Error).message)).toContain(`it returned ${named}`);
    }
  });

  it('a proof refused because the store failed may come again, and the store is asked again then', async () => {
    let up = false;
    const store = new RedisLikeStore();
    const flaky: DpopReplayStore = {
      markUsed: (key, expiresAtMs) =>
        up ? store.markUsed(key, expiresAtMs) : Promise.reject(new Error('down')),
    };
    const a = instance({ replayStore: flaky });
    const dpop = await proof();
    expect((await refusal(a, request(dpop))).code).toBe('ERR_DPOP_REPLAY_UNAVAILABLE');
    up = true;
    // The client obeys Retry-After with the same request: the store, which recorded nothing, takes it.
    const { auth } = await authenticateRequest(a, request(dpop));
    expect(auth?.subject).toBe('user-1');
    expect(store.calls).toHaveLength(1);
    // Accepted now, it is spent: here from the instance's own cache, elsewhere from the store.
    expect((await refusal(a, request(dpop))).description).toBe('The DPoP proof was used before');
    expect((await refusal(instance({ replayStore: flaky }), request(dpop))).description).toBe(
      'The DPoP proof was used before',
    );
    expect(store.calls).toHaveLength(2);
  });

  it('a proof the store found stays refused on this instance without asking again', async () => {
    const store = new RedisLikeStore();
    const dpop = await proof();
    await authenticateRequest(instance({ replayStore: store }), request(dpop));
    const b = instance({ replayStore: store });
    expect((await refusal(b, request(dpop))).description).toBe('The DPoP proof was used before');
    expect((await refusal(b, request(dpop))).description).toBe('The DPoP proof was used before');
    expect(store.calls).toHaveLength(2);
  });

  it('a proof whose store answer was not true or false may come again too', async () => {
    let answer: unknown = 'OK';
    const validator = instance({ replayStore: { markUsed: () => Promise.resolve(answer as boolean) } });
    const dpop = await proof();
    expect((await refusal(validator, request(dpop))).code).toBe('ERR_INTERNAL');
    answer = true;
    const { auth } = await authenticateRequest(validator, request(dpop));
    expect(auth?.subject).toBe('user-1');
  });
});

describe('dpop.replayStore options', () => {
  const base = { issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [] } };

  it.each([
    [
      { replayStore: {} },
      /"dpop.replayStore": must be an object with a markUsed\(key, expiresAtMs\) function/,
    ],
    [{ replayStore: () => true }, /"dpop.replayStore": must be an object with a markUsed/],
    [{ replayStore: { markUsed: true } }, /"dpop.replayStore": must be an object with a markUsed/],
    [{ replayStore: new RedisLikeStore(), replayStoreTimeoutMs: 5 }, /"dpop.replayStoreTimeoutMs"/],
    [{ replayStore: new RedisLikeStore(), replayStoreTimeoutMs: 30_001 }, /"dpop.replayStoreTimeoutMs"/],
    [{ replayStoreTimeoutMs: 500 }, /"dpop.replayStoreTimeoutMs": needs "dpop.replayStore"/],
  ])('refuses %o with a TypeError naming the option', (dpop, message) => {
    expect(() => createValidator({ ...base, dpop: dpop as DpopOptions })).toThrow(TypeError);
    expect(() => createValidator({ ...base, dpop: dpop as DpopOptions })).toThrow(message);
  });

  it('keeps the store given (a class instance, its methods called on it) and defaults the timeout to 1000 ms', async () => {
    const store = new RedisLikeStore();
    const validator = instance({ replayStore: store });
    expect(validator.options.dpop?.replayStore).toBe(store);
    expect(validator.options.dpop?.replayStoreTimeoutMs).toBe(1000);
    await authenticateRequest(validator, request(await proof()));
    expect(store.entries.size).toBe(1);
  });
});

describe('validator.state().dpop: the replay cache and the replay store', () => {
  it('shows the replay cache without a store, and nothing without dpop', async () => {
    const validator = instance({ replayCacheMaxEntries: 500 });
    expect(validator.state().dpop).toEqual({ replayCache: { entries: 0, maxEntries: 500 } });
    await authenticateRequest(validator, request(await proof()));
    expect(validator.state().dpop).toEqual({ replayCache: { entries: 1, maxEntries: 500 } });
    const bearerOnly = createValidator({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [] } });
    expect(bearerOnly.state().dpop).toBeUndefined();
  });

  it("counts the store's answers: recorded, replays, failures (with the last one's cause and time)", async () => {
    let down: Error | undefined;
    const store = new RedisLikeStore();
    const flaky: DpopReplayStore = {
      markUsed: (key, expiresAtMs) => (down ? Promise.reject(down) : store.markUsed(key, expiresAtMs)),
    };
    const clock = { nowMs: NOW_SEC * 1000 };
    const a = instance({ replayStore: flaky }, clock);
    const b = instance({ replayStore: flaky, replayStoreTimeoutMs: 50 }, clock);
    const fresh = {
      requests: 0,
      replays: 0,
      failures: 0,
      consecutiveFailures: 0,
      lastError: undefined,
      lastFailureAt: undefined,
    };
    expect(b.state().dpop?.replayStore).toEqual(fresh);

    const dpop = await proof();
    await authenticateRequest(a, request(dpop));
    await refusal(b, request(dpop)); // a replay the store found
    expect(b.state().dpop?.replayStore).toEqual({ ...fresh, requests: 1, replays: 1 });

    down = new Error('connect ECONNREFUSED 127.0.0.1:6379');
    clock.nowMs += 1000;
    await refusal(b, request(await proof()));
    await refusal(b, request(await proof()));
    const failing = { requests: 3, replays: 1, failures: 2, consecutiveFailures: 2 };
    expect(b.state().dpop?.replayStore).toEqual({
      ...failing,
      lastError: 'connect ECONNREFUSED 127.0.0.1:6379',
      lastFailureAt: (NOW_SEC + 1) * 1000,
    });

    down = undefined;
    await authenticateRequest(b, request(await proof()));
    expect(b.state().dpop?.replayStore).toMatchObject({
      requests: 4,
      failures: 2,
      consecutiveFailures: 0,
      lastError: 'connect ECONNREFUSED 127.0.0.1:6379',
    });
    expect(b.state().dpop?.replayCache.entries).toBe(2); // the replay and the last proof; failed ones forgotten
  });

  it('names a late answer and an answer neither true nor false, and gives a copy', async () => {
    let answer: Promise<unknown> = new Promise(() => {});
    const validator = instance({
      replayStore: { markUsed: () => answer as Promise<boolean> },
      replayStoreTimeoutMs: 20,
    });
    await refusal(validator, request(await proof()));
    expect(validator.state().dpop?.replayStore?.lastError).toBe(
      'The DPoP replay store did not answer in 20 ms: whether this proof was used before is unknown',
    );
    answer = Promise.resolve('OK');
    await refusal(validator, request(await proof()));
    const state = validator.state().dpop?.replayStore;
    expect(state?.lastError).toContain('it returned a string ("OK")');
    expect(state?.failures).toBe(2);
    if (state !== undefined) state.failures = 0;
    expect(validator.state().dpop?.replayStore?.failures).toBe(2);
  });
});
