import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createValidator, type Validator } from '@tokenguard/core';
import express, { type Request, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dpopClient } from '../../../test/support/dpop.js';
import { accessTokenClaims, generateSigningKey, jwksOf, signToken } from '../../../test/support/keys.js';
import { requireScopes, tokenguard } from './index.js';

// DPoP (RFC 9449) through the Express middleware on real servers on 127.0.0.1: tokens bound to a test
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
  base: string;
  server: Server;
}

const servers: Server[] = [];
const validators: Validator[] = [];
let bound: string;
let plain: Started;
let proxied: Started;
let pinned: Started;

async function listen(app: express.Express): Promise<Started> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  servers.push(server);
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
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

const whoami = (req: Request, res: Response) => {
  res.json({ subject: req.auth?.subject ?? null });
};

beforeAll(async () => {
  const common = { issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(issuerKey), now: () => NOW_SEC * 1000 };
  const validator = createValidator({ ...common, dpop: true });
  const behindProxy = createValidator({ ...common, dpop: { origin: PUBLIC_ORIGIN } });
  const bearerOnly = createValidator(common);
  validators.push(validator, behindProxy, bearerOnly);
  bound = await signToken(
    issuerKey,
    accessTokenClaims(
      { iss: ISSUER, aud: AUDIENCE, nowSec: NOW_SEC },
      { scope: 'orders:read', cnf: { jkt: client.jkt } },
    ),
  );

  const app = express();
  const auth = tokenguard(validator);
  app.get('/me', auth, whoami);
  app.post('/me', auth, whoami);
  app.get('/catalog', tokenguard(validator, { optional: true }), whoami);
  app.get('/orders', auth, requireScopes('orders:write'), whoami);
  app.get('/bearer-only', tokenguard(bearerOnly, { optional: true }), whoami);
  // A router and a sub-app mounted on a path: their req.url lacks it, req.originalUrl has it.
  const router = express.Router();
  router.use(tokenguard(validator));
  router.get('/me', whoami);
  app.use('/api', router);
  const v1 = express();
  v1.use(tokenguard(validator));
  v1.get('/orders', whoami);
  app.use('/v1', v1);
  plain = await listen(app);

  // Behind a proxy on loopback: req.protocol and the host follow X-Forwarded-Proto/Host.
  const trusting = express();
  trusting.set('trust proxy', 'loopback');
  trusting.get('/me', tokenguard(validator), whoami);
  proxied = await listen(trusting);

  const fixed = express();
  fixed.set('trust proxy', 'loopback');
  fixed.get('/me', tokenguard(behindProxy), whoami);
  pinned = await listen(fixed);
});

afterAll(async () => {
  await Promise.all(
    servers.map((server) => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    }),
  );
  await Promise.all(validators.map((validator) => validator.close()));
});

describe('DPoP through the Express middleware', () => {
  it('accepts a bound token with a proof for the real URL and sets req.auth', async () => {
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

  it('matches htu with the full path under a mounted router or sub-app (req.originalUrl)', async () => {
    expect(
      (await call(`${plain.base}/api/me`, await dpopHeaders('GET', `${plain.base}/api/me`))).status,
    ).toBe(200);
    const orders = await call(`${plain.base}/v1/orders`, await dpopHeaders('GET', `${plain.base}/v1/orders`));
    expect(orders).toMatchObject({ status: 200, body: { subject: 'user-1' } });
    // The path the router sees is not the request's.
    const partial = await call(`${plain.base}/api/me`, await dpopHeaders('GET', `${plain.base}/me`));
    expect(partial.status).toBe(401);
    expect(partial.body.error).toBe('invalid_dpop_proof');
  });

  it('ignores the query string', async () => {
    const answer = await call(`${plain.base}/me?page=2`, await dpopHeaders('GET', `${plain.base}/me`));
    expect(answer.status).toBe(200);
    const mounted = await call(
      `${plain.base}/api/me?a=1`,
      await dpopHeaders('GET', `${plain.base}/api/me?b=2`),
    );
    expect(mounted.status).toBe(200);
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
    const wrong = await call(`${plain.base}/catalog`, await dpopHeaders('GET', `${plain.base}/me`));
    expect(wrong.status).toBe(401);
  });

  it('reads Authorization: DPoP as another scheme when the validator has no dpop', async () => {
    const answer = await call(
      `${plain.base}/bearer-only`,
      await dpopHeaders('GET', `${plain.base}/bearer-only`),
    );
    expect(answer).toMatchObject({ status: 200, body: { subject: null } });
  });
});

describe('DPoP and the request origin', () => {
  const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example:8443' };

  it('behind trust proxy, checks htu against X-Forwarded-Proto and X-Forwarded-Host', async () => {
    const headers = { ...forwarded, ...(await dpopHeaders('GET', 'https://shop.example:8443/me')) };
    expect(await call(`${proxied.base}/me`, headers)).toMatchObject({
      status: 200,
      body: { subject: 'user-1' },
    });
    const direct = { ...forwarded, ...(await dpopHeaders('GET', `${proxied.base}/me`)) };
    expect((await call(`${proxied.base}/me`, direct)).status).toBe(401);
  });

  it('behind trust proxy, takes the first X-Forwarded-Host entry as Express does', async () => {
    const headers = {
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'shop.example, internal.example',
      ...(await dpopHeaders('GET', 'https://shop.example/me')),
    };
    expect((await call(`${proxied.base}/me`, headers)).status).toBe(200);
  });

  it('without trust proxy, ignores the forwarded headers', async () => {
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

describe('route guards after a DPoP request', () => {
  it('answers a missing scope with 403 insufficient_scope', async () => {
    const answer = await call(`${plain.base}/orders`, await dpopHeaders('GET', `${plain.base}/orders`));
    expect(answer.status).toBe(403);
    expect(answer.body.error).toBe('insufficient_scope');
  });

  // RFC 9449 §7.1: the error goes in the challenge of the scheme the request used, also when a
  // route guard (validator.check) refuses after authentication.
  it('puts the guard error in the DPoP challenge, the Bearer one bare', async () => {
    const answer = await call(`${plain.base}/orders`, await dpopHeaders('GET', `${plain.base}/orders`));
    expect(answer.challenge).toMatch(/^Bearer, DPoP error="insufficient_scope"/);
    expect(answer.challenge).not.toMatch(/Bearer [^,]*error=/);
  });
});
