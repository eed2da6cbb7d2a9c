/**
 * Review of 7d85c75 (adapters call createCachedBearerLookup first): over real servers of each
 * adapter, a token the validator has cached is answered exactly as the whole way answers it, for
 * every request the short way must leave alone (two headers, header spellings, a token past exp, a
 * `validate` replaced after the app was built, a header a middleware changed, route requirements).
 * All pass: they pin what the change keeps.
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
import { type AdapterApp, FRAMEWORKS, startAdapterApp } from './support/adapter-apps.js';
import { accessTokenClaims, secretSigningKey, signToken } from './support/keys.js';
import { head11, sendRaw } from './support/raw-http.js';

const ISS = 'https://id.example';
const AUD = 'https://api.example';
const SECRET = 'a-shared-secret-of-at-least-32-bytes!';
const NOW_SEC = 1_700_000_000;

const sign = (claims: Record<string, unknown> = {}): Promise<string> =>
  signToken(
    secretSigningKey(SECRET),
    accessTokenClaims({ iss: ISS, aud: AUD, nowSec: NOW_SEC }, { scope: 'read', ...claims }),
  );

const portOf = (url: string): number => Number(new URL(url).port);

describe.each(FRAMEWORKS)('%s: a cached token, answered as the whole way answers it', (framework) => {
  const clock = { ms: NOW_SEC * 1000 };
  let validator: Validator;
  let app: AdapterApp;
  let token = '';
  let other = '';

  beforeAll(async () => {
    validator = createValidator({ issuer: ISS, audience: AUD, secret: SECRET, now: () => clock.ms });
    app = await startAdapterApp(framework, validator, (auth) => ({ subject: auth?.subject ?? null }));
    token = await sign({ exp: NOW_SEC + 600 });
    other = await sign({ sub: 'someone-else', exp: NOW_SEC + 600 });
  });
  afterAll(async () => {
    await app.close();
    await validator.close();
  });

  const get = (lines: string[]) =>
    sendRaw(
      portOf(app.url),
      head11('GET', '/me', `127.0.0.1:${portOf(app.url)}`, [...lines, 'Connection: close']),
    );

  it('is cached after two requests, then answered for every spelling of the header name', async () => {
    for (let i = 0; i < 2; i++) expect((await get([`Authorization: Bearer ${token}`])).status).toBe(200);
    expect(validator.state().tokenCache.entries).toBe(1);
    for (const name of ['Authorization', 'authorization', 'AUTHORIZATION']) {
      const answer = await get([`${name}: Bearer ${token}`]);
      expect(answer.status, name).toBe(200);
      expect(JSON.parse(answer.body), name).toEqual({ subject: 'user-1' });
    }
    expect((await get([`Authorization: bearer  ${token}`])).status).toBe(200);
  });

  it('two Authorization headers are a 400 even when the first is the cached token', async () => {
    const answer = await get([`Authorization: Bearer ${token}`, `Authorization: Bearer ${other}`]);
    expect(answer.status).toBe(400);
  });

  it('a `validate` replaced after the app was built sees the cached token', async () => {
    const own = validator.validate;
    const seen: unknown[] = [];
    validator.validate = (value, requirements) => {
      seen.push(value);
      return own(value, requirements);
    };
    try {
      expect((await get([`Authorization: Bearer ${token}`])).status).toBe(200);
      expect(seen).toEqual([token]);
    } finally {
      validator.validate = own;
    }
  });

  it('past the token`s exp: 401, though the cache still held it', async () => {
    clock.ms = (NOW_SEC + 3600) * 1000;
    try {
      expect(validator.state().tokenCache.entries).toBe(1);
      expect((await get([`Authorization: Bearer ${token}`])).status).toBe(401);
    } finally {
      clock.ms = NOW_SEC * 1000;
    }
  });
});

describe('headers a middleware changed, and route requirements, with a cached token', () => {
  const validator = createValidator({
    issuer: ISS,
    audience: AUD,
    secret: SECRET,
    now: () => NOW_SEC * 1000,
  });
  const closers: (() => Promise<void>)[] = [];
  let token = '';
  let other = '';
  beforeAll(async () => {
    token = await sign();
    other = await sign({ sub: 'someone-else' });
    await validator.validate(token);
    await validator.validate(token);
    await validator.validate(other);
    await validator.validate(other);
    expect(validator.state().tokenCache.entries).toBe(2);
  });
  afterAll(async () => {
    for (const close of closers) await close();
    await validator.close();
  });

  const listening = (server: Server): Promise<string> =>
    new Promise((resolve) => {
      const done = () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      if (server.listening) done();
      else server.once('listening', done);
    });
  const track = (server: Server): Server => {
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    return server;
  };

  it('express: a middleware that replaced or removed req.headers.authorization is followed', async () => {
    const app = express();
    app.use((req, _res, next) => {
      if (req.get('x-swap') === '1') req.headers.authorization = `Bearer ${other}`;
      if (req.get('x-swap') === 'drop') delete req.headers.authorization;
      next();
    });
    app.use(expressAdapter.tokenguard(validator));
    app.get('/me', (req, res) => {
      res.json({ subject: req.auth?.subject ?? null });
    });
    const base = await listening(track(app.listen(0, '127.0.0.1')));
    const bearer = { authorization: `Bearer ${token}` };
    expect(await (await fetch(`${base}/me`, { headers: bearer })).json()).toEqual({ subject: 'user-1' });
    const swapped = await fetch(`${base}/me`, { headers: { ...bearer, 'x-swap': '1' } });
    expect(await swapped.json()).toEqual({ subject: 'someone-else' });
    expect((await fetch(`${base}/me`, { headers: { ...bearer, 'x-swap': 'drop' } })).status).toBe(401);
  });

  it('fastify: config.auth requirements, optional routes and a header an earlier hook set', async () => {
    const app = Fastify();
    app.addHook('onRequest', async (request) => {
      if (request.headers['x-swap'] === '1') request.headers = { authorization: `Bearer ${other}` };
    });
    await app.register(fastifyPlugin, { validator });
    app.get('/me', async (request) => ({ subject: request.auth?.subject ?? null }));
    app.get('/write', { config: { auth: { scopes: ['write'] } } }, async () => ({ passed: true }));
    app.get('/optional', { config: { auth: { optional: true } } }, async (request) => ({
      subject: request.auth?.subject ?? null,
    }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => app.close());
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const bearer = { authorization: `Bearer ${token}` };
    expect((await fetch(`${base}/write`, { headers: bearer })).status).toBe(403);
    expect(await (await fetch(`${base}/optional`, { headers: bearer })).json()).toEqual({
      subject: 'user-1',
    });
    expect(await (await fetch(`${base}/optional`)).json()).toEqual({ subject: null });
    const swapped = await fetch(`${base}/me`, { headers: { ...bearer, 'x-swap': '1' } });
    expect(await swapped.json()).toEqual({ subject: 'someone-else' });
  });

  it('hono: a middleware that built c.req.raw.headers and changed Authorization is followed', async () => {
    const app = new Hono<{ Variables: honoAdapter.OptionalTokenguardVariables }>();
    app.use('*', async (c, next) => {
      if (c.req.header('x-swap') === '1') c.req.raw.headers.set('authorization', `Bearer ${other}`);
      if (c.req.header('x-swap') === 'drop') c.req.raw.headers.delete('authorization');
      await next();
    });
    app.use('*', honoAdapter.tokenguard(validator));
    app.get('/me', (c) => c.json({ subject: c.var.auth?.subject ?? null }));
    const server = await new Promise<Server>((resolve) => {
      const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
        resolve(started as Server),
      );
    });
    const base = await listening(track(server));
    const bearer = { authorization: `Bearer ${token}` };
    expect(await (await fetch(`${base}/me`, { headers: bearer })).json()).toEqual({ subject: 'user-1' });
    const swapped = await fetch(`${base}/me`, { headers: { ...bearer, 'x-swap': '1' } });
    expect(await swapped.json()).toEqual({ subject: 'someone-else' });
    expect((await fetch(`${base}/me`, { headers: { ...bearer, 'x-swap': 'drop' } })).status).toBe(401);
    // app.request (no Node request): the whole way, same answer.
    const viaFetch = await app.request('/me', { headers: bearer });
    expect(await viaFetch.json()).toEqual({ subject: 'user-1' });
  });
});
