/**
 * Review of 3ce3c19, which had the guards find the plugin's settings by the route's config, recorded
 * once per route when a plugin hook first compiled it, instead of a value the hook set on each request.
 * It found three defects, fixed in 71d9a23 (the hook sets the settings on each request it authenticates
 * again, under a symbol, not a request decorator); these tests keep them fixed, beside what was checked
 * and held throughout:
 *
 * - Nested registrations whose hooks run in another order on some requests (the parent with
 *   `transport.body`, so it authenticates a form POST in `preValidation`, after the child's
 *   `onRequest`): the settings a guard used were those of whichever hook compiled the route last on
 *   its FIRST request, for every later request, so the same GET got the parent's challenge or the
 *   child's depending on what the route served first. Each request uses the settings of the last hook
 *   that ran on it, as at 49ae19e.
 * - The same, for a guard in a route's `onRequest` with `transport.body`: a form POST is authenticated
 *   in `preValidation`, after the guard, which must fail as needing the plugin (500); with per-route
 *   settings (once the route served any request) it judged `request.auth` still null: a 401 for a
 *   valid token, and the misplaced guard went unreported.
 * - A route handler that calls `reply.callNotFound()`: the 404 handler's guard runs with the settings
 *   of the hook that authenticated the request (403/pass by the caller's scopes); with per-route
 *   settings it found the 404 context's config, which no hook compiled, and failed with the "needs the
 *   plugin" 500.
 */
import type { AddressInfo } from 'node:net';
import { createValidator, type Validator } from '@tokenguard/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessTokenClaims, secretSigningKey, signToken } from '../../../test/support/keys.js';
import tokenguard, { requireScopes } from './index.js';

const ISS = 'https://issuer.test';
const AUD = 'https://api.test';
const SECRET = 'r'.repeat(32);
const NOW_SEC = Math.floor(Date.now() / 1000);

const validators: Validator[] = [];
function validatorFor(realm: string): Validator {
  const validator = createValidator({ issuer: ISS, audience: AUD, secret: SECRET, realm });
  validators.push(validator);
  return validator;
}

let token = '';
const apps: FastifyInstance[] = [];

async function listen(app: FastifyInstance): Promise<string> {
  apps.push(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  token = await signToken(
    secretSigningKey(SECRET),
    accessTokenClaims({ iss: ISS, aud: AUD, nowSec: NOW_SEC }, { scope: 'read' }),
  );
});

afterAll(async () => {
  for (const app of apps) await app.close();
  for (const validator of validators) await validator.close();
});

/** Parent plugin (realm "parent", form bodies) and a child plugin (realm "child") over one route. */
async function nestedApp(): Promise<string> {
  const app = Fastify();
  await app.register(tokenguard, { validator: validatorFor('parent'), transport: { body: true } });
  await app.register(async (child) => {
    await child.register(tokenguard, { validator: validatorFor('child') });
    child.route({
      method: ['GET', 'POST'],
      url: '/write',
      preHandler: requireScopes('write'),
      handler: async () => ({ passed: true }),
    });
  });
  return listen(app);
}

const bearer = (): Record<string, string> => ({ authorization: `Bearer ${token}` });
const form = (): RequestInit => ({
  method: 'POST',
  headers: { ...bearer(), 'content-type': 'application/x-www-form-urlencoded' },
  body: 'note=1',
});

describe('guards under nested registrations of the plugin', () => {
  it('a GET gets the innermost plugin`s challenge when it is the route`s first request', async () => {
    const base = await nestedApp();
    const get = await fetch(`${base}/write`, { headers: bearer() });
    expect(get.status).toBe(403);
    expect(get.headers.get('www-authenticate')).toMatch(/^Bearer realm="child"/);
  });

  it('guard settings depend on the route`s first request: a GET after a form POST gets the innermost plugin`s challenge as before', async () => {
    const base = await nestedApp();
    // The form POST: the child authenticates in onRequest, the parent (form bodies) in preValidation.
    const post = await fetch(`${base}/write`, form());
    expect(post.status).toBe(403);
    // At 49ae19e, as on a fresh app: the GET's last hook is the child's.
    const get = await fetch(`${base}/write`, { headers: bearer() });
    expect(get.status).toBe(403);
    expect(get.headers.get('www-authenticate')).toMatch(/^Bearer realm="child"/);
  });
});

describe('a guard that runs before the request was authenticated (form bodies: preValidation)', () => {
  it('guard before deferred authentication: a form POST`s onRequest guard is still the "needs the plugin" 500 after a GET, as before', async () => {
    const app = Fastify();
    await app.register(tokenguard, { validator: validatorFor('forms'), transport: { body: true } });
    app.route({
      method: ['GET', 'POST'],
      url: '/early-guard',
      onRequest: requireScopes('read'),
      handler: async () => ({ passed: true }),
    });
    const base = await listen(app);
    // A GET is authenticated in onRequest, before the route's own onRequest guard: it passes.
    expect((await fetch(`${base}/early-guard`, { headers: bearer() })).status).toBe(200);
    // A form POST is authenticated in preValidation: its onRequest guard ran before, with no caller.
    // At 49ae19e: always the 500 naming the plugin; now a 401 (request.auth still null) for a valid token.
    const post = await fetch(`${base}/early-guard`, form());
    expect(post.status).toBe(500);
    expect(((await post.json()) as { message: string }).message).toMatch(/@tokenguard\/fastify plugin/);
  });
});

describe('a 404 handler guard reached through reply.callNotFound()', () => {
  let base = '';
  beforeAll(async () => {
    const app = Fastify();
    await app.register(tokenguard, { validator: validatorFor('orders') });
    app.setNotFoundHandler({ preHandler: requireScopes('read') }, async (_request, reply) =>
      reply.code(404).send({ notFound: true }),
    );
    app.get('/orders/:id', async (_request, reply) => reply.callNotFound());
    base = await listen(app);
  });

  it('an unmatched URL: the guard still fails as needing the plugin (500), as before', async () => {
    const res = await fetch(`${base}/nowhere`, { headers: bearer() });
    expect(res.status).toBe(500);
    expect(((await res.json()) as { message: string }).message).toMatch(/@tokenguard\/fastify plugin/);
  });

  it('callNotFound from an authenticated route: the 404 handler`s guard uses the request`s settings, as before', async () => {
    const res = await fetch(`${base}/orders/1`, { headers: bearer() });
    // At 49ae19e: the token holds `read`, so the guard passes and the 404 handler answers.
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ notFound: true });
  });
});

describe('what still holds after the SETTINGS decorator was removed', () => {
  let base = '';
  beforeAll(async () => {
    const shared = validatorFor('shared');
    const app = Fastify();
    app.setErrorHandler((error: { statusCode?: number; message: string }, _request, reply) =>
      reply.code(error.statusCode ?? 500).send({ handled: true, message: error.message }),
    );
    // Routes declared before the plugin is registered, in the same context.
    app.get('/early', { preHandler: requireScopes('write') }, async () => ({ passed: true }));
    await app.register(tokenguard, { validator: shared, onError: 'next' });
    app.get('/public', { config: { auth: false } }, async () => ({ passed: true }));
    app.addHook('preHandler', async (request) => {
      if (request.url === '/public-guarded') await requireScopes('write')(request, {} as never);
    });
    app.get('/public-guarded', { config: { auth: false } }, async () => ({ passed: true }));
    base = await listen(app);

    // A second instance sharing the validator, with the plugin only in a child context.
    const other = Fastify();
    await other.register(async (child) => {
      await child.register(tokenguard, { validator: shared });
      child.get('/in', { preHandler: requireScopes('read') }, async () => ({ passed: true }));
    });
    other.get('/out', { preHandler: requireScopes('read') }, async () => ({ passed: true }));
    apps.push(other);
    await other.listen({ port: 0, host: '127.0.0.1' });
  });

  it('a route declared before the plugin: its guard runs with the plugin`s settings (onError next)', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${base}/early`, { headers: bearer() });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ handled: true });
    }
  });

  it('a public route with an app-level guard: still the "needs the plugin" error', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${base}/public-guarded`, { headers: bearer() });
      expect(res.status).toBe(500);
      expect(((await res.json()) as { message: string }).message).toMatch(/@tokenguard\/fastify plugin/);
    }
  });

  it('another instance sharing the validator: its route outside the plugin still fails, inside passes', async () => {
    const otherBase = `http://127.0.0.1:${((apps.at(-1) as FastifyInstance).server.address() as AddressInfo).port}`;
    for (let i = 0; i < 2; i++) {
      expect((await fetch(`${otherBase}/in`, { headers: bearer() })).status).toBe(200);
      expect((await fetch(`${otherBase}/out`, { headers: bearer() })).status).toBe(500);
    }
  });
});
