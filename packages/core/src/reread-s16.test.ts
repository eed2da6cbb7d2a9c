// Final review (s16) of dpop.replayStore as of 70297b2..806e502. Each test in "defects" failed on that
// code (fixed since) and names the defect; "holds" pins boundaries the review checked and found right.
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
import type { DpopOptions, ValidatorOptions } from './options.js';
import { authenticateRequest, type TokenSource } from './transport.js';
import type { Validator } from './validator.js';

let world: ReplayWorld;
beforeAll(async () => {
  world = await replayWorld();
});

const instance = (dpop: DpopOptions, now: () => number, more: Partial<ValidatorOptions> = {}): Validator =>
  replayInstance(world, dpop, now, more);
const proof = (iat = NOW_SEC): Promise<string> => replayProof(world, { iat });
const request = (dpop: string): TokenSource => replayRequest(dpop, world.token);

/** 'accepted', or the code of the refusal. */
function outcome(validator: Validator, source: TokenSource): Promise<string> {
  return authenticateRequest(validator, source).then(
    () => 'accepted',
    (error: unknown) =>
      error instanceof TokenGuardError ? error.code : `not a TokenGuardError: ${String(error)}`,
  );
}

/** Waits (at most `ms`, in 5 ms steps) until `ready()`; false when it never was. */
async function until(ready: () => boolean, ms = 2000): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 5) {
    if (ready()) return true;
    await new Promise<void>((resolve) => setTimeout(resolve, 5));
  }
  return ready();
}

describe('defects', () => {
  it('was a defect: accepted a replay on a second instance, with the default settings, when the first store write took part of replayStoreTimeoutMs and the clocks disagree by less than clockToleranceSec', async () => {
    // Defaults: maxProofAgeSec 60, clockToleranceSec 5, replayStoreTimeoutMs 1000. A proof made at
    // NOW_SEC is acceptable until PROOF_UNTIL (by each validator's own clock); the store is told it may
    // forget it at PROOF_UNTIL + 5 s (dpop-replay.ts:67), "plus clockToleranceSec more for clocks that
    // disagree". Instance B's clock runs 4.5 s behind (within the 5 s tolerance), and a store command
    // takes 600 ms to arrive (within the 1000 ms timeout, so its answer is taken). A spends the proof
    // at its last millisecond; B, 4.5 s later by true time, still sees it acceptable (its clock says
    // PROOF_UNTIL - 1), passes the spend-time check (dpop-replay.ts:49) and sends SET NX, which reaches
    // the store at PROOF_UNTIL + 5.099 s: 99 ms after the store was allowed to forget A's record. A
    // command the validator accepts an answer to can reach the store up to replayStoreTimeoutMs after
    // the check; the expiry leaves no room for it.
    const proofUntilMs = (NOW_SEC + 60 + 5) * 1000;
    const trueTime: Clock = { nowMs: proofUntilMs - 1 };
    const store = new RedisLikeStore(trueTime, 600);
    const a = instance({ replayStore: store }, () => trueTime.nowMs);
    const b = instance({ replayStore: store }, () => trueTime.nowMs - 4500);
    const dpop = await proof();
    expect(await outcome(a, request(dpop))).toBe('accepted');
    trueTime.nowMs = proofUntilMs + 4499; // B's clock: proofUntilMs - 1
    const replayed = await outcome(b, request(dpop));
    // The store saw A's command 599 ms and B's 5,099 ms after the proof's last acceptable instant.
    expect(store.calls.map((call) => call.atMs - proofUntilMs)).toEqual([599, 5099]);
    expect(replayed).toBe('ERR_DPOP_PROOF_INVALID');
  });

  it('was a defect: with clockToleranceSec: 0, accepted the same proof on two instances at once at the end of its window when the store answers a few ms late', async () => {
    // Same clock everywhere. Both instances spend the proof 5 ms before its last acceptable instant
    // and pass the spend-time check; their SET NX commands reach the store 15 ms later (the store's
    // clock at PROOF_UNTIL + 10), each with PXAT PROOF_UNTIL + 0: the first is recorded already
    // expired, the second finds nothing, and both answer true. Any store latency beyond
    // clockToleranceSec makes the two concurrent uses both pass.
    const proofUntilMs = (NOW_SEC + 60) * 1000;
    const clock: Clock = { nowMs: proofUntilMs - 5 };
    const store = new RedisLikeStore(clock);
    store.hold = true;
    const tolerance = { clockToleranceSec: 0 };
    const a = instance({ replayStore: store }, () => clock.nowMs, tolerance);
    const b = instance({ replayStore: store }, () => clock.nowMs, tolerance);
    const dpop = await proof();
    const outcomes = Promise.all([outcome(a, request(dpop)), outcome(b, request(dpop))]);
    expect(await until(() => store.held.length === 2)).toBe(true);
    clock.nowMs = proofUntilMs + 10;
    for (const deliver of store.held.splice(0)) deliver();
    expect((await outcomes).sort()).toEqual(['ERR_DPOP_PROOF_INVALID', 'accepted']);
  });

  it('was a defect: a store answer that is a promise whose constructor cannot be read is a 503, like any store failure, not a 500', async () => {
    // markedInStore (dpop-replay.ts:99-101) calls Promise.resolve(answer) inside the Promise executor
    // but outside any try: for a native promise Promise.resolve reads answer.constructor, and a throw
    // there rejects the outer promise with the bare error (dpopSchemeError: 500 ERR_INTERNAL), while
    // the replayStoreTimeoutMs timer set just before is never cleared.
    const answer = Promise.resolve(true);
    Object.defineProperty(answer, 'constructor', {
      get() {
        throw new Error('connection reset');
      },
    });
    const clock: Clock = { nowMs: NOW_SEC * 1000 };
    const validator = instance({ replayStore: { markUsed: () => answer } }, () => clock.nowMs);
    expect(await outcome(validator, request(await proof()))).toBe('ERR_DPOP_REPLAY_UNAVAILABLE');
  });
});

describe('holds', () => {
  it('with clockToleranceSec: 0 and a store, a proof spent at its last acceptable millisecond is accepted once and refused on another instance', async () => {
    const proofUntilMs = (NOW_SEC + 60) * 1000;
    const clock: Clock = { nowMs: proofUntilMs };
    const store = new RedisLikeStore(clock);
    const tolerance = { clockToleranceSec: 0 };
    const dpop = await proof();
    expect(
      await outcome(
        instance({ replayStore: store }, () => clock.nowMs, tolerance),
        request(dpop),
      ),
    ).toBe('accepted');
    expect(store.calls[0]?.expiresAtMs).toBeGreaterThanOrEqual(proofUntilMs);
    expect(
      await outcome(
        instance({ replayStore: store }, () => clock.nowMs, tolerance),
        request(dpop),
      ),
    ).toBe('ERR_DPOP_PROOF_INVALID');
  });

  it('a proof whose token validation carries it past its window is refused as too old (401, DPoP challenge), the store not asked; without a store it is accepted', async () => {
    const proofUntilMs = (NOW_SEC + 65) * 1000;
    const clock: Clock = { nowMs: proofUntilMs - 2 };
    const store = new RedisLikeStore(clock);
    const slow = {
      validateClaims: async () => {
        clock.nowMs += 3; // 3 ms of token validation
        return true;
      },
    };
    const dpop = await proof();
    try {
      await authenticateRequest(
        instance({ replayStore: store }, () => clock.nowMs, slow),
        request(dpop),
      );
      expect.unreachable('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(TokenGuardError);
      const refused = error as TokenGuardError;
      expect(refused.status).toBe(401);
      expect(refused.description).toBe('The DPoP proof is too old');
      expect(refused.wwwAuthenticate).toContain('DPoP realm="api", error="invalid_dpop_proof"');
    }
    expect(store.calls).toEqual([]);
    clock.nowMs = proofUntilMs - 2;
    expect(
      await outcome(
        instance({}, () => clock.nowMs, slow),
        request(dpop),
      ),
    ).toBe('accepted');
  });

  it('a fractional iat gives the store a whole number of ms, not before the proof expires plus clockToleranceSec', async () => {
    const clock: Clock = { nowMs: NOW_SEC * 1000 };
    const store = new RedisLikeStore(clock);
    const dpop = await proof(NOW_SEC - 0.0004);
    expect(
      await outcome(
        instance({ replayStore: store }, () => clock.nowMs),
        request(dpop),
      ),
    ).toBe('accepted');
    expect(store.calls[0]?.expiresAtMs).toSatisfy(Number.isInteger);
    expect(store.calls[0]?.expiresAtMs).toBeGreaterThanOrEqual((NOW_SEC + 65) * 1000 + 5000);
  });
});
