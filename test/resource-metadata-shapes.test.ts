/**
 * RFC 9728 §3.1 metadata URLs of every shape of resource identifier, served by each adapter on
 * 127.0.0.1: GET is 200 with `resource` identical to the identifier (§3.3), HEAD has GET's
 * content-length. Fastify's router decodes request paths and reads `*` and `:` in route paths,
 * so a percent-encoded, non-ASCII or `*` path was a 404 or failed register() before.
 */
import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createValidator, protectedResourceMetadata, type Validator } from '@tokenguard/core';
import * as expressAdapter from '@tokenguard/express';
import { protectedResourceMetadata as fastifyMetadata } from '@tokenguard/fastify';
import * as honoAdapter from '@tokenguard/hono';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, describe, expect, it } from 'vitest';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function raw(base: string, method: string, target: string): Promise<Answer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, method, path: target }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    // Bounded: a server that never answers fails the test within 5 s instead of hanging it.
    req.setTimeout(5_000, () => req.destroy(new Error(`no answer to ${method} ${target} within 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

function close(server: Server): Promise<void> {
  return new Promise((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
}

/** Every validator and app of this file, closed once it ends (apps are also closed by their test). */
const validators: Validator[] = [];
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
  await Promise.all(validators.map((validator) => validator.close()));
});

type Start = (v: Validator) => Promise<{ url: string; close(): Promise<void> }>;
const starts: Record<string, Start> = {
  express: async (v) => {
    const app = express();
    app.use(expressAdapter.protectedResourceMetadata(v));
    const server = await new Promise<Server>((r) => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => close(server) };
  },
  fastify: async (v) => {
    const app = Fastify();
    await app.register(fastifyMetadata, { validator: v });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return {
      url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
      close: () => app.close(),
    };
  },
  hono: async (v) => {
    const app = new Hono();
    app.use(honoAdapter.protectedResourceMetadata(v));
    const { server, port } = await new Promise<{ server: Server; port: number }>((r) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
        r({ server: s as Server, port: info.port }),
      );
    });
    return { url: `http://127.0.0.1:${port}`, close: () => close(server) };
  },
};

const shapes = [
  'https://mcp.test/mcp/',
  'https://mcp.test/a%20b',
  'https://mcp.test/caf%C3%A9',
  'https://mcp.test/café',
  'https://mcp.test:8443/mcp',
  'https://[2001:db8::1]/mcp',
  'https://mcp.test/mcp?tenant=a',
  'https://mcp.test/a*b',
  'https://mcp.test/a:b',
  'https://mcp.test/v1/:id',
  'https://mcp.test/a;b',
  'https://mcp.test/a(b)',
  'https://mcp.test/a+b',
  'https://mcp.test/~user',
  'https://mcp.test/a%2Fb',
];

for (const [name, start] of Object.entries(starts)) {
  describe(name, () => {
    for (const resource of shapes) {
      it(resource, async () => {
        const validator = createValidator({
          issuer: 'https://id.test',
          audience: resource,
          resourceMetadata: { resource },
        });
        validators.push(validator);
        const metadata = protectedResourceMetadata(validator);
        if (metadata === undefined) throw new Error('no metadata');
        const app = await start(validator);
        try {
          const got = await raw(app.url, 'GET', metadata.path + metadata.query);
          const head = await raw(app.url, 'HEAD', metadata.path + metadata.query);
          expect(got.status).toBe(200);
          expect(JSON.parse(got.body).resource).toBe(resource);
          expect(head.status).toBe(200);
          expect(head.body).toBe('');
          expect(head.headers['content-length']).toBe(got.headers['content-length']);
          // A neighbour under the well-known prefix is not this resource's metadata.
          expect((await raw(app.url, 'GET', `${metadata.path}x${metadata.query}`)).status).toBe(404);
        } finally {
          await app.close();
        }
      });
    }
  });
}

describe('fastify prefix', () => {
  const validator = createValidator({
    issuer: 'https://id.test',
    audience: 'https://mcp.test/mcp',
    resourceMetadata: { resource: 'https://mcp.test/mcp' },
  });
  validators.push(validator);

  it("ignores the plugin's own prefix option: the URL stays the well-known one", async () => {
    const app = Fastify();
    closers.push(() => app.close().then(() => undefined));
    await app.register(fastifyMetadata, { validator, prefix: '/api' } as never);
    const answer = await app.inject({ method: 'GET', url: '/.well-known/oauth-protected-resource/mcp' });
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body).resource).toBe('https://mcp.test/mcp');
  });

  it('refuses registration inside a prefixed context, where it was a silent 404 everywhere', async () => {
    const app = Fastify();
    closers.push(() => app.close().then(() => undefined));
    app.register(
      async (api) => {
        await api.register(fastifyMetadata, { validator });
      },
      { prefix: '/api' },
    );
    await expect(app.ready()).rejects.toThrow(/outside the '\/api' prefix/);
  });
});
