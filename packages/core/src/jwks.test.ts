import { createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createSigningKey,
  type JwksServer,
  startJwksServer,
  type TestSigningKey,
} from '../../../test/support/jwks-server.js';
import { TokenGuardError } from './errors.js';
import { type KeySetPolicy, type KeySourceEvent, maxAgeFromHeaders, RemoteKeySource } from './jwks.js';
import { createHttpClient, type HttpClient } from './lib/http.js';
import { DEFAULT_KEY_SET_POLICY, resolveOptions } from './options.js';

const T0 = Date.UTC(2030, 0, 1);

describe('maxAgeFromHeaders', () => {
  const none = { cacheControl: undefined, expires: undefined, date: undefined, age: undefined };

  it('reads max-age and subtracts Age', () => {
    expect(maxAgeFromHeaders({ ...none, cacheControl: 'public, max-age=300' }, T0)).toBe(300);
    expect(maxAgeFromHeaders({ ...none, cacheControl: 'max-age=300', age: '100' }, T0)).toBe(200);
    expect(maxAgeFromHeaders({ ...none, cacheControl: 'max-age=300', age: '900' }, T0)).toBe(0);
  });

  it('treats no-cache and no-store as 0', () => {
    expect(maxAgeFromHeaders({ ...none, cacheControl: 'no-cache' }, T0)).toBe(0);
    expect(maxAgeFromHeaders({ ...none, cacheControl: 'max-age=60, no-store' }, T0)).toBe(0);
  });

  it('does not read s-maxage as max-age', () => {
    expect(maxAgeFromHeaders({ ...none, cacheControl: 's-maxage=300' }, T0)).toBeUndefined();
  });

  it('reads Expires relative to Date, independent of the local clock', () => {
    const date = new Date(T0 - 3_600_000).toUTCString();
    const expires = new Date(T0 - 3_600_000 + 120_000).toUTCString();
    expect(maxAgeFromHeaders({ ...none, expires, date }, T0)).toBe(120);
    expect(maxAgeFromHeaders({ ...none, expires: new Date(T0 + 90_000).toUTCString() }, T0)).toBe(90);
  });

  it('subtracts Age from Expires minus Date, as from max-age (RFC 9111 §4.2.3)', () => {
    // A CDN forwards the origin's Date and says in Age how long it has held the answer.
    const date = new Date(T0 - 500_000).toUTCString();
    const expires = new Date(T0 + 100_000).toUTCString();
    expect(maxAgeFromHeaders({ ...none, expires, date, age: '500' }, T0)).toBe(100);
    expect(maxAgeFromHeaders({ ...none, expires, date, age: '900' }, T0)).toBe(0);
  });

  it('treats an invalid Expires as already expired', () => {
    expect(maxAgeFromHeaders({ ...none, expires: '0' }, T0)).toBe(0);
  });

  it('returns undefined without caching headers', () => {
    expect(maxAgeFromHeaders(none, T0)).toBeUndefined();
  });
});

describe('RemoteKeySource', () => {
  let server: JwksServer;
  let http: HttpClient;
  let k1: TestSigningKey;
  let k2: TestSigningKey;
  let clock: number;
  let events: KeySourceEvent[];

  const source = (policy: Partial<KeySetPolicy> = {}) =>
    new RemoteKeySource({
      uri: server.url,
      http,
      policy: { ...DEFAULT_KEY_SET_POLICY, ...policy },
      now: () => clock,
      emit: (event) => events.push(event),
      random: () => 0,
    });
  const code = (promise: Promise<unknown>) =>
    promise.then(
      () => 'resolved',
      (error: unknown) => (error instanceof TokenGuardError ? error.code : String(error)),
    );

  beforeAll(async () => {
    k1 = createSigningKey('k1');
    k2 = createSigningKey('k2', 'ES256');
    server = await startJwksServer();
    http = createHttpClient({
      fetch: undefined,
      timeoutMs: 2000,
      connectTimeoutMs: 1000,
      headersTimeoutMs: 1000,
      bodyTimeoutMs: 1000,
    });
  });
  afterAll(async () => {
    await http.close();
    await server.close();
  });
  beforeEach(() => {
    server.keys = [k1.jwk];
    server.fault = 'none';
    server.headers = {};
    clock = T0;
    events = [];
  });

  it('shares one fetch among concurrent cold lookups', async () => {
    const keys = source();
    const before = server.fetchCount;
    const results = await Promise.all(Array.from({ length: 50 }, () => keys.resolve('k1', 'RS256')));
    expect(results.every((found) => found.length === 1)).toBe(true);
    expect(server.fetchCount - before).toBe(1);
    expect(keys.state()).toMatchObject({ status: 'fresh', keys: 1, kids: ['k1'], fetchCount: 1 });
  });

  it('takes the max age from Cache-Control within the configured bounds', async () => {
    server.headers = { 'cache-control': 'public, max-age=120' };
    const a = source();
    await a.warm();
    expect(a.state().expiresAt).toBe(T0 + 120_000);
    server.headers = { 'cache-control': 'max-age=5' };
    const b = source();
    await b.warm();
    expect(b.state().expiresAt).toBe(T0 + DEFAULT_KEY_SET_POLICY.minMaxAgeSec * 1000);
    server.headers = { 'cache-control': 'max-age=99999999' };
    const c = source();
    await c.warm();
    expect(c.state().expiresAt).toBe(T0 + DEFAULT_KEY_SET_POLICY.maxMaxAgeSec * 1000);
    server.headers = {};
    const d = source();
    await d.warm();
    expect(d.state().expiresAt).toBe(T0 + DEFAULT_KEY_SET_POLICY.defaultMaxAgeSec * 1000);
  });

  it('refreshes ahead of expiry in the background while answering from the current set', async () => {
    const keys = source({ defaultMaxAgeSec: 600, refreshAheadSec: 30 });
    await keys.warm();
    server.keys = [k1.jwk, k2.jwk];
    clock = T0 + 569_000;
    expect(keys.peek('k1', 'RS256')).toHaveLength(1);
    expect(keys.state().fetchCount).toBe(1);
    clock = T0 + 571_000;
    expect(keys.peek('k1', 'RS256')).toHaveLength(1);
    await vi.waitFor(() => expect(keys.state().fetchCount).toBe(2));
    await vi.waitFor(() => expect(keys.state().kids).toEqual(['k1', 'k2']));
    expect(events).toContainEqual(expect.objectContaining({ type: 'fetched', reason: 'refresh_ahead' }));
  });

  it('never starts a refresh ahead before half the max age', async () => {
    server.headers = { 'cache-control': 'max-age=60' };
    const keys = source({ refreshAheadSec: 300 });
    await keys.warm();
    clock = T0 + 29_000;
    keys.peek('k1', 'RS256');
    expect(keys.state().fetchCount).toBe(1);
  });

  it('accepts a rotated-in kid on its first request with one fetch', async () => {
    const keys = source();
    await keys.warm();
    server.keys = [k1.jwk, k2.jwk];
    expect(keys.peek('k2', 'ES256')).toBeUndefined();
    await expect(keys.resolve('k2', 'ES256')).resolves.toHaveLength(1);
    expect(keys.state().fetchCount).toBe(2);
    expect(events).toContainEqual({ type: 'key_added', uri: server.url, kid: 'k2' });
  });

  it('fails fast for unknown kids during the cooldown after a miss, then fetches again', async () => {
    const keys = source({ unknownKidCooldownSec: 10 });
    await keys.warm();
    expect(await code(keys.resolve('nope-1', 'RS256'))).toBe('ERR_KEY_NOT_FOUND');
    expect(keys.state().fetchCount).toBe(2);
    expect(keys.state().unknownKidCooldownUntil).toBe(T0 + 10_000);
    const storm = await Promise.all(
      Array.from({ length: 100 }, (_, i) => code(keys.resolve(`storm-${i}`, 'RS256'))),
    );
    expect(new Set(storm)).toEqual(new Set(['ERR_KEY_NOT_FOUND']));
    expect(keys.state().fetchCount).toBe(2);
    // Known kids keep working during the cooldown.
    await expect(keys.resolve('k1', 'RS256')).resolves.toHaveLength(1);
    clock = T0 + 10_001;
    expect(await code(keys.resolve('nope-2', 'RS256'))).toBe('ERR_KEY_NOT_FOUND');
    expect(keys.state().fetchCount).toBe(3);
  });

  it('costs one fetch for a storm of unknown kids on a cold cache', async () => {
    const keys = source();
    const storm = await Promise.all(
      Array.from({ length: 100 }, (_, i) => code(keys.resolve(`cold-${i}`, 'RS256'))),
    );
    expect(new Set(storm)).toEqual(new Set(['ERR_KEY_NOT_FOUND']));
    expect(keys.state().fetchCount).toBe(1);
  });

  it('treats a kid whose key does not fit the alg as unknown (bounded by the cooldown)', async () => {
    const keys = source();
    await keys.warm();
    expect(await code(keys.resolve('k1', 'ES256'))).toBe('ERR_KEY_NOT_FOUND');
    expect(await code(keys.resolve('k1', 'PS384'))).toBe('ERR_KEY_NOT_FOUND');
    expect(keys.state().fetchCount).toBe(2);
  });

  it('offers every key sharing a kid, in JWKS order, filtered by alg', async () => {
    const twin = createSigningKey('k2', 'ES256');
    server.keys = [k2.jwk, { ...k1.jwk, kid: 'k2' }, twin.jwk];
    const keys = source();
    const ec = await keys.resolve('k2', 'ES256');
    expect(ec.map((key) => key.keyObject.export({ format: 'jwk' }).x)).toEqual([k2.jwk.x, twin.jwk.x]);
    expect(await keys.resolve('k2', 'RS256')).toHaveLength(1);
  });

  it('skips a key that fails to import, reports it, and keeps the others', async () => {
    server.keys = [
      { kty: 'RSA', kid: 'weak', n: 'AQAB', e: 'AQAB' },
      { kty: 'oct', kid: 'sym', k: 'c2VjcmV0' },
      k1.jwk,
    ];
    const keys = source();
    await expect(keys.resolve('k1', 'RS256')).resolves.toHaveLength(1);
    const skipped = events.filter((event) => event.type === 'key_skipped');
    expect(skipped.map((event) => event.kid)).toEqual(['weak', 'sym']);
    expect(keys.state().kids).toEqual(['k1']);
  });

  it('refuses a set with more keys than maxKeys', async () => {
    server.keys = [k1.jwk, k2.jwk, { ...k1.jwk, kid: 'k3' }];
    const keys = source({ maxKeys: 2 });
    const error = await keys.resolve('k1', 'RS256').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenGuardError);
    expect((error as TokenGuardError).code).toBe('ERR_KEYS_UNAVAILABLE');
    expect(keys.state().lastError).toMatch(/lists 3 keys, over 2/);
  });

  it('reuses a key a refetch finds unchanged, and imports again one whose members changed', async () => {
    server.keys = [k1.jwk, k2.jwk];
    const keys = source();
    await keys.warm();
    const first = keys.peek('k1', 'RS256')?.[0];
    expect(first).toBeDefined();
    await keys.refresh();
    expect(keys.peek('k1', 'RS256')?.[0]).toBe(first);
    expect(keys.peek('k2', 'ES256')).toHaveLength(1);
    server.keys = [{ ...k1.jwk, key_ops: ['verify'] }];
    await keys.refresh();
    const changed = keys.peek('k1', 'RS256')?.[0];
    expect(changed).not.toBe(first);
    expect(changed?.keyOps).toEqual(['verify']);
    server.keys = [{ ...k1.jwk, use: 'enc' }];
    await keys.refresh();
    expect(keys.peek('k1', 'RS256')).toBeUndefined();
    expect(events.filter((event) => event.type === 'key_skipped')).toHaveLength(1);
  });

  it('never takes a member that is null for one that is absent when it reuses a key', async () => {
    const { kid: _, ...withoutKid } = k1.jwk;
    server.keys = [withoutKid];
    const keys = source();
    await keys.warm();
    expect(keys.peek(undefined, 'RS256')).toHaveLength(1);
    server.keys = [{ ...withoutKid, kid: null } as never];
    await keys.refresh();
    expect(keys.peek(undefined, 'RS256')).toBeUndefined();
    expect(events).toContainEqual({
      type: 'key_skipped',
      uri: server.url,
      kid: undefined,
      reason: 'kid is not a string',
    });
  });

  it('imports again a key whose kid stays while its material changes, never reusing the old key', async () => {
    const keys = source();
    await keys.warm();
    const before = keys.peek('k1', 'RS256')?.[0];
    const rotated = createSigningKey('k1');
    server.keys = [{ ...rotated.jwk, x5t: 'ignored' }];
    await keys.refresh();
    const after = keys.peek('k1', 'RS256');
    expect(after).toHaveLength(1);
    expect(after?.[0]).not.toBe(before);
    expect(after?.[0]?.keyObject.equals(createPublicKey(rotated.privateKey))).toBe(true);
    expect(after?.[0]?.keyObject.equals(createPublicKey(k1.privateKey))).toBe(false);
    // A member the import does not read (x5t) may change: the key is the same.
    server.keys = [{ ...rotated.jwk, x5t: 'changed' }];
    await keys.refresh();
    expect(keys.peek('k1', 'RS256')?.[0]).toBe(after?.[0]);
  });

  it('tells JSON types apart when it reuses a key: key_ops "verify" is not ["verify"]', async () => {
    server.keys = [{ ...k1.jwk, key_ops: ['verify'] }];
    const keys = source();
    await keys.warm();
    expect(keys.peek('k1', 'RS256')).toHaveLength(1);
    server.keys = [{ ...k1.jwk, key_ops: 'verify' }];
    await keys.refresh();
    expect(keys.peek('k1', 'RS256')).toBeUndefined();
    expect(events).toContainEqual({
      type: 'key_skipped',
      uri: server.url,
      kid: 'k1',
      reason: 'key_ops is not a list of strings',
    });
  });

  it('keeps only the last set for reuse, and reports a refused key on every refetch', async () => {
    const refused = { ...k2.jwk, kid: 'enc', use: 'enc' };
    server.keys = [k1.jwk, refused];
    const keys = source();
    await keys.warm();
    const first = keys.peek('k1', 'RS256')?.[0];
    server.keys = [k2.jwk, refused];
    await keys.refresh();
    expect(keys.peek('k1', 'RS256')).toBeUndefined();
    server.keys = [k1.jwk, refused];
    await keys.refresh();
    const again = keys.peek('k1', 'RS256')?.[0];
    expect(again).toBeDefined();
    expect(again).not.toBe(first);
    expect(events.filter((event) => event.type === 'key_skipped' && event.kid === 'enc')).toHaveLength(3);
  });

  it('reports a removed key and stops offering it after the next refresh', async () => {
    server.keys = [k1.jwk, k2.jwk];
    const keys = source();
    await keys.warm();
    server.keys = [k2.jwk];
    await keys.refresh();
    expect(events).toContainEqual({ type: 'key_removed', uri: server.url, kid: 'k1' });
    expect(keys.peek('k1', 'RS256')).toBeUndefined();
  });

  it('revalidates a set past its max age before using it, even without a failure', async () => {
    const keys = source();
    await keys.warm();
    server.keys = [k2.jwk];
    clock = T0 + 601_000;
    expect(await code(keys.resolve('k1', 'RS256'))).toBe('ERR_KEY_NOT_FOUND');
    expect(keys.state().fetchCount).toBe(2);
  });

  it('serves the last good set while the issuer fails, retries with backoff, then fails closed', async () => {
    const keys = source({ staleIfErrorSec: 300, retryMinSec: 2, retryMaxSec: 8 });
    await keys.warm();
    server.fault = 'status_500';
    clock = T0 + 601_000;
    // The first failure is waited for, then the stale set answers.
    await expect(keys.resolve('k1', 'RS256')).resolves.toHaveLength(1);
    expect(keys.state()).toMatchObject({ status: 'stale', consecutiveFailures: 1, fetchCount: 2 });
    // Jitter 0.5 (random() = 0): retry after 1 s, then 2 s, then 4 s.
    expect(keys.state().nextRetryAt).toBe(clock + 1000);
    expect(events.at(-1)).toMatchObject({ type: 'fetch_failed', servingStale: true, consecutiveFailures: 1 });
    await expect(keys.resolve('k1', 'RS256')).resolves.toHaveLength(1);
    expect(keys.state().fetchCount).toBe(2);
    clock += 1000;
    await expect(keys.resolve('k1', 'RS256')).resolves.toHaveLength(1);
    await vi.waitFor(() => expect(keys.state().consecutiveFailures).toBe(2));
    expect(keys.state().nextRetryAt).toBe(clock + 2000);
    // Past the stale window: fail closed with a 503 and Retry-After.
    clock = T0 + 901_000;
    const error = (await keys.resolve('k1', 'RS256').catch((e: unknown) => e)) as TokenGuardError;
    expect(error.code).toBe('ERR_KEYS_UNAVAILABLE');
    expect(error.status).toBe(503);
    expect(error.headers['retry-after']).toMatch(/^\d+$/);
    expect(keys.state().status).toBe('expired');
    // Recovery without a restart.
    server.fault = 'none';
    clock += 60_000;
    await expect(keys.resolve('k1', 'RS256')).resolves.toHaveLength(1);
    expect(keys.state()).toMatchObject({ status: 'fresh', consecutiveFailures: 0, lastError: undefined });
  });

  it("honours the issuer's Retry-After within retryMaxSec", async () => {
    server.fault = 'status_503';
    const keys = source({ retryMinSec: 1, retryMaxSec: 20 });
    const error = (await keys.resolve('k1', 'RS256').catch((e: unknown) => e)) as TokenGuardError;
    expect(error.code).toBe('ERR_KEYS_UNAVAILABLE');
    expect(error.retryAfterSec).toBe(20);
    expect(await code(keys.resolve('k1', 'RS256'))).toBe('ERR_KEYS_UNAVAILABLE');
    expect(keys.state().fetchCount).toBe(1);
  });

  it('refresh() ignores backoff and waits for a fetch in flight before fetching again', async () => {
    const keys = source();
    server.fault = 'status_500';
    await expect(keys.warm()).rejects.toThrow(TokenGuardError);
    server.fault = 'none';
    await keys.refresh();
    expect(keys.state()).toMatchObject({ status: 'fresh', fetchCount: 2 });
    server.latencyMs = 50;
    try {
      const warming = keys.warm();
      await keys.refresh();
      await warming;
    } finally {
      server.latencyMs = 0;
    }
    expect(keys.state().fetchCount).toBe(4);
  });

  it('state() names the key set by origin and path, never its query or credentials', () => {
    const keys = new RemoteKeySource({
      uri: 'https://reader:hunter2@id.example/jwks?api-key=s3cret',
      http,
      policy: DEFAULT_KEY_SET_POLICY,
      now: () => clock,
      emit: (event) => events.push(event),
    });
    expect(keys.state().uri).toBe('https://id.example/jwks');
  });

  it('touch() reports a set past its max age as not current', async () => {
    const keys = source();
    expect(keys.touch()).toBe(false);
    await keys.warm();
    expect(keys.touch()).toBe(true);
    clock = T0 + 600_000;
    expect(keys.touch()).toBe(false);
  });
});

describe('keySet option', () => {
  const base = { issuer: 'https://id.example', audience: 'https://api.example' };

  it('applies the documented defaults and overrides field by field', () => {
    expect(resolveOptions(base).keySet).toEqual(DEFAULT_KEY_SET_POLICY);
    expect(resolveOptions({ ...base, keySet: { staleIfErrorSec: 7200 } }).keySet).toEqual({
      ...DEFAULT_KEY_SET_POLICY,
      staleIfErrorSec: 7200,
    });
    expect(Object.isFrozen(DEFAULT_KEY_SET_POLICY)).toBe(true);
  });

  it.each([
    [{ retryMinSec: 0 }, 'keySet.retryMinSec'],
    [{ retryMinSec: 90, retryMaxSec: 60 }, 'keySet.retryMinSec'],
    [{ minMaxAgeSec: 600, maxMaxAgeSec: 60 }, 'keySet.minMaxAgeSec'],
    [{ maxJsonDepth: 3 }, 'keySet.maxJsonDepth'],
    [{ maxResponseBytes: 0 }, 'keySet.maxResponseBytes'],
    [{ staleIfErrorSec: -1 }, 'keySet.staleIfErrorSec'],
    [{ unknownKidCooldownSec: Number.POSITIVE_INFINITY }, 'keySet.unknownKidCooldownSec'],
    [{ refreshAheadSecs: 1 }, 'keySet'],
  ])('rejects %j with a TypeError naming %s', (keySet, name) => {
    expect(() => resolveOptions({ ...base, keySet } as never)).toThrow(
      new RegExp(`^tokenguard: invalid option "${name.replace('.', '\\.')}`),
    );
    expect(() => resolveOptions({ ...base, keySet } as never)).toThrow(TypeError);
  });
});
