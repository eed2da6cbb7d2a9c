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
  /**
   * The access token. On the values {@link mcpAuthInfo} returns, a non-enumerable accessor: it
   * shows in no JSON, `console.log`, `util.inspect` (even with `showHidden`, as `%o` uses) or spread.
   */
  token: string;
  /** The OAuth client the token was issued to; `''` when the token names none. */
  clientId: string;
  scopes: string[];
  /** Expiry in seconds since the epoch; absent when the token has no `exp`. */
  expiresAt?: number;
  /**
   * The RFC 8707 resource the token is for: {@link McpAuthInfoOptions.resource} when the token's
   * audience names it; absent otherwise (the SDK reads a set `resource` as "this token is valid here").
   */
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
   * its `audience`): becomes `resource` when the token's `aud` contains it (the same string, or the
   * same URL once parsed), and is left out when it does not: a validator accepting several audiences,
   * or none (`audience: null`), may have accepted a token for another resource. An absolute URL;
   * anything else throws a `TypeError`.
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
 * The token is a non-enumerable accessor: `JSON.stringify`, `console.log`, `util.inspect` (also
 * with `showHidden`, as `util.format('%o')` uses) do not show its value (as with tokenguard's
 * `AuthInfo`), and neither an object spread nor `structuredClone` copies it, so copy `token`
 * explicitly when you copy the value. Logging `mcpAuth.token` itself logs the token. For the
 * same reason `auth` must be the `AuthInfo` a validator returned, not a spread or a clone of it:
 * one without a string `token` (or a `null` caller) is a `TypeError`.
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
  // A spread or a copy of an AuthInfo (`{ ...req.auth }`, structuredClone) has lost its token, and
  // the types cannot tell: an SDK `AuthInfo` whose token is `undefined` would be forwarded as
  // `Bearer undefined`. A missing caller (`req.auth` on an optional route) is named too.
  if (auth === null || typeof auth !== 'object' || typeof auth.token !== 'string') {
    throw new TypeError(
      auth === null || typeof auth !== 'object'
        ? `tokenguard: mcpAuthInfo needs the AuthInfo of a validated request, not ${auth === null ? 'null' : typeof auth}`
        : "tokenguard: mcpAuthInfo's AuthInfo has no token: pass the validator's AuthInfo itself (a spread or a clone drops its token)",
    );
  }
  const fields: Omit<McpAuthInfo, 'token'> = {
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
  if (auth.expiresAt !== undefined) fields.expiresAt = Math.floor(auth.expiresAt.getTime() / 1000);
  const resource = options?.resource;
  if (resource !== undefined) {
    const url = resourceUrl(resource);
    if (audienceNames(auth.audience, resource, url)) fields.resource = url;
  }
  // Writable like the SDK's plain field, but an accessor: a non-enumerable data property is still
  // printed, value and all, by inspect with showHidden (util.format's %o); a getter is not.
  let token = auth.token;
  return Object.defineProperty(fields, 'token', {
    enumerable: false,
    configurable: true,
    get: () => token,
    set: (value: string) => {
      token = value;
    },
  }) as McpAuthInfo;
}

/** Whether `aud` holds the resource: the same string, or a URL that parses to the same one. */
function audienceNames(audience: readonly string[], resource: string, url: URL): boolean {
  return audience.some((aud) => aud === resource || (URL.canParse(aud) && new URL(aud).href === url.href));
}

function resourceUrl(resource: string): URL {
  if (typeof resource !== 'string' || !URL.canParse(resource)) {
    throw new TypeError(
      `tokenguard: mcpAuthInfo's resource must be an absolute URL string, not ${
        typeof resource === 'string' ? JSON.stringify(resource) : typeof resource
      }`,
    );
  }
  return new URL(resource);
}
