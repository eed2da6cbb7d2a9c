/**
 * RFC 9470 step-up through each adapter: a real server on 127.0.0.1 per framework, one validator
 * whose keys a real local JWKS server serves, tokens carrying `acr` and `auth_time`. Each app has
 * the same three routes:
 * - GET /mfa: `orders:read` and an `acr` of MFA or PHR;
 * - GET /recent: an `auth_time` at most 300 s old;
 * - GET /admin: the `admin` scope and an `acr` of MFA (a 403 for the scope must win over step-up).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createValidator, type Validator } from '@tokenguard/core';
import * as expressAdapter from '@tokenguard/express';
import fastifyPlugin, { requireAuthentication as fastifyRequireAuthentication } from '@tokenguard/fastify';
import * as honoAdapter from '@tokenguard/hono';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChallenge } from './conformance/challenge.js';
import { type JwksServer, startJwksServer } from './support/jwks-server.js';
import { accessTokenClaims, generateSigningKey, type SigningKey, signToken } from './support/keys.js';

const ISS = 'https://id.step-up.test';
const AUD = 'https://api.step-up.test';
const MFA = 'urn:example:mfa';
const PHR = 'phr';
const MFA_ONLY = { acrValues: [MFA] } as const;
const MFA_OR_PHR = { acrValues: [MFA, PHR] } as const;
const RECENT = { maxAgeSec: 300 } as const;

interface App {
  url: string;
  close(): Promise<void>;
}

let jwks: JwksServer;
let key: SigningKey;
let validator: Validator;
const apps: Record<'express' | 'fastify' | 'hono', App> = {} as never;

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

async function startExpress(): Promise<App> {
  const { requireAuthentication, requireScopes, tokenguard } = expressAdapter;
  const app = express();
  app.use(tokenguard(validator));
  const ok = (_req: express.Request, res: express.Response) => {
    res.json({ ok: true });
  };
  app.get('/mfa', requireScopes('orders:read'), requireAuthentication(MFA_OR_PHR), ok);
  app.get('/recent', requireAuthentication(RECENT), ok);
  app.get('/admin', requireScopes('admin'), requireAuthentication(MFA_ONLY), ok);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => closeServer(server),
  };
}

async function startFastify(): Promise<App> {
  const app = Fastify();
  await app.register(fastifyPlugin, { validator });
  const ok = async () => ({ ok: true });
  // Route config for two routes, the decorator for the third.
  app.get('/mfa', { config: { auth: { scopes: ['orders:read'], authentication: MFA_OR_PHR } } }, ok);
  app.get('/recent', { preHandler: app.requireAuthentication(RECENT) }, ok);
  app.get('/admin', { config: { auth: { scopes: ['admin'], authentication: MFA_ONLY } } }, ok);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
}

async function startHono(): Promise<App> {
  const { requireAuthentication, requireScopes, tokenguard } = honoAdapter;
  const app = new Hono();
  app.use('*', tokenguard(validator));
  app.get('/mfa', requireScopes('orders:read'), requireAuthentication(MFA_OR_PHR), (c) =>
    c.json({ ok: true }),
  );
  app.get('/recent', requireAuthentication(RECENT), (c) => c.json({ ok: true }));
  app.get('/admin', requireScopes('admin'), requireAuthentication(MFA_ONLY), (c) => c.json({ ok: true }));
  const server = await new Promise<Server>((resolve) => {
    const listening = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(listening as Server),
    );
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => closeServer(server),
  };
}

beforeAll(async () => {
  key = generateSigningKey('ES256');
  jwks = await startJwksServer([key.publicJwk]);
  validator = createValidator({ issuer: ISS, audience: AUD, jwksUri: jwks.url, realm: 'orders' });
  [apps.express, apps.fastify, apps.hono] = await Promise.all([startExpress(), startFastify(), startHono()]);
});

afterAll(async () => {
  await Promise.all(Object.values(apps).map((app) => app?.close()));
  await validator?.close();
  await jwks?.close();
});

const nowSec = () => Math.floor(Date.now() / 1000);

/** A token of this API, issued now, with `claims` on top (`undefined` removes one). */
function token(claims: Record<string, unknown>): Promise<string> {
  return signToken(
    key,
    accessTokenClaims({ iss: ISS, aud: AUD, nowSec: nowSec() }, { scope: 'orders:read', ...claims }),
  );
}

async function call(app: App, path: string, bearer: string) {
  const response = await fetch(`${app.url}${path}`, { headers: { authorization: `Bearer ${bearer}` } });
  const body = (await response.json()) as Record<string, unknown>;
  const header = response.headers.get('www-authenticate');
  return { status: response.status, body, challenge: header === null ? null : parseChallenge(header) };
}

describe.each(['express', 'fastify', 'hono'] as const)('step-up through %s', (name) => {
  it('admits a token whose acr is one of the route values (200)', async () => {
    for (const acr of [MFA, PHR]) {
      const result = await call(apps[name], '/mfa', await token({ acr, auth_time: nowSec() }));
      expect(result, acr).toMatchObject({ status: 200, body: { ok: true }, challenge: null });
    }
  });

  it('answers a wrong or missing acr with 401 insufficient_user_authentication and acr_values', async () => {
    for (const acr of ['pwd', undefined]) {
      const result = await call(apps[name], '/mfa', await token({ acr }));
      expect(result.status, String(acr)).toBe(401);
      expect(result.body).toEqual({
        error: 'insufficient_user_authentication',
        error_description: result.challenge?.params.error_description,
      });
      // RFC 6750 §3 / RFC 9470 §3: one Bearer challenge, each parameter once (parseChallenge
      // throws otherwise), acr_values space-separated in the route's order.
      expect(result.challenge).toEqual({
        scheme: 'Bearer',
        params: {
          realm: 'orders',
          error: 'insufficient_user_authentication',
          error_description: expect.stringMatching(/^A different authentication level is required/),
          acr_values: `${MFA} ${PHR}`,
        },
      });
    }
  });

  it('admits a recent auth_time and answers a stale or missing one with max_age', async () => {
    expect((await call(apps[name], '/recent', await token({ auth_time: nowSec() - 60 }))).status).toBe(200);
    for (const authTime of [nowSec() - 3600, undefined]) {
      const result = await call(apps[name], '/recent', await token({ auth_time: authTime }));
      expect(result.status, String(authTime)).toBe(401);
      expect(result.body).toMatchObject({ error: 'insufficient_user_authentication' });
      expect(result.challenge).toEqual({
        scheme: 'Bearer',
        params: {
          realm: 'orders',
          error: 'insufficient_user_authentication',
          error_description: expect.stringMatching(/^More recent authentication is required/),
          max_age: '300',
        },
      });
    }
  });

  it('answers a missing scope with 403 insufficient_scope before asking for step-up', async () => {
    const result = await call(apps[name], '/admin', await token({ acr: 'pwd' }));
    expect(result.status).toBe(403);
    expect(result.challenge?.params).toMatchObject({ error: 'insufficient_scope', scope: 'admin' });
    expect(result.challenge?.params).not.toHaveProperty('acr_values');
    // The scope held, only the authentication falls short: now it is step-up.
    const stepUp = await call(apps[name], '/admin', await token({ acr: 'pwd', scope: 'admin' }));
    expect(stepUp.status).toBe(401);
    expect(stepUp.challenge?.params).toMatchObject({
      error: 'insufficient_user_authentication',
      acr_values: MFA,
    });
  });
});

describe('declaring step-up wrongly is a TypeError when the route is declared', () => {
  it('in the guards of each adapter', () => {
    for (const requireAuthentication of [
      expressAdapter.requireAuthentication,
      honoAdapter.requireAuthentication,
      fastifyRequireAuthentication,
    ]) {
      expect(() => requireAuthentication({} as never)).toThrow(
        /"authentication": needs acrValues, maxAgeSec or both/,
      );
      expect(() => requireAuthentication({ acrValues: ['two words'] })).toThrow(
        /"authentication.acrValues.0"/,
      );
      expect(() => requireAuthentication({ maxAgeSec: -1 })).toThrow(/"authentication.maxAgeSec"/);
      expect(() => requireAuthentication({ max_age: 300 } as never)).toThrow(
        /"authentication.max_age": unknown/,
      );
    }
  });

  it('in a Fastify route config, naming the route', async () => {
    for (const [authentication, message] of [
      [{ acrValues: [] }, /route \/x: config.auth: invalid requirement "authentication.acrValues"/],
      [{ maxAgeSec: 1.5 }, /route \/x: config.auth: invalid requirement "authentication.maxAgeSec"/],
      ['mfa', /route \/x: config.auth.authentication must be an object/],
    ] as const) {
      const app = Fastify();
      await app.register(fastifyPlugin, { validator });
      try {
        expect(() =>
          app.get('/x', { config: { auth: { authentication } as never } }, async () => 'x'),
        ).toThrow(message);
      } finally {
        await app.close();
      }
    }
  });

  it('a Fastify route config is copied: changing the list later changes nothing', async () => {
    const acrValues = [MFA];
    const app = Fastify();
    await app.register(fastifyPlugin, { validator });
    app.get('/x', { config: { auth: { authentication: { acrValues } } } }, async () => 'x');
    acrValues[0] = 'pwd';
    try {
      const weak = await app.inject({
        url: '/x',
        headers: { authorization: `Bearer ${await token({ acr: 'pwd' })}` },
      });
      expect(weak.statusCode).toBe(401);
      expect(parseChallenge(weak.headers['www-authenticate'] as string).params.acr_values).toBe(MFA);
    } finally {
      await app.close();
    }
  });
});
