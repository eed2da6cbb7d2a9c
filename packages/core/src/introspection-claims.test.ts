import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { failure } from '../../../test/support/rejections.js';
import type { TokenGuardError } from './errors.js';
import { createValidator, type Validator } from './validator.js';

/**
 * What INTROSPECTION.md promises that introspection.test.ts leaves unchecked: redirects, metadata
 * without an endpoint, 429, `maxTtlSec: 0`, how long a rejected answer lives, what `validateClaims`
 * receives, the assertion's clock, and that no fault names the token or the client secret.
 * One real server on 127.0.0.1 plays both the issuer's discovery document and its endpoint.
 */
type Reply = { status?: number; headers?: Record<string, string>; body?: string };

const AUDIENCE = 'https://api.example';
const CLIENT_ID = 'orders-api';
const CLIENT_SECRET = 'cl13nt-s3cr3t-never-printed-4c2a';
const HS_SECRET = 'a-shared-secret-of-at-least-32-bytes!!';

let server: Server;
let issuer: string;
let metadata: Record<string, unknown>;
let forms: URLSearchParams[];
let reply: () => Reply;
let clock: number;
const validators: Validator[] = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      if (req.url === '/.well-known/openid-configuration') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(metadata));
        return;
      }
      forms.push(new URLSearchParams(body));
      const answer = reply();
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await Promise.all(validators.map((validator) => validator.close()));
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  forms = [];
  clock = Date.UTC(2031, 0, 1);
  metadata = { issuer, introspection_endpoint: `${issuer}/introspect` };
  reply = () => ({ body: active() });
});

const nowSec = () => Math.floor(clock / 1000);
const active = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ active: true, iss: issuer, aud: AUDIENCE, scope: 'read', exp: nowSec() + 300, ...extra });

function validator(
  introspection: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Validator {
  const created = createValidator({
    issuer,
    audience: AUDIENCE,
    secret: HS_SECRET,
    now: () => clock,
    http: { timeoutMs: 1000 },
    introspection: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, ...introspection },
    ...extra,
  } as Parameters<typeof createValidator>[0]);
  validators.push(created);
  return created;
}

/** Everything an error shows a log: message, JSON, inspect (with its cause chain). */
const shown = (error: TokenGuardError) =>
  `${error.message} ${JSON.stringify(error.toJSON())} ${inspect(error, { depth: 10 })}`;

const requests = (v: Validator) => v.state().issuers[0]?.introspection?.requests;

describe('faults from INTROSPECTION.md', () => {
  it('reports a redirect as ERR_INTROSPECTION_MISCONFIGURED (500) and does not follow it', async () => {
    reply = () => ({ status: 302, headers: { location: `${issuer}/elsewhere` } });
    const error = await failure(validator().validate('opaque-redirected'));
    expect(error).toMatchObject({ code: 'ERR_INTROSPECTION_MISCONFIGURED', status: 500 });
    expect(forms).toHaveLength(1);
  });

  it('reports metadata without introspection_endpoint as ERR_INTROSPECTION_MISCONFIGURED (500)', async () => {
    metadata = { issuer };
    const error = await failure(validator().validate('opaque-no-endpoint'));
    expect(error).toMatchObject({ code: 'ERR_INTROSPECTION_MISCONFIGURED', status: 500 });
    expect(error.message).toMatch(/introspection_endpoint/);
    expect(forms).toHaveLength(0);
  });

  it('answers a 429 from the endpoint with 503 and Retry-After', async () => {
    reply = () => ({ status: 429, headers: { 'retry-after': '7' } });
    const error = await failure(validator({ retry: { minSec: 1, maxSec: 30 } }).validate('opaque-throttled'));
    expect(error).toMatchObject({ code: 'ERR_INTROSPECTION_UNAVAILABLE', status: 503 });
    expect(error.headers['retry-after']).toBe('7');
  });

  it('backs off after an answer without a boolean active, like any unusable answer, and reports it in state()', async () => {
    for (const body of ['{}', '{"active":"yes"}', 'not json']) {
      reply = () => ({ body });
      const v = validator({ retry: { minSec: 4, maxSec: 30 } });
      const first = await failure(v.validate('opaque-unusable-1'));
      expect(first).toMatchObject({ code: 'ERR_INTROSPECTION_UNAVAILABLE', status: 503 });
      expect(first.headers['retry-after']).toBe('4');
      const during = await failure(v.validate('opaque-unusable-2'));
      expect(during.code).toBe('ERR_INTROSPECTION_UNAVAILABLE');
      expect(v.state().issuers[0]?.introspection).toMatchObject({
        requests: 1,
        consecutiveFailures: 1,
        nextRetryAt: clock + 4_000,
      });
      clock += 4_000;
      reply = () => ({ body: active() });
      await expect(v.validate('opaque-unusable-2')).resolves.toMatchObject({ source: 'introspection' });
      expect(v.state().issuers[0]?.introspection).toMatchObject({ requests: 2, consecutiveFailures: 0 });
    }
  });

  it('never names the token or the client secret in any fault', async () => {
    const token = 'opaque-SENSITIVE-token-value-77';
    const replies: (() => Reply)[] = [
      () => ({ status: 401 }),
      () => ({ status: 400, body: JSON.stringify({ error: 'invalid_request' }) }),
      () => ({ status: 500 }),
      () => ({ body: 'not json' }),
      () => ({ body: '{"active":"yes"}' }),
      () => ({ status: 302, headers: { location: `${issuer}/x?token=${token}` } }),
    ];
    for (const next of replies) {
      reply = next;
      const v = validator({ authMethod: 'client_secret_post' });
      const error = await failure(v.validate(token));
      expect(shown(error)).not.toContain(token);
      expect(shown(error)).not.toContain(CLIENT_SECRET);
      expect(JSON.stringify(v.state())).not.toContain(CLIENT_SECRET);
    }
  });
});

describe('cache lifetimes from INTROSPECTION.md', () => {
  it('does not reuse an active answer with maxTtlSec: 0', async () => {
    const v = validator({ cache: { maxTtlSec: 0 } });
    await v.validate('opaque-uncached');
    await v.validate('opaque-uncached');
    expect(requests(v)).toBe(2);
    expect(v.state().issuers[0]?.introspection?.cache.entries).toBe(0);
  });

  it('keeps an active answer that fails our checks for inactiveTtlSec, like an inactive one', async () => {
    reply = () => ({ body: active({ aud: 'https://another-api.example' }) });
    const v = validator({ cache: { inactiveTtlSec: 5, maxTtlSec: 60 } });
    expect((await failure(v.validate('opaque-other-api'))).code).toBe('ERR_AUDIENCE_MISMATCH');
    clock += 4_999;
    expect((await failure(v.validate('opaque-other-api'))).code).toBe('ERR_AUDIENCE_MISMATCH');
    expect(requests(v)).toBe(1);
    clock += 1;
    reply = () => ({ body: active() });
    await expect(v.validate('opaque-other-api')).resolves.toMatchObject({ source: 'introspection' });
    expect(requests(v)).toBe(2);
  });

  it('keeps a not-yet-valid answer only until the token becomes valid (an issuer clock ahead of ours)', async () => {
    // nbf / iat 3 s beyond the 5 s tolerance: valid from clock + 3 s, well inside inactiveTtlSec (60 s).
    const v = validator({ cache: { inactiveTtlSec: 60 } });
    for (const claim of ['nbf', 'iat'] as const) {
      const token = `opaque-early-${claim}`;
      const body = active({ [claim]: nowSec() + 8 });
      reply = () => ({ body });
      expect((await failure(v.validate(token))).code).toBe('ERR_TOKEN_NOT_YET_VALID');
      clock += 2_999;
      expect((await failure(v.validate(token))).code).toBe('ERR_TOKEN_NOT_YET_VALID');
      clock += 1;
      await expect(v.validate(token)).resolves.toMatchObject({ source: 'introspection' });
    }
    expect(requests(v)).toBe(4);
  });
});

describe('checks from INTROSPECTION.md', () => {
  it('calls validateClaims with the answer and header {}', async () => {
    const calls: unknown[] = [];
    const v = validator(
      {},
      {
        validateClaims: (claims: unknown, context: unknown) => {
          calls.push({ claims, context });
        },
      },
    );
    await v.validate('opaque-claims');
    expect(calls).toEqual([
      { claims: expect.objectContaining({ active: true, scope: 'read' }), context: { issuer, header: {} } },
    ]);
  });

  it('needs iat for maxTokenAgeSec', async () => {
    const v = validator({}, { maxTokenAgeSec: 600 });
    const error = await failure(v.validate('opaque-no-iat'));
    expect(error).toMatchObject({ code: 'ERR_CLAIM_MISSING', claim: 'iat' });
    reply = () => ({ body: active({ iat: nowSec() - 60 }) });
    await expect(v.validate('opaque-with-iat')).resolves.toMatchObject({ source: 'introspection' });
  });

  it('times the private_key_jwt assertion by the wall clock, not the validator clock', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const v = validator({
      authMethod: 'private_key_jwt',
      clientSecret: undefined,
      privateKey: privateKey.export({ format: 'jwk' }),
    });
    const before = Math.floor(Date.now() / 1000);
    await v.validate('opaque-asserted');
    const claims = decodeJwt(forms[0]?.get('client_assertion') ?? '');
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.iat).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(claims.exp).toBe((claims.iat as number) + 60);
    expect(claims).toMatchObject({ iss: CLIENT_ID, sub: CLIENT_ID, aud: issuer });
  });
});
