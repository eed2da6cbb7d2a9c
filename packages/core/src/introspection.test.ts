import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { failure } from '../../../test/support/rejections.js';
import { createValidator, type Validator } from './validator.js';

/** A real authorization server stand-in on 127.0.0.1: each test decides what it answers. */
interface Seen {
  method: string | undefined;
  headers: IncomingMessage['headers'];
  form: URLSearchParams;
}
type Reply = { status?: number; headers?: Record<string, string>; body?: string } | 'hang';

const ISSUER = 'https://as.example';
const AUDIENCE = 'https://api.example';
const CLIENT_ID = 'orders-api';
const CLIENT_SECRET = 's3cr3t-do-not-print-9f8e7d';
const HS_SECRET = 'a-shared-secret-of-at-least-32-bytes!!';

let server: Server;
let endpoint: string;
let seen: Seen[] = [];
let reply: (seen: Seen) => Reply | Promise<Reply> = () => ({ body: '{"active":false}' });
let clock = 1_800_000_000_000;
const validators: Validator[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', async () => {
      const entry = { method: req.method, headers: req.headers, form: new URLSearchParams(body) };
      seen.push(entry);
      const answer = await reply(entry);
      if (answer === 'hang') return;
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body ?? '');
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
  seen = [];
  clock = 1_800_000_000_000;
});

const nowSec = () => Math.floor(clock / 1000);
const active = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    active: true,
    iss: ISSUER,
    aud: AUDIENCE,
    scope: 'read write',
    exp: nowSec() + 300,
    ...extra,
  });

function validator(
  introspection: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Validator {
  const created = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    secret: HS_SECRET,
    now: () => clock,
    http: { timeoutMs: 500 },
    introspection: { endpoint, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, ...introspection },
    ...extra,
  } as Parameters<typeof createValidator>[0]);
  validators.push(created);
  return created;
}

const requests = (v: Validator) => v.state().issuers[0]?.introspection?.requests;

describe('introspection option', () => {
  it('rejects a secret-based method without clientSecret, naming the option', () => {
    expect(() =>
      createValidator({ issuer: ISSUER, audience: AUDIENCE, introspection: { clientId: CLIENT_ID } }),
    ).toThrow(/"introspection\.clientSecret": is required for client_secret_basic/);
  });

  it('rejects private_key_jwt without a private key, and an unreadable key', () => {
    expect(() =>
      createValidator({
        issuer: ISSUER,
        audience: AUDIENCE,
        introspection: { clientId: CLIENT_ID, authMethod: 'private_key_jwt' },
      }),
    ).toThrow(/"introspection\.privateKey": is required for private_key_jwt/);
    expect(() =>
      createValidator({
        issuer: ISSUER,
        audience: AUDIENCE,
        introspection: { clientId: CLIENT_ID, authMethod: 'private_key_jwt', privateKey: 'not a key' },
      }),
    ).toThrow(/"introspection\.privateKey": is not a private key/);
  });

  it('rejects several issuers with introspection and no opaqueTokenIssuer', () => {
    const entry = (issuer: string) => ({
      issuer,
      audience: AUDIENCE,
      introspection: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
    });
    expect(() =>
      createValidator({ issuers: [entry('https://a.example'), entry('https://b.example')] }),
    ).toThrow(/"opaqueTokenIssuer": is required when several issuers configure introspection/);
    expect(() =>
      createValidator({
        issuers: [entry('https://a.example'), { issuer: 'https://c.example', audience: AUDIENCE }],
        opaqueTokenIssuer: 'https://c.example',
      }),
    ).toThrow(/"opaqueTokenIssuer": must name an issuer \(not a template\) that configures introspection/);
  });

  it('sends opaque tokens to the issuer named by opaqueTokenIssuer', async () => {
    reply = () => ({ body: JSON.stringify({ active: true, iss: 'https://b.example', aud: AUDIENCE }) });
    const entry = (issuer: string, path: string) => ({
      issuer,
      audience: AUDIENCE,
      secret: HS_SECRET,
      introspection: { endpoint: `${endpoint}${path}`, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
    });
    const v = createValidator({
      issuers: [entry('https://a.example', '?a'), entry('https://b.example', '?b')],
      opaqueTokenIssuer: 'https://b.example',
      now: () => clock,
    });
    validators.push(v);
    const auth = await v.validate('opaque-token-1');
    expect(auth.issuer).toBe('https://b.example');
    expect(v.state().issuers.map((issuer) => issuer.introspection?.requests)).toEqual([0, 1]);
  });

  it('keeps the client secret out of options, state and inspect output', async () => {
    reply = () => ({ body: active() });
    const v = validator();
    await v.validate('opaque-token-2');
    for (const text of [
      JSON.stringify(v.options),
      inspect(v.options, { depth: 10 }),
      JSON.stringify(v.state()),
    ]) {
      expect(text).not.toContain(CLIENT_SECRET);
    }
  });
});

describe('validate (opaque tokens)', () => {
  it('accepts an active answer with its scopes, source introspection', async () => {
    reply = () => ({ body: active({ sub: 'alice', client_id: 'web', tid: 't1' }) });
    const v = validator({}, { tenantClaim: 'tid' });
    const auth = await v.validate('Bearer opaque-token-3', { scopes: ['write'] });
    expect(auth).toMatchObject({
      subject: 'alice',
      clientId: 'web',
      issuer: ISSUER,
      tenant: 't1',
      source: 'introspection',
    });
    expect([...auth.scopes]).toEqual(['read', 'write']);
    expect(auth.audience).toEqual([AUDIENCE]);
    expect(auth.expiresAt?.getTime()).toBe((nowSec() + 300) * 1000);
    expect(auth.token).toBe('opaque-token-3');
    const denied = await failure(v.validate('opaque-token-3', { scopes: ['admin'] }));
    expect(denied.status).toBe(403);
  });

  it('posts the token form-encoded with client_secret_basic and the token_type_hint', async () => {
    reply = () => ({ body: active() });
    await validator({ tokenTypeHint: 'access_token' }).validate('opaque+/=token');
    const request = seen[0] as Seen;
    expect(request.method).toBe('POST'); // RFC 7662 §2.1
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request.form.get('token')).toBe('opaque+/=token');
    expect(request.form.get('token_type_hint')).toBe('access_token');
    expect(request.form.has('client_secret')).toBe(false);
    const basic = Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64');
    expect(request.headers.authorization).toBe(`Basic ${basic}`);
  });

  it('sends client_secret_post credentials in the body', async () => {
    reply = () => ({ body: active() });
    await validator({ authMethod: 'client_secret_post' }).validate('opaque-token-4');
    const request = seen[0] as Seen;
    expect(request.headers.authorization).toBeUndefined();
    expect(request.form.get('client_id')).toBe(CLIENT_ID);
    expect(request.form.get('client_secret')).toBe(CLIENT_SECRET);
  });

  it('authenticates with a private_key_jwt assertion that the server verifies', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    reply = async ({ form }) => {
      const assertion = form.get('client_assertion') ?? '';
      const { payload } = await jwtVerify(assertion, publicKey, {
        issuer: CLIENT_ID,
        subject: CLIENT_ID,
        audience: ISSUER,
      });
      const fresh = typeof payload.jti === 'string' && (payload.exp ?? 0) - (payload.iat ?? 0) <= 60;
      return fresh ? { body: active() } : { status: 401 };
    };
    const v = validator({
      authMethod: 'private_key_jwt',
      clientSecret: undefined,
      privateKey: privateKey.export({ format: 'jwk' }),
      privateKeyKid: 'rs-key-1',
    });
    await v.validate('opaque-token-5');
    const form = (seen[0] as Seen).form;
    expect(form.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    expect(decodeProtectedHeader(form.get('client_assertion') ?? '')).toMatchObject({
      alg: 'ES256',
      kid: 'rs-key-1',
    });
    expect(inspect(v.options, { depth: 10 })).not.toContain(String(privateKey.export({ format: 'jwk' }).d));
  });

  it('rejects an inactive answer, and a made-up token, with invalid_token', async () => {
    reply = () => ({ body: '{"active":false}' });
    const error = await failure(validator().validate('made-up'));
    expect(error).toMatchObject({ code: 'ERR_TOKEN_INACTIVE', status: 401, oauthError: 'invalid_token' });
    expect(error.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it('grants nothing unless active is exactly true', async () => {
    reply = () => ({ body: JSON.stringify({ active: 'true', iss: ISSUER, aud: AUDIENCE }) });
    const error = await failure(validator().validate('opaque-token-6'));
    expect(error.code).toBe('ERR_INTROSPECTION_UNAVAILABLE');
  });

  it.each([
    ['another issuer', { iss: 'https://evil.example' }, 'ERR_ISSUER_MISMATCH'],
    ['another audience', { aud: 'https://other.example' }, 'ERR_AUDIENCE_MISMATCH'],
    ['no audience', { aud: undefined }, 'ERR_CLAIM_MISSING'],
    ['a past exp', { exp: 1_799_999_000 }, 'ERR_TOKEN_EXPIRED'],
    ['a future nbf', { nbf: 1_800_001_000 }, 'ERR_TOKEN_NOT_YET_VALID'],
    ['a non-numeric exp', { exp: 'soon' }, 'ERR_CLAIM_INVALID'],
    ['an exp no Date can hold (AuthInfo would not serialise)', { exp: 1e13 }, 'ERR_CLAIM_INVALID'],
    ['an iat in the future', { iat: 1_800_001_000 }, 'ERR_TOKEN_NOT_YET_VALID'],
    ['a non-string sub', { sub: 42 }, 'ERR_CLAIM_INVALID'],
  ])('rejects an active answer with %s', async (_name, extra, code) => {
    reply = () => ({ body: active(extra) });
    const error = await failure(validator().validate('opaque-token-7'));
    expect(error).toMatchObject({ code, status: 401 });
  });

  it('accepts an answer without aud when the audience check is opted out (audience: null)', async () => {
    reply = () => ({ body: active({ aud: undefined, iss: undefined }) });
    const auth = await validator({}, { audience: null }).validate('opaque-token-8');
    expect(auth.issuer).toBe(ISSUER);
  });
});

describe('introspection answers for other kinds of token', () => {
  it('rejects an active refresh token (token_type refresh_token) as ERR_TYPE_MISMATCH', async () => {
    reply = () => ({ body: active({ token_type: 'refresh_token' }) });
    const error = await failure(validator().validate('opaque-refresh-token'));
    expect(error).toMatchObject({ code: 'ERR_TYPE_MISMATCH', status: 401, oauthError: 'invalid_token' });
    reply = () => ({ body: active({ token_type: 'Bearer' }) });
    await expect(validator().validate('opaque-access-token')).resolves.toMatchObject({
      source: 'introspection',
    });
  });

  it('rejects an active refresh token that only token_use names (Ory Hydra / fosite answers)', async () => {
    // fosite omits token_type for a refresh token and says what it is in token_use instead.
    const hydraRefresh = { token_use: 'refresh_token', client_id: 'app', sub: 'user-1' };
    reply = () => ({ body: active(hydraRefresh) });
    const error = await failure(validator().validate('ory_rt_opaque.signature'));
    expect(error).toMatchObject({ code: 'ERR_TYPE_MISMATCH', status: 401, oauthError: 'invalid_token' });
    reply = () => ({ body: active({ token_use: 'access_token', token_type: 'bearer' }) });
    await expect(validator().validate('ory_at_opaque.signature')).resolves.toMatchObject({
      source: 'introspection',
    });
  });
});

describe('introspection cache', () => {
  it('coalesces concurrent validations of one token into one request', async () => {
    reply = () => ({ body: active() });
    const v = validator();
    const results = await Promise.all(Array.from({ length: 200 }, () => v.validate('opaque-token-9')));
    expect(results.every((auth) => auth.source === 'introspection')).toBe(true);
    expect(requests(v)).toBe(1);
  });

  it('reuses an active answer until min(maxTtlSec, exp), judged by the validator clock', async () => {
    reply = () => ({ body: active({ exp: nowSec() + 20 }) });
    const v = validator({ cache: { maxTtlSec: 60 } });
    await v.validate('opaque-token-10');
    clock += 19_000;
    await v.validate('opaque-token-10');
    expect(requests(v)).toBe(1);
    clock += 1_000;
    reply = () => ({ body: '{"active":false}' });
    expect((await failure(v.validate('opaque-token-10'))).code).toBe('ERR_TOKEN_INACTIVE');
    expect(requests(v)).toBe(2);
  });

  it('stops reusing an active answer after maxTtlSec (how a revocation is noticed)', async () => {
    reply = () => ({ body: active() });
    const v = validator({ cache: { maxTtlSec: 30 } });
    await v.validate('opaque-token-11');
    reply = () => ({ body: '{"active":false}' });
    clock += 29_999;
    await v.validate('opaque-token-11');
    clock += 1;
    expect((await failure(v.validate('opaque-token-11'))).code).toBe('ERR_TOKEN_INACTIVE');
  });

  it('keeps inactive answers only for inactiveTtlSec', async () => {
    reply = () => ({ body: '{"active":false}' });
    const v = validator({ cache: { inactiveTtlSec: 5 } });
    await failure(v.validate('made-up-2'));
    await failure(v.validate('made-up-2'));
    expect(requests(v)).toBe(1);
    clock += 5_000;
    await failure(v.validate('made-up-2'));
    expect(requests(v)).toBe(2);
  });

  it('is bounded by maxEntries', async () => {
    reply = () => ({ body: active() });
    const v = validator({ cache: { maxEntries: 2 } });
    for (const token of ['t-a', 't-b', 't-c']) await v.validate(token);
    expect(v.state().issuers[0]?.introspection?.cache).toEqual({ entries: 2, maxEntries: 2 });
    await v.validate('t-a');
    expect(requests(v)).toBe(4);
  });
});

describe('introspection faults', () => {
  it('answers 503 with Retry-After for a 5xx, then fails fast during the backoff', async () => {
    reply = () => ({ status: 502 });
    const v = validator({ retry: { minSec: 2, maxSec: 8 } });
    const first = await failure(v.validate('opaque-token-12'));
    expect(first).toMatchObject({ code: 'ERR_INTROSPECTION_UNAVAILABLE', status: 503 });
    expect(first.headers).toEqual({ 'retry-after': '2' });
    const fast = await failure(v.validate('opaque-token-13'));
    expect(fast.code).toBe('ERR_INTROSPECTION_UNAVAILABLE');
    expect(requests(v)).toBe(1);
    clock += 2_000;
    reply = () => ({ body: active() });
    await v.validate('opaque-token-13');
    expect(requests(v)).toBe(2);
    expect(v.state().issuers[0]?.introspection?.consecutiveFailures).toBe(0);
  });

  it('refuses an answer larger than maxResponseBytes or nested deeper than maxJsonDepth (503)', async () => {
    reply = () => ({ body: active({ padding: 'x'.repeat(2_000) }) });
    const small = await failure(validator({ maxResponseBytes: 1_024 }).validate('opaque-token-big'));
    expect(small).toMatchObject({ code: 'ERR_INTROSPECTION_UNAVAILABLE', status: 503 });
    reply = () => ({ body: active({ nested: [[[[[['deep']]]]]] }) });
    const shallow = await failure(validator({ maxJsonDepth: 4 }).validate('opaque-token-deep'));
    expect(shallow).toMatchObject({ code: 'ERR_INTROSPECTION_UNAVAILABLE', status: 503 });
    await expect(validator({ maxJsonDepth: 16 }).validate('opaque-token-deep')).resolves.toMatchObject({
      source: 'introspection',
    });
  });

  it('answers a 400 for one token without a backoff for the others', async () => {
    reply = (entry) => (entry.form.get('token') === 'opaque-hostile' ? { status: 400 } : { body: active() });
    const v = validator({ retry: { minSec: 30, maxSec: 60 } });
    const error = await failure(v.validate('opaque-hostile'));
    expect(error).toMatchObject({ code: 'ERR_INTROSPECTION_MISCONFIGURED', status: 500 });
    await expect(v.validate('opaque-innocent')).resolves.toMatchObject({ source: 'introspection' });
    expect(requests(v)).toBe(2);
  });

  it('doubles the backoff after consecutive failures, up to maxSec', async () => {
    reply = () => ({ status: 500 });
    const v = validator({ retry: { minSec: 1, maxSec: 3 } });
    for (const expected of [1, 2, 3, 3]) {
      const error = await failure(v.validate('opaque-token-14'));
      expect(error.retryAfterSec).toBe(expected);
      clock += expected * 1000;
    }
    expect(requests(v)).toBe(4);
  });

  it("honours the endpoint's Retry-After within retry.maxSec, in its backoff and in the 503 it answers", async () => {
    reply = () => ({ status: 503, headers: { 'retry-after': '20' } });
    const v = validator({ retry: { minSec: 1, maxSec: 30 } });
    const first = await failure(v.validate('opaque-token-ra1'));
    expect(first.headers).toEqual({ 'retry-after': '20' });
    clock += 1_000;
    // Not asked again before the time it named; the callers are told how long is left.
    const fast = await failure(v.validate('opaque-token-ra2'));
    expect(fast.headers).toEqual({ 'retry-after': '19' });
    expect(requests(v)).toBe(1);
    clock += 19_000;
    reply = () => ({ status: 429, headers: { 'retry-after': '99999999999999999999999' } });
    const huge = await failure(v.validate('opaque-token-ra3'));
    expect(requests(v)).toBe(2);
    // A hint past maxSec is cut to it (before: "1e+23" went out as the Retry-After header).
    expect(huge.headers).toEqual({ 'retry-after': '30' });
    expect(v.state().issuers[0]?.introspection?.nextRetryAt).toBe(clock + 30_000);
  });

  it('counts failures of requests in flight together as one failed round, not one doubling each', async () => {
    // Five opaque tokens are being introspected when the endpoint fails them all at once.
    let release: () => void = () => {};
    const allIn = new Promise<void>((resolve) => {
      release = resolve;
    });
    reply = async () => {
      if (seen.length === 5) release();
      await allIn;
      return { status: 503 };
    };
    const v = validator({ retry: { minSec: 1, maxSec: 30 } });
    const errors = await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map((suffix) => failure(v.validate(`opaque-round-${suffix}`))),
    );
    // Before: each counted as a consecutive failure (Retry-After 1, 2, 4, 8, 16; a 30 s window).
    expect(errors.map((error) => error.headers['retry-after'])).toEqual(['1', '1', '1', '1', '1']);
    expect(v.state().issuers[0]?.introspection).toMatchObject({
      consecutiveFailures: 1,
      nextRetryAt: clock + 1_000,
    });
    clock += 1_000;
    reply = () => ({ body: active() });
    await expect(v.validate('opaque-round-f')).resolves.toMatchObject({ source: 'introspection' });
  });

  it('reports a 401 from the endpoint as a server-side misconfiguration without credentials', async () => {
    reply = () => ({ status: 401, body: '{"error":"invalid_client"}' });
    const error = await failure(validator().validate('opaque-token-15'));
    expect(error).toMatchObject({ code: 'ERR_INTROSPECTION_MISCONFIGURED', status: 500 });
    expect(error.wwwAuthenticate).toBeUndefined();
    const printed = [
      error.message,
      String(error),
      JSON.stringify(error.toJSON()),
      inspect(error, { depth: 10 }),
    ];
    for (const text of printed) {
      expect(text).not.toContain(CLIENT_SECRET);
      expect(text).not.toContain(Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64'));
    }
  });

  it('reports a 400 from the endpoint (e.g. an unsupported request) as a misconfiguration', async () => {
    reply = () => ({ status: 400, body: '{"error":"invalid_request"}' });
    const error = await failure(validator().validate('opaque-token-16'));
    expect(error).toMatchObject({ code: 'ERR_INTROSPECTION_MISCONFIGURED', status: 500 });
  });

  it('answers 503 when the endpoint does not answer in time', async () => {
    reply = () => 'hang';
    const error = await failure(validator().validate('opaque-token-17'));
    expect(error).toMatchObject({ code: 'ERR_INTROSPECTION_UNAVAILABLE', status: 503 });
    expect(error.message).toMatch(/did not answer in time/);
  });

  it('answers 503 for a body that is not JSON', async () => {
    reply = () => ({ body: '<html>' });
    expect((await failure(validator().validate('opaque-token-18'))).code).toBe(
      'ERR_INTROSPECTION_UNAVAILABLE',
    );
  });
});

describe('introspection.jwt', () => {
  const jwt = (claims: Record<string, unknown> = {}) =>
    new SignJWT({ aud: AUDIENCE, scope: 'read', client_id: 'web', ...claims })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setIssuedAt(nowSec())
      .setExpirationTime(nowSec() + 300)
      .sign(new TextEncoder().encode(HS_SECRET));

  it("does not introspect JWTs by default ('never')", async () => {
    const v = validator();
    const auth = await v.validate(await jwt());
    expect(auth.source).toBe('jwt');
    expect(requests(v)).toBe(0);
  });

  it("'always' verifies the JWT, then rejects it once the issuer calls it inactive", async () => {
    reply = () => ({ body: active() });
    const v = validator({ jwt: 'always', cache: { maxTtlSec: 10 } });
    const token = await jwt();
    expect((await v.validate(token)).source).toBe('jwt');
    expect(seen[0]?.form.get('token')).toBe(token);
    reply = () => ({ body: '{"active":false}' });
    await v.validate(token);
    clock += 10_000;
    expect((await failure(v.validate(token))).code).toBe('ERR_TOKEN_INACTIVE');
  });

  it("'always' rejects an inactive JWT of a template tenant whose resolver answer lapses mid-validation", async () => {
    reply = () => ({ body: '{"active":false}' });
    const v = validator(
      { jwt: 'always' },
      {
        issuer: `${ISSUER}/{tenant}`,
        resolveTenant: () => true,
        tenantTtlSec: 1,
        // Runs between issuer selection and introspection: the tenant's answer is now past its TTL.
        validateClaims: () => {
          clock += 2_000;
          return true;
        },
      },
    );
    const token = await new SignJWT({ aud: AUDIENCE, client_id: 'web' })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .setIssuer(`${ISSUER}/t1`)
      .setIssuedAt(nowSec())
      .setExpirationTime(nowSec() + 300)
      .sign(new TextEncoder().encode(HS_SECRET));
    expect((await failure(v.validate(token))).code).toBe('ERR_TOKEN_INACTIVE');
    expect(seen).toHaveLength(1);
  });

  it("'always' still rejects a JWT with a bad signature without asking the endpoint", async () => {
    const v = validator({ jwt: 'always' });
    const token = await jwt();
    const tampered = `${token.slice(0, -4)}AAAA`;
    expect((await failure(v.validate(tampered))).code).toBe('ERR_SIGNATURE_INVALID');
    expect(requests(v)).toBe(0);
  });
});

describe('introspection.signedResponse (RFC 9701)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'as-1', alg: 'ES256' }] };
  const signed = (body: Record<string, unknown>, key = privateKey, typ = 'token-introspection+jwt') =>
    new SignJWT({ token_introspection: body })
      .setProtectedHeader({ alg: 'ES256', kid: 'as-1', typ })
      .setIssuer(ISSUER)
      .setAudience(CLIENT_ID)
      .setIssuedAt()
      .sign(key);
  const signedValidator = () => {
    const v = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks,
      now: () => clock,
      introspection: { endpoint, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, signedResponse: true },
    });
    validators.push(v);
    return v;
  };
  const jwtReply = (body: string) => ({
    headers: { 'content-type': 'application/token-introspection+jwt' },
    body,
  });

  it('asks for and accepts a signed answer verified with the issuer key set', async () => {
    const body = JSON.parse(active()) as Record<string, unknown>;
    reply = async () => jwtReply(await signed(body));
    const auth = await signedValidator().validate('opaque-token-19');
    expect(seen[0]?.headers.accept).toBe('application/token-introspection+jwt');
    expect([...auth.scopes]).toEqual(['read', 'write']);
  });

  it('names a signing kid missing from the issuer key set as such, not as a bad signature', async () => {
    const body = JSON.parse(active()) as Record<string, unknown>;
    reply = async () =>
      jwtReply(
        await new SignJWT({ token_introspection: body })
          .setProtectedHeader({ alg: 'ES256', kid: 'as-unknown', typ: 'token-introspection+jwt' })
          .setIssuer(ISSUER)
          .setAudience(CLIENT_ID)
          .sign(privateKey),
      );
    const error = await failure(signedValidator().validate('opaque-token-23'));
    expect(error).toMatchObject({ code: 'ERR_INTROSPECTION_MISCONFIGURED', status: 500 });
    expect(error.message).toMatch(/not in the issuer key set/);
  });

  it('refuses an answer signed with another key, or unsigned, as a server-side error', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const body = JSON.parse(active()) as Record<string, unknown>;
    reply = async () => jwtReply(await signed(body, other));
    expect(await failure(signedValidator().validate('opaque-token-20'))).toMatchObject({
      code: 'ERR_INTROSPECTION_MISCONFIGURED',
      status: 500,
    });
    reply = () => ({ body: active() });
    expect((await failure(signedValidator().validate('opaque-token-21'))).code).toBe(
      'ERR_INTROSPECTION_MISCONFIGURED',
    );
    reply = async () => jwtReply(await signed(body, privateKey, 'JWT'));
    expect((await failure(signedValidator().validate('opaque-token-22'))).code).toBe(
      'ERR_INTROSPECTION_MISCONFIGURED',
    );
  });
});
