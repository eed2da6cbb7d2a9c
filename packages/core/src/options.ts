import { z } from 'zod';
import type { AuthInfo } from './auth-info.js';
import { pssHonoured } from './crypto-support.js';
import type { KeySetEvent, KeySetPolicy } from './jwks.js';
import {
  type Algorithm,
  ASYMMETRIC_ALGORITHMS,
  DEFAULT_ALGORITHMS,
  SYMMETRIC_ALGORITHMS,
} from './lib/algorithms.js';
import { type ClientKey, importClientKey } from './lib/client-auth.js';
import { ReadOnlySet } from './lib/read-only-set.js';
import { Redacted } from './lib/secret.js';
import {
  buildProtectedResourceMetadata,
  isLoopbackHost,
  type ProtectedResourceMetadata,
  type ResourceMetadataOptions,
} from './resource-metadata.js';
import { DEFAULT_SCOPE_CLAIMS, isScopeToken } from './scopes.js';
import {
  checkIssuerTemplate,
  type ResolvedIssuerTemplate,
  resolveIssuerTemplate,
  type TenantResolver,
} from './tenants.js';

/**
 * A claims check of your own; return `false` or throw to reject the token (401 `invalid_token`).
 * Any falsy answer but `undefined` rejects too; a thrown `TokenGuardError` passes through as it is.
 *
 * @example
 * ```ts
 * const onlyAccessTokens: ClaimsValidator = (claims) => claims.token_use === 'access';
 * createValidator({ issuer, audience: null, allowMissingTyp: true, validateClaims: onlyAccessTokens });
 * ```
 */
export type ClaimsValidator = (
  claims: Readonly<Record<string, unknown>>,
  context: { issuer: string; header: Readonly<Record<string, unknown>> },
) => boolean | undefined | Promise<boolean | undefined>;

/**
 * How one trusted issuer's tokens are verified. Used directly by {@link ValidatorOptions}, or as an
 * entry of `issuers` to trust several.
 *
 * @example
 * ```ts
 * const issuer: IssuerOptions = { issuer: 'https://id.example', audience: 'https://api.example' };
 * ```
 */
export interface IssuerOptions {
  /** The issuer identifier, compared to `iss` exactly (RFC 9068 §4). */
  issuer: string;
  /**
   * This API's identifier(s); the token's `aud` must contain one (RFC 9068 §4, RFC 8707). Required:
   * pass `null` to opt out of the audience check, deliberately and visibly.
   */
  audience: string | readonly string[] | null;
  /** The JWKS URL. Default: the `jwks_uri` of the issuer's discovery document. */
  jwksUri?: string;
  /** A fixed JSON Web Key Set instead of fetching one. */
  jwks?: { keys: readonly unknown[] };
  /** A shared secret for HS256/384/512 (at least 32 bytes). Never combined with a key set. */
  secret?: string | Uint8Array;
  /** Allowed `alg` values. Default: every asymmetric algorithm (RS*, PS*, ES*, EdDSA). Never `none`. */
  algorithms?: readonly Algorithm[];
  /**
   * Accepted `typ` header values, case-insensitive, with or without `application/`.
   * Default `['at+jwt']` (RFC 9068 §4). Add `'JWT'` for issuers that emit it (Auth0, Entra ID).
   */
  typ?: readonly string[];
  /** Accept tokens with no `typ` header at all (Cognito). Default `false`. */
  allowMissingTyp?: boolean;
  /** Claims that hold scopes. Default `['scope', 'scp']`; add `'permissions'` for Auth0 RBAC. */
  scopeClaims?: readonly string[];
  /**
   * The claim naming the tenant (e.g. `tid`, `org_id`). When the issuer has a tenant of its own
   * (`tenant`, or `{tenant}` in a template), the claim must agree with it or the token is invalid.
   */
  tenantClaim?: string;
  /** The tenant of every token of this issuer; it wins over `tenantClaim` (a disagreeing claim is a 401). */
  tenant?: string;
  /**
   * With `{tenant}` in `issuer` (e.g. `https://login.microsoftonline.com/{tenant}/v2.0`): the tenants
   * trusted. `{tenant}` matches one segment of letters, digits, `-` and `_`; the matched tenant
   * becomes `AuthInfo.tenant`, and discovery, `jwksUri` (where `{tenant}` is substituted too) and
   * keys are per concrete issuer. Exactly one of `tenants` and `resolveTenant` is required.
   */
  tenants?: readonly string[];
  /** With `{tenant}` in `issuer`: decides per tenant (only `true` trusts); see {@link TenantResolver}. */
  resolveTenant?: TenantResolver;
  /** With `{tenant}` in `issuer`: concrete issuers (and their key sets) kept, least recently used evicted. Default 1000. */
  maxTenants?: number;
  /** With `resolveTenant`: how long its answer (yes or no) is trusted, in seconds. Default 300. */
  tenantTtlSec?: number;
  /**
   * RFC 7662 token introspection at this issuer. A token that is not a compact JWS is introspected
   * (with several issuers: at the one named by `opaqueTokenIssuer`, or the only one that configures
   * introspection); with `jwt: 'always'`, verified JWTs are introspected too. See `INTROSPECTION.md`.
   */
  introspection?: IntrospectionOptions;
}

/**
 * Client authentication methods for the introspection endpoint (RFC 7662 §2.1, RFC 7523).
 *
 * @example
 * ```ts
 * const method: IntrospectionAuthMethod = 'client_secret_post';
 * createValidator({ issuer, audience, introspection: { clientId, clientSecret, authMethod: method } });
 * ```
 */
export type IntrospectionAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

/**
 * How to introspect tokens at an issuer (RFC 7662). The credentials are this API's own client
 * credentials at the authorization server; they never appear in errors, state or `options`.
 *
 * @example
 * ```ts
 * const introspection: IntrospectionOptions = {
 *   clientId: 'orders-api',
 *   clientSecret: process.env.INTROSPECTION_SECRET,
 *   cache: { maxTtlSec: 30 },
 * };
 * ```
 */
export interface IntrospectionOptions {
  /** The endpoint URL. Default: `introspection_endpoint` of the issuer's discovery document. */
  endpoint?: string;
  /** This API's client id at the authorization server. */
  clientId: string;
  /** The client secret (for `client_secret_basic` and `client_secret_post`). */
  clientSecret?: string;
  /** How this API authenticates to the endpoint. Default `client_secret_basic`. */
  authMethod?: IntrospectionAuthMethod;
  /** For `private_key_jwt`: the private key, as PKCS#8 PEM or a private JWK. */
  privateKey?: string | Record<string, unknown>;
  /** `alg` of the client assertion. Default: the JWK's `alg`, else RS256 / ES256/384/512 / EdDSA by key type. */
  privateKeyAlg?: Algorithm;
  /** `kid` header of the client assertion. Default: the JWK's `kid`, if any. */
  privateKeyKid?: string;
  /** `aud` of the client assertion. Default: the issuer identifier (RFC 7523 §3). */
  assertionAudience?: string;
  /** The `token_type_hint` sent with each request (RFC 7662 §2.1), e.g. `access_token`. Default: none. */
  tokenTypeHint?: string;
  /**
   * The answer cache, keyed by a SHA-256 hash of the token. `maxTtlSec` (default 60) bounds how long an
   * active answer is reused, and so how late a revocation is noticed; an active answer never outlives
   * the token's `exp`. Inactive answers live `inactiveTtlSec` (default 5). `maxEntries` default 10000.
   */
  cache?: { maxEntries?: number; maxTtlSec?: number; inactiveTtlSec?: number };
  /**
   * `'always'`: a JWT is verified locally as usual and then also introspected (both must pass), for
   * issuers whose revocations must be seen before `exp`. Default `'never'`.
   */
  jwt?: 'always' | 'never';
  /** Ask for a signed answer (RFC 9701) and verify it with the issuer's key set. Default `false`. */
  signedResponse?: boolean;
  /**
   * Backoff after a failed request (5xx, network, timeout, 401/403): doubles from min to max, or the
   * endpoint's `Retry-After` when longer (never past max). Default 1 and 30; `minSec` must be above 0.
   */
  retry?: { minSec?: number; maxSec?: number };
  /** Largest introspection answer accepted, in bytes. Default 65536. */
  maxResponseBytes?: number;
  /** Deepest JSON nesting accepted in an introspection answer. Default 16. */
  maxJsonDepth?: number;
  /**
   * Most distinct tokens whose introspection may be waiting at once, per issuer (1 to 1024). When
   * that many are, a validation that needs another one is refused at once with a 503
   * `ERR_INTROSPECTION_UNAVAILABLE` (`Retry-After: 1`), sending nothing; it starts no backoff and is
   * not cached. Validations of a token already being introspected still share its request, and
   * cached answers are served as ever.
   *
   * Default 64: four per connection of the validator's HTTP pool (16 per origin). Tokens in flight
   * are new tokens per second times the endpoint's latency (3200 new tokens/s at 20 ms make 64), so
   * ordinary traffic stays below it; a flood of distinct junk tokens is answered at once instead
   * of queueing on the pool until requests time out, which would start the backoff and fail every
   * opaque token. Raise it with an `http.fetch` that opens more connections.
   */
  maxInFlight?: number;
}

/**
 * Options of {@link createValidator}. Validated once; a bad option throws a `TypeError` naming it.
 *
 * @example
 * ```ts
 * const validator = createValidator({
 *   issuer: 'https://id.example',
 *   audience: 'https://api.example',
 *   clockToleranceSec: 5,
 * });
 * ```
 */
export interface ValidatorOptions extends Partial<IssuerOptions> {
  /** Several trusted issuers; the token's unverified `iss` only selects among them. */
  issuers?: readonly IssuerOptions[];
  /**
   * An opaque token cannot name its issuer: the issuer whose introspection endpoint receives opaque
   * tokens. Default: the only issuer that configures `introspection`; required when several do.
   */
  opaqueTokenIssuer?: string;
  /** Leeway for `exp`, `nbf` and `iat`, in seconds. Default 5. */
  clockToleranceSec?: number;
  /** Reject tokens whose `iat` is older than this many seconds (requires `iat`). */
  maxTokenAgeSec?: number;
  /** Claims that must be present besides `iss`, `aud` and `exp` (always required). */
  requiredClaims?: readonly string[];
  /**
   * Accept a token bound to a key (a `cnf` claim: DPoP's `jkt`, mutual TLS's `x5t#S256`, RFC 7800's
   * `jwk`...) presented as a bearer token. Default `false`: such a token is refused with
   * `ERR_TOKEN_BOUND`: a stolen bound token would otherwise work as a bearer token. DPoP-bound tokens
   * are checked with their proof through the `dpop` option, certificate-bound ones with `mtls`; set
   * this only where something in front of the API (a gateway) has checked the binding.
   */
  acceptBoundTokens?: boolean;
  /** Your own check of the verified claims. Runs once per distinct token while it is cached. */
  validateClaims?: ClaimsValidator;
  /** Longest token accepted, in characters. Default 8192. */
  maxTokenLength?: number;
  /** Deepest JSON nesting accepted in a token. Default 32. */
  maxTokenJsonDepth?: number;
  /**
   * Verify RSA, ECDSA and EdDSA signatures on libuv's thread pool instead of the event loop
   * (node:crypto's callback `verify`). Default false. See the core README's "Signatures off the
   * event loop" for when it pays.
   */
  verifyOffThread?: boolean;
  /**
   * Accept DPoP-bound access tokens (RFC 9449): `Authorization: DPoP <token>` with a `DPoP` proof
   * header, checked against the request (method, URL, time, access token hash), the token's
   * `cnf.jkt`, and a replay cache. `true` for the defaults. Off by default: a `DPoP` authorization is
   * then another scheme, and a bound token sent as `Bearer` is refused (`ERR_TOKEN_BOUND`) either way.
   * See the core README's "DPoP".
   */
  dpop?: true | DpopOptions;
  /**
   * Accept access tokens bound to a TLS client certificate (RFC 8705 §3): a token whose `cnf` names
   * `x5t#S256` is good only on a request that came with that certificate (the adapters read it from
   * the TLS connection, or from their `clientCertificate` option behind a proxy). Default `false`:
   * such a token is refused (`ERR_TOKEN_BOUND`). Not together with `acceptBoundTokens`, which would
   * waive the check. See the core README's "Certificate-bound tokens (mTLS)".
   */
  mtls?: boolean;
  /** The clock, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
  /**
   * `realm` of the `WWW-Authenticate` challenges: printable ASCII, not empty (`"` and `\` are escaped),
   * so that every challenge carries it as written.
   */
  realm?: string;
  /**
   * RFC 9728 protected resource metadata: the adapters' `protectedResourceMetadata` serve it at
   * `/.well-known/oauth-protected-resource` (plus the resource's path), and every challenge names
   * that URL in `resource_metadata` (what MCP clients discover the authorization server by).
   */
  resourceMetadata?: ResourceMetadataOptions;
  /** HTTP settings for the key set, discovery and introspection. */
  http?: {
    /** Use this `fetch` instead of undici (fetch-only runtimes). */
    fetch?: typeof globalThis.fetch;
    /** Default 5000. */
    timeoutMs?: number;
    /** Default 2000. */
    connectTimeoutMs?: number;
    /** Default 3000. */
    headersTimeoutMs?: number;
    /** Default 3000. */
    bodyTimeoutMs?: number;
  };
  /** The key set's fetch policy; see {@link KeySetPolicy} for each default. */
  keySet?: Partial<KeySetPolicy>;
  /**
   * The cache of verified tokens: `false` turns it off. Default `{ maxEntries: 10000 }`. With `dpop` or
   * `mtls` (not `acceptBoundTokens`), bound tokens verified with a proof go to a second cache of the same
   * size, asked only by requests with a proof: up to twice `maxEntries` tokens in all.
   */
  tokenCache?: false | { maxEntries?: number };
  /**
   * Receives key set events (fetched, failed, key added/removed/skipped), synchronously; a listener
   * that throws, or returns a promise that rejects, is ignored.
   */
  onEvent?: (event: KeySetEvent) => void;
}

/**
 * Default key set policy. `packages/core/KEYSET.md` gives the reason for each value next to what
 * jose, Spring and ASP.NET chose.
 *
 * @example
 * ```ts
 * createValidator({ issuer, audience, keySet: { ...DEFAULT_KEY_SET_POLICY, staleIfErrorSec: 7200 } });
 * ```
 */
export const DEFAULT_KEY_SET_POLICY: Readonly<KeySetPolicy> = Object.freeze({
  defaultMaxAgeSec: 600,
  minMaxAgeSec: 60,
  maxMaxAgeSec: 86_400,
  refreshAheadSec: 30,
  unknownKidCooldownSec: 10,
  staleIfErrorSec: 3_600,
  retryMinSec: 1,
  retryMaxSec: 60,
  maxResponseBytes: 128 * 1024,
  maxKeys: 100,
  maxJsonDepth: 8,
});

const MIN_SECRET_BYTES = 32;
const ALL_ALGORITHMS = [...ASYMMETRIC_ALGORITHMS, ...SYMMETRIC_ALGORITHMS] as const;

const httpUrl = z
  .string()
  .refine((value) => /^https?:\/\//i.test(value) && URL.canParse(value), 'must be an http(s) URL');
/** Whether an http(s) URL carries a user name or password (`https://user:pass@host/`). */
const hasCredentials = (value: string): boolean => {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  return url !== undefined && (url.username !== '' || url.password !== '');
};
/**
 * A URL this validator fetches (a key set, an introspection endpoint): no user name or password, which
 * undici drops without a word (the request goes out without them) and fetch refuses.
 */
const fetchedUrl = httpUrl.refine(
  (value) => !hasCredentials(value),
  'must have no user name or password (they would not be sent: authenticate with the http.fetch option, or with introspection client authentication)',
);
const nonEmpty = z.string().min(1, 'must not be empty');
/**
 * An identifier compared exactly (`iss`, `aud`): whitespace at either end (a value read from a file, a
 * secret or a `.env` line with its newline) or a control character would match no token, and every
 * request would fail instead of the configuration.
 */
const identifier = (claim: string) =>
  nonEmpty.refine(
    (value) => value.trim() === value && !hasControlCharacter(value),
    `must have no whitespace at either end and no control characters (it is compared to the token's ${claim} exactly)`,
  );
const fn = <T>(what: string) =>
  z.custom<T>((value) => typeof value === 'function', `must be a ${what} function`);
const seconds = z.number().finite().nonnegative();
/**
 * A timer's duration in ms: at most 2^31 - 1, since Node's timers (AbortSignal.timeout, undici's) fire
 * after 1 ms for anything longer, which would time out every fetch at once.
 */
const timerMs = z
  .number()
  .int()
  .positive()
  .max(2_147_483_647, 'must be at most 2147483647 (about 24.8 days)');

const introspectionSchema = z
  .strictObject({
    endpoint: fetchedUrl.optional(),
    clientId: nonEmpty,
    clientSecret: nonEmpty.optional(),
    authMethod: z
      .enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt'], {
        error: () => 'must be client_secret_basic, client_secret_post or private_key_jwt',
      })
      .optional(),
    privateKey: z
      .union([nonEmpty, z.record(z.string(), z.unknown())], {
        error: () => 'must be a PKCS#8 PEM string or a private JWK object',
      })
      .optional(),
    privateKeyAlg: z
      .enum(ASYMMETRIC_ALGORITHMS, { error: () => 'must be an asymmetric JWS algorithm' })
      .optional(),
    privateKeyKid: nonEmpty.optional(),
    assertionAudience: nonEmpty.optional(),
    tokenTypeHint: nonEmpty.optional(),
    cache: z
      .strictObject({
        maxEntries: z.number().int().positive().optional(),
        maxTtlSec: seconds.optional(),
        inactiveTtlSec: seconds.optional(),
      })
      .optional(),
    jwt: z.enum(['always', 'never'], { error: () => "must be 'always' or 'never'" }).optional(),
    signedResponse: z.boolean().optional(),
    // minSec 0 would make no backoff at all: a failing endpoint asked again on every request.
    retry: z.strictObject({ minSec: seconds.positive().optional(), maxSec: seconds.optional() }).optional(),
    maxResponseBytes: z
      .number()
      .int()
      .min(256)
      .max(16 * 1024 * 1024)
      .optional(),
    maxJsonDepth: z.number().int().min(2).max(256).optional(),
    // 1024 waiting on 16 connections is 64 round trips each: at 80 ms, the default http.timeoutMs.
    maxInFlight: z.number().int().min(1).max(1024).optional(),
  })
  .superRefine((value, ctx) => {
    const method = value.authMethod ?? 'client_secret_basic';
    if (method === 'private_key_jwt') {
      if (value.privateKey === undefined)
        ctx.addIssue({ code: 'custom', path: ['privateKey'], message: 'is required for private_key_jwt' });
      if (value.clientSecret !== undefined)
        ctx.addIssue({ code: 'custom', path: ['clientSecret'], message: 'is not used with private_key_jwt' });
    } else {
      if (value.clientSecret === undefined)
        ctx.addIssue({ code: 'custom', path: ['clientSecret'], message: `is required for ${method}` });
      // Each would be accepted and do nothing: the request goes out with the client secret.
      for (const field of ['privateKey', 'privateKeyAlg', 'privateKeyKid', 'assertionAudience'] as const) {
        if (value[field] !== undefined)
          ctx.addIssue({ code: 'custom', path: [field], message: 'is only used with private_key_jwt' });
      }
    }
    // Named by the bound the caller set: a lone maxSec below the default minSec is what is wrong.
    const minSec = value.retry?.minSec ?? 1;
    const maxSec = value.retry?.maxSec ?? 30;
    if (minSec > maxSec) {
      ctx.addIssue(
        value.retry?.minSec !== undefined
          ? { code: 'custom', path: ['retry', 'minSec'], message: `is larger than retry.maxSec (${maxSec})` }
          : {
              code: 'custom',
              path: ['retry', 'maxSec'],
              message: `is smaller than retry.minSec (${minSec})`,
            },
      );
    }
  });

/** The bytes of a secret given as text (UTF-8) or bytes. */
function byteLengthOf(value: string | Uint8Array): number {
  return typeof value === 'string' ? Buffer.byteLength(value) : value.byteLength;
}

/** A shared secret (an issuer's HMAC key, the DPoP nonce key): text or bytes, at least 32 bytes. */
const secretSchema = z
  .union([z.string(), z.instanceof(Uint8Array)], {
    error: () => `must be a string or a Uint8Array of at least ${MIN_SECRET_BYTES} bytes`,
  })
  .refine((value) => byteLengthOf(value) >= MIN_SECRET_BYTES, `must be at least ${MIN_SECRET_BYTES} bytes`);

const issuerShape = {
  issuer: identifier('iss'),
  audience: z.union(
    [identifier('aud'), z.array(identifier('aud')).min(1, 'must list at least one audience'), z.null()],
    {
      error: (issue) =>
        issue.input === undefined
          ? 'is required (pass null to opt out of the audience check explicitly)'
          : 'must be a string, a non-empty list of strings, or null',
    },
  ),
  jwksUri: fetchedUrl.optional(),
  jwks: z.object({ keys: z.array(z.unknown()) }).optional(),
  secret: secretSchema.optional(),
  algorithms: z
    .array(
      z.enum(ALL_ALGORITHMS, { error: (issue) => `${String(issue.input)} is not a supported algorithm` }),
    )
    .min(1)
    .optional(),
  // Compared without `application/` (normaliseTyp): a bare prefix would accept only `typ: ""`.
  typ: z
    .array(nonEmpty.refine((value) => normaliseTyp(value) !== '', 'must name a type after "application/"'))
    .min(1)
    .optional(),
  allowMissingTyp: z.boolean().optional(),
  scopeClaims: z.array(nonEmpty).min(1).optional(),
  tenantClaim: nonEmpty.optional(),
  tenant: nonEmpty.optional(),
  tenants: z.array(z.string()).min(1, 'must list at least one tenant').optional(),
  resolveTenant: fn<TenantResolver>('tenant resolver').optional(),
  maxTenants: z.number().int().positive().optional(),
  tenantTtlSec: seconds.optional(),
  introspection: introspectionSchema.optional(),
};

const issuerSchema = z.strictObject(issuerShape).superRefine((value, ctx) => {
  for (const issue of checkIssuerTemplate(value)) ctx.addIssue({ code: 'custom', ...issue });
  // How long a resolver's answer is kept: with a fixed list there is no answer, and the option would
  // do nothing, silently.
  if (value.tenantTtlSec !== undefined && value.tenants !== undefined && value.resolveTenant === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['tenantTtlSec'],
      message: 'only applies with resolveTenant (how long its answer is trusted), not with a tenants list',
    });
  }
  const symmetric = value.algorithms?.filter((alg) => alg.startsWith('HS')) ?? [];
  if (value.secret !== undefined && (value.jwks !== undefined || value.jwksUri !== undefined)) {
    ctx.addIssue({ code: 'custom', path: ['secret'], message: 'cannot be combined with jwks or jwksUri' });
  }
  const pss = value.algorithms?.find((alg) => alg.startsWith('PS'));
  if (pss !== undefined && !pssHonoured()) {
    ctx.addIssue({
      code: 'custom',
      path: ['algorithms'],
      message: `${pss} cannot be verified on this runtime: its node:crypto does not apply RSA-PSS options`,
    });
  }
  if (symmetric.length > 0 && value.secret === undefined) {
    ctx.addIssue({ code: 'custom', path: ['algorithms'], message: 'HS* algorithms need an explicit secret' });
  }
  if (value.secret !== undefined && value.algorithms?.some((alg) => !alg.startsWith('HS'))) {
    ctx.addIssue({
      code: 'custom',
      path: ['algorithms'],
      message: 'with a secret, only HS256/HS384/HS512 apply',
    });
  }
  if (value.secret !== undefined) {
    const allowed = new Set(hmacAlgorithmsFor(value.secret));
    const tooLong = symmetric.find((alg) => !allowed.has(alg));
    if (tooLong !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['algorithms'],
        message: `${tooLong} needs a secret of at least ${Number(tooLong.slice(2)) / 8} bytes (RFC 7518 §3.2)`,
      });
    }
  }
  if (value.jwks !== undefined && value.jwksUri !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['jwks'], message: 'cannot be combined with jwksUri' });
  }
  // Keys found by discovery need an issuer that is a URL; otherwise every request would be a 503.
  const discovers =
    value.jwks === undefined &&
    value.jwksUri === undefined &&
    value.secret === undefined &&
    value.introspection?.endpoint === undefined;
  if (discovers && !(/^https?:\/\//i.test(value.issuer) && URL.canParse(value.issuer))) {
    ctx.addIssue({
      code: 'custom',
      path: ['issuer'],
      message: 'must be an http(s) URL to discover its keys (or set jwks, jwksUri or secret)',
    });
  } else if (discovers && hasCredentials(value.issuer)) {
    // The discovery URLs are built from it: undici would drop them without a word, fetch refuse.
    ctx.addIssue({
      code: 'custom',
      path: ['issuer'],
      message: 'must have no user name or password to discover its keys (they would not be sent)',
    });
  } else if (discovers && /[?#]/.test(value.issuer)) {
    // The discovery URLs drop them, and no conforming document can name such an issuer: every
    // request would be a 503.
    ctx.addIssue({
      code: 'custom',
      path: ['issuer'],
      message:
        'must have no query or fragment to discover its keys (RFC 8414 §2; or set jwks, jwksUri or secret)',
    });
  }
});

/**
 * RFC 9728 §2: a resource identifier is an https URL without fragment. Plain http only for this
 * machine (a local server, a test), where no one else can answer in its name.
 */
const resourceIdentifier = z.string().superRefine((value, ctx) => {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  const message =
    url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')
      ? 'must be an absolute https URL'
      : url.protocol === 'http:' && !isLoopbackHost(url.hostname)
        ? 'must be an https URL (http only for localhost and loopback addresses)'
        : value.includes('#')
          ? 'must have no fragment (RFC 9728 §2)'
          : url.username !== '' || url.password !== ''
            ? 'must have no user name or password'
            : !hasWellFormedEscapes(url)
              ? 'must have a path whose percent-escapes are well formed (%XX, UTF-8)'
              : (canonicalOriginIssue(value, url) ?? pathIssue(value, url));
  if (message !== undefined) ctx.addIssue({ code: 'custom', message });
});

/**
 * What a client would change in the identifier's path before using it: a `.` or `..` segment (an HTTP
 * client resolves them, RFC 3986 §5.2.4, so the metadata would be asked for elsewhere and its
 * `resource` would differ from the identifier the client used), or whitespace or a control character,
 * which no URI holds.
 */
function pathIssue(value: string, url: URL): string | undefined {
  if (/\s/u.test(value) || hasControlCharacter(value)) {
    return 'must contain no whitespace or control characters';
  }
  const path = value.slice(`${url.protocol}//${url.host}`.length).split('?', 1)[0] ?? '';
  return path.split('/').some((segment) => /^(?:\.|%2e){1,2}$/i.test(segment))
    ? "must have no '.' or '..' segment in its path: clients resolve them before asking (RFC 3986 §5.2.4)"
    : undefined;
}

/**
 * A client builds the metadata URL from the identifier it knows and requires the document's
 * `resource` to be identical to it (RFC 9728 §3.3), and clients know the canonical form: a scheme or
 * host in upper case, or a default port, would be served as written and refused by every client.
 */
function canonicalOriginIssue(value: string, url: URL): string | undefined {
  const origin = `${url.protocol}//${url.host}`;
  const next = value.charAt(origin.length);
  if (value.startsWith(origin) && (next === '' || next === '/' || next === '?')) return undefined;
  return `must be written in canonical form (here: ${url.href}): lower-case scheme and host (an IDN host in punycode), no default port; clients compare it exactly (RFC 9728 §3.3)`;
}

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** Whether every `%` of the path starts a well-formed escape (a router answers 400 to anything else). */
function hasWellFormedEscapes(url: URL): boolean {
  try {
    decodeURIComponent(url.pathname);
    return true;
  } catch {
    return false;
  }
}

const resourceMetadataSchema = z.strictObject({
  resource: resourceIdentifier,
  authorizationServers: z.array(httpUrl).min(1, 'must list at least one issuer').optional(),
  scopesSupported: z
    .array(z.string().refine(isScopeToken, 'must be a scope (no spaces, quotes or backslashes)'))
    .min(1, 'must list at least one scope')
    .optional(),
  bearerMethodsSupported: z
    .array(z.enum(['header', 'body', 'query'], { error: () => "must be 'header', 'body' or 'query'" }))
    .min(1, 'must list at least one method')
    .optional(),
  resourceName: nonEmpty.optional(),
  resourceDocumentation: httpUrl.optional(),
  resourcePolicyUri: httpUrl.optional(),
  resourceTosUri: httpUrl.optional(),
});

/** Most secrets `dpop.nonce.previousSecrets` lists: each is two more HMACs to compare per proof. */
const MAX_PREVIOUS_NONCE_SECRETS = 4;

// `true` is read as `{}` first, as `dpop` itself is, so a mistake inside is named.
const dpopNonceSchema = z.preprocess(
  (value) => (value === true ? {} : value),
  z.strictObject(
    {
      secret: secretSchema.optional(),
      previousSecrets: z
        .array(secretSchema, { error: () => 'must be a list of secrets' })
        .max(MAX_PREVIOUS_NONCE_SECRETS, `must list at most ${MAX_PREVIOUS_NONCE_SECRETS} secrets`)
        .optional(),
      lifetimeSec: z.number().int().min(10).max(3600).optional(),
    },
    { error: () => 'must be true or an object of DPoP nonce settings' },
  ),
);

const replayStoreSchema = z.custom<DpopReplayStore>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { markUsed?: unknown }).markUsed === 'function',
  'must be an object with a markUsed(key, expiresAtMs) function',
);

// `true` is read as `{}` first: a union of the two would report any mistake inside the object as
// "Invalid input" of `dpop`, hiding which setting is wrong.
const dpopSchema = z.preprocess(
  (value) => (value === true ? {} : value),
  z.strictObject(
    {
      algorithms: z
        .array(
          z.enum(ASYMMETRIC_ALGORITHMS, {
            error: (issue) => `${String(issue.input)} is not an asymmetric algorithm tokenguard verifies`,
          }),
        )
        .min(1, 'must list at least one algorithm')
        .optional(),
      maxProofAgeSec: z.number().int().min(1).max(3600).optional(),
      required: z.boolean().optional(),
      origin: httpUrl
        .refine((value) => {
          // zod runs this even when httpUrl failed: a value that is no URL at all (no scheme, an empty
          // string) is that failure's to report, not a bare "Invalid URL" of `new URL`.
          if (!URL.canParse(value)) return true;
          const url = new URL(value);
          return `${url.protocol}//${url.host}` === value;
        }, 'must be an origin in canonical form: scheme and host (and a port that is not the default), lower case, no path or trailing slash')
        .optional(),
      replayCacheMaxEntries: z.number().int().min(1).max(100_000_000).optional(),
      replayStore: replayStoreSchema.optional(),
      replayStoreTimeoutMs: z.number().int().min(10).max(30_000).optional(),
      nonce: dpopNonceSchema.optional(),
    },
    { error: () => 'must be true or an object of DPoP settings' },
  ),
);

/**
 * The challenges' `realm`: sent as a quoted string, which holds printable ASCII only (RFC 9110 §5.6.4;
 * `"` and `\` are escaped). Anything else (a newline read from a file, a non-ASCII letter) would be
 * replaced in every challenge, and an empty realm left out of it: refused here instead.
 */
const challengeRealm = z
  .string()
  .min(1, 'must not be empty (leave it out for no realm)')
  .regex(
    /^[\x20-\x7e]*$/,
    'must be printable ASCII, without control characters or non-ASCII letters (a WWW-Authenticate challenge cannot carry them as written)',
  );

const TOKEN_CACHE_ENTRIES = 'must be a whole number of entries above 0 (or set tokenCache: false)';

const commonShape = {
  issuers: z.array(z.unknown()).min(1).optional(),
  opaqueTokenIssuer: nonEmpty.optional(),
  clockToleranceSec: seconds.max(600).optional(),
  maxTokenAgeSec: seconds.optional(),
  requiredClaims: z.array(nonEmpty).optional(),
  acceptBoundTokens: z.boolean().optional(),
  validateClaims: fn<ClaimsValidator>('claims validator').optional(),
  maxTokenLength: z.number().int().min(64).max(1_048_576).optional(),
  maxTokenJsonDepth: z.number().int().min(2).max(1000).optional(),
  verifyOffThread: z.boolean().optional(),
  dpop: dpopSchema.optional(),
  mtls: z.boolean().optional(),
  now: fn<() => number>('clock').optional(),
  realm: challengeRealm.optional(),
  resourceMetadata: resourceMetadataSchema.optional(),
  http: z
    .strictObject({
      fetch: fn<typeof globalThis.fetch>('fetch').optional(),
      timeoutMs: timerMs.optional(),
      connectTimeoutMs: timerMs.optional(),
      headersTimeoutMs: timerMs.optional(),
      bodyTimeoutMs: timerMs.optional(),
    })
    .optional(),
  keySet: z
    .strictObject({
      defaultMaxAgeSec: seconds.optional(),
      minMaxAgeSec: seconds.optional(),
      maxMaxAgeSec: seconds.optional(),
      refreshAheadSec: seconds.optional(),
      unknownKidCooldownSec: seconds.optional(),
      staleIfErrorSec: seconds.optional(),
      // 0 would retry a failing issuer on every request.
      retryMinSec: seconds.positive().optional(),
      retryMaxSec: seconds.optional(),
      maxResponseBytes: z.number().int().positive().optional(),
      maxKeys: z.number().int().positive().optional(),
      // {keys:[{x5c:[...]}]} nests 4 deep: a lower limit would refuse ordinary key sets.
      maxJsonDepth: z.number().int().min(4).max(64).optional(),
    })
    .optional(),
  tokenCache: z
    .union(
      [
        z.literal(false),
        z.strictObject({
          maxEntries: z
            .number({ error: () => TOKEN_CACHE_ENTRIES })
            .int(TOKEN_CACHE_ENTRIES)
            .positive(TOKEN_CACHE_ENTRIES)
            .optional(),
        }),
      ],
      { error: () => 'must be false (no cache) or an object { maxEntries }' },
    )
    .optional(),
  onEvent: fn<(event: KeySetEvent) => void>('event listener').optional(),
};

/** An issuer after defaults. */
export interface ResolvedIssuerOptions {
  issuer: string;
  audience: readonly string[] | null;
  jwksUri: string | undefined;
  jwks: { keys: readonly unknown[] } | undefined;
  /** Wrapped so that logging `validator.options` never prints it. */
  secret: Redacted<string | Uint8Array> | undefined;
  algorithms: ReadonlySet<Algorithm>;
  /** Normalised: lower case, without `application/`. */
  typ: ReadonlySet<string>;
  allowMissingTyp: boolean;
  scopeClaims: readonly string[];
  tenantClaim: string | undefined;
  tenant: string | undefined;
  /** Set when `issuer` contains `{tenant}`. */
  template: ResolvedIssuerTemplate | undefined;
  introspection: ResolvedIntrospectionOptions | undefined;
}

/** Introspection options after defaults; credentials are wrapped so they never print. */
export interface ResolvedIntrospectionOptions {
  endpoint: string | undefined;
  clientId: string;
  authMethod: IntrospectionAuthMethod;
  clientSecret: Redacted<string> | undefined;
  /** The imported private key and assertion header, for `private_key_jwt`. */
  clientKey: ClientKey | undefined;
  assertionAudience: string | undefined;
  tokenTypeHint: string | undefined;
  cache: { maxEntries: number; maxTtlSec: number; inactiveTtlSec: number };
  jwt: 'always' | 'never';
  signedResponse: boolean;
  retry: { minSec: number; maxSec: number };
  maxResponseBytes: number;
  maxJsonDepth: number;
  maxInFlight: number;
}

/**
 * Defaults of the introspection answer cache: a short max age, as revocation waits for it.
 *
 * @example
 * ```ts
 * createValidator({
 *   issuer,
 *   audience,
 *   introspection: { clientId, clientSecret, cache: { ...DEFAULT_INTROSPECTION_CACHE, maxTtlSec: 15 } },
 * });
 * ```
 */
export const DEFAULT_INTROSPECTION_CACHE = { maxEntries: 10_000, maxTtlSec: 60, inactiveTtlSec: 5 } as const;

/**
 * The `dpop` option (RFC 9449).
 *
 * @example
 * ```ts
 * createValidator({ issuer, audience, dpop: { required: true, origin: 'https://api.example.com' } });
 * ```
 */
export interface DpopOptions {
  /**
   * JWS algorithms a proof may use (asymmetric only). Default: the tokens' default, every asymmetric
   * algorithm but `Ed25519` (opt-in; `EdDSA` covers the same keys), PS* only where they verify.
   */
  algorithms?: readonly Algorithm[];
  /**
   * How old a proof's `iat` may be, in seconds (plus `clockToleranceSec` either way). Default 60. A proof
   * is accepted once: its `jti` is remembered this long.
   */
  maxProofAgeSec?: number;
  /** Accept only DPoP: a `Bearer` authorization is then another scheme (401). Default `false`. */
  required?: boolean;
  /**
   * The origin clients address this API by (`https://api.example.com`), which each proof's `htu` must
   * name. Default: the request's own, as the adapter sees it (scheme and `Host`); set it behind a proxy
   * that changes either.
   */
  origin?: string;
  /**
   * Most proof identifiers remembered against replay (least recently seen dropped first). Default
   * 100,000: it should cover the DPoP requests of a proof's lifetime, `maxProofAgeSec` plus
   * `clockToleranceSec` (about 1,500 per second with the defaults).
   */
  replayCacheMaxEntries?: number;
  /**
   * A store of spent proofs that every instance of the API shares (Redis, Memcached, a database), so
   * that a proof replayed to another instance is refused there too. Consulted after this validator's
   * own replay cache, once the proof and its token passed. A store that fails or does not answer within
   * `replayStoreTimeoutMs` makes the request a 503 `ERR_DPOP_REPLAY_UNAVAILABLE` (with `Retry-After`):
   * the proof is not accepted without knowing it is new. Default: none (each validator's memory only).
   */
  replayStore?: DpopReplayStore;
  /** How long a `replayStore` answer may take, in milliseconds (10-30,000). Default 1000. */
  replayStoreTimeoutMs?: number;
  /**
   * Server nonces (RFC 9449 §9): each proof must carry a `nonce` this API gave out, else 401
   * `use_dpop_nonce` with the nonce to use in a `DPoP-Nonce` header. `true` for the defaults. A nonce
   * is good from one to two `lifetimeSec` (default 300, 10-3600), and on every instance with the same
   * `secret` (text or bytes, at least 32 bytes); without one, each validator makes 32 random bytes,
   * so its nonces are good on this process only. `previousSecrets` (at most 4, each at least 32 bytes)
   * are secrets whose nonces are still accepted but no longer handed out: rotate a secret without a
   * 401 by deploying `{ secret: old, previousSecrets: [next] }` to every instance, then
   * `{ secret: next, previousSecrets: [old] }`, then `{ secret: next }` (each step once the previous
   * one is everywhere, the last after two lifetimes). Off by default.
   */
  nonce?:
    | true
    | {
        secret?: string | Uint8Array;
        previousSecrets?: readonly (string | Uint8Array)[];
        lifetimeSec?: number;
      };
}

/**
 * A store of spent DPoP proofs shared by the instances of an API (`dpop.replayStore`, RFC 9449 §11.1).
 *
 * @example
 * ```ts
 * // node-redis 4: SET with NX answers 'OK' only when the key was not there; PXAT expires it then.
 * const replayStore: DpopReplayStore = {
 *   async markUsed(key, expiresAtMs) {
 *     return (await redis.set(`dpop:${key}`, '1', { NX: true, PXAT: expiresAtMs })) === 'OK';
 *   },
 * };
 * createValidator({ issuer, audience, dpop: { origin: 'https://api.example.com', replayStore } });
 * ```
 */
export interface DpopReplayStore {
  /**
   * Records `key` (a proof: 43 characters of base64url, the SHA-256 of its key's thumbprint and its
   * `jti`) as used until `expiresAtMs` (a whole number of milliseconds since the epoch, by the
   * validator's clock: when the proof stops being acceptable, plus `clockToleranceSec` and
   * `replayStoreTimeoutMs`), atomically:
   * `true` when this call recorded it, `false` when it was already there (a replay). Anything else is
   * the server's error (500); a throw, a rejection or no answer in time, a 503. Called as a method of
   * the store, the function it had when the validator was created. Several APIs sharing one store
   * should prefix their keys.
   */
  markUsed(key: string, expiresAtMs: number): boolean | Promise<boolean>;
}

/** The `dpop.nonce` option after validation and defaults. */
export interface ResolvedDpopNonceOptions {
  /** The secret's bytes (text as UTF-8), hidden from logs; `undefined`: the validator makes one. */
  readonly secret: Redacted<Uint8Array> | undefined;
  /** Secrets whose nonces are still accepted, not handed out (bytes, hidden from logs); empty by default. */
  readonly previousSecrets: readonly Redacted<Uint8Array>[];
  readonly lifetimeSec: number;
}

/** The `dpop` option after validation and defaults. */
export interface ResolvedDpopOptions {
  readonly algorithms: readonly Algorithm[];
  readonly maxProofAgeSec: number;
  readonly required: boolean;
  readonly origin: string | undefined;
  readonly replayCacheMaxEntries: number;
  /** The shared store of spent proofs; `undefined` when only this validator's memory is. */
  readonly replayStore?: DpopReplayStore | undefined;
  readonly replayStoreTimeoutMs: number;
  /** The `dpop.nonce` option with its defaults; `undefined` (or absent) when proofs need no nonce. */
  readonly nonce?: ResolvedDpopNonceOptions | undefined;
}

/** All options after validation and defaults. */
export interface ResolvedValidatorOptions {
  issuers: readonly ResolvedIssuerOptions[];
  /** The issuer whose introspection receives opaque tokens, if any. */
  opaqueTokenIssuer: string | undefined;
  clockToleranceSec: number;
  maxTokenAgeSec: number | undefined;
  requiredClaims: readonly string[];
  acceptBoundTokens: boolean;
  validateClaims: ClaimsValidator | undefined;
  maxTokenLength: number;
  maxTokenJsonDepth: number;
  verifyOffThread: boolean;
  /** The `dpop` option with its defaults; `undefined` when DPoP is not accepted. */
  dpop: ResolvedDpopOptions | undefined;
  /** Tokens bound to a TLS client certificate are checked against the request's (`mtls`). */
  mtls: boolean;
  now: () => number;
  realm: string | undefined;
  /** Set with the `resourceMetadata` option: what is served, and the challenges' `resource_metadata`. */
  resourceMetadata: ProtectedResourceMetadata | undefined;
  http: {
    fetch: typeof globalThis.fetch | undefined;
    timeoutMs: number;
    connectTimeoutMs: number;
    headersTimeoutMs: number;
    bodyTimeoutMs: number;
  };
  keySet: KeySetPolicy;
  tokenCacheMaxEntries: number;
  onEvent: ((event: KeySetEvent) => void) | undefined;
}

/** Normalises a `typ` value for comparison (RFC 7515 §4.1.9: `application/` may be omitted). */
export function normaliseTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

/**
 * {@link DEFAULT_ALGORITHMS}, without PS256/384/512 where the runtime cannot verify them
 * ({@link pssHonoured}: Cloudflare's workerd), so such tokens get a precise `ERR_ALGORITHM_NOT_ALLOWED`.
 */
function defaultAlgorithms(): readonly Algorithm[] {
  return pssHonoured() ? DEFAULT_ALGORITHMS : DEFAULT_ALGORITHMS.filter((alg) => !alg.startsWith('PS'));
}

/**
 * The HS algorithms a secret is long enough for (RFC 7518 §3.2: at least the hash output size), so a
 * 32-byte secret defaults to HS256 only.
 */
function hmacAlgorithmsFor(secret: string | Uint8Array): Algorithm[] {
  const bytes = byteLengthOf(secret);
  const algorithms: Algorithm[] = ['HS256'];
  if (bytes >= 48) algorithms.push('HS384');
  if (bytes >= 64) algorithms.push('HS512');
  return algorithms;
}

const frozenOptions = (): TypeError =>
  new TypeError('tokenguard: validator.options is read-only (create another validator to change it)');

/** The `dpop` option with its defaults, frozen; PS256/384/512 left out where they cannot be verified. */
/**
 * The default `dpop.algorithms`: the tokens' default less ES512. A proof's key is the client's
 * choice and is imported and checked before the token is read, so its cost is the attacker's: a
 * P-521 key costs milliseconds (~1.2 ms to import and ~1.8 ms to verify on Node 20's OpenSSL, against
 * ~0.07 ms each for P-256), which would let requests with no token keep the event loop busy; RSA
 * proof keys are bounded at 4096 bits for the same reason. ES512 stays available by listing it.
 */
function defaultProofAlgorithms(): Algorithm[] {
  return defaultAlgorithms().filter((alg) => alg !== 'ES512');
}

function resolveDpop(dpop: true | DpopOptions | undefined): ResolvedDpopOptions | undefined {
  if (dpop === undefined) return undefined;
  const given = dpop === true ? {} : dpop;
  const pss = given.algorithms?.find((alg) => alg.startsWith('PS'));
  if (pss !== undefined && !pssHonoured()) {
    throw new TypeError(
      `tokenguard: invalid option "dpop.algorithms": ${pss} cannot be verified on this runtime: its node:crypto does not apply RSA-PSS options`,
    );
  }
  if (given.replayStoreTimeoutMs !== undefined && given.replayStore === undefined) {
    throw new TypeError(
      'tokenguard: invalid option "dpop.replayStoreTimeoutMs": needs "dpop.replayStore", the store it bounds',
    );
  }
  return Object.freeze({
    algorithms: frozenList(given.algorithms ?? defaultProofAlgorithms()),
    maxProofAgeSec: given.maxProofAgeSec ?? 60,
    required: given.required ?? false,
    origin: given.origin,
    replayCacheMaxEntries: given.replayCacheMaxEntries ?? 100_000,
    replayStore: given.replayStore,
    replayStoreTimeoutMs: given.replayStoreTimeoutMs ?? 1000,
    nonce: resolveDpopNonce(given.nonce),
  });
}

/**
 * A copy of a secret's bytes in memory of its own: `Buffer.from` of a short value takes a slice of
 * Node's shared pool, whose other users' `.buffer` would reach it.
 */
function ownBytes(secret: string | Uint8Array): Uint8Array {
  const bytes = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  // Buffer.alloc, unlike Buffer.from and allocUnsafe, never hands out a slice of the pool.
  const copy = Buffer.alloc(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

/** The `dpop.nonce` option with its defaults, frozen; the secret copied, so a caller's bytes changed later do not change it. */
function resolveDpopNonce(nonce: DpopOptions['nonce']): ResolvedDpopNonceOptions | undefined {
  if (nonce === undefined) return undefined;
  const given = nonce === true ? {} : nonce;
  const secret = given.secret;
  // Named but unset (an environment variable missing on one instance): a secret of this process alone
  // would refuse every other instance's nonces. Left out, or `nonce: true`, asks for that.
  if (secret === undefined && Object.hasOwn(given, 'secret')) {
    throw new TypeError(
      'tokenguard: invalid option "dpop.nonce.secret": is undefined (an unset environment variable?); leave it out, or set nonce: true, for a secret of this validator alone',
    );
  }
  const previousSecrets = given.previousSecrets ?? [];
  // Accepting another secret's nonces while handing out those of a secret made here would have no
  // other instance to agree with: the secrets that are still good belong with the one that is.
  if (secret === undefined && previousSecrets.length > 0) {
    throw new TypeError(
      'tokenguard: invalid option "dpop.nonce.previousSecrets": needs "dpop.nonce.secret", the secret whose nonces are handed out',
    );
  }
  return Object.freeze({
    secret: secret === undefined ? undefined : new Redacted<Uint8Array>(ownBytes(secret)),
    previousSecrets: frozenList(previousSecrets.map((value) => new Redacted<Uint8Array>(ownBytes(value)))),
    lifetimeSec: given.lifetimeSec ?? 300,
  });
}

/** A frozen copy of a list, for the resolved options. */
/**
 * The scope claims, as {@link DEFAULT_SCOPE_CLAIMS} itself when they are the default (given or not):
 * `readScopes` reads that list's claims by name, without a loop, when it gets that very array.
 */
function scopeClaimsOf(names: readonly string[] | undefined): readonly string[] {
  if (names === undefined) return DEFAULT_SCOPE_CLAIMS;
  const isDefault =
    names.length === DEFAULT_SCOPE_CLAIMS.length &&
    names.every((name, i) => name === DEFAULT_SCOPE_CLAIMS[i]);
  return isDefault ? DEFAULT_SCOPE_CLAIMS : frozenList(names);
}

function frozenList<T>(values: readonly T[]): readonly T[] {
  return Object.freeze([...values]);
}

/** The template with its trusted tenants in a set that cannot change, frozen. */
function frozenTemplate(template: ResolvedIssuerTemplate | undefined): ResolvedIssuerTemplate | undefined {
  if (template === undefined) return undefined;
  const tenants =
    template.tenants === undefined ? undefined : new ReadOnlySet(template.tenants, frozenOptions);
  return Object.freeze({ ...template, tenants });
}

/**
 * The issue to report for `issue`, with its path from the options' root. A union (`tokenCache: false |
 * { maxEntries }`) whose input has the shape of one of its options (an object) failed inside that
 * option: that failure is named (`tokenCache.maxEntries`), not the union's own message; an input that
 * fits no option at all (`tokenCache: true`) gets the union's message.
 */
function innermost(issue: z.core.$ZodIssue, path: readonly PropertyKey[]): [z.core.$ZodIssue, PropertyKey[]] {
  const here = [...path, ...issue.path];
  if (issue.code !== 'invalid_union') return [issue, here];
  // An option the input had the shape of: none of its issues at its root but an unknown key.
  const shaped = issue.errors.filter(
    (issues) =>
      issues.length > 0 &&
      issues.every((inner) => inner.path.length > 0 || inner.code === 'unrecognized_keys'),
  );
  const first = shaped.length === 1 ? shaped[0]?.[0] : undefined;
  return first === undefined ? [issue, here] : innermost(first, here);
}

function fail(prefix: string, error: z.ZodError): never {
  const [issue, issuePath] = error.issues[0] === undefined ? [undefined, []] : innermost(error.issues[0], []);
  // An unknown key (a typo such as `audiance`) is named itself, with its path, not its parent object.
  const unknown = issue?.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
  const parts = [prefix, ...issuePath.map(String), ...(unknown === undefined ? [] : [unknown])];
  const path = parts.filter((part) => part !== '').join('.');
  const message = unknown === undefined ? (issue?.message ?? 'invalid') : 'is not a known option';
  throw new TypeError(`tokenguard: invalid option "${path || 'options'}": ${message}`);
}

function resolveIssuer(input: unknown, prefix: string): ResolvedIssuerOptions {
  const parsed = issuerSchema.safeParse(input);
  if (!parsed.success) fail(prefix, parsed.error);
  const value = parsed.data;
  const algorithms =
    value.algorithms ?? (value.secret !== undefined ? hmacAlgorithmsFor(value.secret) : defaultAlgorithms());
  // Frozen all the way down (lists, sets, objects): see ReadOnlySet.
  return Object.freeze({
    issuer: value.issuer,
    audience:
      value.audience === null
        ? null
        : frozenList(typeof value.audience === 'string' ? [value.audience] : value.audience),
    jwksUri: value.jwksUri,
    jwks: value.jwks === undefined ? undefined : Object.freeze({ keys: frozenList(value.jwks.keys) }),
    secret: value.secret === undefined ? undefined : new Redacted(value.secret),
    algorithms: new ReadOnlySet(algorithms, frozenOptions),
    typ: new ReadOnlySet((value.typ ?? ['at+jwt']).map(normaliseTyp), frozenOptions),
    allowMissingTyp: value.allowMissingTyp ?? false,
    scopeClaims: scopeClaimsOf(value.scopeClaims),
    tenantClaim: value.tenantClaim,
    tenant: value.tenant,
    template: frozenTemplate(resolveIssuerTemplate(value)),
    introspection:
      value.introspection === undefined ? undefined : resolveIntrospection(value.introspection, prefix),
  });
}

function resolveIntrospection(
  value: z.infer<typeof introspectionSchema>,
  prefix: string,
): ResolvedIntrospectionOptions {
  const authMethod = value.authMethod ?? 'client_secret_basic';
  let clientKey: ClientKey | undefined;
  if (authMethod === 'private_key_jwt' && value.privateKey !== undefined) {
    try {
      clientKey = importClientKey(value.privateKey, value.privateKeyAlg, value.privateKeyKid);
    } catch (error) {
      const path = [prefix, 'introspection.privateKey'].filter((part) => part !== '').join('.');
      throw new TypeError(`tokenguard: invalid option "${path}": ${(error as Error).message}`);
    }
  }
  return Object.freeze({
    endpoint: value.endpoint,
    clientId: value.clientId,
    authMethod,
    clientSecret: value.clientSecret === undefined ? undefined : new Redacted(value.clientSecret),
    clientKey: clientKey === undefined ? undefined : Object.freeze({ ...clientKey }),
    assertionAudience: value.assertionAudience,
    tokenTypeHint: value.tokenTypeHint,
    cache: Object.freeze({
      maxEntries: value.cache?.maxEntries ?? DEFAULT_INTROSPECTION_CACHE.maxEntries,
      maxTtlSec: value.cache?.maxTtlSec ?? DEFAULT_INTROSPECTION_CACHE.maxTtlSec,
      inactiveTtlSec: value.cache?.inactiveTtlSec ?? DEFAULT_INTROSPECTION_CACHE.inactiveTtlSec,
    }),
    jwt: value.jwt ?? 'never',
    signedResponse: value.signedResponse ?? false,
    retry: Object.freeze({ minSec: value.retry?.minSec ?? 1, maxSec: value.retry?.maxSec ?? 30 }),
    maxResponseBytes: value.maxResponseBytes ?? 64 * 1024,
    maxJsonDepth: value.maxJsonDepth ?? 16,
    maxInFlight: value.maxInFlight ?? 64,
  });
}

/**
 * RFC 9728 `authorization_servers` when not given: the issuers named exactly by a URL. A `{tenant}`
 * template names no single authorization server, and a bare name (`my-app` with a secret) none.
 */
/**
 * The `now` option, held to answering a finite number: every time check compares with it, and with
 * NaN each comparison is false, so an expired token would pass and a cache entry never end. A clock
 * that answers anything else throws, and the request fails closed (500 `ERR_INTERNAL`).
 */
function checkedClock(now: () => number): () => number {
  return () => {
    const ms = now();
    if (typeof ms !== 'number' || !Number.isFinite(ms)) {
      throw new TypeError(
        `tokenguard: the "now" option answered ${String(ms)}, not milliseconds since the epoch`,
      );
    }
    return ms;
  };
}

function defaultAuthorizationServers(issuers: readonly ResolvedIssuerOptions[]): string[] {
  return issuers
    .filter(
      (entry) =>
        entry.template === undefined && /^https?:\/\//i.test(entry.issuer) && URL.canParse(entry.issuer),
    )
    .map((entry) => entry.issuer);
}

/** Which issuer's introspection receives opaque tokens (they carry no `iss` to choose by). */
function resolveOpaqueTokenIssuer(
  issuers: readonly ResolvedIssuerOptions[],
  explicit: string | undefined,
): string | undefined {
  // A template (`{tenant}`) cannot receive opaque tokens: nothing in them names the tenant.
  const candidates = issuers
    .filter((entry) => entry.introspection !== undefined && entry.template === undefined)
    .map((entry) => entry.issuer);
  if (explicit !== undefined) {
    if (!candidates.includes(explicit)) {
      throw new TypeError(
        'tokenguard: invalid option "opaqueTokenIssuer": must name an issuer (not a template) that configures introspection',
      );
    }
    return explicit;
  }
  if (candidates.length > 1) {
    throw new TypeError(
      'tokenguard: invalid option "opaqueTokenIssuer": is required when several issuers configure introspection (an opaque token cannot name its issuer)',
    );
  }
  return candidates[0];
}

/**
 * The key set fields that must agree with one another, each error naming a field the caller set (a
 * lone `maxMaxAgeSec: 30` is what is wrong, not the default `minMaxAgeSec` it falls below). A
 * `defaultMaxAgeSec` set outside the max age bounds would be clamped, so it would not be the max age
 * it says: refused. The bounds alone may move the default (`maxMaxAgeSec: 300` keeps every set at
 * most 300 s, without caching headers too).
 */
function checkKeySetBounds(policy: KeySetPolicy, given: Partial<Record<keyof KeySetPolicy, unknown>>): void {
  const set = (name: keyof KeySetPolicy) => given[name] !== undefined;
  const ordered = (low: 'minMaxAgeSec' | 'retryMinSec', high: 'maxMaxAgeSec' | 'retryMaxSec'): void => {
    if (policy[low] <= policy[high]) return;
    const message = set(low)
      ? `"keySet.${low}": is larger than keySet.${high} (${policy[high]})`
      : `"keySet.${high}": is smaller than keySet.${low} (${policy[low]})`;
    throw new TypeError(`tokenguard: invalid option ${message}`);
  };
  ordered('minMaxAgeSec', 'maxMaxAgeSec');
  ordered('retryMinSec', 'retryMaxSec');
  if (!set('defaultMaxAgeSec')) return;
  const { defaultMaxAgeSec, minMaxAgeSec, maxMaxAgeSec } = policy;
  const bound =
    defaultMaxAgeSec < minMaxAgeSec
      ? `is below keySet.minMaxAgeSec (${minMaxAgeSec})`
      : defaultMaxAgeSec > maxMaxAgeSec
        ? `is above keySet.maxMaxAgeSec (${maxMaxAgeSec})`
        : undefined;
  if (bound !== undefined) {
    throw new TypeError(
      `tokenguard: invalid option "keySet.defaultMaxAgeSec": ${bound}, so it would be clamped; move that bound too`,
    );
  }
}

/**
 * Validates options and applies defaults. Throws a `TypeError` naming the first bad option.
 */
export function resolveOptions(options: ValidatorOptions): ResolvedValidatorOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError('tokenguard: options must be an object');
  }
  const issuerKeys = Object.keys(issuerShape) as (keyof IssuerOptions)[];
  // fromEntries defines own properties: a `__proto__` key (JSON.parse makes one) stays a key,
  // reported as unknown, instead of becoming the prototype.
  const entries = Object.entries(options);
  const common: Record<string, unknown> = Object.fromEntries(
    entries.filter(([key]) => !(issuerKeys as string[]).includes(key)),
  );
  const single: Record<string, unknown> = Object.fromEntries(
    entries.filter(([key]) => (issuerKeys as string[]).includes(key)),
  );
  const parsed = z.strictObject(commonShape).safeParse(common);
  if (!parsed.success) fail('', parsed.error);
  const value = parsed.data;
  if (value.mtls === true && value.acceptBoundTokens === true) {
    throw new TypeError(
      'tokenguard: invalid option "acceptBoundTokens": it would accept certificate-bound tokens without the certificate "mtls" checks; set one or the other',
    );
  }

  let issuers: ResolvedIssuerOptions[];
  if (value.issuers !== undefined) {
    // A key set to undefined is absent, as everywhere else (`issuer: process.env.ISSUER`).
    const beside = Object.keys(single).find((key) => single[key] !== undefined);
    if (beside !== undefined) {
      throw new TypeError(
        `tokenguard: invalid option "${beside}": set it inside each entry of "issuers", not beside it`,
      );
    }
    issuers = value.issuers.map((entry, index) => resolveIssuer(entry, `issuers.${index}`));
    const seen = new Set<string>();
    for (const [index, entry] of issuers.entries()) {
      if (seen.has(entry.issuer)) {
        throw new TypeError(
          `tokenguard: invalid option "issuers.${index}.issuer": ${entry.issuer} is listed twice`,
        );
      }
      seen.add(entry.issuer);
    }
  } else {
    if (single.issuer === undefined) {
      throw new TypeError(
        'tokenguard: invalid option "issuer": is required (or list trusted issuers in "issuers")',
      );
    }
    issuers = [resolveIssuer(single, '')];
  }

  const keySet: KeySetPolicy = { ...DEFAULT_KEY_SET_POLICY };
  for (const [key, setting] of Object.entries(value.keySet ?? {})) {
    if (setting !== undefined) (keySet as unknown as Record<string, number>)[key] = setting;
  }
  checkKeySetBounds(keySet, value.keySet ?? {});
  const dpop = resolveDpop(value.dpop);
  // Frozen all the way down: `validator.options` is this object (see ReadOnlySet).
  return Object.freeze({
    issuers: frozenList(issuers),
    opaqueTokenIssuer: resolveOpaqueTokenIssuer(issuers, value.opaqueTokenIssuer),
    clockToleranceSec: value.clockToleranceSec ?? 5,
    maxTokenAgeSec: value.maxTokenAgeSec,
    requiredClaims: frozenList(value.requiredClaims ?? []),
    acceptBoundTokens: value.acceptBoundTokens ?? false,
    validateClaims: value.validateClaims,
    maxTokenLength: value.maxTokenLength ?? 8192,
    maxTokenJsonDepth: value.maxTokenJsonDepth ?? 32,
    verifyOffThread: value.verifyOffThread ?? false,
    dpop,
    mtls: value.mtls ?? false,
    now: value.now === undefined ? Date.now : checkedClock(value.now),
    realm: value.realm,
    resourceMetadata:
      value.resourceMetadata === undefined
        ? undefined
        : buildProtectedResourceMetadata(
            value.resourceMetadata,
            defaultAuthorizationServers(issuers),
            dpop,
            value.mtls,
          ),
    http: Object.freeze({
      fetch: value.http?.fetch,
      timeoutMs: value.http?.timeoutMs ?? 5000,
      connectTimeoutMs: value.http?.connectTimeoutMs ?? 2000,
      headersTimeoutMs: value.http?.headersTimeoutMs ?? 3000,
      bodyTimeoutMs: value.http?.bodyTimeoutMs ?? 3000,
    }),
    keySet: Object.freeze(keySet),
    tokenCacheMaxEntries: value.tokenCache === false ? 0 : (value.tokenCache?.maxEntries ?? 10_000),
    onEvent: value.onEvent,
  });
}

export type { AuthInfo };
