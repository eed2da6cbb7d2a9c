// Adversarial review of 3a73734 (dpop.replayStore), run against eb6e4b8 (which forgets a proof whose
// store call failed). Tests named "was a defect: ..." failed on both and are fixed since; the others pin
// behaviour the review checked and found to hold.
import { createHook } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { calculateJwkThumbprint } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { proofJwk } from '../../../test/support/dpop.js';
import { generateSigningKey, type SigningKey } from '../../../test/support/keys.js';
import {
  AUDIENCE,
  type Clock,
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
import type { DpopOptions, DpopReplayStore, ValidatorOptions } from './options.js';
import { authenticateRequest, type TokenSource } from './transport.js';
import { createValidator, type Validator } from './validator.js';

/** A proof made at NOW_SEC is acceptable until then (iat + maxProofAgeSec 60 + clockToleranceSec 5). */
const PROOF_UNTIL_MS = (NOW_SEC + 65) * 1000;

let world: ReplayWorld;
let other: SigningKey;
let clientJkt: string;
let otherJkt: string;
let token: string;
let otherToken: string;
let scopedToken: string;

beforeAll(async () => {
  world = await replayWorld();
  ({ clientJkt, token } = world);
  other = generateSigningKey('ES256');
  otherJkt = await calculateJwkThumbprint(proofJwk(other), 'sha256');
  otherToken = await world.boundToken(otherJkt);
  scopedToken = await world.boundToken(clientJkt, { scope: 'orders:read' });
});

const instance = (
  dpop: DpopOptions,
  clock: Clock = { nowMs: NOW_SEC * 1000 },
  more: Partial<ValidatorOptions> = {},
): Validator => replayInstance(world, dpop, clock, more);
const proof = (
  options: { jti?: string; iat?: number; key?: SigningKey; bearer?: string; htu?: string } = {},
): Promise<string> => replayProof(world, options);
const request = (dpop: string, bearer = token): TokenSource => replayRequest(dpop, bearer);

async function refusal(
  validator: Validator,
  source: TokenSource,
  options?: Parameters<typeof authenticateRequest>[2],
): Promise<TokenGuardError> {
  try {
    await authenticateRequest(validator, source, options);
  } catch (error) {
    expect(error).toBeInstanceOf(TokenGuardError);
    return error as TokenGuardError;
  }
  throw new Error('the request was accepted');
}

/** Resolves after `ms` (bounded waits only). */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('defects', () => {
  it('was a defect: a proof verified before its expiry but taken to the store after it (slow token validation) is a replay the store has forgotten, and is accepted', async () => {
    // The store is told it may forget the proof at iat + 65 s (README: "the store may forget it then").
    // Instance B verifies the replayed proof while it is still acceptable, then its token's validation
    // takes a moment (an async validateClaims hook, a key set refetch, introspection): by the time it
    // asks the store, the key has expired there, SET NX succeeds, and the replay passes. B's own replay
    // cache judges at the instant the proof was accepted (dpop-replay.ts:36-39); the store, given
    // acceptableUntilMs as the key's expiry (dpop-replay.ts:55), cannot.
    const clock: Clock = { nowMs: PROOF_UNTIL_MS - 500 };
    const store = new RedisLikeStore(clock);
    const a = instance({ replayStore: store }, clock);
    const b = instance({ replayStore: store }, clock, {
      validateClaims: async () => {
        clock.nowMs = PROOF_UNTIL_MS + 1; // 501 ms of token validation on B
        return true;
      },
    });
    const dpop = await proof();
    await authenticateRequest(a, request(dpop));
    expect(clock.nowMs).toBe(PROOF_UNTIL_MS - 500);
    const replayed = await authenticateRequest(b, request(dpop)).then(
      () => 'accepted',
      (error: TokenGuardError) => error.code,
    );
    expect(replayed).not.toBe('accepted');
  });

  it('was a defect: gives the store a whole number of milliseconds when the proof iat has a fraction (node-redis PXAT: every such request a 503)', async () => {
    // RFC 7519 NumericDate may have a fraction (clients using time.time() send one) and dpop.ts accepts
    // it; (iat + 65) * 1000 is then not an integer, which Redis's PXAT (the README's example), Memcached
    // and DynamoDB TTLs refuse: the store rejects and every request of that client is a 503.
    const clock: Clock = { nowMs: NOW_SEC * 1000 };
    const store = new RedisLikeStore(clock);
    const dpop = await proof({ iat: NOW_SEC - 0.1234567 });
    const result = await authenticateRequest(instance({ replayStore: store }, clock), request(dpop)).then(
      () => 'accepted',
      (error: TokenGuardError) => error.code,
    );
    expect(store.calls[0]?.expiresAtMs).toSatisfy(Number.isInteger);
    expect(result).toBe('accepted');
  });

  it('was a defect: a store answer whose `then` cannot be read (a revoked Proxy, a throwing getter) is a 500 ERR_INTERNAL, not the 503 of a failed store', async () => {
    // isThenable() reads `.then` outside markedInStore's try (dpop-replay.ts:85 at eb6e4b8): the throw
    // escapes as an unexpected error, which dpopSchemeError makes a 500.
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    for (const answer of [
      proxy,
      {
        // biome-ignore lint/suspicious/noThenProperty: a thenable store answer is what this test hands back.
        get then() {
          throw new Error('connection closed');
        },
      },
    ]) {
      const validator = instance({ replayStore: { markUsed: () => answer as never } });
      const error = await refusal(validator, request(await proof()));
      expect(error.code).toBe('ERR_DPOP_REPLAY_UNAVAILABLE');
      expect(error.headers['retry-after']).toBe('1');
    }
  });

  it('was a defect: a write through validator.options.dpop.replayStore changes what the validator accepts', async () => {
    // docs-options-frozen.test.ts: "a write through validator.options (a diagnostics route, a plugin,
    // a test helper) must not change what it accepts". The store is kept as given and its markUsed is
    // looked up on every request (dpop-replay.ts:32 and :81 at eb6e4b8), so one assignment disables the store.
    const clock: Clock = { nowMs: NOW_SEC * 1000 };
    const store = new RedisLikeStore(clock);
    const a = instance({ replayStore: store }, clock);
    const b = instance({ replayStore: store }, clock);
    const dpop = await proof();
    await authenticateRequest(a, request(dpop));
    const options = b.options as unknown as { dpop: { replayStore: Record<string, unknown> } };
    try {
      options.dpop.replayStore.markUsed = () => true;
    } catch {
      // refused: what the frozen-options promise asks for
    }
    expect((await refusal(b, request(dpop))).description).toBe('The DPoP proof was used before');
  });
});

describe('defects in the documentation', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

  it("was a docs defect: the README's node-redis example registers no 'error' listener (node-redis then throws it: the process exits instead of answering 503)", () => {
    const section = readme.slice(readme.indexOf('### A replay store shared by the instances'));
    const example = section.slice(
      section.indexOf('```ts'),
      section.indexOf('```', section.indexOf('```ts') + 5),
    );
    expect(example).toContain('createClient(');
    expect(example).toMatch(/\.on\(\s*'error'/);
  });

  it("was a docs defect: the README's option table lists dpop's settings without replayStore and replayStoreTimeoutMs", () => {
    const row = readme.split('\n').find((line) => line.startsWith('| `dpop`'));
    expect(row).toContain('replayCacheMaxEntries');
    expect(row).toContain('replayStore');
    expect(row).toContain('replayStoreTimeoutMs');
  });

  it("was a docs defect: SECURITY.md's table of answers has no row for the replay store's 503", () => {
    const security = readFileSync(new URL('../../../SECURITY.md', import.meta.url), 'utf8');
    const answers = security.slice(security.indexOf('## Answers'), security.indexOf('## Limits'));
    expect(answers).toContain('ERR_KEYS_UNAVAILABLE');
    expect(answers).toContain('ERR_DPOP_REPLAY_UNAVAILABLE');
  });
});

describe('checked and holding: what reaches the store', () => {
  it('the store key separates (jkt, jti) pairs: two keys with the same jti, and jtis with dots, are distinct', async () => {
    const clock: Clock = { nowMs: NOW_SEC * 1000 };
    const store = new RedisLikeStore(clock);
    const validator = instance({ replayStore: store }, clock);
    await authenticateRequest(validator, request(await proof({ jti: 'same' })));
    await authenticateRequest(
      validator,
      request(await proof({ jti: 'same', key: other, bearer: otherToken }), otherToken),
    );
    // A jti shaped like "<43 chars>.<more>" cannot collide with another key's: jkt is always 43
    // base64url characters (no '.'), so `${jkt}.${jti}` is injective.
    await authenticateRequest(validator, request(await proof({ jti: `${otherJkt}.same` })));
    await authenticateRequest(validator, request(await proof({ jti: '.same' })));
    const keys = store.calls.map((call) => call.key);
    expect(new Set(keys).size).toBe(4);
    expect(keys[0]).toBe(replayStoreKey(`${clientJkt}.same`));
    expect(keys[1]).toBe(replayStoreKey(`${otherJkt}.same`));
    for (const key of keys) expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('is not asked about a proof for another URL, a token bound to another key, or a token short of the route scope', async () => {
    const clock: Clock = { nowMs: NOW_SEC * 1000 };
    const store = new RedisLikeStore(clock);
    const validator = instance({ replayStore: store }, clock);
    expect((await refusal(validator, request(await proof({ htu: `${ORIGIN}/other` })))).code).toBe(
      'ERR_DPOP_PROOF_INVALID',
    );
    // other's token, with a proof by client's key (ath of other's token)
    const mismatched = await proof({ bearer: otherToken });
    expect((await refusal(validator, request(mismatched, otherToken))).code).toBe(
      'ERR_DPOP_BINDING_MISMATCH',
    );
    const scoped = await proof({ bearer: scopedToken });
    const forbidden = await refusal(validator, request(scoped, scopedToken), {
      requirements: { scopes: ['orders:write'] },
    });
    expect(forbidden.code).toBe('ERR_INSUFFICIENT_SCOPE');
    expect(store.calls).toEqual([]);
  });

  it('spends in the store a proof whose token is answered from the cache of bound tokens, and refuses one spent elsewhere', async () => {
    const clock: Clock = { nowMs: NOW_SEC * 1000 };
    const store = new RedisLikeStore(clock);
    const a = instance({ replayStore: store }, clock);
    const b = instance({ replayStore: store }, clock);
    // The bound cache admits a token on its second verification.
    await authenticateRequest(b, request(await proof()));
    const cached = await authenticateRequest(b, request(await proof()));
    expect(b.state().tokenCache.boundEntries).toBe(1);
    const dpop = await proof();
    await authenticateRequest(a, request(dpop));
    // B has the token in its bound cache; the proof is new to B's own replay cache: only the store knows.
    const error = await refusal(b, request(dpop));
    expect(error.description).toBe('The DPoP proof was used before');
    const again = await authenticateRequest(b, request(await proof()));
    expect(again.auth).toBe(cached.auth); // answered from the bound cache
    expect(store.calls).toHaveLength(5);
    expect(new Set(store.calls.map((call) => call.key)).size).toBe(4);
  });

  it('accepts one of the same proof sent twice at once to one instance, asking the store once', async () => {
    let release: (value: boolean) => void = () => {};
    const calls: string[] = [];
    const store: DpopReplayStore = {
      markUsed(key) {
        calls.push(key);
        return new Promise<boolean>((resolve) => {
          release = resolve;
        });
      },
    };
    const validator = instance({ replayStore: store });
    const dpop = await proof();
    const first = authenticateRequest(validator, request(dpop));
    const second = authenticateRequest(validator, request(dpop));
    const secondError = await second.catch((error: TokenGuardError) => error);
    release(true);
    await first;
    expect((secondError as TokenGuardError).description).toBe('The DPoP proof was used before');
    expect(calls).toHaveLength(1);
  });
});

describe('checked and holding: stores that misbehave', () => {
  it('a store that rejects after the timeout fired: a 503 and no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const lateReject = instance({
        replayStore: {
          markUsed: () =>
            new Promise<boolean>((_, reject) => setTimeout(() => reject(new Error('late')), 40)),
        },
        replayStoreTimeoutMs: 10,
      });
      expect((await refusal(lateReject, request(await proof()))).code).toBe('ERR_DPOP_REPLAY_UNAVAILABLE');
      await sleep(80);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a store that records the proof but answers after the timeout: 503, then the same request is refused by the store, never accepted', async () => {
    // Since eb6e4b8 the instance forgets a proof whose store call failed or timed out; the store, which
    // did record it, must then be the one that refuses it.
    const clock: Clock = { nowMs: NOW_SEC * 1000 };
    const recorded = new RedisLikeStore(clock);
    const slow: DpopReplayStore = {
      markUsed(key, expiresAtMs) {
        const answer = recorded.markUsed(key, expiresAtMs);
        return new Promise<boolean>((resolve) => setTimeout(() => resolve(answer), 40));
      },
    };
    const validator = instance({ replayStore: slow, replayStoreTimeoutMs: 10 }, clock);
    const dpop = await proof();
    expect((await refusal(validator, request(dpop))).code).toBe('ERR_DPOP_REPLAY_UNAVAILABLE');
    await sleep(80);
    const retried = await refusal(instance({ replayStore: recorded }, clock), request(dpop));
    expect(retried.description).toBe('The DPoP proof was used before');
    const again = await authenticateRequest(validator, request(dpop)).then(
      () => 'accepted',
      (error: TokenGuardError) => error.code,
    );
    expect(again).not.toBe('accepted');
  });

  it('thenables: the first call back wins; one that throws in then is a 503', async () => {
    const twice = {
      // biome-ignore lint/suspicious/noThenProperty: a thenable store answer is what this test hands back.
      then(onFulfilled: (value: unknown) => void, onRejected: (reason: unknown) => void) {
        onFulfilled(true);
        onFulfilled(false);
        onRejected(new Error('and then failed'));
        throw new Error('and threw');
      },
    };
    const validator = instance({ replayStore: { markUsed: () => twice as never } });
    const { auth } = await authenticateRequest(validator, request(await proof()));
    expect(auth?.subject).toBe('user-1');
    const falseFirst = {
      // biome-ignore lint/suspicious/noThenProperty: a thenable store answer is what this test hands back.
      then(onFulfilled: (value: unknown) => void) {
        onFulfilled(false);
        onFulfilled(true);
      },
    };
    const refusing = instance({ replayStore: { markUsed: () => falseFirst as never } });
    expect((await refusal(refusing, request(await proof()))).description).toBe(
      'The DPoP proof was used before',
    );
    const throwing = instance({
      replayStore: {
        markUsed: () =>
          ({
            // biome-ignore lint/suspicious/noThenProperty: a thenable store answer is what this test hands back.
            then() {
              throw new Error('socket closed');
            },
          }) as never,
      },
    });
    expect((await refusal(throwing, request(await proof()))).code).toBe('ERR_DPOP_REPLAY_UNAVAILABLE');
  });

  it('leaves no timer behind once the store answered (each replayStoreTimeoutMs timer cleared)', async () => {
    // Unref'd timers do not show in process.getActiveResourcesInfo(): watched through async_hooks.
    const validator = instance({
      replayStore: { markUsed: () => Promise.resolve(true) },
      replayStoreTimeoutMs: 30_000,
    });
    const proofs = await Promise.all(Array.from({ length: 5 }, () => proof()));
    const live = new Set<number>();
    let created = 0;
    const hook = createHook({
      init(id, type) {
        if (type !== 'Timeout') return;
        created++;
        live.add(id);
      },
      destroy(id) {
        live.delete(id);
      },
    }).enable();
    try {
      for (const dpop of proofs) await authenticateRequest(validator, request(dpop));
      await new Promise<void>((resolve) => setImmediate(resolve));
    } finally {
      hook.disable();
    }
    expect(created).toBeGreaterThanOrEqual(5);
    expect(live.size).toBe(0);
  });

  it("a store that follows the README's fail-open advice (catch, answer true) but hangs (node-redis queues commands while offline) is still a 503 after the timeout", async () => {
    const hanging = new Promise<boolean>(() => {});
    const validator = instance({
      replayStore: {
        async markUsed() {
          try {
            return await hanging;
          } catch {
            return true;
          }
        },
      },
      replayStoreTimeoutMs: 20,
    });
    expect((await refusal(validator, request(await proof()))).code).toBe('ERR_DPOP_REPLAY_UNAVAILABLE');
  });
});

describe('checked and holding: options', () => {
  const base = { issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [] } };

  it('takes a Proxy, a frozen object, an async method and a prototype method, and keeps the store as given', () => {
    class Store {
      markUsed(): boolean {
        return true;
      }
    }
    const stores: DpopReplayStore[] = [
      new Proxy(new Store(), {}),
      Object.freeze({ markUsed: () => true }),
      { markUsed: async () => true },
      Object.create(Store.prototype) as Store,
    ];
    for (const replayStore of stores) {
      const validator = createValidator({ ...base, dpop: { replayStore } });
      expect(validator.options.dpop?.replayStore).toBe(replayStore);
    }
  });

  it.each([10, 30_000])('takes replayStoreTimeoutMs %d', (ms) => {
    const validator = createValidator({
      ...base,
      dpop: { replayStore: { markUsed: () => true }, replayStoreTimeoutMs: ms },
    });
    expect(validator.options.dpop?.replayStoreTimeoutMs).toBe(ms);
  });

  it.each([9, 10.5, Number.NaN, Number.POSITIVE_INFINITY, '100', null])(
    'refuses replayStoreTimeoutMs %s with a TypeError',
    (ms) => {
      expect(() =>
        createValidator({
          ...base,
          dpop: { replayStore: { markUsed: () => true }, replayStoreTimeoutMs: ms as number },
        }),
      ).toThrow(/"dpop.replayStoreTimeoutMs"/);
    },
  );

  it('refuses a null store and keeps dpop options read-only', () => {
    expect(() => createValidator({ ...base, dpop: { replayStore: null as never } })).toThrow(TypeError);
    const validator = createValidator({ ...base, dpop: { replayStore: { markUsed: () => true } } });
    const dpop = validator.options.dpop as unknown as Record<string, unknown>;
    expect(() => {
      dpop.replayStore = undefined;
    }).toThrow(TypeError);
    expect(() => {
      dpop.replayStoreTimeoutMs = 1;
    }).toThrow(TypeError);
  });
});
