import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSigningKey, type TestSigningKey } from '../../../test/support/jwks-server.js';
import { failure } from '../../../test/support/rejections.js';
import type { KeySetEvent } from './jwks.js';
import type { ValidatorOptions } from './options.js';
import { createValidator, type Validator } from './validator.js';

/**
 * What KEYSET.md promises about the events, the request we send and the answers we keep, checked
 * against a real JWKS server on 127.0.0.1 that records what it was asked.
 */
type Answer = { status: number; headers: Record<string, string>; body: string };

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://api.test';
const T0 = Date.UTC(2030, 0, 1);

let server: Server;
let base: string;
let asked: IncomingMessage['headers'][];
let answer: () => Answer;
let k1: TestSigningKey;
let clock: number;
let events: KeySetEvent[];
const open: Validator[] = [];

const jwks = (...keys: Record<string, unknown>[]): Answer => ({
  status: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ keys }),
});

beforeAll(async () => {
  k1 = createSigningKey('k1');
  server = createServer((req, res) => {
    asked.push(req.headers);
    const { status, headers, body } = answer();
    res.writeHead(status, headers).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  asked = [];
  answer = () => jwks(k1.jwk);
  clock = T0;
  events = [];
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((validator) => validator.close()));
});

function validator(overrides: Partial<ValidatorOptions> = {}): Validator {
  const created = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: `${base}/jwks?tenant=a`,
    now: () => clock,
    http: { timeoutMs: 2000 },
    onEvent: (event) => events.push(event),
    ...overrides,
  });
  open.push(created);
  return created;
}

function token(kid: string): Promise<string> {
  const iat = Math.floor(clock / 1000);
  return new SignJWT({ scope: 'read' })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('user-1')
    .setIssuedAt(iat)
    .setExpirationTime(iat + 86_400)
    .sign(k1.privateKey);
}

const keySet = (v: Validator) => v.state().issuers[0]!.keySet;

describe('the key set request', () => {
  it('asks for application/jwk-set+json, application/json', async () => {
    await validator().warm();
    expect(asked).toHaveLength(1);
    expect(asked[0]?.accept).toBe('application/jwk-set+json, application/json');
  });
});

describe('answers that are not taken', () => {
  it('keeps the last good set when a refetch answers invalid JSON or a document without keys', async () => {
    const v = validator();
    await v.warm();
    const jwt = await token('k1');
    for (const body of ['{"keys":[', '{"keys":"none"}']) {
      answer = () => ({ status: 200, headers: { 'content-type': 'application/json' }, body });
      expect((await failure(v.refreshKeys())).code).toBe('ERR_KEYS_UNAVAILABLE');
      expect(keySet(v)).toMatchObject({ status: 'fresh', kids: ['k1'] });
      await expect(v.validate(jwt)).resolves.toMatchObject({ subject: 'user-1' });
    }
  });

  it('takes a set in which no key is usable as the answer: tokens fail 401 ERR_KEY_NOT_FOUND, not 503', async () => {
    answer = () => jwks({ kty: 'oct', kid: 'k1', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA' });
    const v = validator();
    const error = await failure(v.validate(await token('k1')));
    expect(error).toMatchObject({ code: 'ERR_KEY_NOT_FOUND', status: 401 });
    expect(keySet(v)).toMatchObject({ status: 'fresh', keys: 0 });
    expect(events.map((event) => event.type)).toEqual(['key_skipped', 'fetched']);
  });
});

describe('key set events', () => {
  it('reach the other listeners and leave validation alone when a listener throws or rejects', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const v = validator({
        onEvent: async () => {
          throw new Error('async option listener failed');
        },
      });
      v.on(() => {
        throw new Error('sync listener failed');
      });
      v.on(() => Promise.reject(new Error('promise listener failed')));
      v.on((event) => events.push(event));
      await expect(v.validate(await token('k1'))).resolves.toMatchObject({ subject: 'user-1' });
      // Two turns of the loop: a rejection nobody handles is reported after the microtasks drain.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(events.map((event) => event.type)).toEqual(['fetched', 'key_added']);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('name the issuer whose key set it is, a template tenant its own', async () => {
    const v = validator({
      issuer: 'https://{tenant}.issuer.test',
      jwksUri: `${base}/{tenant}/jwks`,
      tenants: ['acme', 'globex'],
    });
    await v.warm();
    expect(
      events.filter((event) => event.type === 'fetched').map((event) => [event.issuer, event.uri]),
    ).toEqual([
      ['https://acme.issuer.test', `${base}/acme/jwks`],
      ['https://globex.issuer.test', `${base}/globex/jwks`],
    ]);
  });

  it('name the issuer of an issuers list, as state() does; a secret issuer has no key set events', async () => {
    const v = createValidator({
      issuers: [
        { issuer: 'my-app', audience: AUDIENCE, secret: 's'.repeat(32) },
        {
          issuer: 'https://configured.test/',
          audience: AUDIENCE,
          jwks: { keys: [k1.jwk, { kty: 'RSA', kid: 'broken' }] },
        },
        { issuer: 'https://remote.test', audience: AUDIENCE, jwksUri: `${base}/remote/jwks` },
      ],
      onEvent: (event) => events.push(event),
    });
    open.push(v);
    await v.warm();
    // The configured set's unusable key is reported while the validator is created, to onEvent.
    expect(events.map((event) => [event.type, event.issuer, event.uri])).toEqual([
      ['key_skipped', 'https://configured.test/', 'configured jwks'],
      ['fetched', 'https://remote.test', `${base}/remote/jwks`],
      ['key_added', 'https://remote.test', `${base}/remote/jwks`],
    ]);
    const named = v.state().issuers.map((state) => state.issuer);
    for (const event of events) expect(named).toContain(event.issuer);
  });

  it('name the reason and the max age of each fetch', async () => {
    answer = () => ({
      ...jwks(k1.jwk),
      headers: { 'content-type': 'application/json', 'cache-control': 'max-age=120' },
    });
    const v = validator();
    await v.validate(await token('k1'));
    await failure(v.validate(await token('rotated-in')));
    await v.refreshKeys();
    clock += 120_000;
    await v.validate(await token('k1'));
    await v.warm();
    const fetched = events.filter((event) => event.type === 'fetched');
    expect(fetched).toEqual(
      ['cold', 'unknown_kid', 'forced', 'expired', 'warm'].map((reason) => ({
        type: 'fetched',
        issuer: ISSUER,
        uri: `${base}/jwks`,
        keys: 1,
        maxAgeSec: 120,
        reason,
      })),
    );
  });

  it('report a failed fetch with the URL, the reason, the failure count and whether the last set still serves', async () => {
    const v = validator({ keySet: { retryMinSec: 1, retryMaxSec: 1 } });
    answer = () => ({ status: 500, headers: {}, body: 'boom' });
    await failure(v.warm());
    await v.refreshKeys().catch(() => undefined);
    answer = () => jwks(k1.jwk);
    await v.refreshKeys();
    answer = () => ({ status: 503, headers: {}, body: 'down' });
    await v.refreshKeys().catch(() => undefined);
    expect(events.filter((event) => event.type === 'fetch_failed')).toEqual([
      {
        type: 'fetch_failed',
        issuer: ISSUER,
        uri: `${base}/jwks`,
        error: `${base}/jwks answered 500`,
        consecutiveFailures: 1,
        servingStale: false,
      },
      {
        type: 'fetch_failed',
        issuer: ISSUER,
        uri: `${base}/jwks`,
        error: `${base}/jwks answered 500`,
        consecutiveFailures: 2,
        servingStale: false,
      },
      {
        type: 'fetch_failed',
        issuer: ISSUER,
        uri: `${base}/jwks`,
        error: `${base}/jwks answered 503`,
        consecutiveFailures: 1,
        servingStale: true,
      },
    ]);
  });

  it("name a key set not yet discovered 'discovery', with the discovery URL in the reason", async () => {
    const v = validator({ issuer: base, jwksUri: undefined });
    await failure(v.warm());
    expect(events).toEqual([
      {
        type: 'fetch_failed',
        issuer: base,
        uri: 'discovery',
        error: `${base}/.well-known/openid-configuration is not valid issuer metadata`,
        consecutiveFailures: 1,
        servingStale: false,
      },
    ]);
  });

  it('never carry a token, nor the query of the JWKS URL', async () => {
    const v = validator({ keySet: { unknownKidCooldownSec: 0 } });
    const tokens = [await token('k1'), await token('unknown-1'), await token('unknown-2')];
    for (const jwt of tokens) await v.validate(`Bearer ${jwt}`).catch(() => undefined);
    answer = () => ({ status: 500, headers: {}, body: 'boom' });
    clock += 600_000;
    for (const jwt of tokens) await v.validate(jwt).catch(() => undefined);
    expect(events.map((event) => event.type)).toEqual(
      expect.arrayContaining(['fetched', 'key_added', 'fetch_failed']),
    );
    const seen = JSON.stringify(events);
    for (const jwt of tokens) for (const part of jwt.split('.')) expect(seen).not.toContain(part);
    expect(seen).not.toContain('tenant=a');
  });
});

describe('ERR_KEYS_UNAVAILABLE', () => {
  it("answers Retry-After as the seconds until the key set's next retry", async () => {
    const v = validator({ keySet: { retryMinSec: 8, retryMaxSec: 8 } });
    answer = () => ({ status: 500, headers: {}, body: 'boom' });
    const jwt = await token('k1');
    const first = await failure(v.validate(jwt));
    const nextRetryAt = keySet(v).nextRetryAt as number;
    expect(first.headers['retry-after']).toBe(String(Math.ceil((nextRetryAt - clock) / 1000)));
    clock += 3000;
    const during = await failure(v.validate(jwt));
    expect(asked).toHaveLength(1);
    expect(during.headers['retry-after']).toBe(String(Math.ceil((nextRetryAt - clock) / 1000)));
  });
});
