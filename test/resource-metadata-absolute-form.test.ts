/**
 * RFC 9112 §3.2.2: a server MUST accept a request-target in absolute-form
 * (`GET http://host/path HTTP/1.1`), which Express and Fastify route like its origin-form. The
 * metadata URL must be answered in that form too: Express passed it on to tokenguard (401, the
 * metadata behind the authentication it is there to explain) and Fastify answered 404, while Hono
 * answered 200 and /mcp was routed (401 with the challenge) in all three.
 */
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { serve } from '@hono/node-server';
import { createValidator, type Validator } from '@tokenguard/core';
import * as expressAdapter from '@tokenguard/express';
import fastifyTokenguard, { protectedResourceMetadata as fastifyMetadata } from '@tokenguard/fastify';
import * as honoAdapter from '@tokenguard/hono';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, describe, expect, it } from 'vitest';

const RESOURCE = 'https://mcp.test/mcp';
const PATH = '/.well-known/oauth-protected-resource/mcp';

const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers) await close();
});

function validator(): Validator {
  const created = createValidator({
    issuer: 'https://id.test',
    audience: RESOURCE,
    resourceMetadata: { resource: RESOURCE },
  });
  closers.push(() => created.close());
  return created;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

/** Sends `method target` on a raw socket (no client rewrites the target) and gives the status and body. */
function send(port: number, method: string, target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.end(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('end', () => {
      const [head = '', body = ''] = text.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), body });
    });
    socket.on('error', reject);
    socket.setTimeout(5_000, () => socket.destroy(new Error(`no answer to ${method} ${target} within 5 s`)));
  });
}

/** An app serving the metadata, then tokenguard on everything, then GET /mcp. */
const starts: Record<string, () => Promise<number>> = {
  express: async () => {
    const v = validator();
    const app = express();
    app.use(expressAdapter.protectedResourceMetadata(v));
    app.use(expressAdapter.tokenguard(v));
    app.get('/mcp', (_req, res) => {
      res.json({});
    });
    return listen(createServer(app));
  },
  fastify: async () => {
    const v = validator();
    const app = Fastify();
    await app.register(fastifyTokenguard, { validator: v });
    await app.register(fastifyMetadata, { validator: v });
    app.get('/mcp', async () => ({}));
    await app.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => app.close());
    return (app.server.address() as AddressInfo).port;
  },
  hono: async () => {
    const v = validator();
    const app = new Hono();
    app.use(honoAdapter.protectedResourceMetadata(v));
    app.use('*', honoAdapter.tokenguard(v));
    app.get('/mcp', (c) => c.json({}));
    return listen(serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server);
  },
};

describe.each(Object.entries(starts))(
  '%s: the metadata URL in absolute-form (RFC 9112 §3.2.2)',
  (_name, start) => {
    it('is answered as in origin-form, as the protected route is routed', async () => {
      const port = await start();
      const origin = `http://127.0.0.1:${port}`;
      expect((await send(port, 'GET', `${origin}/mcp`)).status).toBe(401);
      const got = await send(port, 'GET', `${origin}${PATH}`);
      expect(got.status).toBe(200);
      expect(JSON.parse(got.body).resource).toBe(RESOURCE);
      expect((await send(port, 'GET', `${origin}${PATH}?x=1`)).status).toBe(200);
      expect((await send(port, 'OPTIONS', `${origin}${PATH}`)).status).toBe(204);
      // Another path in absolute-form is still not the metadata.
      expect((await send(port, 'GET', `${origin}${PATH}x`)).status).not.toBe(200);
    });
  },
);
