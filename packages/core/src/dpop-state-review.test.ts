// Adversarial review of c4a4d4b (validator.state().dpop). "defects" failed on c4a4d4b (fixed since),
// each named "was a defect: ..."; "holds" pins the counting paths the review checked and found right.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Clock,
  NOW_SEC,
  RedisLikeStore,
  type ReplayWorld,
  replayInstance,
  replayProof,
  replayRequest,
  replayWorld,
} from './__fixtures__/dpop-replay-world.js';
import { TokenGuardError } from './errors.js';
import type { DpopOptions, DpopReplayStore, ValidatorOptions } from './options.js';
import { authenticateRequest, type TokenSource } from './transport.js';
import type { Validator } from './validator.js';

let world: ReplayWorld;
beforeAll(async () => {
  world = await replayWorld();
});

const instance = (
  dpop: DpopOptions,
  clock?: Clock | (() => number),
  more?: Partial<ValidatorOptions>,
): Validator => replayInstance(world, dpop, clock, more);
const proof = (jti?: string): Promise<string> => replayProof(world, jti === undefined ? {} : { jti });
const request = (dpop: string): TokenSource => replayRequest(dpop, world.token);

/** 'accepted', or `code status` of the refusal (anything not a TokenGuardError named as such). */
function outcome(validator: Validator, source: TokenSource): Promise<string> {
  return authenticateRequest(validator, source).then(
    () => 'accepted',
    (error: unknown) =>
      error instanceof TokenGuardError
        ? `${error.code} ${error.status}`
        : `not a TokenGuardError: ${String(error)}`,
  );
}

/** A store that fails with `cause` (rejecting, or throwing with `sync`) until `up` is set. */
function failingWith(cause: () => unknown, sync = false): DpopReplayStore & { up: boolean } {
  const healthy = new RedisLikeStore();
  const store = {
    up: false,
    markUsed(key: string, expiresAtMs: number): Promise<boolean> {
      if (store.up) return healthy.markUsed(key, expiresAtMs);
      if (sync) throw cause();
      return Promise.reject(cause());
    },
  };
  return store;
}

/** A lone surrogate: half a character, what slicing a string between a surrogate pair leaves. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('defects', () => {
  // dpop-replay.ts:225 failureText calls String(cause) (or reads cause.message) inside
  // forgetUnlessReplay (dpop-replay.ts:123), before `throw error` and before the proof is forgotten
  // (dpop-replay.ts:126): when that throws, spend throws the TypeError instead, the request is a 500
  // ERR_INTERNAL without Retry-After, and the proof stays remembered here, so the client that retries it
  // is refused as a replay although the store never recorded it.
  for (const [name, cause] of [
    ['a null-prototype object', () => Object.create(null) as unknown],
    [
      'an object whose toString throws',
      () => ({
        toString() {
          throw new Error('toString');
        },
      }),
    ],
    [
      'an Error whose message getter throws',
      () =>
        Object.defineProperty(new Error(), 'message', {
          get() {
            throw new Error('message');
          },
        }),
    ],
  ] as const) {
    for (const sync of [false, true]) {
      it(`was a defect: a store ${sync ? 'throwing' : 'rejecting with'} ${name} is a 503 with Retry-After, counted, and the same proof is asked again (not a 500, nor a replay on retry)`, async () => {
        const store = failingWith(cause, sync);
        const validator = instance({ replayStore: store });
        const dpop = await proof();
        let refused: unknown;
        await authenticateRequest(validator, request(dpop)).catch((error: unknown) => {
          refused = error;
        });
        expect(refused).toBeInstanceOf(TokenGuardError);
        expect((refused as TokenGuardError).code).toBe('ERR_DPOP_REPLAY_UNAVAILABLE');
        expect((refused as TokenGuardError).status).toBe(503);
        expect((refused as TokenGuardError).retryAfterSec).toBe(1);
        expect(validator.state().dpop?.replayStore).toMatchObject({
          requests: 1,
          failures: 1,
          consecutiveFailures: 1,
          lastFailureAt: NOW_SEC * 1000,
        });
        expect(typeof validator.state().dpop?.replayStore?.lastError).toBe('string');
        store.up = true; // the client obeys Retry-After; the store is back
        expect(await outcome(validator, request(dpop))).toBe('accepted');
      });
    }
  }

  it('was a defect: lastError is a string (the type says so) when the cause is an Error whose message is not one', async () => {
    // dpop-replay.ts:225: `cause.message` is taken as it is; a number's `.length` is undefined, so it is
    // returned untouched and state() shows lastError: 42 (a client library's error with a numeric
    // message, or an object message, reaches a health check typed string).
    const validator = instance({
      replayStore: failingWith(() => Object.assign(new Error(), { message: 42 })),
    });
    expect(await outcome(validator, request(await proof()))).toBe('ERR_DPOP_REPLAY_UNAVAILABLE 503');
    expect(typeof validator.state().dpop?.replayStore?.lastError).toBe('string');
  });

  it('was a defect: lastError cut at 200 characters does not split a surrogate pair (no half a character)', async () => {
    // dpop-replay.ts:226 slices 200 UTF-16 code units: a character outside the BMP (an emoji, a CJK
    // extension character in a store's message) at 200/201 leaves a lone high surrogate, which
    // JSON.stringify turns into "\ud83d" and a UTF-8 encoder into U+FFFD.
    const validator = instance({
      replayStore: failingWith(() => new Error(`${'a'.repeat(199)}\u{1F600}${'b'.repeat(50)}`)),
    });
    expect(await outcome(validator, request(await proof()))).toBe('ERR_DPOP_REPLAY_UNAVAILABLE 503');
    const lastError = validator.state().dpop?.replayStore?.lastError ?? '';
    expect(lastError.startsWith('a'.repeat(199))).toBe(true);
    expect(lastError).not.toMatch(LONE_SURROGATE);
  });

  it('was a defect: lastError is "up to 200 characters", as DpopState and the commit say, the ellipsis included', async () => {
    // dpop-replay.ts:226 returns 200 characters plus '…': 201. Either the docs (dpop-replay.ts:55) say
    // "up to 200 characters and an ellipsis", or the cut is at 199.
    const validator = instance({ replayStore: failingWith(() => new Error('x'.repeat(300))) });
    expect(await outcome(validator, request(await proof()))).toBe('ERR_DPOP_REPLAY_UNAVAILABLE 503');
    expect(validator.state().dpop?.replayStore?.lastError?.length).toBeLessThanOrEqual(200);
  });

  it('was a defect: lastFailureAt is when the failure happened (DpopState: "When the last failure happened"), not when the proof was checked', async () => {
    // dpop-replay.ts:124 records `nowMs`, the instant dpop.verify accepted the proof (dpop.ts:87/101),
    // before the token's validation and the store's wait: a store that fails after 900 ms (or a
    // timeout) is reported as failing 900 ms earlier, and a health check's "seconds since the last
    // failure" is off by token validation plus the store's latency.
    const clock: Clock = { nowMs: NOW_SEC * 1000 };
    const slowThenDown: DpopReplayStore = {
      markUsed: () => {
        clock.nowMs += 900; // the command's round trip, on the validator's clock too
        return Promise.reject(new Error('READONLY You cannot write against a read only replica.'));
      },
    };
    const validator = instance({ replayStore: slowThenDown }, clock);
    expect(await outcome(validator, request(await proof()))).toBe('ERR_DPOP_REPLAY_UNAVAILABLE 503');
    expect(validator.state().dpop?.replayStore?.lastFailureAt).toBe(NOW_SEC * 1000 + 900);
  });

  it('was a defect: lastFailureAt does not go back in time when an earlier-checked proof fails after a later one', async () => {
    // Same cause (dpop-replay.ts:124): A is checked at t, its store command hangs; B is checked at t+1 s
    // and fails at once; A then times out. lastFailureAt goes from t+1 s back to t.
    const clock: Clock = { nowMs: NOW_SEC * 1000 };
    let hang = true;
    const store: DpopReplayStore = {
      markUsed: () =>
        hang
          ? new Promise<boolean>(() => {})
          : Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379')),
    };
    const validator = instance({ replayStore: store, replayStoreTimeoutMs: 100 }, clock);
    const first = outcome(validator, request(await proof('first')));
    await new Promise<void>((resolve) => setTimeout(resolve, 10));
    hang = false;
    clock.nowMs += 1000;
    expect(await outcome(validator, request(await proof('second')))).toBe('ERR_DPOP_REPLAY_UNAVAILABLE 503');
    const afterSecond = validator.state().dpop?.replayStore?.lastFailureAt ?? 0;
    expect(await first).toBe('ERR_DPOP_REPLAY_UNAVAILABLE 503');
    expect(validator.state().dpop?.replayStore?.lastFailureAt ?? 0).toBeGreaterThanOrEqual(afterSecond);
  });
});

describe('holds', () => {
  it('a late answer after the timeout counts once, and does not reset consecutiveFailures', async () => {
    let answer: ((value: boolean) => void) | undefined;
    const store: DpopReplayStore = {
      markUsed: () =>
        new Promise<boolean>((resolve) => {
          answer = resolve;
        }),
    };
    const validator = instance({ replayStore: store, replayStoreTimeoutMs: 20 });
    expect(await outcome(validator, request(await proof()))).toBe('ERR_DPOP_REPLAY_UNAVAILABLE 503');
    answer?.(true); // the store recorded it after all, too late
    await new Promise<void>((resolve) => setTimeout(resolve, 20));
    expect(validator.state().dpop?.replayStore).toMatchObject({
      requests: 1,
      replays: 0,
      failures: 1,
      consecutiveFailures: 1,
    });
  });

  it('counts sync true/false/non-boolean/throw; a local replay and a spend-time "too old" are not store requests', async () => {
    let reply: () => unknown = () => true;
    const validator = instance({ replayStore: { markUsed: () => reply() as boolean } });
    const dpop = await proof();
    expect(await outcome(validator, request(dpop))).toBe('accepted');
    expect(await outcome(validator, request(dpop))).toBe('ERR_DPOP_PROOF_INVALID 401'); // refused here
    reply = () => false;
    expect(await outcome(validator, request(await proof()))).toBe('ERR_DPOP_PROOF_INVALID 401');
    reply = () => 'OK';
    expect(await outcome(validator, request(await proof()))).toBe('ERR_INTERNAL 500');
    reply = () => {
      throw new Error('down');
    };
    expect(await outcome(validator, request(await proof()))).toBe('ERR_DPOP_REPLAY_UNAVAILABLE 503');
    expect(validator.state().dpop?.replayStore).toMatchObject({
      requests: 4,
      replays: 1,
      failures: 2,
      consecutiveFailures: 2,
      lastError: 'down',
    });

    const proofUntilMs = (NOW_SEC + 65) * 1000;
    const clock: Clock = { nowMs: proofUntilMs - 2 };
    const slow = {
      validateClaims: async () => {
        clock.nowMs += 3;
        return true;
      },
    };
    const late = instance({ replayStore: new RedisLikeStore(clock) }, () => clock.nowMs, slow);
    expect(await outcome(late, request(await proof()))).toBe('ERR_DPOP_PROOF_INVALID 401');
    expect(late.state().dpop?.replayStore).toMatchObject({ requests: 0, replays: 0, failures: 0 });
  });

  it('state() is a fresh copy each time, and holds no token, proof or store key', async () => {
    const store = new RedisLikeStore();
    const validator = instance({ replayStore: store });
    const dpop = await proof();
    await authenticateRequest(validator, request(dpop));
    const state = validator.state();
    expect(state.dpop).not.toBe(validator.state().dpop);
    expect(state.dpop?.replayCache).not.toBe(validator.state().dpop?.replayCache);
    const text = JSON.stringify(state);
    expect(text).not.toContain(world.token);
    expect(text).not.toContain(dpop.split('.')[1]);
    expect(text).not.toContain(store.calls[0]?.key);
  });
});
