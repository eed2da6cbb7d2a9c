import {
  answerProtectedResourceMetadata,
  metadataAnswerHeaders,
  protectedResourceMetadata as metadataOf,
  type Validator,
} from '@tokenguard/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Serves the validator's RFC 9728 protected resource metadata, publicly, at its well-known URL
 * (`/.well-known/oauth-protected-resource` plus the resource's path): 200 JSON to GET and HEAD,
 * a CORS preflight answer to OPTIONS, 405 to other methods; every other request goes on to `next()`.
 * Mount it at the app's root, before `tokenguard()`. Throws a `TypeError` when the validator was
 * created without the `resourceMetadata` option.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { createValidator } from '@tokenguard/core';
 * import { protectedResourceMetadata, tokenguard } from '@tokenguard/express';
 *
 * const validator = createValidator({
 *   issuer: 'https://id.example',
 *   audience: 'https://mcp.example/mcp',
 *   resourceMetadata: { resource: 'https://mcp.example/mcp', scopesSupported: ['tools:call'] },
 * });
 * const app = express();
 * app.use(protectedResourceMetadata(validator)); // GET /.well-known/oauth-protected-resource/mcp
 * app.use(tokenguard(validator)); // its 401s carry resource_metadata="https://mcp.example/.well-known/..."
 * ```
 */
export function protectedResourceMetadata(validator: Validator): RequestHandler {
  const metadata = metadataOf(validator);
  if (metadata === undefined) {
    throw new TypeError(
      'tokenguard: protectedResourceMetadata() needs a validator created with the resourceMetadata option',
    );
  }
  return function protectedResourceMetadata(req: Request, res: Response, next: NextFunction): void {
    // originalUrl: the path from the server's root even when mounted under a prefix.
    const answer = answerProtectedResourceMetadata(metadata, req.method, req.originalUrl);
    if (answer === undefined) {
      next();
      return;
    }
    // An app's CORS middleware that ran first keeps its origin (and credentials) answer.
    res.writeHead(
      answer.status,
      metadataAnswerHeaders(answer, (name) => res.hasHeader(name)),
    );
    res.end(answer.body);
  };
}
