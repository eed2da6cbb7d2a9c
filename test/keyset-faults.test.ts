import { randomUUID } from 'node:crypto';
import {
  createValidator,
  type KeySetEvent,
  TokenGuardError,
  type Validator,
  type ValidatorOptions,
} from '@tokenguard/core';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createSigningKey,
  type JwksServer,
  startJwksServer,
  type TestSigningKey,
} from './support/jwks-server.js';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://api.test';
const T0 = Date.UTC(2030, 0, 1);
const MAX_AGE_MS = 600_000;

let server: JwksServer;
let k1: TestSigningKey;
let k2: TestSigningKey;
let clock: number;
const open: Validator[] = [];

beforeAll(async () => {
  k1 = createSigningKey('k1');
  k2 = createSigningKey('k2', 'ES256');
  server = await startJwksServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.keys = [k1.jwk];
  server.fault = 'none';
  server.headers = {};
  server.latencyMs = 0;
  clock = T0;
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((validator) => validator.close()));
});

function validator(overrides: Partial<ValidatorOptions> = {}): Validator {
  const created = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: server.url,
    now: () => clock,
    http: { timeoutMs: 2000, connectTimeoutMs: 1000, headersTimeoutMs: 1000, bodyTimeoutMs: 1000 },
    ...overrides,
  });
  open.push(created);
  return created;
}

function token(key: TestSigningKey, kid: string = key.kid): Promise<string> {
  const iat = Math.floor(clock / 1000);
  return new SignJWT({ scope: 'read', client_id: 'client-1' })
    .setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('user-1')
    .setIssuedAt(iat)
    .setExpirationTime(iat + 86_400)
    .sign(key.privateKey);
}

/** `ok`, or the error code with its status. */
async function outcome(v: Validator, jwt: string): Promise<string> {
  try {
    await v.validate(`Bearer ${jwt}`);
    return 'ok';
  } catch (error) {
    if (!(error instanceof TokenGuardError)) throw error;
    expect(JSON.stringify(error.toJSON()) + error.message).not.toContain(jwt);
    return `${error.status} ${error.code}`;
  }
}

async function unavailable(v: Validator, jwt: string): Promise<TokenGuardError> {
  const error = await v.validate(jwt).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TokenGuardError);
  const failure = error as TokenGuardError;
  expect(failure.code).toBe('ERR_KEYS_UNAVAILABLE');
  expect(failure.status).toBe(503);
  expect(failure.headers['retry-after']).toMatch(/^[1-9]\d*$/);
  expect(failure.headers['www-authenticate']).toBeUndefined();
  return failure;
}

const keySet = (v: Validator) => v.state().issuers[0]!.keySet;

describe.each([
  ['undici', undefined],
  ['fetch', globalThis.fetch],
] as const)('key set HTTP faults (%s transport)', (_name, fetch) => {
  const http = (timeouts: { timeoutMs?: number; headersTimeoutMs?: number; bodyTimeoutMs?: number }) => ({
    http: {
      timeoutMs: 2000,
      connectTimeoutMs: 1000,
      headersTimeoutMs: 1000,
      bodyTimeoutMs: 1000,
      ...timeouts,
      ...(fetch === undefined ? {} : { fetch }),
    },
  });

  it('fails closed within the timeout when the server never sends headers', { timeout: 8000 }, async () => {
    server.fault = 'stall_headers';
    const v = validator(http({ timeoutMs: 500, headersTimeoutMs: 300 }));
    await unavailable(v, await token(k1));
    expect(keySet(v).lastError).toMatch(/within the timeout/);
  });

  it('fails closed within the timeout when the body stalls after the headers', {
    timeout: 8000,
  }, async () => {
    server.fault = 'stall_body';
    const v = validator(http({ timeoutMs: 500, bodyTimeoutMs: 300 }));
    await unavailable(v, await token(k1));
    expect(keySet(v).lastError).toMatch(/within the timeout/);
  });

  it('fails at the overall deadline when the body drips byte by byte', { timeout: 8000 }, async () => {
    server.fault = 'drip';
    // The drip resets a per-chunk body timeout; only the overall deadline can end it.
    const v = validator(http({ timeoutMs: 400, bodyTimeoutMs: 5000 }));
    await unavailable(v, await token(k1));
    expect(keySet(v).lastError).toMatch(/within the timeout/);
  });

  it('cuts off a huge chunked body at maxResponseBytes', async () => {
    server.fault = 'huge';
    const v = validator(http({}));
    await unavailable(v, await token(k1));
    expect(keySet(v).lastError).toMatch(/more than 131072 bytes/);
  });

  it('refuses a declared Content-Length over maxResponseBytes without reading it', async () => {
    server.fault = 'huge_declared';
    const v = validator({ ...http({}), keySet: { maxResponseBytes: 4096 } });
    await unavailable(v, await token(k1));
    expect(keySet(v).lastError).toMatch(/more than 4096 bytes/);
  });

  it('never follows a redirect', async () => {
    server.fault = 'redirect';
    const moved = server.movedCount;
    const v = validator(http({}));
    await unavailable(v, await token(k1));
    expect(server.movedCount).toBe(moved);
    expect(keySet(v).lastError).toMatch(/redirect/);
  });

  it('refuses the wrong content type', async () => {
    server.fault = 'html';
    const v = validator(http({}));
    await unavailable(v, await token(k1));
    expect(keySet(v).lastError).toMatch(/text\/html, not JSON/);
  });

  it('refuses invalid JSON and a JSON document that is not a key set', async () => {
    server.fault = 'invalid_json';
    const v = validator(http({}));
    await unavailable(v, await token(k1));
    expect(keySet(v).lastError).toMatch(/did not answer a JSON Web Key Set/);
    server.fault = 'not_a_jwks';
    const w = validator(http({}));
    await unavailable(w, await token(k1));
  });

  it('answers 503 (not 401) for a 500 or a reset connection, and recovers without a restart', async () => {
    server.fault = 'status_500';
    const v = validator({ ...http({}), keySet: { retryMinSec: 1, retryMaxSec: 1 } });
    const jwt = await token(k1);
    await unavailable(v, jwt);
    clock += 1000;
    server.fault = 'reset';
    await unavailable(v, jwt);
    clock += 1000;
    server.fault = 'none';
    expect(await outcome(v, jwt)).toBe('ok');
    expect(keySet(v)).toMatchObject({ status: 'fresh', consecutiveFailures: 0 });
  });
});

describe('key set policy through the validator', () => {
  it('accepts a rotated-in key on its first request, right after warm-up, with one fetch', async () => {
    const v = validator();
    await v.warm();
    expect(keySet(v)).toMatchObject({ status: 'fresh', fetchCount: 1, kids: ['k1'] });
    server.keys = [k1.jwk, k2.jwk];
    expect(await outcome(v, await token(k2))).toBe('ok');
    expect(keySet(v).fetchCount).toBe(2);
  });

  it('answers a storm of random kids with one fetch per cooldown window, failing fast with 401', async () => {
    const v = validator({ keySet: { unknownKidCooldownSec: 10 } });
    await v.warm();
    const good = await token(k1);
    const storm = await Promise.all(
      Array.from({ length: 200 }, async () => outcome(v, await token(k1, randomUUID()))),
    );
    expect(new Set(storm)).toEqual(new Set(['401 ERR_KEY_NOT_FOUND']));
    expect(keySet(v).fetchCount).toBe(2);
    // One random kid per simulated second for 30 s: at most one fetch per 10 s window.
    for (let second = 1; second <= 30; second++) {
      clock = T0 + second * 1000;
      expect(await outcome(v, await token(k1, randomUUID()))).toBe('401 ERR_KEY_NOT_FOUND');
      expect(await outcome(v, good)).toBe('ok');
    }
    expect(keySet(v).fetchCount - 2).toBeLessThanOrEqual(3);
  });

  it('accepts a key rotated in during a miss cooldown once the window ends', async () => {
    const v = validator({ keySet: { unknownKidCooldownSec: 10 } });
    await v.warm();
    expect(await outcome(v, await token(k1, 'random'))).toBe('401 ERR_KEY_NOT_FOUND');
    server.keys = [k1.jwk, k2.jwk];
    const rotated = await token(k2);
    expect(await outcome(v, rotated)).toBe('401 ERR_KEY_NOT_FOUND');
    clock += 10_000;
    expect(await outcome(v, rotated)).toBe('ok');
  });

  it('keeps serving the last good set through flapping availability, then fails closed, then recovers', async () => {
    let settled = 0;
    const v = validator({
      keySet: { staleIfErrorSec: 600, retryMinSec: 5, retryMaxSec: 20 },
      onEvent: (event) => {
        if (event.type === 'fetched' || event.type === 'fetch_failed') settled++;
      },
    });
    // Background retries start synchronously (fetchCount counts them) and end with an event.
    const settle = () => vi.waitFor(() => expect(settled).toBe(keySet(v).fetchCount));
    const jwt = await token(k1);
    expect(await outcome(v, jwt)).toBe('ok');
    const schedule: ['none' | 'status_500' | 'reset' | 'stall_headers', number][] = [
      ['status_500', MAX_AGE_MS + 1_000],
      ['none', 30_000],
      ['reset', MAX_AGE_MS + 1_000],
      ['status_500', 25_000],
      ['none', 25_000],
    ];
    for (const [fault, advanceMs] of schedule) {
      server.fault = fault;
      clock += advanceMs;
      expect(await outcome(v, jwt)).toBe('ok');
      await settle();
    }
    expect(keySet(v).status).toBe('fresh');
    // Down for longer than the stale window: fail closed with 503, never 401.
    server.fault = 'status_500';
    clock += MAX_AGE_MS + 1_000;
    expect(await outcome(v, jwt)).toBe('ok');
    clock += 600_000;
    await unavailable(v, jwt);
    expect(keySet(v).status).toBe('expired');
    const failures = keySet(v).consecutiveFailures;
    await unavailable(v, jwt);
    expect(keySet(v).consecutiveFailures).toBe(failures);
    server.fault = 'none';
    clock += 20_000;
    expect(await outcome(v, jwt)).toBe('ok');
    expect(keySet(v)).toMatchObject({ status: 'fresh', consecutiveFailures: 0 });
  });

  it('rejects a removed key after a forced refresh, including its cached verified tokens', async () => {
    server.keys = [k1.jwk, k2.jwk];
    const events: KeySetEvent[] = [];
    const v = validator({ onEvent: (event) => events.push(event) });
    const jwt = await token(k1);
    // Twice: the cache of verified tokens keeps a token from its second verification on.
    expect(await outcome(v, jwt)).toBe('ok');
    expect(await outcome(v, jwt)).toBe('ok');
    expect(v.state().tokenCache.entries).toBe(1);
    server.keys = [k2.jwk];
    await v.refreshKeys();
    expect(events).toContainEqual({ type: 'key_removed', issuer: ISSUER, uri: server.url, kid: 'k1' });
    expect(v.state().tokenCache.entries).toBe(0);
    expect(await outcome(v, jwt)).toBe('401 ERR_KEY_NOT_FOUND');
    expect(await outcome(v, await token(k2))).toBe('ok');
  });

  it('rejects a removed key, cached or not, on the first request after the set expires', async () => {
    server.keys = [k1.jwk, k2.jwk];
    const v = validator();
    const jwt = await token(k1);
    expect(await outcome(v, jwt)).toBe('ok');
    server.keys = [k2.jwk];
    clock += MAX_AGE_MS - 60_000;
    expect(await outcome(v, jwt)).toBe('ok');
    clock += 60_000;
    expect(await outcome(v, jwt)).toBe('401 ERR_KEY_NOT_FOUND');
    expect(keySet(v).kids).toEqual(['k2']);
  });

  it('reports fetches and key changes to on() listeners until they unsubscribe', async () => {
    const v = validator();
    const seen: string[] = [];
    const off = v.on((event) => seen.push(event.type));
    v.on(() => {
      throw new Error('a failing listener never breaks validation');
    });
    await v.warm();
    expect(seen).toEqual(['fetched', 'key_added']);
    off();
    server.keys = [k2.jwk];
    await v.refreshKeys();
    expect(seen).toEqual(['fetched', 'key_added']);
    expect(await outcome(v, await token(k2))).toBe('ok');
  });

  it('reports a key that fails to import and keeps validating with the others', async () => {
    server.keys = [{ kty: 'RSA', kid: 'broken', n: '!!', e: 'AQAB' }, k1.jwk];
    const skipped: KeySetEvent[] = [];
    const v = validator({ onEvent: (event) => event.type === 'key_skipped' && skipped.push(event) });
    expect(await outcome(v, await token(k1))).toBe('ok');
    expect(skipped).toEqual([
      { type: 'key_skipped', issuer: ISSUER, uri: server.url, kid: 'broken', reason: expect.any(String) },
    ]);
  });

  it('shows state for health checks: empty, fresh, stale while failing, expired', async () => {
    const v = validator({ keySet: { staleIfErrorSec: 60 } });
    expect(keySet(v)).toMatchObject({ status: 'empty', fetchCount: 0, uri: server.url });
    await v.warm();
    expect(keySet(v)).toMatchObject({ status: 'fresh', lastSuccessAt: T0, expiresAt: T0 + MAX_AGE_MS });
    server.fault = 'status_500';
    clock += MAX_AGE_MS;
    expect(await outcome(v, await token(k1))).toBe('ok');
    expect(keySet(v)).toMatchObject({ status: 'stale', consecutiveFailures: 1 });
    expect(keySet(v).lastError).toMatch(/answered 500/);
    expect(keySet(v).nextRetryAt).toBeGreaterThan(clock);
    clock += 60_000;
    expect(keySet(v).status).toBe('expired');
  });
});
