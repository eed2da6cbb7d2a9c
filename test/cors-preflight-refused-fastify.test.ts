/**
 * An API called from a single-page app on another origin, built from the Fastify app of README.md
 * "## Use" and packages/fastify/README.md with `@fastify/cors` (README "Browsers and CORS").
 * Registered before tokenguard, its `onRequest` hook answers every preflight and every answer
 * tokenguard gives is readable by the SPA, for every mount form. Registered after, tokenguard's
 * `onRequest` hook runs first: every preflight gets a 401 without `Access-Control-Allow-Origin`, also
 * for public (`config: { auth: false }`) and optional routes, since a preflight is answered by
 * @fastify/cors's own `OPTIONS *` route, which has no `config.auth`. tokenguard does not let
 * preflights through on its own (a route answering OPTIONS would then run unauthenticated for any
 * request dressed as one), so the README says where it goes. (A review found the READMEs silent.)
 *
 * Real parts: oidc-provider (packages/dev-issuer, with DPoP), Fastify 5 with @fastify/cors 11 on
 * 127.0.0.1 port 0, requests by undici.
 */
import type { AddressInfo } from 'node:net';
import fastifyCors, { type FastifyCorsOptions } from '@fastify/cors';
import { createValidator, type Validator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import tokenguard, { isTokenGuardError } from '@tokenguard/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectReadable, fromSpa, preflight, SPA } from './support/browser-client.js';

/** The usual configuration for an SPA: an allow-list, credentials, the headers it sends and reads. */
const CORS: FastifyCorsOptions = {
  origin: [SPA],
  credentials: true,
  allowedHeaders: ['Authorization', 'DPoP', 'Content-Type'],
  exposedHeaders: ['WWW-Authenticate', 'DPoP-Nonce', 'Retry-After'],
};
const NONCE_SECRET = 'a nonce secret of at least thirty-two characters';

let issuer: DevIssuer;
let validator: Validator;
let full: string;
let readOnly: string;
let bound: string;
const apps: FastifyInstance[] = [];
const validators: Validator[] = [];

/** README.md "## Use" (Fastify) with the complete app's optional route and a guard decorator. */
async function readmeApp(where: 'first' | 'after tokenguard', v: Validator): Promise<string> {
  const app = Fastify();
  apps.push(app);
  if (where === 'first') await app.register(fastifyCors, CORS);
  await app.register(tokenguard, { validator: v });
  if (where === 'after tokenguard') await app.register(fastifyCors, CORS);
  app.get('/orders', { config: { auth: { scopes: ['orders:read'] } } }, async (request) => ({
    caller: request.auth?.subject,
  }));
  app.get('/health', { config: { auth: false } }, async () => ({ ok: true }));
  app.post('/signup', { config: { auth: false } }, async () => ({ ok: true }));
  app.get('/catalog', { config: { auth: { optional: true } } }, async (request) => ({
    personalised: request.auth !== null,
  }));
  app.get('/me', async (request) => ({ caller: request.auth?.subject }));
  app.get('/reports', { preHandler: app.requireScopes('orders:read') }, async () => []);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

let corsAfter: string;
let corsFirst: string;

beforeAll(async () => {
  issuer = await startDevIssuer({ dpop: true });
  [full, readOnly, bound] = await Promise.all([
    issuer.getToken({ resource: 'https://api.test' }),
    issuer.getToken({ resource: 'https://api.test', scope: 'read' }),
    issuer.getToken({ resource: 'https://api.test', dpop: true }),
  ]);
  validator = createValidator({
    issuer: issuer.issuer,
    audience: 'https://api.test',
    dpop: { nonce: { secret: NONCE_SECRET } },
  });
  validators.push(validator);
  corsAfter = await readmeApp('after tokenguard', validator);
  corsFirst = await readmeApp('first', validator);
});

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await Promise.all(validators.map((v) => v.close()));
  await issuer?.close();
});

describe('@fastify/cors registered after tokenguard: why the README registers it first', () => {
  it("every preflight gets tokenguard's 401, public and optional routes too (@fastify/cors's OPTIONS * route is guarded)", async () => {
    for (const [path, headers, method] of [
      ['/orders', 'authorization', 'GET'],
      ['/signup', 'content-type', 'POST'],
      ['/catalog', 'authorization', 'GET'],
    ] as const) {
      const answer = await preflight(`${corsAfter}${path}`, headers, method);
      expect(answer.status, path).toBe(401);
      expect(answer.headers['access-control-allow-origin'], path).toBeUndefined();
    }
  });

  it("config.auth's 401 comes without Access-Control-Allow-Origin: the SPA sees a network error", async () => {
    const answer = await fromSpa(`${corsAfter}/orders`, 'GET', { authorization: 'Bearer a.b.c' });
    expect(answer.status).toBe(401);
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('@fastify/cors registered before tokenguard (the order that works)', () => {
  it('every route form answers the preflight without a token, DPoP allowed', async () => {
    for (const path of ['/orders', '/me', '/catalog', '/reports', '/health']) {
      const answer = await preflight(`${corsFirst}${path}`, 'authorization,dpop');
      expect(answer.status, path).toBe(204);
      expect(answer.headers['access-control-allow-origin']).toBe(SPA);
      expect(String(answer.headers['access-control-allow-headers'])).toMatch(/Authorization.*DPoP/);
    }
  });

  it('400, 401 and 403 (config.auth and preHandler) carry the CORS headers', async () => {
    const none = await fromSpa(`${corsFirst}/me`, 'GET');
    expect(none.status).toBe(401);
    expectReadable(none);
    const malformed = await fromSpa(`${corsFirst}/me`, 'GET', { authorization: 'Bearer a b' });
    expect(malformed.status).toBe(400);
    expectReadable(malformed);
    for (const path of ['/orders', '/reports']) {
      const scope = await fromSpa(`${corsFirst}${path}`, 'GET', { authorization: `Bearer ${readOnly}` });
      expect([scope.status, scope.headers['www-authenticate']]).toEqual([
        403,
        expect.stringContaining('scope="orders:read"'),
      ]);
      expectReadable(scope);
    }
    expectReadable(await fromSpa(`${corsFirst}/orders`, 'GET', { authorization: `Bearer ${full}` }));
  });

  it('the optional route answers anonymous (200) and bad-token (401) calls readably', async () => {
    const anonymous = await fromSpa(`${corsFirst}/catalog`, 'GET');
    expect([anonymous.status, anonymous.body]).toEqual([200, '{"personalised":false}']);
    expectReadable(anonymous, []);
    const bad = await fromSpa(`${corsFirst}/catalog`, 'GET', { authorization: 'Bearer a.b.c' });
    expect(bad.status).toBe(401);
    expectReadable(bad);
  });

  it("DPoP: the use_dpop_nonce 401's DPoP-Nonce is exposed", async () => {
    const url = `${corsFirst}/me`;
    const answer = await fromSpa(url, 'GET', {
      authorization: `DPoP ${bound}`,
      dpop: await issuer.dpopProof('GET', url, bound),
    });
    expect(answer.status).toBe(401);
    expect(answer.headers['dpop-nonce']).toBe(validator.dpopNonce());
    expectReadable(answer, ['WWW-Authenticate', 'DPoP-Nonce']);
  });

  it("503 (the issuer's key set down) carries the CORS headers and Retry-After is exposed", async () => {
    const cold = createValidator({ issuer: issuer.issuer, audience: 'https://api.test' });
    validators.push(cold);
    const base = await readmeApp('first', cold);
    issuer.jwks.setDown(true);
    try {
      const answer = await fromSpa(`${base}/me`, 'GET', { authorization: `Bearer ${full}` });
      expect(answer.status).toBe(503);
      expectReadable(answer, ['Retry-After']);
    } finally {
      issuer.jwks.setDown(false);
    }
  });

  it("onError: 'next' with the README's setErrorHandler keeps the CORS headers", async () => {
    const app = Fastify();
    apps.push(app);
    await app.register(fastifyCors, CORS);
    await app.register(tokenguard, { validator, onError: 'next' });
    app.setErrorHandler((error, _request, reply) => {
      if (isTokenGuardError(error))
        return reply.code(error.status).headers(error.headers).send(error.toJSON());
      return reply.send(error);
    });
    app.get('/orders', { config: { auth: { scopes: ['orders:read'] } } }, async () => []);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    expect((await preflight(`${base}/orders`)).status).toBe(204);
    const scope = await fromSpa(`${base}/orders`, 'GET', { authorization: `Bearer ${readOnly}` });
    expect(scope.status).toBe(403);
    expectReadable(scope);
  });
});
