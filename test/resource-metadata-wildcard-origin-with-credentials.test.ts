/**
 * The RFC 9728 metadata answer keeps the app's CORS answer (it overwrote it; found by a review). In an API for a
 * browser SPA, the app's CORS middleware (an origin allow-list with `credentials: true`, the usual
 * configuration) runs before `protectedResourceMetadata` (on Fastify it always does: @fastify/cors
 * is an `onRequest` hook of every route), sets `Access-Control-Allow-Origin: <the SPA>` and
 * `Access-Control-Allow-Credentials: true`; the metadata answer replaced the first with `*`
 * and kept the second (it now leaves the app's CORS headers: core `metadataAnswerHeaders`). `*` with credentials is a pair the Fetch standard's CORS check refuses for a
 * request whose credentials mode is `include` (an SPA whose fetch wrapper sends cookies): on Express
 * and Fastify such a client could not read the metadata, where on Hono it could (`hono/cors` runs after
 * the handler and its origin is kept). A fetch without credentials reads it everywhere (held).
 *
 * Real parts: Express 5 + `cors`, Fastify 5 + @fastify/cors, Hono 4 (@hono/node-server) +
 * `hono/cors`, on 127.0.0.1 port 0; the validators contact no issuer.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fastifyCors from '@fastify/cors';
import { serve } from '@hono/node-server';
import { createValidator } from '@tokenguard/core';
import * as expressAdapter from '@tokenguard/express';
import fastifyTokenguard, { protectedResourceMetadata as fastifyMetadata } from '@tokenguard/fastify';
import * as honoAdapter from '@tokenguard/hono';
import cors from 'cors';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { Hono } from 'hono';
import { cors as honoCors } from 'hono/cors';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SPA = 'https://spa.example';
const ALLOWED = ['Authorization', 'DPoP', 'Content-Type'];
const EXPOSED = ['WWW-Authenticate', 'DPoP-Nonce', 'Retry-After'];
const WELL_KNOWN = '/.well-known/oauth-protected-resource';

const validator = createValidator({
  issuer: 'https://id.example',
  audience: 'https://api.example',
  resourceMetadata: { resource: 'https://api.example' },
});
const servers: Server[] = [];
let fastify: FastifyInstance;
const bases: Record<'express' | 'fastify' | 'hono', string> = { express: '', fastify: '', hono: '' };

async function listen(server: Server): Promise<string> {
  servers.push(server);
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  // Express: cors() first, then the README's metadata-before-tokenguard.
  const app = express();
  app.use(cors({ origin: [SPA], credentials: true, allowedHeaders: ALLOWED, exposedHeaders: EXPOSED }));
  app.use(expressAdapter.protectedResourceMetadata(validator));
  app.use(expressAdapter.tokenguard(validator));
  bases.express = await listen(app.listen(0, '127.0.0.1'));

  fastify = Fastify();
  await fastify.register(fastifyCors, {
    origin: [SPA],
    credentials: true,
    allowedHeaders: ALLOWED,
    exposedHeaders: EXPOSED,
  });
  await fastify.register(fastifyTokenguard, { validator });
  await fastify.register(fastifyMetadata, { validator });
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  bases.fastify = `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}`;

  const hono = new Hono();
  hono.use(
    '*',
    honoCors({ origin: [SPA], credentials: true, allowHeaders: ALLOWED, exposeHeaders: EXPOSED }),
  );
  hono.use(honoAdapter.protectedResourceMetadata(validator));
  hono.use('/api/*', honoAdapter.tokenguard(validator));
  bases.hono = await listen(serve({ fetch: hono.fetch, port: 0, hostname: '127.0.0.1' }) as Server);
});

afterAll(async () => {
  await fastify?.close();
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await validator.close();
});

/** The Fetch standard's CORS check (https://fetch.spec.whatwg.org/#cors-check) of a response. */
function passesCorsCheck(
  headers: Record<string, string | string[] | undefined>,
  credentials: 'include' | 'same-origin',
): boolean {
  const allowOrigin = headers['access-control-allow-origin'];
  if (allowOrigin === undefined) return false;
  if (credentials !== 'include' && allowOrigin === '*') return true;
  if (allowOrigin !== SPA) return false;
  if (credentials !== 'include') return true;
  return headers['access-control-allow-credentials'] === 'true';
}

describe.each(['express', 'fastify', 'hono'] as const)(
  '%s: the metadata read by a browser SPA',
  (framework) => {
    it('(held) a fetch without credentials reads it', async () => {
      const response = await request(`${bases[framework]}${WELL_KNOWN}`, { headers: { origin: SPA } });
      expect(response.statusCode).toBe(200);
      expect(JSON.parse(await response.body.text()).resource).toBe('https://api.example');
      expect(passesCorsCheck(response.headers, 'same-origin')).toBe(true);
    });

    it("a credentialed fetch (credentials: 'include') reads it: not Allow-Origin * with Allow-Credentials true", async () => {
      const response = await request(`${bases[framework]}${WELL_KNOWN}`, { headers: { origin: SPA } });
      await response.body.text();
      const pair = [
        response.headers['access-control-allow-origin'],
        response.headers['access-control-allow-credentials'],
      ];
      expect(passesCorsCheck(response.headers, 'include'), JSON.stringify(pair)).toBe(true);
    });
  },
);
