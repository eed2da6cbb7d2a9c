/**
 * Adversarial review of DPoP server nonces (RFC 9449 §8, §9) through the three adapters on real
 * servers on 127.0.0.1: the 401 `use_dpop_nonce` and its `DPoP-Nonce` header with `onError: 'next'`
 * (the app's own error handler, and the framework's default one), exactly one `DPoP-Nonce` when the
 * app also hands nonces out ahead as the core README shows (RFC 9449 §8: never more than one),
 * `dpop.required` with nonces, Bearer requests with nonces on, and an app's replaced `validate`.
 *
 * oidc-provider (the dev issuer, DPoP on) binds a JWT to this test's client key: the client asks the
 * token endpoint with its own proof, so it can sign resource proofs with a `nonce`.
 */

import type { Server } from 'node:http';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createValidator, isTokenGuardError, type Validator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import * as expressAdapter from '@tokenguard/express';
import fastifyPlugin from '@tokenguard/fastify';
import * as honoAdapter from '@tokenguard/hono';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FRAMEWORKS, type Framework } from './support/adapter-apps.js';
import { parseChallenges } from './support/challenges.js';
import { type DpopClient, dpopBoundToken, dpopClient } from './support/dpop.js';

const API = 'https://nonce-review.test';
const SECRET = 'the nonce secret of the review apps, 32 bytes or more';
/** RFC 9449 §8.1: `nonce = 1*NQCHAR`. */
const NQCHARS = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
/** Every request of this file ends within this many milliseconds, or fails. */
const REQUEST_TIMEOUT_MS = 5000;

let issuer: DevIssuer;
let client: DpopClient;
/** Bound by oidc-provider to `client`'s key. */
let bound: string;
/** Not bound: a Bearer token. */
let plain: string;

/** How an app is put together. */
interface AppSetup {
  onError: 'respond' | 'next';
  /** With `'next'`: the app's own handler answers with `error.headers`, or the framework's default one. */
  handler?: 'own' | 'default';
  /** Sets `DPoP-Nonce` from `validator.dpopNonce()` on every answer, before tokenguard runs (core README). */
  nonceAhead?: boolean;
}

interface App {
  url: string;
  close(): Promise<void>;
}

const validators: Validator[] = [];
const apps: App[] = [];

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

const answer = (auth: { claims: Record<string, unknown> } | null | undefined) => ({
  jkt: (auth?.claims.cnf as { jkt?: string } | undefined)?.jkt ?? null,
});

async function startExpress(validator: Validator, setup: AppSetup): Promise<App> {
  const app = express();
  if (setup.nonceAhead === true) {
    app.use((_req, res, next) => {
      const nonce = validator.dpopNonce();
      if (nonce !== undefined) res.set('DPoP-Nonce', nonce);
      next();
    });
  }
  app.use(expressAdapter.tokenguard(validator, { onError: setup.onError }));
  app.get('/me', (req, res) => {
    res.json(answer(req.auth));
  });
  if (setup.handler === 'own') {
    const onAuthError: express.ErrorRequestHandler = (err, _req, res, next) => {
      if (!isTokenGuardError(err)) return next(err);
      res.status(err.status).set(err.headers).json(err.toJSON());
    };
    app.use(onAuthError);
  }
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => closeServer(server),
  };
}

async function startFastify(validator: Validator, setup: AppSetup): Promise<App> {
  const app = Fastify();
  if (setup.nonceAhead === true) {
    app.addHook('onRequest', async (_request, reply) => {
      const nonce = validator.dpopNonce();
      if (nonce !== undefined) reply.header('DPoP-Nonce', nonce);
    });
  }
  await app.register(fastifyPlugin, { validator, onError: setup.onError });
  if (setup.handler === 'own') {
    app.setErrorHandler((error, _request, reply) => {
      if (!isTokenGuardError(error)) return reply.send(error);
      return reply.code(error.status).headers(error.headers).send(error.toJSON());
    });
  }
  app.get('/me', async (request) => answer(request.auth));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
}

async function startHono(validator: Validator, setup: AppSetup): Promise<App> {
  const app = new Hono<{ Variables: honoAdapter.OptionalTokenguardVariables }>();
  if (setup.nonceAhead === true) {
    app.use('*', async (c, next) => {
      const nonce = validator.dpopNonce();
      if (nonce !== undefined) c.header('DPoP-Nonce', nonce);
      await next();
    });
  }
  app.use('*', honoAdapter.tokenguard(validator, { onError: setup.onError }));
  app.get('/me', (c) => c.json(answer(c.var.auth)));
  if (setup.handler === 'own') {
    app.onError((error, c) => {
      if (!isTokenGuardError(error)) return c.json({ error: 'server_error' }, 500);
      return c.json(error.toJSON(), error.status, error.headers);
    });
  }
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

const STARTERS: Record<Framework, (validator: Validator, setup: AppSetup) => Promise<App>> = {
  express: startExpress,
  fastify: startFastify,
  hono: startHono,
};

async function startApp(framework: Framework, validator: Validator, setup: AppSetup): Promise<App> {
  const app = await STARTERS[framework](validator, setup);
  apps.push(app);
  return app;
}

function makeValidator(dpop: Parameters<typeof createValidator>[0]['dpop']): Validator {
  const validator = createValidator({ issuer: issuer.issuer, audience: API, realm: 'api', dpop });
  validators.push(validator);
  return validator;
}

/** A token from oidc-provider bound to `client`'s key: the token request carries a proof of that key. */
const boundToken = (): Promise<string> =>
  dpopBoundToken(issuer, client, API, { timeoutMs: REQUEST_TIMEOUT_MS });

beforeAll(async () => {
  issuer = await startDevIssuer({
    dpop: true,
    resources: { [API]: { scope: 'read', format: 'jwt', ttlSec: 3600 } },
  });
  client = dpopClient();
  bound = await boundToken();
  plain = await issuer.getToken({ resource: API, scope: 'read' });
});

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await Promise.all(validators.map((validator) => validator.close()));
  await issuer?.close();
});

/** An answer as the client sees it, with every `DPoP-Nonce` field as sent (not joined). */
interface Answer {
  status: number;
  body: string;
  challenges: ReturnType<typeof parseChallenges> | null;
  /** The values of every DPoP-Nonce field, in order. */
  nonces: string[];
}

/** GET `<app>/me` with `headers`, read with node:http so repeated fields are seen one by one. */
function get(app: App, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${app.url}/me`, { headers, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        const nonces: string[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          if (res.rawHeaders[i]?.toLowerCase() === 'dpop-nonce') nonces.push(res.rawHeaders[i + 1] as string);
        }
        const header = res.headers['www-authenticate'];
        resolve({
          status: res.statusCode as number,
          body,
          challenges: header === undefined ? null : parseChallenges(header),
          nonces,
        });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** A DPoP request of GET `<app>/me` with the bound token and a proof carrying `nonce` (none if undefined). */
async function dpopGet(app: App, nonce?: string): Promise<Answer> {
  const proof = await client.proof({
    htm: 'GET',
    htu: `${app.url}/me`,
    token: bound,
    ...(nonce === undefined ? {} : { claims: { nonce } }),
  });
  return get(app, { authorization: `DPoP ${bound}`, dpop: proof });
}

/**
 * That `answer` carries exactly one DPoP-Nonce, the validator's current one: as it was `before` the
 * request or as it is now (a window may have ended in between).
 */
function expectOneCurrentNonce(answer: Answer, validator: Validator, before: string | undefined): void {
  expect(answer.nonces).toHaveLength(1);
  expect(answer.nonces[0]).toMatch(NQCHARS);
  expect([before, validator.dpopNonce()]).toContain(answer.nonces[0]);
}

/** The DPoP challenge of a use_dpop_nonce answer. */
const useNonce = (validator: Validator) => ({
  scheme: 'DPoP',
  params: {
    realm: 'api',
    error: 'use_dpop_nonce',
    error_description: expect.any(String),
    algs: validator.options.dpop?.algorithms.join(' '),
  },
});

describe.each(FRAMEWORKS)('DPoP nonces through %s', (framework) => {
  let validator: Validator;
  beforeAll(() => {
    validator = makeValidator({ nonce: { secret: SECRET, lifetimeSec: 300 } });
  });

  it("with onError 'next', the app's own handler sends 401 use_dpop_nonce and one DPoP-Nonce; the retry is 200", async () => {
    const app = await startApp(framework, validator, { onError: 'next', handler: 'own' });
    const before = validator.dpopNonce();
    const first = await dpopGet(app);
    expect(first.status).toBe(401);
    expect(first.challenges).toEqual([{ scheme: 'Bearer', params: { realm: 'api' } }, useNonce(validator)]);
    expectOneCurrentNonce(first, validator, before);
    expect(first.nonces[0]).toMatch(NQCHARS);
    const retry = await dpopGet(app, first.nonces[0]);
    expect(retry).toMatchObject({ status: 200, challenges: null, nonces: [] });
    expect(JSON.parse(retry.body)).toEqual({ jkt: client.jkt });
  });

  it('answers a Bearer request 200 with no DPoP-Nonce, and a bad Bearer token 401 without one', async () => {
    const app = await startApp(framework, validator, { onError: 'respond' });
    expect(await get(app, { authorization: `Bearer ${plain}` })).toMatchObject({ status: 200, nonces: [] });
    const refused = await get(app, { authorization: 'Bearer not.a.token' });
    expect(refused).toMatchObject({ status: 401, nonces: [] });
  });

  it('sends exactly one DPoP-Nonce on a 401 when the app hands nonces out ahead (RFC 9449 §8: not more than one)', async () => {
    const app = await startApp(framework, validator, { onError: 'respond', nonceAhead: true });
    const before = validator.dpopNonce();
    const first = await dpopGet(app);
    expect(first.status).toBe(401);
    expectOneCurrentNonce(first, validator, before);
    const retry = await dpopGet(app, first.nonces[0]);
    expect(retry.status).toBe(200);
    expectOneCurrentNonce(retry, validator, before);
  });

  it('under dpop.required: a Bearer request gets the DPoP challenge alone and no nonce; a DPoP proof without one gets use_dpop_nonce', async () => {
    const required = makeValidator({ required: true, nonce: true });
    const app = await startApp(framework, required, { onError: 'respond' });
    const bearer = await get(app, { authorization: `Bearer ${plain}` });
    expect(bearer).toMatchObject({ status: 401, nonces: [] });
    expect(bearer.challenges).toEqual([
      { scheme: 'DPoP', params: { realm: 'api', algs: required.options.dpop?.algorithms.join(' ') } },
    ]);
    const before = required.dpopNonce();
    const first = await dpopGet(app);
    expect(first.status).toBe(401);
    expect(first.challenges).toEqual([useNonce(required)]);
    expectOneCurrentNonce(first, required, before);
    expect((await dpopGet(app, first.nonces[0])).status).toBe(200);
  });

  it("through a replaced validate: a proof without the nonce never reaches the wrapper; with it, the wrapper's answer is 200", async () => {
    const wrapped = makeValidator({ nonce: { secret: SECRET, lifetimeSec: 300 } });
    const real = wrapped.validate;
    const seen: unknown[] = [];
    wrapped.validate = (value, requirements) => {
      seen.push(value);
      return real(value, requirements);
    };
    const app = await startApp(framework, wrapped, { onError: 'respond' });
    const before = validator.dpopNonce();
    const first = await dpopGet(app);
    expect(first.status).toBe(401);
    expect(first.challenges?.[1]).toEqual(useNonce(wrapped));
    expect(seen).toEqual([]);
    // Same secret: the nonce of the validator next door is this one's too.
    expectOneCurrentNonce(first, validator, before);
    const retry = await dpopGet(app, first.nonces[0]);
    expect(retry.status).toBe(200);
    expect(seen).toEqual([bound]);
  });
});

describe.each(['express', 'fastify'] as const)(
  "DPoP nonces through %s's default error handler",
  (framework) => {
    let validator: Validator;
    beforeEach(() => {
      validator = makeValidator({ nonce: { secret: SECRET, lifetimeSec: 300 } });
    });

    it("with onError 'next' and no handler of the app's own: 401 with the challenge and DPoP-Nonce (error.headers)", async () => {
      const app = await startApp(framework, validator, { onError: 'next', handler: 'default' });
      const before = validator.dpopNonce();
      const first = await dpopGet(app);
      expect(first.status).toBe(401);
      expect(first.challenges?.[1]).toEqual(useNonce(validator));
      expectOneCurrentNonce(first, validator, before);
    });
  },
);
