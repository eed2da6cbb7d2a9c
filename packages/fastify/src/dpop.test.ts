import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createValidator, type Validator } from '@tokenguard/core';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dpopClient } from '../../../test/support/dpop.js';
import { accessTokenClaims, generateSigningKey, jwksOf, signToken } from '../../../test/support/keys.js';
import tokenguard from './index.js';

// DPoP (RFC 9449) through the Fastify plugin on real servers on 127.0.0.1: tokens bound to a test
// client key (cnf.jkt), each proof naming the URL the request really went to
// (http://127.0.0.1:<port>/path), or the configured dpop.origin, or what a trusted proxy forwarded.
const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://api.test';
const NOW_SEC = 1_700_000_000;
const PUBLIC_ORIGIN = 'https://api.example';

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

interface Started {
  app: FastifyInstance;
  base: string;
}

const apps: FastifyInstance[] = [];
const validators: Validator[] = [];
let bound: string;
let plain: Started;
let proxied: Started;
let pinned: Started;
let bearerOnly: Started;
let scoped: Started;

const whoami = async (request: FastifyRequest) => ({ subject: request.auth?.subject ?? null });

async function listen(app: FastifyInstance): Promise<Started> {
  apps.push(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

async function call(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  const response = await fetch(url, { method, headers });
  const text = await response.text();
  return {
    status: response.status,
    challenge: response.headers.get('www-authenticate') ?? '',
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
  };
}

async function dpopHeaders(htm: string, htu: string, token = bound): Promise<Record<string, string>> {
  return { authorization: `DPoP ${token}`, dpop: await proof(htm, htu, token) };
}

beforeAll(async () => {
  const common = { issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(issuerKey), now: () => NOW_SEC * 1000 };
  const validator = createValidator({ ...common, dpop: true });
  const behindProxy = createValidator({ ...common, dpop: { origin: PUBLIC_ORIGIN } });
  const withoutDpop = createValidator(common);
  validators.push(validator, behindProxy, withoutDpop);
  bound = await signToken(
    issuerKey,
    accessTokenClaims(
      { iss: ISSUER, aud: AUDIENCE, nowSec: NOW_SEC },
      { scope: 'orders:read', cnf: { jkt: client.jkt } },
    ),
  );

  // `rewriteUrl`: the client's proof names the URL it sent (/old/...), not the rewritten one.
  const app = Fastify({ rewriteUrl: (req) => (req.url ?? '/').replace(/^\/old\//, '/') });
  await app.register(tokenguard, { validator });
  app.get('/me', whoami);
  app.post('/me', whoami);
  app.get('/catalog', { config: { auth: { optional: true } } }, whoami);
  app.get('/orders', { config: { auth: { scopes: ['orders:write'] } } }, whoami);
  app.get('/decorated', { preHandler: app.requireScopes('orders:write') }, whoami);
  // Routes of a plugin registered with a prefix: request.url is the full path.
  await app.register(
    async (child) => {
      child.get('/me', whoami);
    },
    { prefix: '/api' },
  );
  plain = await listen(app);

  // The plugin registered only inside a prefixed context.
  const nested = Fastify();
  await nested.register(
    async (child) => {
      await child.register(tokenguard, { validator });
      child.get('/orders', whoami);
    },
    { prefix: '/v1' },
  );
  scoped = await listen(nested);

  // Behind a proxy on loopback: request.protocol and request.host follow X-Forwarded-Proto/Host.
  const trusting = Fastify({ trustProxy: '127.0.0.1' });
  await trusting.register(tokenguard, { validator });
  trusting.get('/me', whoami);
  proxied = await listen(trusting);

  const fixed = Fastify({ trustProxy: '127.0.0.1' });
  await fixed.register(tokenguard, { validator: behindProxy });
  fixed.get('/me', whoami);
  pinned = await listen(fixed);

  const bearer = Fastify();
  await bearer.register(tokenguard, { validator: withoutDpop, optional: true });
  bearer.get('/me', whoami);
  bearerOnly = await listen(bearer);
});

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await Promise.all(validators.map((validator) => validator.close()));
});

describe('DPoP through the Fastify plugin', () => {
  it('accepts a bound token with a proof for the real URL and sets request.auth', async () => {
    const answer = await call(`${plain.base}/me`, await dpopHeaders('GET', `${plain.base}/me`));
    expect(answer).toEqual({ status: 200, challenge: '', body: { subject: 'user-1' } });
  });

  it('checks htm against the request method', async () => {
    expect(
      (await call(`${plain.base}/me`, await dpopHeaders('POST', `${plain.base}/me`), 'POST')).status,
    ).toBe(200);
    const answer = await call(`${plain.base}/me`, await dpopHeaders('GET', `${plain.base}/me`), 'POST');
    expect(answer.status).toBe(401);
    expect(answer.body.error).toBe('invalid_dpop_proof');
  });

  it('matches htu with the full path of a prefixed route', async () => {
    expect(
      (await call(`${plain.base}/api/me`, await dpopHeaders('GET', `${plain.base}/api/me`))).status,
    ).toBe(200);
    const partial = await call(`${plain.base}/api/me`, await dpopHeaders('GET', `${plain.base}/me`));
    expect(partial.status).toBe(401);
    expect(partial.body.error).toBe('invalid_dpop_proof');
  });

  it('matches htu with the full path when the plugin is registered in a prefixed context', async () => {
    const orders = await call(
      `${scoped.base}/v1/orders`,
      await dpopHeaders('GET', `${scoped.base}/v1/orders`),
    );
    expect(orders).toMatchObject({ status: 200, body: { subject: 'user-1' } });
    expect(
      (await call(`${scoped.base}/v1/orders`, await dpopHeaders('GET', `${scoped.base}/orders`))).status,
    ).toBe(401);
  });

  it('matches htu with the URL the client sent, before rewriteUrl', async () => {
    const answer = await call(`${plain.base}/old/me`, await dpopHeaders('GET', `${plain.base}/old/me`));
    expect(answer).toMatchObject({ status: 200, body: { subject: 'user-1' } });
    expect((await call(`${plain.base}/old/me`, await dpopHeaders('GET', `${plain.base}/me`))).status).toBe(
      401,
    );
  });

  it('ignores the query string', async () => {
    expect((await call(`${plain.base}/me?page=2`, await dpopHeaders('GET', `${plain.base}/me`))).status).toBe(
      200,
    );
    const prefixed = await call(
      `${plain.base}/api/me?a=1`,
      await dpopHeaders('GET', `${plain.base}/api/me?b=2`),
    );
    expect(prefixed.status).toBe(200);
  });

  it('refuses a proof for another URL with a DPoP challenge and a JSON body', async () => {
    const answer = await call(`${plain.base}/me`, await dpopHeaders('GET', `${plain.base}/elsewhere`));
    expect(answer.status).toBe(401);
    expect(answer.challenge).toMatch(/DPoP error="invalid_dpop_proof"/);
    expect(answer.challenge).toMatch(/^Bearer(, |$)/);
    expect(answer.body).toEqual({ error: 'invalid_dpop_proof', error_description: expect.any(String) });
  });

  it('refuses a replayed proof', async () => {
    const headers = await dpopHeaders('GET', `${plain.base}/me`);
    expect((await call(`${plain.base}/me`, headers)).status).toBe(200);
    const replay = await call(`${plain.base}/me`, headers);
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe('invalid_dpop_proof');
    expect(replay.challenge).toMatch(/DPoP error="invalid_dpop_proof"/);
  });

  it('refuses two DPoP headers (counted in Node raw headers)', async () => {
    const headers = await dpopHeaders('GET', `${plain.base}/me`);
    const second = await proof('GET', `${plain.base}/me`, bound);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        `${plain.base}/me`,
        { headers: { authorization: headers.authorization, dpop: [headers.dpop ?? '', second] } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(401);
  });

  it('refuses the bound token sent as Bearer: invalid_token, offering both schemes', async () => {
    const answer = await call(`${plain.base}/me`, { authorization: `Bearer ${bound}` });
    expect(answer.status).toBe(401);
    expect(answer.body.error).toBe('invalid_token');
    expect(answer.challenge).toMatch(/^Bearer error="invalid_token"/);
    expect(answer.challenge).toMatch(/, DPoP algs="[^"]*ES256/);
  });

  it('lets an anonymous request through an optional route, and validates a DPoP one', async () => {
    expect(await call(`${plain.base}/catalog`)).toMatchObject({ status: 200, body: { subject: null } });
    const answer = await call(`${plain.base}/catalog`, await dpopHeaders('GET', `${plain.base}/catalog`));
    expect(answer).toMatchObject({ status: 200, body: { subject: 'user-1' } });
    expect((await call(`${plain.base}/catalog`, await dpopHeaders('GET', `${plain.base}/me`))).status).toBe(
      401,
    );
  });

  it('reads Authorization: DPoP as another scheme when the validator has no dpop', async () => {
    const answer = await call(`${bearerOnly.base}/me`, await dpopHeaders('GET', `${bearerOnly.base}/me`));
    expect(answer).toMatchObject({ status: 200, body: { subject: null } });
  });

  it('checks htu against http://localhost under inject()', async () => {
    const response = await plain.app.inject({
      url: '/me',
      headers: await dpopHeaders('GET', 'http://localhost/me'),
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ subject: 'user-1' });
  });
});

describe('DPoP and the request origin', () => {
  const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example:8443' };

  it('with trustProxy, checks htu against X-Forwarded-Proto and X-Forwarded-Host', async () => {
    const headers = { ...forwarded, ...(await dpopHeaders('GET', 'https://shop.example:8443/me')) };
    expect(await call(`${proxied.base}/me`, headers)).toMatchObject({
      status: 200,
      body: { subject: 'user-1' },
    });
    const direct = { ...forwarded, ...(await dpopHeaders('GET', `${proxied.base}/me`)) };
    expect((await call(`${proxied.base}/me`, direct)).status).toBe(401);
  });

  it('with trustProxy, takes the last X-Forwarded-Host entry as Fastify does', async () => {
    const headers = {
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'spoofed.example, shop.example',
      ...(await dpopHeaders('GET', 'https://shop.example/me')),
    };
    expect((await call(`${proxied.base}/me`, headers)).status).toBe(200);
  });

  it('without trustProxy, ignores the forwarded headers', async () => {
    const spoofed = { ...forwarded, ...(await dpopHeaders('GET', 'https://shop.example:8443/me')) };
    expect((await call(`${plain.base}/me`, spoofed)).status).toBe(401);
    const real = { ...forwarded, ...(await dpopHeaders('GET', `${plain.base}/me`)) };
    expect((await call(`${plain.base}/me`, real)).status).toBe(200);
  });

  it('with dpop.origin, accepts a proof for that origin and refuses one for 127.0.0.1 or a forwarded host', async () => {
    const answer = await call(`${pinned.base}/me`, await dpopHeaders('GET', `${PUBLIC_ORIGIN}/me`));
    expect(answer).toMatchObject({ status: 200, body: { subject: 'user-1' } });
    const direct = await call(`${pinned.base}/me`, await dpopHeaders('GET', `${pinned.base}/me`));
    expect(direct.status).toBe(401);
    expect(direct.body.error).toBe('invalid_dpop_proof');
    const viaProxy = { ...forwarded, ...(await dpopHeaders('GET', 'https://shop.example:8443/me')) };
    expect((await call(`${pinned.base}/me`, viaProxy)).status).toBe(401);
  });
});

describe('route requirements and guards after a DPoP request', () => {
  // RFC 9449 §7.1: the error goes in the challenge of the scheme the request used, also when a
  // route's config.auth or a guard (validator.check) refuses after authentication.
  for (const path of ['/orders', '/decorated']) {
    it(`${path}: 403 insufficient_scope in the DPoP challenge, the Bearer one bare`, async () => {
      const answer = await call(`${plain.base}${path}`, await dpopHeaders('GET', `${plain.base}${path}`));
      expect(answer.status).toBe(403);
      expect(answer.body.error).toBe('insufficient_scope');
      expect(answer.challenge).toMatch(/^Bearer, DPoP error="insufficient_scope"/);
      expect(answer.challenge).not.toMatch(/Bearer [^,]*error=/);
    });
  }
});
