/**
 * Route guards are checked one by one, in the order the route lists them (Express, Fastify
 * `preHandler`, Hono, Hono `auth.protect()`), where one requirements object (core `validate(header,
 * { ... })`, Fastify `config.auth`) checks the tenant first and step-up last. SCOPES-AND-TENANTS.md
 * and the README now say to list the tenant guard first and `requireAuthentication` last (a review
 * found them saying "tenant first" without that condition: listed after the scopes, another tenant's
 * token was told the route's scopes; step-up listed first sent a client lacking a scope to sign in
 * again before its 403). These routes list them as the docs say, and get the documented answers.
 *
 * Real servers on 127.0.0.1; tokens signed with a generated key that a loopback JWKS server serves.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createValidator, type Validator } from '@tokenguard/core';
import * as expressAdapter from '@tokenguard/express';
import fastifyPlugin from '@tokenguard/fastify';
import * as honoAdapter from '@tokenguard/hono';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChallenge } from './conformance/challenge.js';
import { type JwksServer, startJwksServer } from './support/jwks-server.js';
import { accessTokenClaims, generateSigningKey, type SigningKey, signToken } from './support/keys.js';

const ISS = 'https://id.guard-order.test';
const AUD = 'https://api.guard-order.test';
const MFA = { acrValues: ['urn:example:mfa'], maxAgeSec: 300 } as const;

interface App {
  url: string;
  close(): Promise<void>;
}

let jwks: JwksServer;
let key: SigningKey;
let validator: Validator;
const apps = {} as Record<'express' | 'fastify-preHandler' | 'hono' | 'hono-protect', App>;

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

async function listenHono(app: Hono): Promise<App> {
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
  validator = createValidator({
    realm: 'orders',
    issuers: [{ issuer: ISS, audience: AUD, jwksUri: jwks.url, tenantClaim: 'tid' }],
  });
  {
    const { requireAuthentication, requireScopes, requireTenant, tokenguard } = expressAdapter;
    const app = express();
    app.use(tokenguard(validator));
    const ok = (_req: express.Request, res: express.Response) => {
      res.json({ ok: true });
    };
    app.get(
      '/tenants/:tenant/reports',
      requireTenant((req) => req.params.tenant),
      requireScopes('reports:read'),
      ok,
    );
    app.post('/orders/:id/refund', requireScopes('orders:write'), requireAuthentication(MFA), ok);
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    apps.express = {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => closeServer(server),
    };
  }
  {
    const app = Fastify();
    await app.register(fastifyPlugin, { validator });
    const ok = async () => ({ ok: true });
    app.get(
      '/tenants/:tenant/reports',
      {
        preHandler: [
          app.requireTenant((request) => (request.params as { tenant: string }).tenant),
          app.requireScopes('reports:read'),
        ],
      },
      ok,
    );
    app.post(
      '/orders/:id/refund',
      { preHandler: [app.requireScopes('orders:write'), app.requireAuthentication(MFA)] },
      ok,
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    apps['fastify-preHandler'] = {
      url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
      close: () => app.close(),
    };
  }
  {
    const { requireAuthentication, requireScopes, requireTenant, tokenguard } = honoAdapter;
    const app = new Hono();
    app.use('*', tokenguard(validator));
    app.get(
      '/tenants/:tenant/reports',
      requireTenant((c) => c.req.param('tenant')),
      requireScopes('reports:read'),
      (c) => c.json({ ok: true }),
    );
    app.post('/orders/:id/refund', requireScopes('orders:write'), requireAuthentication(MFA), (c) =>
      c.json({ ok: true }),
    );
    apps.hono = await listenHono(app);
  }
  {
    const { requireAuthentication, requireScopes, requireTenant, tokenguard } = honoAdapter;
    const auth = tokenguard(validator);
    const app = new Hono();
    app.get(
      '/tenants/:tenant/reports',
      auth.protect(
        requireTenant((c) => c.req.param('tenant')),
        requireScopes('reports:read'),
        (c) => c.json({ ok: true }),
      ),
    );
    app.post(
      '/orders/:id/refund',
      auth.protect(requireScopes('orders:write'), requireAuthentication(MFA), (c) => c.json({ ok: true })),
    );
    apps['hono-protect'] = await listenHono(app);
  }
});

afterAll(async () => {
  await Promise.all(Object.values(apps).map((app) => app?.close()));
  await validator?.close();
  await jwks?.close();
});

async function token(claims: Record<string, unknown>): Promise<string> {
  return signToken(
    key,
    accessTokenClaims({ iss: ISS, aud: AUD, nowSec: Math.floor(Date.now() / 1000) }, claims),
  );
}

async function call(app: App, method: string, path: string, bearer: string) {
  const response = await fetch(`${app.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}` },
  });
  await response.arrayBuffer();
  const header = response.headers.get('www-authenticate');
  return { status: response.status, params: header === null ? {} : parseChallenge(header).params };
}

describe.each(
  Object.keys({ express: 0, 'fastify-preHandler': 0, hono: 0, 'hono-protect': 0 }) as (keyof typeof apps)[],
)('guards of one route, %s', (name) => {
  it("answers another tenant's token with the tenant refusal, naming none of the route's scopes", async () => {
    const foreign = await token({ tid: 'globex', scope: 'orders:read' });
    // Seen twice: first sight and the validator's cache.
    for (const sight of ['first', 'cached']) {
      const result = await call(apps[name], 'GET', '/tenants/acme/reports', foreign);
      expect(result.status, sight).toBe(403);
      expect(result.params, sight).toEqual({
        realm: 'orders',
        error: 'insufficient_scope',
        error_description: 'The token belongs to another tenant than this route',
      });
    }
  });

  it('answers a missing scope with 403 before asking for step-up', async () => {
    const weak = await token({ tid: 'acme', scope: 'orders:read', acr: 'pwd', auth_time: 0 });
    for (const sight of ['first', 'cached']) {
      const result = await call(apps[name], 'POST', '/orders/1/refund', weak);
      expect(result.status, sight).toBe(403);
      expect(result.params, sight).toMatchObject({ error: 'insufficient_scope', scope: 'orders:write' });
      expect(result.params, sight).not.toHaveProperty('acr_values');
    }
  });
});
