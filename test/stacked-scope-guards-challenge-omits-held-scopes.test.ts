/**
 * Found by a review (fixed: core enforceRequirements keeps the scopes a request's earlier guards met).
 * SCOPES-AND-TENANTS.md, "The 403": the RFC 6750 §3 `scope` parameter names "a set of scopes
 * that would satisfy the route, so the client knows what to ask for [...] scopes the token already
 * holds are included, since the new token needs them too"; README "Scopes per route": "A failure is
 * 403 insufficient_scope whose scope parameter names what would satisfy the route". In Express and
 * Hono (and Fastify's preHandler guards) the only way to declare "orders:read and one of orders:write
 * or admin" is to stack `requireScopes('orders:read')` and `requireAnyScope('orders:write', 'admin')`
 * (the README: "Express; Fastify and Hono take the same guards"). Each guard answered for itself alone:
 * a token holding orders:read got `scope="orders:write"`, without orders:read. A client that asks the
 * authorization server for exactly that gets a token the first guard refuses (`scope="orders:read"`),
 * and so back and forth: the challenge never names a set that satisfies the route.
 * (Fastify's `config.auth: { scopes, anyScopes }` is one requirement and names "orders:read
 * orders:write", as documented.)
 *
 * Real servers on 127.0.0.1, real tokens from the dev issuer (oidc-provider).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createValidator, type Validator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import * as expressAdapter from '@tokenguard/express';
import fastifyPlugin from '@tokenguard/fastify';
import * as honoAdapter from '@tokenguard/hono';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChallenge } from './conformance/challenge.js';

const API = 'https://api.test';
const ROUTE = '/orders/export';

interface App {
  url: string;
  close(): Promise<void>;
}

let issuer: DevIssuer;
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
  issuer = await startDevIssuer();
  validator = createValidator({ issuer: issuer.issuer, audience: API, realm: 'orders' });

  {
    const { requireAnyScope, requireScopes, tokenguard } = expressAdapter;
    const app = express();
    app.use(tokenguard(validator));
    app.get(ROUTE, requireScopes('orders:read'), requireAnyScope('orders:write', 'admin'), (_req, res) => {
      res.json({ ok: true });
    });
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
    app.get(
      ROUTE,
      { preHandler: [app.requireScopes('orders:read'), app.requireAnyScope('orders:write', 'admin')] },
      async () => ({ ok: true }),
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    apps['fastify-preHandler'] = {
      url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
      close: () => app.close(),
    };
  }
  {
    const { requireAnyScope, requireScopes, tokenguard } = honoAdapter;
    const app = new Hono();
    app.use('*', tokenguard(validator));
    app.get(ROUTE, requireScopes('orders:read'), requireAnyScope('orders:write', 'admin'), (c) =>
      c.json({ ok: true }),
    );
    apps.hono = await listenHono(app);
  }
  {
    const { requireAnyScope, requireScopes, tokenguard } = honoAdapter;
    const auth = tokenguard(validator);
    const app = new Hono();
    app.get(
      ROUTE,
      auth.protect(requireScopes('orders:read'), requireAnyScope('orders:write', 'admin'), (c) =>
        c.json({ ok: true }),
      ),
    );
    apps['hono-protect'] = await listenHono(app);
  }
});

afterAll(async () => {
  await Promise.all(Object.values(apps).map((app) => app?.close()));
  await validator?.close();
  await issuer?.close();
});

async function call(app: App, token: string) {
  const response = await fetch(`${app.url}${ROUTE}`, { headers: { authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  const header = response.headers.get('www-authenticate');
  return { status: response.status, params: header === null ? {} : parseChallenge(header).params };
}

describe.each(
  Object.keys({ express: 0, 'fastify-preHandler': 0, hono: 0, 'hono-protect': 0 }) as (keyof typeof apps)[],
)('orders:read and (orders:write or admin) as stacked guards, %s', (name) => {
  it("names the scopes the token already holds in the 403's scope parameter", async () => {
    const held = await issuer.getToken({ resource: API, scope: 'orders:read' });
    const refused = await call(apps[name], held);
    expect(refused.status).toBe(403);
    expect(refused.params.error).toBe('insufficient_scope');
    // Documented: "scopes the token already holds are included, since the new token needs them too".
    expect(refused.params.scope?.split(' ').sort()).toEqual(['orders:read', 'orders:write']);
  });

  it('admits a token obtained with exactly the scopes the 403 named', async () => {
    const held = await issuer.getToken({ resource: API, scope: 'orders:read' });
    const refused = await call(apps[name], held);
    expect(refused.status).toBe(403);
    // The client does what the challenge is for: asks for that scope set, and retries.
    const asked = await issuer.getToken({ resource: API, scope: refused.params.scope as string });
    const retried = await call(apps[name], asked);
    expect(retried).toEqual({ status: 200, params: {} });
  });
});
