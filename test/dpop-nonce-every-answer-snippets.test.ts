/**
 * The Fastify and Hono READMEs' "hand the DPoP nonce out on every answer" snippets (RFC 9449 §8.2), run
 * as written on real servers: every answer carries the validator's current `DPoP-Nonce`, a public
 * route's 200 and a protected route's 401 alike. No request here needs the issuer (none is contacted).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createValidator } from '@tokenguard/core';
import fastifyTokenguard from '@tokenguard/fastify';
import { tokenguard as honoTokenguard } from '@tokenguard/hono';
import Fastify, { type FastifyInstance } from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const validator = createValidator({
  issuer: 'https://id.example.com',
  audience: 'https://api.example.com',
  dpop: { nonce: { secret: 'a nonce secret of at least thirty-two characters' } },
});
let fastify: FastifyInstance;
let hono: Server;
const bases: Record<'fastify' | 'hono', string> = { fastify: '', hono: '' };

beforeAll(async () => {
  fastify = Fastify();
  await fastify.register(fastifyTokenguard, { validator });
  // packages/fastify/README.md, as written (`app` is the Fastify instance).
  const app = fastify;
  app.addHook('onSend', async (_request, reply) => {
    const nonce = validator.dpopNonce();
    if (nonce !== undefined) reply.header('DPoP-Nonce', nonce);
  });
  fastify.get('/public', { config: { auth: false } }, async () => ({ ok: true }));
  fastify.get('/private', async () => ({ ok: true }));
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  bases.fastify = `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}`;

  const honoApp = new Hono();
  {
    // packages/hono/README.md, as written (`app` is the Hono app).
    const app = honoApp;
    app.use('*', async (c, next) => {
      await next();
      const nonce = validator.dpopNonce();
      if (nonce !== undefined) c.header('DPoP-Nonce', nonce);
    });
  }
  honoApp.get('/public', (c) => c.json({ ok: true }));
  honoApp.get('/private', honoTokenguard(validator), (c) => c.json({ ok: true }));
  hono = serve({ fetch: honoApp.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
  await new Promise((resolve) => hono.once('listening', resolve));
  bases.hono = `http://127.0.0.1:${(hono.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await fastify?.close();
  hono?.closeAllConnections();
  await new Promise((resolve) => hono?.close(resolve));
  await validator.close();
});

describe.each(['fastify', 'hono'] as const)('%s: the DPoP nonce on every answer', (framework) => {
  it("a public route's 200 carries the current nonce", async () => {
    const response = await fetch(`${bases[framework]}/public`);
    expect(response.status).toBe(200);
    expect(response.headers.get('dpop-nonce')).toBe(validator.dpopNonce());
  });

  it("a protected route's 401 carries it too", async () => {
    const response = await fetch(`${bases[framework]}/private`);
    expect(response.status).toBe(401);
    expect(response.headers.get('dpop-nonce')).toBe(validator.dpopNonce());
  });
});
