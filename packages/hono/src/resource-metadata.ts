import {
  answerProtectedResourceMetadata,
  protectedResourceMetadata as metadataOf,
  PROTECTED_RESOURCE_WELL_KNOWN,
  type Validator,
} from '@tokenguard/core';
import type { Context, MiddlewareHandler, Next } from 'hono';

/**
 * Serves the validator's RFC 9728 protected resource metadata, publicly, at its well-known URL
 * (`/.well-known/oauth-protected-resource` plus the resource's path): 200 JSON to GET and HEAD,
 * a CORS preflight answer to OPTIONS, 405 to other methods; every other request goes on to `next()`.
 * Use it on every path (`app.use(...)`, or `app.use('/.well-known/*', ...)`), before `tokenguard()`.
 * Throws a `TypeError` when the validator was created without the `resourceMetadata` option.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono';
 * import { createValidator } from '@tokenguard/core';
 * import { protectedResourceMetadata, tokenguard } from '@tokenguard/hono';
 *
 * const validator = createValidator({
 *   issuer: 'https://id.example',
 *   audience: 'https://mcp.example/mcp',
 *   resourceMetadata: { resource: 'https://mcp.example/mcp' },
 * });
 * const app = new Hono();
 * app.use(protectedResourceMetadata(validator)); // GET /.well-known/oauth-protected-resource/mcp
 * app.use('/mcp', tokenguard(validator)); // its 401s carry resource_metadata
 * ```
 */
export function protectedResourceMetadata(validator: Validator): MiddlewareHandler {
  const metadata = metadataOf(validator);
  if (metadata === undefined) {
    throw new TypeError(
      'tokenguard: protectedResourceMetadata() needs a validator created with the resourceMetadata option',
    );
  }
  return async function protectedResourceMetadata(c: Context, next: Next): Promise<Response | undefined> {
    // c.req.path is decoded: the exact comparison is on the raw request-target below.
    if (!c.req.path.startsWith(PROTECTED_RESOURCE_WELL_KNOWN)) {
      await next();
      return undefined;
    }
    const answer = answerProtectedResourceMetadata(metadata, c.req.method, requestTarget(c.req.url));
    if (answer === undefined) {
      await next();
      return undefined;
    }
    // Hono answers HEAD by running GET and dropping the body.
    const headers = { ...answer.headers };
    return answer.body === undefined
      ? c.body(null, answer.status, headers)
      : c.body(answer.body, 200, headers);
  };
}

/** The path and query of an absolute URL, as the request line carried them. */
function requestTarget(url: string): string {
  const start = url.indexOf('/', url.indexOf('://') + 3);
  return start === -1 ? '/' : url.slice(start);
}
