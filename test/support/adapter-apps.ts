/**
 * Test helper: one real HTTP server on 127.0.0.1 (port 0) per framework, guarded by its tokenguard
 * adapter with the given validator: Express (`tokenguard` middleware), Fastify (the plugin), Hono on
 * `@hono/node-server` (`tokenguard` middleware). Each serves `GET /me` and `POST /me`, answering 200 with
 * JSON of what `respond` makes of the request's `auth` (`{ ok: true }` unless given).
 *
 * @example
 * ```ts
 * const app = await startAdapterApp('fastify', validator, (auth) => ({ jkt: auth?.claims.cnf?.jkt }));
 * const res = await fetch(`${app.url}/me`, { headers: { authorization: `Bearer ${token}` } });
 * await app.close();
 * ```
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { AuthInfo, Validator } from '@tokenguard/core';
import * as expressAdapter from '@tokenguard/express';
import fastifyPlugin from '@tokenguard/fastify';
import * as honoAdapter from '@tokenguard/hono';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';

/** The frameworks tokenguard has adapters for. */
export const FRAMEWORKS = ['express', 'fastify', 'hono'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

/** A running app: its origin (`http://127.0.0.1:<port>`) and how to stop it. */
export interface AdapterApp {
  url: string;
  close(): Promise<void>;
}

/** What a route answers (as JSON) given the request's `auth`. */
export type Respond = (auth: AuthInfo | null | undefined) => unknown;

const ok: Respond = () => ({ ok: true });

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

async function startExpress(validator: Validator, respond: Respond): Promise<AdapterApp> {
  const app = express();
  app.use(expressAdapter.tokenguard(validator));
  const handler: express.RequestHandler = (req, res) => {
    res.json(respond(req.auth));
  };
  app.get('/me', handler).post('/me', handler);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => closeServer(server),
  };
}

async function startFastify(validator: Validator, respond: Respond): Promise<AdapterApp> {
  const app = Fastify();
  await app.register(fastifyPlugin, { validator });
  app.route({ method: ['GET', 'POST'], url: '/me', handler: async (request) => respond(request.auth) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
}

async function startHono(validator: Validator, respond: Respond): Promise<AdapterApp> {
  const app = new Hono<{ Variables: honoAdapter.OptionalTokenguardVariables }>();
  app.use('*', honoAdapter.tokenguard(validator));
  app.on(['GET', 'POST'], '/me', (c) => c.json(respond(c.var.auth) as object));
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

const STARTERS: Record<Framework, (validator: Validator, respond: Respond) => Promise<AdapterApp>> = {
  express: startExpress,
  fastify: startFastify,
  hono: startHono,
};

/** Starts `framework`'s app guarded by `validator` (see the module comment). */
export function startAdapterApp(
  framework: Framework,
  validator: Validator,
  respond: Respond = ok,
): Promise<AdapterApp> {
  return STARTERS[framework](validator, respond);
}
