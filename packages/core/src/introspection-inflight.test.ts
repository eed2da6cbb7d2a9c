import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { failure, typeErrorOf } from '../../../test/support/rejections.js';
import { createValidator, type Validator } from './validator.js';

/**
 * introspection.maxInFlight: a flood of distinct tokens is refused at once (503) instead of queueing
 * on the HTTP pool, and the refusal is no endpoint failure. The real endpoint below, on 127.0.0.1,
 * holds every request open until the test answers it, so "in flight" is exactly what the test says.
 */
interface Held {
  token: string;
  answer(body: string): void;
}

const ISSUER = 'https://as.example';
const AUDIENCE = 'https://api.example';
const CLIENT_ID = 'orders-api';
const CLIENT_SECRET = 'inflight-s3cr3t';
const INACTIVE = '{"active":false}';

let server: Server;
let endpoint: string;
/** Requests the endpoint has received, in order (answered or not). */
let received: string[];
/** Requests waiting for the test to answer them. */
let held: Held[];
/** Tokens the endpoint answers at once, with this body; every other request is held. */
let answerAtOnce: Map<string, string>;
let arrivals: Array<{ count: number; resolve: () => void }>;
const clock = Date.UTC(2031, 0, 1);
const validators: Validator[] = [];

beforeAll(async () => {
  server = createServer((req, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      const token = new URLSearchParams(body).get('token') ?? '';
      received.push(token);
      const answer = (text: string) => res.writeHead(200, { 'content-type': 'application/json' }).end(text);
      const atOnce = answerAtOnce.get(token);
      if (atOnce !== undefined) answer(atOnce);
      else held.push({ token, answer });
      for (const waiter of arrivals.filter((entry) => received.length >= entry.count)) waiter.resolve();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/introspect`;
});
afterAll(async () => {
  await Promise.all(validators.map((validator) => validator.close()));
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  received = [];
  held = [];
  answerAtOnce = new Map();
  arrivals = [];
});
afterEach(() => {
  // A test that failed half-way leaves nothing waiting for the next one.
  for (const request of held.splice(0)) request.answer(INACTIVE);
});

const active = () =>
  JSON.stringify({ active: true, iss: ISSUER, aud: AUDIENCE, scope: 'read', exp: clock / 1000 + 300 });

/** Resolves once the endpoint has received `count` requests in this test. */
function arrived(count: number): Promise<'sent'> {
  return new Promise((resolve) => {
    if (received.length >= count) resolve('sent');
    else arrivals.push({ count, resolve: () => resolve('sent') });
  });
}

/** Answers the held request for `token`. */
function release(token: string, body: string): void {
  const index = held.findIndex((request) => request.token === token);
  expect(index, `a request for ${token} is held`).toBeGreaterThanOrEqual(0);
  held.splice(index, 1)[0]?.answer(body);
}

function validator(introspection: Record<string, unknown> = {}): Validator {
  const created = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    now: () => clock,
    // Far above any wait here: a held request never times out (which would start the backoff).
    http: { timeoutMs: 60_000, headersTimeoutMs: 60_000 },
    introspection: { endpoint, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, ...introspection },
  });
  validators.push(created);
  return created;
}

const introspectionState = (v: Validator) => v.state().issuers[0]?.introspection;

/** The validation's TokenGuardError, or 'sent' when the endpoint receives request number `count` first. */
function refusedBefore(count: number, validation: Promise<unknown>) {
  return Promise.race([failure(validation), arrived(count)]);
}

describe('introspection.maxInFlight', () => {
  it('refuses a new token at once (503, Retry-After) while the cap waits, and starts no backoff', async () => {
    const v = validator({ maxInFlight: 2 });
    const first = failure(v.validate('junk-1'));
    const second = failure(v.validate('junk-2'));
    await arrived(2);
    expect(introspectionState(v)?.inFlight).toBe(2);

    // Without the cap, junk-3 would reach the endpoint (a third request) instead of being refused.
    const refused = await refusedBefore(3, v.validate('Bearer junk-3'));
    expect(refused).not.toBe('sent');
    if (refused === 'sent') return;
    expect(refused).toMatchObject({ code: 'ERR_INTROSPECTION_UNAVAILABLE', status: 503, retryAfterSec: 1 });
    expect(refused.message).toMatch(/too many introspections in flight/i);
    expect(refused.message).toContain('maxInFlight 2');
    expect(refused.headers['retry-after']).toBe('1');
    expect(received).toEqual(['junk-1', 'junk-2']);
    expect(introspectionState(v)).toMatchObject({
      inFlight: 2,
      maxInFlight: 2,
      refusedInFlight: 1,
      consecutiveFailures: 0,
      nextRetryAt: undefined,
      lastError: undefined,
    });

    release('junk-1', INACTIVE);
    release('junk-2', INACTIVE);
    expect((await first).code).toBe('ERR_TOKEN_INACTIVE');
    expect((await second).code).toBe('ERR_TOKEN_INACTIVE');
    expect(introspectionState(v)?.inFlight).toBe(0);

    // No backoff: a legitimate token is introspected and accepted at once.
    answerAtOnce.set('legit-1', active());
    await expect(v.validate('legit-1')).resolves.toMatchObject({ source: 'introspection' });
    // The refusal was not cached as an answer: junk-3 is asked for now.
    answerAtOnce.set('junk-3', INACTIVE);
    expect((await failure(v.validate('junk-3'))).code).toBe('ERR_TOKEN_INACTIVE');
    expect(received).toEqual(['junk-1', 'junk-2', 'legit-1', 'junk-3']);
    expect(introspectionState(v)).toMatchObject({ requests: 4, consecutiveFailures: 0, refusedInFlight: 1 });
  });

  it('lets validations of a token already in flight join it while the cap is full', async () => {
    const v = validator({ maxInFlight: 1 });
    const settled: string[] = [];
    const same = Array.from({ length: 10 }, (_, index) =>
      v.validate('shared-token').then(
        (auth) => {
          settled.push(`accepted ${index}`);
          return auth;
        },
        (error: unknown) => {
          settled.push(`refused ${index}`);
          throw error;
        },
      ),
    );
    await arrived(1);
    // The cap is full with shared-token itself: another token is refused, the nine joiners were not.
    const refused = await refusedBefore(2, v.validate('other-token'));
    expect(refused).not.toBe('sent');
    expect(refused).toMatchObject({ code: 'ERR_INTROSPECTION_UNAVAILABLE', status: 503 });
    expect(settled).toEqual([]);
    expect(introspectionState(v)).toMatchObject({ inFlight: 1, refusedInFlight: 1 });

    release('shared-token', active());
    const results = await Promise.all(same);
    expect(results.every((auth) => auth.source === 'introspection')).toBe(true);
    expect(settled).toHaveLength(10);
    expect(received).toEqual(['shared-token']);
    expect(introspectionState(v)).toMatchObject({ requests: 1, refusedInFlight: 1 });
  });

  it('serves cached answers, active and inactive, while the cap is full', async () => {
    const v = validator({ maxInFlight: 1 });
    answerAtOnce.set('cached-good', active());
    answerAtOnce.set('cached-bad', INACTIVE);
    await v.validate('cached-good');
    expect((await failure(v.validate('cached-bad'))).code).toBe('ERR_TOKEN_INACTIVE');

    const waiting = failure(v.validate('junk-held'));
    await arrived(3);
    const refused = await refusedBefore(4, v.validate('junk-new'));
    expect(refused).not.toBe('sent');
    expect(refused).toMatchObject({ code: 'ERR_INTROSPECTION_UNAVAILABLE', status: 503 });

    // Cache hits complete without the endpoint, full cap or not.
    await expect(v.validate('cached-good')).resolves.toMatchObject({ source: 'introspection' });
    expect(await failure(v.validate('cached-bad'))).toMatchObject({
      code: 'ERR_TOKEN_INACTIVE',
      status: 401,
    });
    expect(received).toEqual(['cached-good', 'cached-bad', 'junk-held']);

    release('junk-held', INACTIVE);
    expect((await waiting).code).toBe('ERR_TOKEN_INACTIVE');
  });

  it('is 64 by default; a bad value is a TypeError naming the option', () => {
    const base = { issuer: ISSUER, audience: AUDIENCE };
    const build = (maxInFlight: unknown) => () =>
      validators.push(
        createValidator({
          ...base,
          introspection: { endpoint, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, maxInFlight },
        } as Parameters<typeof createValidator>[0]),
      );
    const defaults = createValidator({
      ...base,
      introspection: { endpoint, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
    });
    validators.push(defaults);
    expect(defaults.options.issuers[0]?.introspection?.maxInFlight).toBe(64);
    expect(introspectionState(defaults)?.maxInFlight).toBe(64);
    for (const accepted of [1, 1024]) expect(typeErrorOf(build(accepted)), String(accepted)).toBe('accepted');
    for (const bad of [0, -1, 1.5, 'x', 1025, Number.NaN]) {
      expect(typeErrorOf(build(bad)), String(bad)).toMatch(
        /^tokenguard: invalid option "introspection\.maxInFlight": (?!is not a known option)/,
      );
    }
  });
});
