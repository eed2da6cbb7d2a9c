/**
 * `@tokenguard/express`: bearer token validation for Express 4 and 5.
 *
 * @packageDocumentation
 */
import type { AuthInfo } from '@tokenguard/core';

declare global {
  // Express's own augmentation point: every `req` gets an optional `auth`.
  namespace Express {
    interface Request {
      /** The verified caller; `undefined` before `tokenguard()` ran or on anonymous optional-auth requests. */
      auth?: AuthInfo | undefined;
    }
  }
}

export type {
  AuthenticationRequirement,
  AuthInfo,
  ClaimRequirement,
  McpAuthInfo,
  McpAuthInfoOptions,
  ResourceMetadataOptions,
  TransportOptions,
} from '@tokenguard/core';
export {
  envoyClientCertificate,
  forwardedCertificate,
  isTokenGuardError,
  mcpAuthInfo,
  TokenGuardError,
} from '@tokenguard/core';
export {
  requireAnyScope,
  requireAuthentication,
  requireClaims,
  requireScopes,
  requireTenant,
  type TenantSelector,
} from './guards.js';
export { type TokenguardMiddleware, tokenguard } from './middleware.js';
export type { AdapterOptions, ClientCertificateReader, TokenguardOptions } from './options.js';
export { protectedResourceMetadata } from './resource-metadata.js';
