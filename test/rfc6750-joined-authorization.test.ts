/**
 * Two `Authorization` headers, as a fetch runtime (Deno, Bun, workerd) or a proxy that joins repeated
 * fields hands them on: one value, `Basic x, Bearer y`. SECURITY.md item 2 makes two headers
 * `invalid_request` (400), and Node's adapters see them apart in `rawHeaders`; the joined value must
 * get the same answer, never be read as the other scheme (a bare 401, or anonymous on an optional
 * route). Real Express, Fastify and Hono (@hono/node-server) servers on 127.0.0.1, raw sockets.
 */
import { connect } from 'node:net';
import { serve } from '@hono/node-server';
import { createValidator } from '@tokenguard/core';
import * as expressAdapter from '@tokenguard/express';
import fastifyAdapter from '@tokenguard/fastify';
import * as honoAdapter from '@tokenguard/hono';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE, claims, forge, ISSUER, NOW_MS } from './adversarial/forge.js';
import { createKeyring } from './adversarial/keyring.js';
import { jwksOf } from './support/keys.js';

const ring = createKeyring();
const validator = createValidator({
  issuer: ISSUER,
  audience: AUDIENCE,
  jwks: jwksOf(ring.rs256),
  now: () => NOW_MS,
  realm: 'api',
});
const token = forge(
  { alg: 'RS256', typ: 'at+jwt', kid: ring.rs256.kid },
  claims(),
  ring.rs256.privateKey,
  'RS256',
);
const ports = new Map<string, number>();
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  const e = express();
  e.use('/required', expressAdapter.tokenguard(validator));
  e.use('/optional', expressAdapter.tokenguard(validator, { optional: true }));
  e.get('/*path', (_req, res) => {
    res.json({ ok: true });
  });
  const es = e.listen(0, '127.0.0.1');
  await new Promise((resolve) => es.once('listening', resolve));
  ports.set('express', (es.address() as { port: number }).port);
  closers.push(() => new Promise((resolve) => es.close(resolve)));

  const f = Fastify();
  for (const [prefix, optional] of [
    ['/required', false],
    ['/optional', true],
  ] as const) {
    await f.register(
      async (scope) => {
        await scope.register(fastifyAdapter, { validator, optional });
        scope.get('/', async () => ({ ok: true }));
      },
      { prefix },
    );
  }
  await f.listen({ port: 0, host: '127.0.0.1' });
  ports.set('fastify', (f.server.address() as { port: number }).port);
  closers.push(() => f.close());

  const h = new Hono();
  h.use('/required', honoAdapter.tokenguard(validator));
  h.use('/optional', honoAdapter.tokenguard(validator, { optional: true }));
  h.get('/*', (c) => c.json({ ok: true }));
  const hs = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const server = serve({ fetch: h.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(server));
  });
  ports.set('hono', (hs.address() as { port: number }).port);
  closers.push(() => new Promise((resolve) => hs.close(resolve)));
});
afterAll(async () => {
  for (const close of closers) await close();
  await validator.close();
});

/** GET `path` with these `Authorization` field lines, byte for byte; status and challenge. */
function get(
  port: number,
  path: string,
  authorization: string[],
): Promise<{ status: number; challenge: string }> {
  const head = [`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const value of authorization) head.push(`Authorization: ${value}`);
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`${head.join('\r\n')}\r\n\r\n`));
    const chunks: Buffer[] = [];
    socket.setTimeout(5_000, () => socket.destroy(new Error('no answer within 5 s')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, challenge: /^www-authenticate: (.*)$/im.exec(text)?.[1] ?? '' });
    });
  });
}

const INVALID_REQUEST = /^Bearer realm="api", error="invalid_request"/;

describe.each(['express', 'fastify', 'hono'])('%s', (adapter) => {
  const port = () => ports.get(adapter) as number;

  it.each(['/required', '/optional'])(
    '%s: Basic and Bearer in two headers is 400 invalid_request',
    async (path) => {
      const answer = await get(port(), path, ['Basic eA==', `Bearer ${token}`]);
      expect(answer.status).toBe(400);
      expect(answer.challenge).toMatch(INVALID_REQUEST);
    },
  );

  it.each([
    ['/required', 'Basic eA==, Bearer <token>'],
    ['/optional', 'Basic eA==, Bearer <token>'],
    ['/optional', 'Basic eA==,Bearer <token>'],
    ['/optional', 'Negotiate YII=, bearer <token>'],
    ['/optional', 'Basic eA==, Bearer'],
  ])('%s: the two joined into one value (%s) is 400 invalid_request too', async (path, value) => {
    const answer = await get(port(), path, [value.replace('<token>', token)]);
    expect(answer.status).toBe(400);
    expect(answer.challenge).toMatch(INVALID_REQUEST);
    expect(answer.challenge).not.toContain(token);
  });

  it('another scheme alone is still a bare 401 (no error attribute), and anonymous on an optional route', async () => {
    expect(await get(port(), '/required', ['Basic eA=='])).toEqual({
      status: 401,
      challenge: 'Bearer realm="api"',
    });
    expect((await get(port(), '/optional', ['Basic eA=='])).status).toBe(200);
    // A Digest parameter named like the scheme is no second credentials.
    expect((await get(port(), '/optional', ['Digest username="a", bearer="b"'])).status).toBe(200);
    // Nor is ', bearer ' inside one of its quoted strings.
    const digest = 'Digest username="Mufasa, bearer of news", realm="api", nonce="n", uri="/", response="r"';
    expect(await get(port(), '/required', [digest])).toEqual({
      status: 401,
      challenge: 'Bearer realm="api"',
    });
    expect((await get(port(), '/optional', [digest])).status).toBe(200);
  });
});

describe('Hono on a fetch runtime (the Headers it is given join repeated fields)', () => {
  it('answers two Authorization headers 400, as on Node', async () => {
    const app = new Hono();
    app.use('*', honoAdapter.tokenguard(validator, { optional: true }));
    app.get('/', (c) => c.json({ ok: true }));
    const headers = new Headers();
    headers.append('authorization', 'Basic eA==');
    headers.append('authorization', `Bearer ${token}`);
    const response = await app.fetch(new Request('http://api.test/', { headers }));
    expect(response.status).toBe(400);
    expect(response.headers.get('www-authenticate')).toMatch(INVALID_REQUEST);
  });
});
