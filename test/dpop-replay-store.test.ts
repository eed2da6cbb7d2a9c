/**
 * `dpop.replayStore` end to end (RFC 9449 §11.1): several instances of one API, each a real server on
 * 127.0.0.1 with its own validator (and so its own in-memory replay cache), share one store of spent
 * proofs, so a proof accepted by one instance is refused by the others. Through each adapter.
 *
 * The token comes from a real authorization server (oidc-provider through the dev issuer, DPoP on),
 * bound to a client key of this test (`dpopBoundToken`), which signs the resource proofs. Every instance
 * has `dpop.origin` set to the API's public origin, as instances behind a load balancer would: a proof's
 * `htu` is then the same for all of them, and only the replay check tells them apart.
 *
 * The stores stand for Redis: {@link MemoryReplayStore} is a real implementation of the interface (an
 * atomic check-and-set in a Map, answered after a round trip), the others wrap it to be down, silent,
 * or to answer Redis's `'OK'` instead of a boolean. Each counts its calls.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createValidator, type DpopOptions, type DpopReplayStore, type Validator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParsedChallenge } from './conformance/challenge.js';
import { type AdapterApp, FRAMEWORKS, type Framework, startAdapterApp } from './support/adapter-apps.js';
import { parseChallenges } from './support/challenges.js';
import { type DpopClient, dpopBoundToken, dpopClient } from './support/dpop.js';

/** The API's resource and public origin (what every instance's `dpop.origin` says). */
const API = 'https://replay-store.test';
/** Every wait on an HTTP answer is bounded by this. */
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * A shared store of spent proofs, as a deployment writes one over Redis's `SET key 1 NX PXAT expiresAt`:
 * each call waits one turn of the event loop (the round trip), then checks and records the key in one
 * synchronous step (atomic, as `SET NX` is). A key is forgotten once its expiry has passed.
 */
class MemoryReplayStore implements DpopReplayStore {
  readonly #entries = new Map<string, number>();
  /** Every call, in order. */
  readonly calls: Array<{ key: string; expiresAtMs: number }> = [];

  async markUsed(key: string, expiresAtMs: number): Promise<boolean> {
    this.calls.push({ key, expiresAtMs });
    await nextTurn();
    const until = this.#entries.get(key);
    if (until !== undefined && until > Date.now()) return false;
    this.#entries.set(key, expiresAtMs);
    return true;
  }
}

/** The store's address as its errors name it: internal, never to be shown to a client. */
const STORE_ADDRESS = 'redis-internal.replay-store.test:6379';

/** A store whose server can be down: while `down`, every call rejects as a refused connection would. */
class FlakyReplayStore implements DpopReplayStore {
  readonly memory = new MemoryReplayStore();
  /** `'rejects'`: the promise rejects; `'throws'`: `markUsed` throws before answering; `false`: up. */
  down: 'rejects' | 'throws' | false = false;
  calls = 0;

  markUsed(key: string, expiresAtMs: number): Promise<boolean> {
    this.calls++;
    if (this.down === 'throws') throw new Error(`connect ECONNREFUSED ${STORE_ADDRESS}`);
    if (this.down === 'rejects') return Promise.reject(new Error(`connect ECONNREFUSED ${STORE_ADDRESS}`));
    return this.memory.markUsed(key, expiresAtMs);
  }
}

/** A store whose server takes the request and never answers. */
class SilentReplayStore implements DpopReplayStore {
  calls = 0;
  markUsed(): Promise<boolean> {
    this.calls++;
    return new Promise<boolean>(() => {});
  }
}

/**
 * The typical Redis mistake: `markUsed` returns the reply of `SET ... NX` (`'OK'` when set, `null` when
 * the key was there) instead of comparing it with `'OK'`. Not a `DpopReplayStore` for TypeScript, as it
 * would not be for a JavaScript caller either; given as one through a cast, as such code would be.
 */
class RedisReplyStore {
  readonly #keys = new Set<string>();
  calls = 0;
  async markUsed(key: string): Promise<'OK' | null> {
    this.calls++;
    await nextTurn();
    if (this.#keys.has(key)) return null;
    this.#keys.add(key);
    return 'OK';
  }
}

let issuer: DevIssuer;
let client: DpopClient;
/** An access token bound to `client`'s key (`cnf.jkt`). */
let boundToken: string;
/** A plain (Bearer) access token for the same API. */
let bearerToken: string;
const validators: Validator[] = [];
const apps: AdapterApp[] = [];

beforeAll(async () => {
  issuer = await startDevIssuer({
    dpop: true,
    resources: { [API]: { scope: 'read', format: 'jwt', ttlSec: 3600 } },
  });
  client = dpopClient();
  [boundToken, bearerToken] = await Promise.all([
    dpopBoundToken(issuer, client, API),
    issuer.getToken({ resource: API, scope: 'read' }),
  ]);
});

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await Promise.all(validators.map((validator) => validator.close()));
  await issuer?.close();
});

/** Starts one instance of the API through `framework`: its own validator, with `dpop` settings. */
async function startInstance(framework: Framework, dpop: Omit<DpopOptions, 'origin'>): Promise<AdapterApp> {
  const validator = createValidator({
    issuer: issuer.issuer,
    audience: API,
    realm: 'api',
    dpop: { origin: API, ...dpop },
  });
  validators.push(validator);
  const app = await startAdapterApp(framework, validator, (auth) => ({
    jkt: (auth?.claims.cnf as { jkt?: unknown } | undefined)?.jkt ?? null,
  }));
  apps.push(app);
  return app;
}

/** A new proof of `GET <API>/me` by the client's key, for the bound token (fresh `jti`). */
const newProof = (): Promise<string> => client.proof({ htm: 'GET', htu: `${API}/me`, token: boundToken });

interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
  body: Record<string, unknown>;
  challenges: ParsedChallenge[] | null;
}

/** `GET <app>/me` with `authorization` (and the `DPoP` proof, if any); the wait is bounded. */
async function get(app: AdapterApp, authorization: string, proof?: string): Promise<Answer> {
  const response = await fetch(`${app.url}/me`, {
    headers: { authorization, ...(proof === undefined ? {} : { dpop: proof }) },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  const headers = Object.fromEntries(response.headers);
  const challenge = response.headers.get('www-authenticate');
  return {
    status: response.status,
    headers,
    text,
    body: JSON.parse(text) as Record<string, unknown>,
    challenges: challenge === null ? null : parseChallenges(challenge),
  };
}

/** A DPoP request: the bound token under the `DPoP` scheme, with `proof`. */
const withProof = (app: AdapterApp, proof: string): Promise<Answer> => get(app, `DPoP ${boundToken}`, proof);

/** The 401 of a replayed proof: `invalid_dpop_proof`, in the body and in the DPoP challenge. */
function expectReplayRefused(answer: Answer): void {
  expect(answer.status).toBe(401);
  expect(answer.body).toEqual({
    error: 'invalid_dpop_proof',
    error_description: expect.stringMatching(/used before/),
  });
  const dpop = answer.challenges?.find((challenge) => challenge.scheme === 'DPoP');
  expect(dpop?.params).toMatchObject({ error: 'invalid_dpop_proof' });
}

/** Neither the access token nor the proof (nor the store's internal address) appears in the answer. */
function expectNothingLeaked(answer: Answer, proof: string): void {
  const everything = `${answer.text}\n${Object.entries(answer.headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\n')}`;
  expect(everything).not.toContain(boundToken);
  expect(everything).not.toContain(proof);
  // Not even the token's or the proof's signature alone.
  expect(everything).not.toContain(boundToken.split('.')[2]);
  expect(everything).not.toContain(proof.split('.')[2]);
  expect(everything).not.toContain(STORE_ADDRESS);
}

/** The 503 of a store that failed or did not answer: `Retry-After: 1`, no challenge, nothing leaked. */
function expectStoreUnavailable(answer: Answer, proof: string): void {
  expect(answer.status).toBe(503);
  expect(answer.headers['retry-after']).toBe('1');
  expect(answer.headers['www-authenticate']).toBeUndefined();
  expect(answer.body).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
  expectNothingLeaked(answer, proof);
}

describe('the token really is bound by oidc-provider to the test client key', () => {
  it('carries cnf.jkt of the key the proofs are signed with; the Bearer token no cnf', () => {
    expect(decodeJwt(boundToken).cnf).toEqual({ jkt: client.jkt });
    expect(decodeJwt(bearerToken).cnf).toBeUndefined();
  });
});

describe.each(FRAMEWORKS)('dpop.replayStore through %s', (framework) => {
  /** One store shared by instances `a` and `b`. */
  const store = new MemoryReplayStore();
  const shared = {} as Record<'a' | 'b', AdapterApp>;
  /** The control: instances `a` and `b` without a store, each with its own memory only. */
  const alone = {} as Record<'a' | 'b', AdapterApp>;

  beforeAll(async () => {
    [shared.a, shared.b, alone.a, alone.b] = await Promise.all([
      startInstance(framework, { replayStore: store }),
      startInstance(framework, { replayStore: store }),
      startInstance(framework, {}),
      startInstance(framework, {}),
    ]);
  });

  describe('two instances sharing one store', () => {
    it('a proof accepted by instance A is refused by B (401 invalid_dpop_proof); a new proof to B is 200', async () => {
      const proof = await newProof();
      const callsBefore = store.calls.length;
      const first = await withProof(shared.a, proof);
      expect(first.status).toBe(200);
      expect(first.body).toEqual({ jkt: client.jkt });

      const replay = await withProof(shared.b, proof);
      expectReplayRefused(replay);
      // B's own memory never saw the proof: the refusal is the store's.
      expect(store.calls.length).toBe(callsBefore + 2);
      expect(store.calls[callsBefore]?.key).toBe(store.calls[callsBefore + 1]?.key);

      const fresh = await withProof(shared.b, await newProof());
      expect(fresh.status).toBe(200);
      expect(fresh.body).toEqual({ jkt: client.jkt });
    });

    it('control, without a store: the proof accepted by A is accepted again by B (what the store adds)', async () => {
      const proof = await newProof();
      expect((await withProof(alone.a, proof)).status).toBe(200);
      const replay = await withProof(alone.b, proof);
      expect(replay.status).toBe(200);
      expect(replay.body).toEqual({ jkt: client.jkt });
      // Each instance still refuses a proof it saw itself.
      expectReplayRefused(await withProof(alone.a, proof));
    });

    it('the same proof sent to A and B at once: exactly one 200, the other 401 invalid_dpop_proof', async () => {
      for (let round = 0; round < 5; round++) {
        const proof = await newProof();
        const answers = await Promise.all([withProof(shared.a, proof), withProof(shared.b, proof)]);
        const accepted = answers.filter((answer) => answer.status === 200);
        const refused = answers.filter((answer) => answer.status !== 200);
        expect(accepted).toHaveLength(1);
        expect(refused).toHaveLength(1);
        expectReplayRefused(refused[0] as Answer);
      }
    });
  });

  describe('a store that is down', () => {
    const flaky = new FlakyReplayStore();
    let app: AdapterApp;
    beforeAll(async () => {
      app = await startInstance(framework, { replayStore: flaky });
    });

    it.each(['rejects', 'throws'] as const)(
      'a store that %s: 503 with Retry-After: 1, no WWW-Authenticate, no token or proof in the answer; once it is up, a new proof is 200',
      async (how) => {
        flaky.down = how;
        try {
          const proof = await newProof();
          const callsBefore = flaky.calls;
          const answer = await withProof(app, proof);
          expectStoreUnavailable(answer, proof);
          expect(flaky.calls).toBe(callsBefore + 1);
        } finally {
          flaky.down = false;
        }
        const proof = await newProof();
        const answer = await withProof(app, proof);
        expect(answer.status).toBe(200);
        expect(answer.body).toEqual({ jkt: client.jkt });
      },
    );
  });

  it('a store that never answers, with replayStoreTimeoutMs: 100: 503 with Retry-After: 1, no challenge', async () => {
    const silent = new SilentReplayStore();
    const app = await startInstance(framework, { replayStore: silent, replayStoreTimeoutMs: 100 });
    const proof = await newProof();
    // get() gives up after REQUEST_TIMEOUT_MS: an instance that hangs with its store fails here.
    const answer = await withProof(app, proof);
    expectStoreUnavailable(answer, proof);
    expect(silent.calls).toBe(1);
  });

  it("a store that answers 'OK' (Redis's reply, not a boolean): 500, the token not in the answer", async () => {
    const redisReply = new RedisReplyStore();
    const app = await startInstance(framework, {
      replayStore: redisReply as unknown as DpopReplayStore,
    });
    const proof = await newProof();
    const answer = await withProof(app, proof);
    expect(answer.status).toBe(500);
    expect(answer.body).toEqual({ error: 'server_error', error_description: expect.any(String) });
    expect(answer.headers['www-authenticate']).toBeUndefined();
    expectNothingLeaked(answer, proof);
    expect(redisReply.calls).toBe(1);
  });

  it('Bearer requests never call the store; a DPoP request on the same instances does', async () => {
    const callsBefore = store.calls.length;
    for (const app of [shared.a, shared.b, shared.a]) {
      const answer = await get(app, `Bearer ${bearerToken}`);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ jkt: null });
    }
    // The bound token sent as Bearer is refused (it needs its proof), still without the store.
    const bound = await get(shared.b, `Bearer ${boundToken}`);
    expect(bound.status).toBe(401);
    expect(store.calls.length).toBe(callsBefore);

    // The counter does count: one DPoP request is one call.
    expect((await withProof(shared.a, await newProof())).status).toBe(200);
    expect(store.calls.length).toBe(callsBefore + 1);
  });
});
