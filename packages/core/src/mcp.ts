import type { AuthInfo } from './auth-info.js';

/**
 * The caller in the shape the MCP TypeScript SDK (`@modelcontextprotocol/sdk`) expects: its server
 * transports read `req.auth` and hand it to tool handlers as `extra.authInfo`. Declared here, not
 * imported, so core keeps no dependency on the SDK; any value of this type is an SDK `AuthInfo`.
 *
 * @example
 * ```ts
 * const mcpAuth: McpAuthInfo = mcpAuthInfo(auth);
 * const canCall = mcpAuth.scopes.includes('tools:call');
 * ```
 */
export interface McpAuthInfo {
  /** The access token. Not enumerable on the values {@link mcpAuthInfo} returns. */
  token: string;
  /** The OAuth client the token was issued to; `''` when the token names none. */
  clientId: string;
  scopes: string[];
  /** Expiry in seconds since the epoch; absent when the token has no `exp`. */
  expiresAt?: number;
  /** The RFC 8707 resource the token is for, when {@link McpAuthInfoOptions.resource} is given. */
  resource?: URL;
  /** `subject`, `issuer`, `tenant`, `audience` and `claims` of tokenguard's {@link AuthInfo}. */
  extra?: Record<string, unknown>;
}

/**
 * Options of {@link mcpAuthInfo}.
 *
 * @example
 * ```ts
 * const options: McpAuthInfoOptions = { resource: 'https://mcp.example/mcp' };
 * ```
 */
export interface McpAuthInfoOptions {
  /**
   * The protected resource's identifier, as in the validator's `resourceMetadata.resource` (and in
   * its `audience`): becomes `resource`. An absolute URL; anything else throws a `TypeError`.
   */
  readonly resource?: string;
}

/**
 * Converts tokenguard's {@link AuthInfo} to the MCP TypeScript SDK's `AuthInfo` shape
 * ({@link McpAuthInfo}): `scopes` an array in the token's order, `expiresAt` in seconds, `clientId`
 * a string (`''` when the token has no client claim: the SDK types it as a plain string, and an
 * empty one stays falsy to a presence check where a made-up value, like the subject, would not),
 * and the rest of the caller under `extra`. A new object each call; pure.
 *
 * The token is a non-enumerable property: `JSON.stringify`, `console.log` and `util.inspect` do not
 * show it (as with tokenguard's `AuthInfo`), and neither do an object spread or `structuredClone`,
 * so copy `token` explicitly when you copy the value. Logging `mcpAuth.token` itself logs the token.
 *
 * With Express, the SDK's `StreamableHTTPServerTransport.handleRequest(req, res, body)` (and
 * `SSEServerTransport.handlePostMessage`) reads `req.auth` once, when called: put the converted
 * value there, on the request itself (a wrapper object is no Node stream). Assigning it replaces
 * tokenguard's `req.auth` for the rest of that request, so do it in the last handler, after the
 * guards. With Hono or any fetch-style server, pass it as the web-standard transport's
 * `handleRequest(request, { authInfo })`; with Fastify, set `request.raw.auth`.
 *
 * @example
 * ```ts
 * import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
 * import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
 * import { mcpAuthInfo, requireScopes, tokenguard } from '@tokenguard/express';
 * import express from 'express';
 *
 * const app = express();
 * app.use(tokenguard(validator));
 * app.post('/mcp', requireScopes('tools:read'), express.json(), async (req, res) => {
 *   const server = new McpServer({ name: 'orders', version: '1.0.0' });
 *   server.registerTool('whoami', { description: 'The caller' }, async (extra) => ({
 *     content: [{ type: 'text', text: `${extra.authInfo?.clientId} ${extra.authInfo?.scopes.join(' ')}` }],
 *   }));
 *   const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
 *   res.on('close', () => void transport.close());
 *   await server.connect(transport);
 *   // `req.auth` becomes the SDK's shape (typed as both) for the rest of this request.
 *   const auth = mcpAuthInfo(req.auth!, { resource: 'https://mcp.example/mcp' });
 *   await transport.handleRequest(Object.assign(req, { auth }), res, req.body);
 * });
 * ```
 */
export function mcpAuthInfo(auth: AuthInfo, options?: McpAuthInfoOptions): McpAuthInfo {
  const result: McpAuthInfo = {
    token: auth.token,
    clientId: auth.clientId ?? '',
    scopes: [...auth.scopes],
    extra: {
      subject: auth.subject,
      issuer: auth.issuer,
      tenant: auth.tenant,
      audience: auth.audience,
      claims: auth.claims,
    },
  };
  // Still writable like the SDK's plain field, but left out of JSON, inspect and spreads.
  Object.defineProperty(result, 'token', { enumerable: false });
  if (auth.expiresAt !== undefined) result.expiresAt = Math.floor(auth.expiresAt.getTime() / 1000);
  const resource = options?.resource;
  if (resource !== undefined) result.resource = resourceUrl(resource);
  return result;
}

function resourceUrl(resource: string): URL {
  if (typeof resource !== 'string' || !URL.canParse(resource)) {
    throw new TypeError(
      `tokenguard: mcpAuthInfo's resource must be an absolute URL, not ${String(resource)}`,
    );
  }
  return new URL(resource);
}
