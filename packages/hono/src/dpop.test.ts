import { request as httpRequest, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createValidator, type Validator } from '@tokenguard/core';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dpopClient } from '../../../test/support/dpop.js';
import { accessTokenClaims, generateSigningKey, jwksOf, signToken } from '../../../test/support/keys.js';
import { requireScopes, tokenguard } from './index.js';

// DPoP (RFC 9449) through the Hono adapter: the same app served by @hono/node-server on 127.0.0.1
// (c.req.url is http://127.0.0.1:<port>/path?query, from the Host header) and called through
// app.request() (c.req.url is http://localhost/path), tokens bound to a test client key whose proofs
// name the URL the request really went to.
const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://api.test';
const NOW_SEC = 1_700_000_000;
const PUBLIC_ORIGIN = 'https://api.example.com';

const issuerKey = generateSigningKey('ES256');
const client = dpopClient();

/** A DPoP proof by the client key for one request (fresh jti, iat = the validators' now, ath of `token`). */
const proof = (htm: string, htu: string, token: string): Promise<string> =>
  client.proof({ htm, htu, token, iat: NOW_SEC });

interface Answer {
  status: number;
  challenge: string;
  body: Record<string, unknown>;
}

/**
 * The two challenges of a `WWW-Authenticate` value: the `Bearer` one and the `DPoP` one (where the
 * `DPoP` scheme starts: the value's start or after `, `, followed by a parameter or the end).
 */
function challenges(value: string): { bearer: string; dpop: string } {
  const at = value.search(/(?:^|, )DPoP(?= [a-z_]+=|$)/);
  if (at === -1) return { bearer: value, dpop: '' };
  return { bearer: value.slice(0, at), dpop: value.slice(at).replace(/^, /, '') };
}

let server: Server;
let base: string;
let validator: Validator;
let behindProxy: Validator;
let bearerOnly: Validator;
let app: Hono;
let bound: string;

/** A request to the node server with node:http: a header given as an array is sent once per value. */
function send(path: string, headers: OutgoingHttpHeaders, method = 'GET', body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          challenge: String(res.headers['www-authenticate'] ?? ''),
          body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The same request through app.request(), as on a fetch-only runtime. */
async function local(path: string, headers: Record<string, string>): Promise<Answer> {
  const res = await app.request(path, { headers });
  const text = await res.text();
  return {
    status: res.status,
    challenge: res.headers.get('www-authenticate') ?? '',
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
  };
}

async function dpopHeaders(htm: string, htu: string, token = bound): Promise<Record<string, string>> {
  return { authorization: `DPoP ${token}`, dpop: await proof(htm, htu, token) };
}

beforeAll(async () => {
  const common = { issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(issuerKey), now: () => NOW_SEC * 1000 };
  validator = createValidator({ ...common, dpop: true });
  behindProxy = createValidator({ ...common, dpop: { origin: PUBLIC_ORIGIN } });
  bearerOnly = createValidator(common);
  bound = await signToken(
    issuerKey,
    accessTokenClaims(
      { iss: ISSUER, aud: AUDIENCE, nowSec: NOW_SEC },
      { scope: 'orders:read', cnf: { jkt: client.jkt } },
    ),
  );

  const me = tokenguard(validator);
  app = new Hono();
  app.get('/me', me, (c) => c.json({ subject: c.var.auth.subject, url: c.req.url }));
  app.post('/form', tokenguard(validator, { transport: { body: true } }), (c) =>
    c.json({ subject: c.var.auth.subject }),
  );
  app.get('/catalog', tokenguard(validator, { optional: true }), (c) =>
    c.json({ subject: c.var.auth?.subject ?? null }),
  );
  app.get('/orders', me, requireScopes('orders:write'), (c) => c.json({ ok: true }));
  app.get('/behind-proxy', tokenguard(behindProxy), (c) => c.json({ subject: c.var.auth.subject }));
  app.get('/bearer-only', tokenguard(bearerOnly, { optional: true }), (c) =>
    c.json({ subject: c.var.auth?.subject ?? null }),
  );
  // A sub-app mounted under a prefix, and one with a base path: c.req.url keeps the full path.
  const v1 = new Hono();
  v1.get('/orders', me, (c) => c.json({ subject: c.var.auth.subject }));
  app.route('/v1', v1);
  const api = new Hono().basePath('/api');
  api.get('/items', me, (c) => c.json({ subject: c.var.auth.subject }));
  app.route('/', api);
  // app.mount hands the inner app a request without the prefix: the proof still names the full URL.
  const inner = new Hono();
  inner.get('/x', me, (c) => c.json({ subject: c.var.auth.subject, url: c.req.url }));
  app.mount('/mnt', inner.fetch);

  server = await new Promise<Server>((resolve) => {
    const listening = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(listening as Server),
    );
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await Promise.all([validator.close(), behindProxy.close(), bearerOnly.close()]);
});

describe('DPoP through @hono/node-server', () => {
  it('accepts a bound token with a proof for the real URL and sets c.var.auth', async () => {
    const answer = await send('/me', await dpopHeaders('GET', `${base}/me`));
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ subject: 'user-1', url: `${base}/me` });
  });

  it('matches htu with the full path of a route mounted under a prefix', async () => {
    expect((await send('/v1/orders', await dpopHeaders('GET', `${base}/v1/orders`))).status).toBe(200);
    expect((await send('/api/items', await dpopHeaders('GET', `${base}/api/items`))).status).toBe(200);
    // The sub-app's own path is not the request's.
    const partial = await send('/v1/orders', await dpopHeaders('GET', `${base}/orders`));
    expect(partial.status).toBe(401);
    expect(partial.body.error).toBe('invalid_dpop_proof');
  });

  it("matches htu with the URL the client sent under app.mount, not the inner app's", async () => {
    const answer = await send('/mnt/x', await dpopHeaders('GET', `${base}/mnt/x`));
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ subject: 'user-1', url: `${base}/x` });
    const inner = await send('/mnt/x', await dpopHeaders('GET', `${base}/x`));
    expect(inner.status).toBe(401);
    expect(inner.body.error).toBe('invalid_dpop_proof');
  });

  it('ignores the query string of the request and of htu', async () => {
    const answer = await send('/me?page=2', await dpopHeaders('GET', `${base}/me`));
    expect(answer.status).toBe(200);
    expect(answer.body.url).toBe(`${base}/me?page=2`);
    expect((await send('/me', await dpopHeaders('GET', `${base}/me?other=1`))).status).toBe(200);
  });

  it('refuses a proof for another URL with a DPoP challenge and a JSON body', async () => {
    const answer = await send('/me', await dpopHeaders('GET', `${base}/elsewhere`));
    expect(answer.status).toBe(401);
    const { bearer, dpop } = challenges(answer.challenge);
    expect(dpop).toMatch(/^DPoP .*error="invalid_dpop_proof"/);
    expect(bearer).toMatch(/^Bearer/);
    expect(bearer).not.toContain('error=');
    expect(answer.body).toEqual({ error: 'invalid_dpop_proof', error_description: expect.any(String) });
  });

  it('refuses a proof for another method', async () => {
    const answer = await send('/me', await dpopHeaders('POST', `${base}/me`));
    expect(answer.status).toBe(401);
    expect(answer.body.error).toBe('invalid_dpop_proof');
  });

  it('refuses a replayed proof', async () => {
    const headers = await dpopHeaders('GET', `${base}/me`);
    expect((await send('/me', headers)).status).toBe(200);
    const replay = await send('/me', headers);
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe('invalid_dpop_proof');
    expect(challenges(replay.challenge).dpop).toMatch(/^DPoP .*error="invalid_dpop_proof"/);
  });

  it('refuses a bound token sent as Bearer, offering both schemes', async () => {
    const answer = await send('/me', { authorization: `Bearer ${bound}` });
    expect(answer.status).toBe(401);
    expect(answer.body.error).toBe('invalid_token');
    const { bearer, dpop } = challenges(answer.challenge);
    expect(bearer).toMatch(/^Bearer .*error="invalid_token"/);
    expect(dpop).toMatch(/^DPoP algs="[^"]*ES256/);
    expect(dpop).not.toContain('error=');
  });

  it('refuses two DPoP headers (seen in Node raw headers)', async () => {
    const headers = await dpopHeaders('GET', `${base}/me`);
    const second = await proof('GET', `${base}/me`, bound);
    const answer = await send('/me', {
      authorization: headers.authorization,
      dpop: [headers.dpop ?? '', second],
    });
    expect(answer.status).toBe(401);
    expect(answer.body.error).toBe('invalid_dpop_proof');
  });

  it('checks htu against dpop.origin when it is set, not against the Host header', async () => {
    const answer = await send('/behind-proxy', await dpopHeaders('GET', `${PUBLIC_ORIGIN}/behind-proxy`));
    expect(answer).toMatchObject({ status: 200, body: { subject: 'user-1' } });
    const direct = await send('/behind-proxy', await dpopHeaders('GET', `${base}/behind-proxy`));
    expect(direct.status).toBe(401);
    expect(direct.body.error).toBe('invalid_dpop_proof');
  });

  it('accepts a DPoP request on a route that also reads form bodies', async () => {
    const headers = {
      ...(await dpopHeaders('POST', `${base}/form`)),
      'content-type': 'application/x-www-form-urlencoded',
    };
    const answer = await send('/form', headers, 'POST', 'note=hello');
    expect(answer).toMatchObject({ status: 200, body: { subject: 'user-1' } });
  });

  it('lets an anonymous request through an optional route, and authenticates a DPoP one', async () => {
    expect(await send('/catalog', {})).toMatchObject({ status: 200, body: { subject: null } });
    const answer = await send('/catalog', await dpopHeaders('GET', `${base}/catalog`));
    expect(answer).toMatchObject({ status: 200, body: { subject: 'user-1' } });
  });

  it('reads Authorization: DPoP as another scheme when the validator has no dpop', async () => {
    const answer = await send('/bearer-only', await dpopHeaders('GET', `${base}/bearer-only`));
    expect(answer).toMatchObject({ status: 200, body: { subject: null } });
  });
});

describe('DPoP through app.request()', () => {
  it('checks htu against http://localhost and the path', async () => {
    const answer = await local('/me', await dpopHeaders('GET', 'http://localhost/me'));
    expect(answer).toMatchObject({ status: 200, body: { subject: 'user-1', url: 'http://localhost/me' } });
    expect((await local('/v1/orders', await dpopHeaders('GET', 'http://localhost/v1/orders'))).status).toBe(
      200,
    );
  });

  it('refuses a proof naming the node server instead', async () => {
    const answer = await local('/me', await dpopHeaders('GET', `${base}/me`));
    expect(answer.status).toBe(401);
    expect(challenges(answer.challenge).dpop).toMatch(/^DPoP .*error="invalid_dpop_proof"/);
  });

  it('refuses two proofs joined by the fetch Headers', async () => {
    const headers = await dpopHeaders('GET', 'http://localhost/me');
    const second = await proof('GET', 'http://localhost/me', bound);
    const answer = await local('/me', { ...headers, dpop: `${headers.dpop}, ${second}` });
    expect(answer.status).toBe(401);
    expect(answer.body.error).toBe('invalid_dpop_proof');
  });

  it('honours dpop.origin', async () => {
    const answer = await local('/behind-proxy', await dpopHeaders('GET', `${PUBLIC_ORIGIN}/behind-proxy`));
    expect(answer.status).toBe(200);
  });
});

describe('route guards after a DPoP request', () => {
  it('answers a missing scope with 403 insufficient_scope', async () => {
    const answer = await send('/orders', await dpopHeaders('GET', `${base}/orders`));
    expect(answer.status).toBe(403);
    expect(answer.body.error).toBe('insufficient_scope');
  });

  // RFC 9449 §7.1: the error goes in the challenge of the scheme the request used. Core set
  // error.scheme = 'DPoP' only inside authenticateRequest, so a guard's 403 came in the Bearer
  // challenge (`Bearer error="insufficient_scope", ..., DPoP algs=...`) until Validator.check learnt
  // which auth came with a proof.
  it('puts the guard error in the DPoP challenge', async () => {
    const answer = await send('/orders', await dpopHeaders('GET', `${base}/orders`));
    const { bearer, dpop } = challenges(answer.challenge);
    expect(dpop).toMatch(/^DPoP .*error="insufficient_scope"/);
    expect(bearer).toMatch(/^Bearer/);
    expect(bearer).not.toContain('error=');
  });
});
