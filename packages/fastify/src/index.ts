/**
 * `@tokenguard/fastify`: bearer token validation for Fastify 5.
 *
 * @packageDocumentation
 */
import type { AuthInfo } from '@tokenguard/core';
import type {
  requireAnyScope,
  requireAuthentication,
  requireClaims,
  requireScopes,
  requireTenant,
} from './guards.js';
import { tokenguardPlugin } from './plugin.js';
import type { RouteAuthOptions } from './route-config.js';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The verified caller; `null` on public routes and on anonymous optional-auth requests. On routes of a
     * context the plugin does not cover (a sibling of the context it is registered in) it is `undefined`.
     */
    auth: AuthInfo | null;
  }
  interface FastifyContextConfig {
    /** This route's requirements, or `false` for a public route. */
    auth?: RouteAuthOptions | false;
  }
  interface FastifyInstance {
    requireScopes: typeof requireScopes;
    requireAnyScope: typeof requireAnyScope;
    requireTenant: typeof requireTenant;
    requireClaims: typeof requireClaims;
    requireAuthentication: typeof requireAuthentication;
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
  type TokenguardGuard,
} from './guards.js';
export type { AdapterOptions, ClientCertificateReader, TokenguardOptions } from './options.js';
export { type TokenguardPluginOptions, tokenguardPlugin, tokenguardPlugin as tokenguard } from './plugin.js';
export {
  type ProtectedResourceMetadataOptions,
  protectedResourceMetadata,
} from './resource-metadata.js';
export type { RouteAuthOptions, TenantSelector } from './route-config.js';
export default tokenguardPlugin;
