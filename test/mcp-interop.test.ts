/**
 * Interoperability with the MCP TypeScript SDK's client (`@modelcontextprotocol/sdk`): the SDK's
 * own parser, discovery functions and auth flow, pointed at Express, Fastify and Hono apps guarded
 * by tokenguard with RFC 9728 protected resource metadata, and at a real issuer (the dev issuer).
 *
 * What the SDK does before it asks for a token, each step checked here with its own code: it reads
 * `resource_metadata` from the 401's `WWW-Authenticate`; fetches the document (zod-parsed: `resource`
 * a URL, `authorization_servers` URLs); checks `resource` against the server URL
 * (`checkResourceAllowed`: same origin, the server URL's path under the resource's path); discovers
 * the authorization server metadata from `authorization_servers[0]` (RFC 8414, then OIDC discovery);
 * then sends `resource` verbatim as the RFC 8707 indicator. A whole flow per adapter: an MCP client
 * with the SDK's client_credentials provider calls a tool on an MCP server (its token is accepted,
 * so the issuer was asked for this resource: the audience the validator requires); the tool gets
 * the caller as `extra.authInfo` in the SDK's own shape, converted by `mcpAuthInfo` and put where
 * each transport reads it. And a 403 insufficient_scope read by the SDK's parser, as its step-up
 * ("upscoping") reads it.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import { getRequestListener } from '@hono/node-server';
import {
  discoverOAuthProtectedResourceMetadata,
  discoverOAuthServerInfo,
  extractResourceMetadataUrl,
  extractWWWAuthenticateParams,
  type OAuthClientProvider,
  selectResourceURL,
  startAuthorization,
} from '@modelcontextprotocol/sdk/client/auth.js';
import type { AuthInfo as SdkAuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import {
  checkResourceAllowed,
  resourceUrlFromServerUrl,
} from '@modelcontextprotocol/sdk/shared/auth-utils.js';
import { createValidator, type Validator } from '@tokenguard/core';
import { DEV_CLIENT_ID, type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import * as expressAdapter from '@tokenguard/express';
import fastifyTokenguard, {
  mcpAuthInfo as fastifyMcpAuthInfo,
  protectedResourceMetadata as fastifyMetadata,
} from '@tokenguard/fastify';
import * as honoAdapter from '@tokenguard/hono';
import express, { type RequestHandler } from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The MCP client, run in a Node process of its own: the SDK's client transport imports
 * eventsource-parser, whose package.json has a `source` export condition naming TypeScript files,
 * and the vitest workers resolve with that condition (meant for the workspace packages). A plain
 * `node` resolves the SDK as any application would. It connects with the SDK's client_credentials
 * provider, calls `whoami` and prints the result and the issuer the SDK stamped on its tokens.
 */
const MCP_CLIENT_SCRIPT = `
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
const [mcpUrl, clientId, clientSecret, expectedIssuer] = process.argv.slice(1);
const provider = new ClientCredentialsProvider({ clientId, clientSecret, expectedIssuer, scope: 'tools:read' });
const client = new Client({ name: 'tokenguard-interop-client', version: '1.0.0' });
await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider }));
const result = await client.callTool({ name: 'whoami', arguments: {} });
await client.close();
process.stdout.write(JSON.stringify({ content: result.content, tokenIssuer: provider.tokens()?.issuer }));
`;

/** Runs {@link MCP_CLIENT_SCRIPT}; rejects with its stderr when it fails. */
function runMcpClient(args: readonly string[]): Promise<{ content: unknown; tokenIssuer: unknown }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '--eval', MCP_CLIENT_SCRIPT, '--', ...args],
      { cwd: fileURLToPath(new URL('.', import.meta.url)) },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`MCP client failed: ${stderr || error.message}`));
        else resolve(JSON.parse(stdout));
      },
    );
  });
}

/**
 * Mounts an app on a server already listening (the resource identifier names the port, so the
 * validator is made after `listen`): the metadata, `tokenguard` on every route, POST /mcp (scope
 * tools:read) an MCP server whose tool reports its `extra.authInfo` to `seen`, GET /mcp 405
 * (stateless), POST /mcp/call (scope tools:call). `resource` is the validator's resource identifier.
 * Returns how to release what the app holds besides the server.
 */
type MountApp = (
  server: Server,
  validator: Validator,
  resource: string,
  seen: (authInfo: SdkAuthInfo | undefined) => void,
) => Promise<() => Promise<void>>;

/**
 * A stateless MCP server with one tool, `whoami`, answering the client id and scopes of the
 * `extra.authInfo` the SDK hands it (read as the SDK's AuthInfo: `scopes` an array).
 */
function mcpServerFor(seen: (authInfo: SdkAuthInfo | undefined) => void): McpServer {
  const mcp = new McpServer({ name: 'tokenguard-interop', version: '1.0.0' });
  mcp.registerTool('whoami', { description: 'The client and scopes of the access token' }, async (extra) => {
    seen(extra.authInfo);
    const scopes = extra.authInfo?.scopes.filter((scope) => scope.startsWith('tools:')) ?? [];
    return { content: [{ type: 'text', text: `${extra.authInfo?.clientId} ${scopes.sort().join(' ')}` }] };
  });
  return mcp;
}

const mountExpress: MountApp = async (server, validator, resource, seen) => {
  const app = express();
  app.use(expressAdapter.protectedResourceMetadata(validator));
  app.use(expressAdapter.tokenguard(validator));
  app.post('/mcp', expressAdapter.requireScopes('tools:read'), express.json(), async (req, res) => {
    const mcp = mcpServerFor(seen);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void mcp.close();
    });
    await mcp.connect(transport);
    // The SDK's transport reads `req.auth` as its own AuthInfo (scopes an array, expiresAt in
    // seconds) and hands it to tools as `extra.authInfo`: the converted caller replaces tokenguard's.
    const auth = expressAdapter.mcpAuthInfo(req.auth!, { resource });
    await transport.handleRequest(Object.assign(req, { auth }), res, req.body);
  });
  app.get('/mcp', (_req, res) => {
    res.status(405).set('allow', 'POST').end();
  });
  app.post('/mcp/call', expressAdapter.requireScopes('tools:call'), (_req, res) => {
    res.json({ called: true });
  });
  server.on('request', app);
  return async () => {};
};

const mountFastify: MountApp = async (server, validator, resource, seen) => {
  const app = Fastify({
    serverFactory: (handler) => {
      server.on('request', handler);
      return server;
    },
  });
  await app.register(fastifyTokenguard, { validator });
  await app.register(fastifyMetadata, { validator });
  app.post('/mcp', { config: { auth: { scopes: ['tools:read'] } } }, async (request, reply) => {
    const mcp = mcpServerFor(seen);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    reply.hijack();
    reply.raw.on('close', () => {
      void transport.close();
      void mcp.close();
    });
    await mcp.connect(transport);
    // The SDK reads `auth` from the Node request, here Fastify's `request.raw`.
    const auth = fastifyMcpAuthInfo(request.auth!, { resource });
    await transport.handleRequest(Object.assign(request.raw, { auth }), reply.raw, request.body);
  });
  app.get('/mcp', async (_request, reply) => reply.code(405).header('allow', 'POST').send());
  app.post('/mcp/call', { config: { auth: { scopes: ['tools:call'] } } }, async () => ({ called: true }));
  await app.ready();
  return () => app.close();
};

const mountHono: MountApp = async (server, validator, resource, seen) => {
  const app = new Hono();
  app.use(honoAdapter.protectedResourceMetadata(validator));
  app.use('*', honoAdapter.tokenguard(validator));
  app.post('/mcp', honoAdapter.requireScopes('tools:read'), async (c) => {
    const mcp = mcpServerFor(seen);
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    await mcp.connect(transport);
    return transport.handleRequest(c.req.raw, {
      authInfo: honoAdapter.mcpAuthInfo(c.get('auth')!, { resource }),
    });
  });
  app.get('/mcp', (c) => c.body(null, 405, { allow: 'POST' }));
  app.post('/mcp/call', honoAdapter.requireScopes('tools:call'), (c) => c.json({ called: true }));
  server.on('request', getRequestListener(app.fetch));
  return async () => {};
};

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    // Fastify's close may have closed it already; the error of a second close is of no interest.
    server.close(() => resolve());
  });
}

/** A provider for the SDK functions that take one: no `validateResourceURL`, so the SDK's own check applies. */
const noCustomResourceCheck = {} as OAuthClientProvider;

const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe.each([
  ['Express', mountExpress],
  ['Fastify', mountFastify],
  ['Hono', mountHono],
] as const)('%s: the MCP SDK client discovers and uses the protected resource', (_name, mountApp) => {
  let issuer: DevIssuer;
  let origin: string;
  let mcpUrl: string;
  let metadataUrl: string;
  /** What the tool received as `extra.authInfo`, in order. */
  const seenAuthInfos: (SdkAuthInfo | undefined)[] = [];

  beforeAll(async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => closeServer(server));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    mcpUrl = `${origin}/mcp`;
    metadataUrl = `${origin}/.well-known/oauth-protected-resource/mcp`;
    // The dev issuer knows its resources from the start, so it starts once the port is known too.
    issuer = await startDevIssuer({
      resources: { [mcpUrl]: { scope: 'tools:read tools:call', format: 'jwt' } },
    });
    cleanups.push(() => issuer.close());
    const validator = createValidator({
      issuer: issuer.issuer,
      audience: mcpUrl,
      resourceMetadata: { resource: mcpUrl, scopesSupported: ['tools:read', 'tools:call'] },
    });
    cleanups.push(() => validator.close());
    cleanups.push(await mountApp(server, validator, mcpUrl, (authInfo) => seenAuthInfos.push(authInfo)));
  });

  it("a request without a token gets a 401 whose resource_metadata the SDK's parsers read", async () => {
    const response = await fetch(mcpUrl, { method: 'POST' });
    await response.body?.cancel();
    expect(response.status).toBe(401);
    expect(extractWWWAuthenticateParams(response)).toEqual({
      resourceMetadataUrl: new URL(metadataUrl),
      scope: undefined,
      error: undefined,
    });
    expect(extractResourceMetadataUrl(response)?.href).toBe(metadataUrl);
  });

  it("the SDK's discovery fetches the document and accepts its resource for the server URL", async () => {
    const document = await discoverOAuthProtectedResourceMetadata(mcpUrl, {
      resourceMetadataUrl: new URL(metadataUrl),
    });
    expect(document).toEqual({
      resource: mcpUrl,
      authorization_servers: [issuer.issuer],
      scopes_supported: ['tools:read', 'tools:call'],
      bearer_methods_supported: ['header'],
    });
    // Without the challenge's hint the SDK tries the path-aware well-known URL first: the same document.
    expect(await discoverOAuthProtectedResourceMetadata(mcpUrl)).toEqual(document);
    expect(
      checkResourceAllowed({
        requestedResource: resourceUrlFromServerUrl(mcpUrl),
        configuredResource: document.resource,
      }),
    ).toBe(true);
    expect((await selectResourceURL(mcpUrl, noCustomResourceCheck, document))?.href).toBe(mcpUrl);
  });

  it("the SDK finds the dev issuer's metadata from authorization_servers and starts an authorization for the resource", async () => {
    const info = await discoverOAuthServerInfo(mcpUrl, { resourceMetadataUrl: new URL(metadataUrl) });
    expect(info.authorizationServerUrl).toBe(issuer.issuer);
    expect(info.resourceMetadata?.resource).toBe(mcpUrl);
    expect(info.authorizationServerMetadata).toMatchObject({
      issuer: issuer.issuer,
      token_endpoint: issuer.tokenEndpoint,
    });
    const { authorizationUrl } = await startAuthorization(info.authorizationServerUrl, {
      metadata: info.authorizationServerMetadata,
      clientInformation: { client_id: DEV_CLIENT_ID },
      redirectUrl: 'http://127.0.0.1/callback',
      scope: 'tools:read',
      resource: new URL(mcpUrl),
    });
    expect(authorizationUrl.searchParams.get('resource')).toBe(mcpUrl);
    expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256');
  });

  it('an MCP client with the SDK client_credentials provider gets a token for the resource and calls a tool', async () => {
    const before = Date.now() / 1000;
    const outcome = await runMcpClient([mcpUrl, issuer.client.id, issuer.client.secret, issuer.issuer]);
    expect(outcome).toEqual({
      content: [{ type: 'text', text: `${DEV_CLIENT_ID} tools:read` }],
      tokenIssuer: issuer.issuer,
    });
    // The tool got the caller in the SDK's AuthInfo shape, through the SDK's own transport.
    expect(seenAuthInfos).toHaveLength(1);
    const authInfo = seenAuthInfos[0];
    expect(authInfo?.scopes.includes('tools:read')).toBe(true);
    expect(authInfo?.scopes.includes('tools:call')).toBe(false);
    expect(authInfo?.clientId).toBe(DEV_CLIENT_ID);
    expect(authInfo?.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(JSON.stringify(authInfo)).not.toContain(authInfo?.token);
    expect(format('%o', authInfo)).not.toContain(authInfo?.token);
    // Seconds since the epoch: an integer after the call started, not milliseconds.
    expect(Number.isInteger(authInfo?.expiresAt)).toBe(true);
    expect(authInfo?.expiresAt).toBeGreaterThan(before);
    expect(authInfo?.expiresAt).toBeLessThan(before + 86_400 * 366);
    expect(authInfo?.resource?.href).toBe(mcpUrl);
    expect(authInfo?.extra).toMatchObject({
      issuer: issuer.issuer,
      audience: [mcpUrl],
      subject: DEV_CLIENT_ID,
    });
  });

  it("a 403 insufficient_scope names the missing scope and the metadata URL to the SDK's parser", async () => {
    const token = await issuer.getToken({ resource: mcpUrl, scope: 'tools:read' });
    const response = await fetch(`${mcpUrl}/call`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    await response.body?.cancel();
    expect(response.status).toBe(403);
    expect(extractWWWAuthenticateParams(response)).toEqual({
      resourceMetadataUrl: new URL(metadataUrl),
      scope: 'tools:call',
      error: 'insufficient_scope',
    });
  });
});

/**
 * The SDK's `requireBearerAuth`, imported by a specifier TypeScript does not follow: its module
 * declares `auth` on Express's Request as the SDK's AuthInfo, which in this one program would
 * retype `req.auth` in every test file that uses tokenguard's (an app using both meets the same).
 */
const BEARER_AUTH_MODULE: string = '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
type RequireBearerAuth = (options: {
  verifier: { verifyAccessToken(token: string): Promise<SdkAuthInfo> };
  expectedResource?: URL;
}) => RequestHandler;

describe("the SDK's requireBearerAuth with a verifier answering mcpAuthInfo", () => {
  let issuer: DevIssuer;
  let mcpUrl: string;
  let otherUrl: string;

  beforeAll(async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => closeServer(server));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    mcpUrl = `${origin}/mcp`;
    otherUrl = `${origin}/other`;
    issuer = await startDevIssuer({
      resources: {
        [mcpUrl]: { scope: 'tools:read', format: 'jwt' },
        [otherUrl]: { scope: 'tools:read', format: 'jwt' },
      },
    });
    cleanups.push(() => issuer.close());
    // One validator for two MCP servers: it accepts a token for either.
    const validator = createValidator({ issuer: issuer.issuer, audience: [mcpUrl, otherUrl] });
    cleanups.push(() => validator.close());
    const { requireBearerAuth } = (await import(BEARER_AUTH_MODULE)) as {
      requireBearerAuth: RequireBearerAuth;
    };
    const app = express();
    app.post(
      '/mcp',
      requireBearerAuth({
        verifier: {
          verifyAccessToken: async (token) =>
            expressAdapter.mcpAuthInfo(await validator.validate(token), { resource: mcpUrl }),
        },
        expectedResource: new URL(mcpUrl),
      }),
      (req, res) => {
        // Set by requireBearerAuth: the SDK's AuthInfo, whatever Express's Request type says.
        res.json({ resource: (req.auth as unknown as SdkAuthInfo | undefined)?.resource?.href });
      },
    );
    server.on('request', app);
  });

  async function post(resource: string): Promise<Response> {
    const token = await issuer.getToken({ resource, scope: 'tools:read' });
    return fetch(mcpUrl, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  }

  it('accepts a token whose audience is the resource, and reports it', async () => {
    const response = await post(mcpUrl);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ resource: mcpUrl });
  });

  it("refuses a token for the other server: mcpAuthInfo does not claim a resource the token's aud does not name", async () => {
    const response = await post(otherUrl);
    await response.body?.cancel();
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });
});
