/**
 * `@tokenguard/hono`: bearer token validation for Hono 4, on Node and on fetch-only runtimes.
 *
 * @packageDocumentation
 */
import type { AuthInfo } from '@tokenguard/core';

declare module 'hono' {
  interface ContextVariableMap {
    /** The verified caller; `undefined` before `tokenguard()` ran or on anonymous optional-auth requests. */
    auth: AuthInfo | undefined;
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
  type TokenguardGuard,
} from './guards.js';
export {
  type OptionalTokenguardVariables,
  type TokenguardMiddleware,
  type TokenguardVariables,
  tokenguard,
} from './middleware.js';
export type { AdapterOptions, ClientCertificateReader, TokenguardOptions } from './options.js';
export type { Protect } from './protect.js';
export { protectedResourceMetadata } from './resource-metadata.js';
