/**
 * RFC 9728 protected resource metadata over HTTP, on each adapter, against a real issuer: the
 * document at the §3.1 well-known URL, and `resource_metadata` (§5.1) in every challenge, the bare
 * 401 of a request without a token first of all (how an MCP client discovers the authorization server).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createValidator, protectedResourceMetadataUrl, type Validator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import * as expressAdapter from '@tokenguard/express';
import fastifyTokenguard, { protectedResourceMetadata as fastifyMetadata } from '@tokenguard/fastify';
import * as honoAdapter from '@tokenguard/hono';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MCP = 'https://mcp.test/mcp';
const ROOT = 'https://api.test';
const MCP_METADATA_PATH = '/.well-known/oauth-protected-resource/mcp';

interface App {
  url: string;
  close(): Promise<void>;
}

/** Starts an app: the metadata (when `serveMetadata`), `tokenguard` on every route, GET /mcp and GET /mcp/call (scope tools:call). */
type StartApp = (validator: Validator, serveMetadata: boolean) => Promise<App>;

const startExpress: StartApp = async (validator, serveMetadata) => {
  const app = express();
  if (serveMetadata) app.use(expressAdapter.protectedResourceMetadata(validator));
  app.use(expressAdapter.tokenguard(validator));
  app.get('/mcp', (req, res) => {
    res.json({ subject: req.auth?.subject });
  });
  app.get('/mcp/call', expressAdapter.requireScopes('tools:call'), (req, res) => {
    res.json({ subject: req.auth?.subject });
  });
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => closeServer(server),
  };
};

const startFastify: StartApp = async (validator, serveMetadata) => {
  const app = Fastify();
  await app.register(fastifyTokenguard, { validator });
  if (serveMetadata) await app.register(fastifyMetadata, { validator });
  app.get('/mcp', async (request) => ({ subject: request.auth?.subject }));
  app.get('/mcp/call', { config: { auth: { scopes: ['tools:call'] } } }, async (request) => ({
    subject: request.auth?.subject,
  }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    close: () => app.close(),
  };
};

const startHono: StartApp = async (validator, serveMetadata) => {
  const app = new Hono();
  if (serveMetadata) app.use(honoAdapter.protectedResourceMetadata(validator));
  app.use('*', honoAdapter.tokenguard(validator));
  app.get('/mcp', (c) => c.json({ subject: c.get('auth')?.subject }));
  app.get('/mcp/call', honoAdapter.requireScopes('tools:call'), (c) =>
    c.json({ subject: c.get('auth')?.subject }),
  );
  const { server, port } = await new Promise<{ server: Server; port: number }>((resolve) => {
    const listening = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve({ server: listening as Server, port: info.port }),
    );
  });
  return { url: `http://127.0.0.1:${port}`, close: () => closeServer(server) };
};

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

let issuer: DevIssuer;
const validators: Validator[] = [];
const apps: App[] = [];

beforeAll(async () => {
  issuer = await startDevIssuer({
    resources: { [MCP]: { scope: 'tools:read tools:call', format: 'jwt', ttlSec: 300 } },
  });
});

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await Promise.all(validators.map((validator) => validator.close()));
  await issuer?.close();
});

function validatorFor(audience: string, resourceMetadata: boolean): Validator {
  const validator = createValidator({
    issuer: issuer.issuer,
    audience,
    ...(resourceMetadata
      ? { resourceMetadata: { resource: audience, scopesSupported: ['tools:read', 'tools:call'] } }
      : {}),
  });
  validators.push(validator);
  return validator;
}

async function start(startApp: StartApp, validator: Validator, serveMetadata: boolean): Promise<App> {
  const app = await startApp(validator, serveMetadata);
  apps.push(app);
  return app;
}

/** The `resource_metadata` parameter of a challenge, or undefined. */
function resourceMetadataOf(response: Response): string | undefined {
  return /(?:^|[ ,])resource_metadata="([^"]*)"/.exec(response.headers.get('www-authenticate') ?? '')?.[1];
}

describe.each([
  ['Express', startExpress],
  ['Fastify', startFastify],
  ['Hono', startHono],
] as const)('%s: protected resource metadata (RFC 9728)', (_name, startApp) => {
  let mcp: App;
  let root: App;
  let plain: App;
  const metadataUrl = 'https://mcp.test/.well-known/oauth-protected-resource/mcp';

  beforeAll(async () => {
    [mcp, root, plain] = await Promise.all([
      start(startApp, validatorFor(MCP, true), true),
      start(startApp, validatorFor(ROOT, true), true),
      start(startApp, validatorFor(MCP, false), false),
    ]);
  });

  it('serves the document at the §3.1 URL of a resource with a path, resource identical to the identifier', async () => {
    expect(protectedResourceMetadataUrl(MCP)).toBe(metadataUrl);
    const response = await fetch(`${mcp.url}${MCP_METADATA_PATH}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('cache-control')).toBe('public, max-age=3600');
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(await response.json()).toEqual({
      resource: MCP,
      authorization_servers: [issuer.issuer],
      scopes_supported: ['tools:read', 'tools:call'],
      bearer_methods_supported: ['header'],
    });
  });

  it('serves a root resource at the bare well-known path', async () => {
    const response = await fetch(`${root.url}/.well-known/oauth-protected-resource`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { resource: string }).resource).toBe(ROOT);
  });

  it('answers HEAD with headers only, OPTIONS as a CORS preflight, POST with 405 and allow', async () => {
    const head = await fetch(`${mcp.url}${MCP_METADATA_PATH}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await (await fetch(`${mcp.url}${MCP_METADATA_PATH}`)).text();
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
    expect(await head.text()).toBe('');
    const preflight = await fetch(`${mcp.url}${MCP_METADATA_PATH}`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://client.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'mcp-protocol-version',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('*');
    const post = await fetch(`${mcp.url}${MCP_METADATA_PATH}`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
    // No body on any adapter (Fastify sent the JSON text "null" with a JSON content type).
    expect(post.headers.get('content-type')).toBeNull();
    expect(await post.text()).toBe('');
  });

  it('names the metadata URL in the bare 401 of a request without a token', async () => {
    const response = await fetch(`${mcp.url}/mcp`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${metadataUrl}"`);
    const atRoot = await fetch(`${root.url}/mcp`);
    expect(resourceMetadataOf(atRoot)).toBe(`${ROOT}/.well-known/oauth-protected-resource`);
  });

  it('names it in the 401 invalid_token of a bad token', async () => {
    const token = await issuer.getToken({ resource: MCP, scope: 'tools:call' });
    const response = await fetch(`${mcp.url}/mcp`, { headers: { authorization: `Bearer ${token}x` } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    expect(resourceMetadataOf(response)).toBe(metadataUrl);
  });

  it('names it in the 403 insufficient_scope of a scope failure, and adds nothing to a success', async () => {
    const readOnly = await issuer.getToken({ resource: MCP, scope: 'tools:read' });
    const forbidden = await fetch(`${mcp.url}/mcp/call`, {
      headers: { authorization: `Bearer ${readOnly}` },
    });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('www-authenticate')).toMatch(
      /error="insufficient_scope".*scope="tools:call"/,
    );
    expect(resourceMetadataOf(forbidden)).toBe(metadataUrl);
    const caller = await issuer.getToken({ resource: MCP, scope: 'tools:call' });
    const ok = await fetch(`${mcp.url}/mcp/call`, { headers: { authorization: `Bearer ${caller}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('www-authenticate')).toBeNull();
  });

  it('without the option: no resource_metadata, and the well-known path is an ordinary route', async () => {
    const bare = await fetch(`${plain.url}/mcp`);
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toBe('Bearer');
    const wellKnown = await fetch(`${plain.url}${MCP_METADATA_PATH}`);
    expect([401, 404]).toContain(wellKnown.status);
    expect(resourceMetadataOf(wellKnown)).toBeUndefined();
  });
});

describe('protectedResourceMetadata without the resourceMetadata option', () => {
  it('is a TypeError in each adapter, when it is set up', async () => {
    const validator = createValidator({ issuer: 'https://id.test', audience: MCP, jwks: { keys: [] } });
    validators.push(validator);
    const message = /needs .*resourceMetadata option/;
    expect(() => expressAdapter.protectedResourceMetadata(validator)).toThrow(message);
    expect(() => honoAdapter.protectedResourceMetadata(validator)).toThrow(message);
    const app = Fastify();
    await expect(app.register(fastifyMetadata, { validator })).rejects.toThrow(message);
    await app.close();
  });
});
