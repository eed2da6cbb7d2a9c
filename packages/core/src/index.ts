export {
  type AdapterOptions,
  type ClientCertificateReader,
  clientCertificateReader,
  type NodeRequestLike,
  type ResolvedAdapterOptions,
  resolveAdapterOptions,
  socketOfConnection,
  type TokenguardOptions,
} from './adapter-options.js';
export type { AccessTokenClaims, AuthInfo } from './auth-info.js';
export {
  extractBearerToken,
  type HeadersLike,
  isB64Token,
  parseAuthorizationValue,
  readAuthorizationHeader,
} from './bearer.js';
export { type CachedBearerLookup, createCachedBearerLookup } from './cached-bearer.js';
export { type ChallengeParams, formatChallenge } from './challenge.js';
export { discoveryUrls, type IssuerMetadata } from './discovery.js';
export type { DpopState } from './dpop-replay.js';
export {
  ERROR_CODES,
  type ErrorCode,
  isTokenGuardError,
  type OAuthErrorCode,
  TokenGuardError,
  type TokenGuardErrorOptions,
} from './errors.js';
export { FORM_BODY_MAX_BYTES, FORM_MAX_PARAMETERS, type FormBodyReading, readFormBody } from './form-body.js';
export type { IntrospectionState } from './introspection.js';
export type { FetchReason, KeySetEvent, KeySetPolicy, KeySetState } from './jwks.js';
export { OFF_THREAD_MAX_IN_FLIGHT } from './jws.js';
export type { Algorithm } from './lib/algorithms.js';
export { type McpAuthInfo, type McpAuthInfoOptions, mcpAuthInfo } from './mcp.js';
export { certificateThumbprint, forwardedCertificate, peerCertificateOf } from './mtls.js';
export {
  type ClaimsValidator,
  DEFAULT_INTROSPECTION_CACHE,
  DEFAULT_KEY_SET_POLICY,
  type DpopOptions,
  type DpopReplayStore,
  type IntrospectionAuthMethod,
  type IntrospectionOptions,
  type IssuerOptions,
  type ValidatorOptions,
} from './options.js';
export { type RequestLike, readRequestTenant, type TenantSource } from './request-tenant.js';
export {
  type AuthenticationRequirement,
  assertRequirements,
  assertTenant,
  type ClaimRequirement,
  checkRequirements,
  type Requirements,
  type RequirementsClock,
} from './requirements.js';
export {
  answerProtectedResourceMetadata,
  type BearerMethod,
  metadataAnswerHeaders,
  PROTECTED_RESOURCE_WELL_KNOWN,
  type ProtectedResourceMetadata,
  type ProtectedResourceMetadataAnswer,
  type ProtectedResourceMetadataDocument,
  protectedResourceMetadata,
  protectedResourceMetadataUrl,
  type ResourceMetadataOptions,
} from './resource-metadata.js';
export {
  assertScopeRule,
  DEFAULT_SCOPE_CLAIMS,
  describeScopeRule,
  isScopeToken,
  neededScopes,
  readScopes,
  type ScopeRule,
  satisfiesScopes,
} from './scopes.js';
export { isTenantSegment, TENANT_PLACEHOLDER, type TenantResolver } from './tenants.js';
export {
  type AuthenticateOptions,
  type AuthenticationResult,
  assertClaimArguments,
  assertScopeArguments,
  authenticateRequest,
  authenticateRequestNow,
  type ExtractedToken,
  enforceRequirements,
  extractAccessToken,
  isFormTokenRequest,
  isFormTokenSource,
  queryTokenCacheControl,
  type RouteGuardName,
  routeGuardRequirements,
  type TenantSelectorOf,
  type TokenSource,
  type TokenTransport,
  type TransportOptions,
} from './transport.js';
export { createValidator, type Validator, type ValidatorState } from './validator.js';
export { envoyClientCertificate } from './xfcc.js';
