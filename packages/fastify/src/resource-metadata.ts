import {
  answerProtectedResourceMetadata,
  metadataAnswerHeaders,
  protectedResourceMetadata as metadataOf,
  PROTECTED_RESOURCE_WELL_KNOWN,
  type ProtectedResourceMetadata,
  type Validator,
} from '@tokenguard/core';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';

/**
 * Options of {@link protectedResourceMetadata}: the validator created with `resourceMetadata`.
 *
 * @example
 * ```ts
 * const options: ProtectedResourceMetadataOptions = { validator };
 * await app.register(protectedResourceMetadata, options);
 * ```
 */
export interface ProtectedResourceMetadataOptions {
  validator: Validator;
}

const METHODS = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** Per server (every context of an app shares its router): the metadata each route path serves. */
const routesByServer = new WeakMap<object, Map<string, ProtectedResourceMetadata[]>>();

async function plugin(fastify: FastifyInstance, options: ProtectedResourceMetadataOptions): Promise<void> {
  const metadata = options?.validator === undefined ? undefined : metadataOf(options.validator);
  if (metadata === undefined) {
    throw new TypeError(
      'tokenguard: protectedResourceMetadata needs { validator }, a validator created with the resourceMetadata option',
    );
  }
  if (fastify.prefix !== '') {
    // Routes of a prefixed context get the prefix: the metadata would be nowhere a client looks.
    throw new TypeError(
      `tokenguard: register protectedResourceMetadata outside the '${fastify.prefix}' prefix: its URL is ${metadata.url}`,
    );
  }
  // The router holds one route per path, for the whole server: resources whose metadata share one
  // (identifiers differing only in their query, paths that both need the wildcard) share the route.
  const url = routerPath(metadata.path);
  let routes = routesByServer.get(fastify.server);
  if (routes === undefined) {
    routes = new Map();
    routesByServer.set(fastify.server, routes);
  }
  const served = routes.get(url);
  if (served !== undefined) {
    served.push(metadata);
    return;
  }
  const shared = [metadata];
  routes.set(url, shared);
  fastify.route({
    method: METHODS,
    url,
    exposeHeadRoute: false,
    // Public: the tokenguard plugin does not authenticate it.
    config: { auth: false },
    handler(request, reply) {
      let answer: ReturnType<typeof answerProtectedResourceMetadata>;
      for (const each of shared) {
        answer = answerProtectedResourceMetadata(each, request.method, request.url);
        if (answer !== undefined) break;
      }
      // The path matched; a resource identifier with a query answers only that query.
      if (answer === undefined) return reply.callNotFound();
      // @fastify/cors (an onRequest hook) ran first: its origin (and credentials) answer is kept.
      reply.code(answer.status).headers(metadataAnswerHeaders(answer, (name) => reply.hasHeader(name)));
      // No body (HEAD, the preflight, 405): send nothing, as Express and Hono do. `send()` would
      // serialise a null into the JSON text "null"; HEAD keeps GET's content-length either way.
      return answer.body === undefined ? reply.send() : reply.send(answer.body);
    },
  });
}

/** `%XX` sequences Fastify's router leaves encoded in a request path (decodeURI keeps them). */
const KEPT_ENCODED = /%(?:2[3456BbCcFf]|3[AaBbDdFf]|40)/;

/**
 * The route path that Fastify's router matches to requests for `path` (the metadata URL's path,
 * as a request carries it). The router decodes a request's path before matching and reads `:`
 * and `*` in a route path as parameters, so the path is decoded and `:` doubled. A path the router
 * cannot match literally (a `*` or `%2A`, a sequence it keeps encoded, a malformed one) gets the wildcard
 * under the well-known prefix instead; the handler compares the request-target exactly either way.
 */
function routerPath(path: string): string {
  if (!KEPT_ENCODED.test(path)) {
    try {
      // The decoded path: `%2A` is a `*` to the router too (decodeURI decodes it).
      const decoded = decodeURI(path);
      if (!decoded.includes('*')) return decoded.replaceAll(':', '::');
    } catch {
      // Malformed percent-encoding: the wildcard below.
    }
  }
  return `${PROTECTED_RESOURCE_WELL_KNOWN}/*`;
}

/**
 * A Fastify plugin serving the validator's RFC 9728 protected resource metadata, publicly, at its
 * well-known URL (`/.well-known/oauth-protected-resource` plus the resource's path; a `prefix` does
 * not apply): 200 JSON to GET and HEAD, a CORS preflight answer to OPTIONS, 405 to POST, PUT,
 * PATCH and DELETE. The route has `config: { auth: false }`, so the tokenguard plugin leaves it
 * alone. Rejects `register()` with a `TypeError` when the validator has no `resourceMetadata`, or
 * inside a context with a prefix (its routes would all be under it).
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { createValidator } from '@tokenguard/core';
 * import tokenguard, { protectedResourceMetadata } from '@tokenguard/fastify';
 *
 * const validator = createValidator({
 *   issuer: 'https://id.example',
 *   audience: 'https://mcp.example/mcp',
 *   resourceMetadata: { resource: 'https://mcp.example/mcp' },
 * });
 * const app = Fastify();
 * await app.register(tokenguard, { validator }); // its 401s carry resource_metadata
 * await app.register(protectedResourceMetadata, { validator }); // GET /.well-known/oauth-protected-resource/mcp
 * ```
 */
export const protectedResourceMetadata: FastifyPluginAsync<ProtectedResourceMetadataOptions> = fp(plugin, {
  name: '@tokenguard/fastify/protected-resource-metadata',
  fastify: '5.x',
});
