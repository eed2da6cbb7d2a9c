/**
 * RFC 9470 step-up at the time of each request: a token (JWT or introspected) admitted once and
 * cached must still be judged against `maxAgeSec` at the clock of every later request, not at the
 * time it was cached. One validator with a controlled `now`, one local issuer on 127.0.0.1 serving
 * discovery and introspection (counting calls), and an app per adapter:
 * - GET /recent: an `auth_time` at most 300 s old;
 * - GET /both: two step-up declarations on one route, an `acr` of MFA then an `auth_time` at most
 *   60 s old; each must hold, and the challenge names the one that failed.
 */
import { createServer, type Server } from 'node:http';
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
import { accessTokenClaims, secretSigningKey, signToken } from './support/keys.js';

const AUD = 'https://api.step-up-clock.test';
const SECRET = 'a-shared-secret-of-at-least-32-bytes!';
const MFA = 'urn:example:mfa';
const T0 = 1_800_000_000;

interface App {
  url: string;
  close(): Promise<void>;
}

let clockMs = T0 * 1000;
let issuer: string;
let issuerServer: Server;
let introspections = 0;
/** What the introspection endpoint answers, by token. */
const answers = new Map<string, Record<string, unknown>>();
let validator: Validator;
const apps: Record<'express' | 'fastify' | 'hono', App> = {} as never;

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

async function startIssuer(): Promise<void> {
  issuerServer = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      let answer: unknown;
      if (req.url === '/.well-known/openid-configuration') {
        answer = { issuer, introspection_endpoint: `${issuer}/introspect` };
      } else {
        introspections += 1;
        const token = new URLSearchParams(body).get('token') ?? '';
        answer = answers.get(token) ?? { active: false };
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => issuerServer.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(issuerServer.address() as AddressInfo).port}`;
}

async function startExpress(): Promise<App> {
  const { requireAuthentication, tokenguard } = expressAdapter;
  const app = express();
  app.use(tokenguard(validator));
  const ok = (_req: express.Request, res: express.Response) => {
    res.json({ ok: true });
  };
  app.get('/recent', requireAuthentication({ maxAgeSec: 300 }), ok);
  app.get('/both', requireAuthentication({ acrValues: [MFA] }), requireAuthentication({ maxAgeSec: 60 }), ok);
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
  app.get('/recent', { config: { auth: { authentication: { maxAgeSec: 300 } } } }, ok);
  app.get(
    '/both',
    {
      config: { auth: { authentication: { acrValues: [MFA] } } },
      preHandler: app.requireAuthentication({ maxAgeSec: 60 }),
    },
    ok,
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
}

async function startHono(): Promise<App> {
  const { requireAuthentication, tokenguard } = honoAdapter;
  const app = new Hono();
  app.use('*', tokenguard(validator));
  app.get('/recent', requireAuthentication({ maxAgeSec: 300 }), (c) => c.json({ ok: true }));
  app.get(
    '/both',
    requireAuthentication({ acrValues: [MFA] }),
    requireAuthentication({ maxAgeSec: 60 }),
    (c) => c.json({ ok: true }),
  );
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
  await startIssuer();
  validator = createValidator({
    issuer,
    audience: AUD,
    secret: SECRET,
    now: () => clockMs,
    clockToleranceSec: 5,
    introspection: { clientId: 'api', clientSecret: 'api-secret' },
  });
  [apps.express, apps.fastify, apps.hono] = await Promise.all([startExpress(), startFastify(), startHono()]);
});

afterAll(async () => {
  await Promise.all(Object.values(apps).map((app) => app?.close()));
  await validator?.close();
  if (issuerServer !== undefined) await closeServer(issuerServer);
});

/** A JWT issued at the current clock, valid for an hour, with `claims` on top. */
function jwt(claims: Record<string, unknown>): Promise<string> {
  const nowSec = clockMs / 1000;
  return signToken(
    secretSigningKey(SECRET),
    accessTokenClaims({ iss: issuer, aud: AUD, nowSec }, { exp: nowSec + 3600, ...claims }),
    { kid: undefined },
  );
}

let opaqueCount = 0;
/** An opaque token the introspection endpoint answers as active, with `claims` on top. */
function opaque(claims: Record<string, unknown>): string {
  const token = `opaque-step-up-${++opaqueCount}`;
  const nowSec = clockMs / 1000;
  answers.set(token, { active: true, iss: issuer, aud: AUD, exp: nowSec + 3600, ...claims });
  return token;
}

async function call(app: App, path: string, bearer: string) {
  const response = await fetch(`${app.url}${path}`, { headers: { authorization: `Bearer ${bearer}` } });
  await response.arrayBuffer();
  const header = response.headers.get('www-authenticate');
  return { status: response.status, params: header === null ? undefined : parseChallenge(header).params };
}

describe.each(['express', 'fastify', 'hono'] as const)('step-up at each request through %s', (name) => {
  it('judges a cached JWT against maxAgeSec at the second request, not when it was cached', async () => {
    clockMs = T0 * 1000;
    const token = await jwt({ auth_time: T0 - 290 });
    const cachedBefore = validator.state().tokenCache.entries;
    expect((await call(apps[name], '/recent', token)).status).toBe(200);
    // 290 + 10 s: still within 300 s. The cache stores a token on its second sighting.
    clockMs = (T0 + 10) * 1000;
    expect((await call(apps[name], '/recent', token)).status).toBe(200);
    expect(validator.state().tokenCache.entries).toBe(cachedBefore + 1);
    // 290 + 16 s: past 300 + 5 s of tolerance. The token is still cached and still valid.
    clockMs = (T0 + 16) * 1000;
    const stale = await call(apps[name], '/recent', token);
    expect(stale.status).toBe(401);
    expect(stale.params).toMatchObject({ error: 'insufficient_user_authentication', max_age: '300' });
    expect(validator.state().tokenCache.entries).toBe(cachedBefore + 1);
  });

  it('judges a cached introspection answer at each request: no new call, a later 401', async () => {
    clockMs = T0 * 1000;
    const token = opaque({ acr: MFA, auth_time: T0 - 290 });
    const callsBefore = introspections;
    expect((await call(apps[name], '/recent', token)).status).toBe(200);
    expect(introspections).toBe(callsBefore + 1);
    clockMs = (T0 + 16) * 1000;
    const stale = await call(apps[name], '/recent', token);
    expect(stale.status).toBe(401);
    expect(stale.params).toMatchObject({ error: 'insufficient_user_authentication', max_age: '300' });
    // The answer came from the cache (its 60 s have not passed): judged anew, not fetched anew.
    expect(introspections).toBe(callsBefore + 1);
  });

  it('applies every step-up declaration of a route, each with its own challenge', async () => {
    clockMs = T0 * 1000;
    const strong = await jwt({ acr: MFA, auth_time: T0 - 30 });
    expect((await call(apps[name], '/both', strong)).status).toBe(200);
    const weak = await call(apps[name], '/both', await jwt({ acr: 'pwd', auth_time: T0 }));
    expect(weak.status).toBe(401);
    expect(weak.params).toMatchObject({ error: 'insufficient_user_authentication', acr_values: MFA });
    expect(weak.params).not.toHaveProperty('max_age');
    // The same strong token, cached, 40 s later: 70 s old, past 60 + 5.
    clockMs = (T0 + 40) * 1000;
    const stale = await call(apps[name], '/both', strong);
    expect(stale.status).toBe(401);
    expect(stale.params).toMatchObject({ error: 'insufficient_user_authentication', max_age: '60' });
    expect(stale.params).not.toHaveProperty('acr_values');
  });
});
