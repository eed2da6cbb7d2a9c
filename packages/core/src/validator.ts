import { LRUCache } from 'lru-cache';
import { type AuthInfo, createAuthInfo, readClientId } from './auth-info.js';
import { parseAuthorizationValue } from './bearer.js';
import { checkClaims, runClaimsValidator } from './claims.js';
import { createMetadataLoader, fetchIssuerMetadata, type IssuerMetadata } from './discovery.js';
import { TokenGuardError } from './errors.js';
import {
  createIntrospectionClient,
  type IntrospectionClient,
  type IntrospectionState,
} from './introspection.js';
import {
  findKeys,
  type KeySetEvent,
  type KeySetState,
  type KeySource,
  RemoteKeySource,
  StaticKeySource,
} from './jwks.js';
import { decodeCompactJws, looksLikeCompactJws, verifyWithAny } from './jws.js';
import { importPublicJwk, importSecret, type VerificationKey } from './keys.js';
import type { Algorithm } from './lib/algorithms.js';
import { createHttpClient, type HttpClient } from './lib/http.js';
import { safeName } from './lib/safe-name.js';
import {
  normaliseTyp,
  type ResolvedIssuerOptions,
  type ResolvedValidatorOptions,
  resolveOptions,
  type ValidatorOptions,
} from './options.js';
import { assertRequirements, checkRequirements, type Requirements } from './requirements.js';
import { readScopes } from './scopes.js';
import { createIssuerRegistry, readTokenTenant } from './tenants.js';

/**
 * The state of a validator's issuers and key sets, for health checks and metrics.
 *
 * @example
 * ```ts
 * const { issuers, tokenCache } = validator.state();
 * const healthy = issuers.every((entry) => entry.keySet.status !== 'expired');
 * ```
 */
export interface ValidatorState {
  issuers: { issuer: string; keySet: KeySetState; introspection?: IntrospectionState }[];
  tokenCache: { entries: number; maxEntries: number };
}

/**
 * A configured access-token validator. Create one per API with {@link createValidator} and share it.
 *
 * @example
 * ```ts
 * const auth = await validator.validate(req.headers.authorization, { scopes: ['orders:read'] });
 * ```
 */
export interface Validator {
  /**
   * Validates a token, or a raw `Authorization` header value (`Bearer ...`), and applies the
   * route's requirements. Resolves to the caller's {@link AuthInfo}; rejects with a
   * {@link TokenGuardError} (never with the token in it).
   */
  validate(tokenOrHeader: string | undefined | null, requirements?: Requirements): Promise<AuthInfo>;
  /** Applies requirements to an already verified token (what route guards call). */
  check(auth: AuthInfo, requirements: Requirements): void;
  /** Fetches discovery documents and key sets now, so the first request does not wait. */
  warm(): Promise<void>;
  /** Refetches every remote key set now (e.g. on a signal that the issuer rotated keys). */
  refreshKeys(): Promise<void>;
  /** Key set and cache state. */
  state(): ValidatorState;
  /** Subscribes to key set events; returns the unsubscribe function. */
  on(listener: (event: KeySetEvent) => void): () => void;
  /** The challenge realm, if configured. */
  readonly realm: string | undefined;
  /** The resolved options (frozen), for adapters and diagnostics. */
  readonly options: ResolvedValidatorOptions;
  /** Closes the HTTP connection pool. */
  close(): Promise<void>;
}

interface IssuerContext {
  readonly config: ResolvedIssuerOptions;
  readonly keys: KeySource;
  readonly metadata: () => Promise<IssuerMetadata>;
  readonly introspection: IntrospectionClient | undefined;
}

interface CacheEntry {
  readonly auth: AuthInfo;
  /** After this instant (ms) the cached answer is no longer valid. */
  readonly notAfterMs: number;
}

/** Room for `Bearer` and surrounding whitespace in an Authorization value, beyond `maxTokenLength`. */
const AUTHORIZATION_OVERHEAD = 256;
const BEARER_PREFIX = /^\s*bearer(?:\s|$)/i;

/**
 * Creates a validator. Options are checked here, once; a bad option throws a `TypeError` that names it.
 *
 * @example
 * ```ts
 * import { createValidator } from '@tokenguard/core';
 *
 * const validator = createValidator({
 *   issuer: 'https://id.example.com',
 *   audience: 'https://api.example.com',
 * });
 * const auth = await validator.validate('Bearer eyJhbGciOi...', { scopes: ['orders:read'] });
 * console.log(auth.subject, [...auth.scopes]);
 * ```
 */
export function createValidator(options: ValidatorOptions): Validator {
  const resolved = resolveOptions(options);
  const { now, realm } = resolved;
  const listeners = new Set<(event: KeySetEvent) => void>();
  if (resolved.onEvent !== undefined) listeners.add(resolved.onEvent);
  const http: HttpClient = createHttpClient(resolved.http);
  const cache =
    resolved.tokenCacheMaxEntries > 0
      ? new LRUCache<string, CacheEntry>({ max: resolved.tokenCacheMaxEntries })
      : undefined;

  // Bumped when a key leaves a set, so a verification that straddled the removal is not cached.
  let keyGeneration = 0;
  const emit = (event: KeySetEvent): void => {
    // A key that leaves the set stops being trusted everywhere, including cached verifications.
    if (event.type === 'key_removed') {
      cache?.clear();
      keyGeneration++;
    }
    for (const listener of listeners) {
      try {
        listener(event);
      } catch {
        // A failing listener must never break validation.
      }
    }
  };

  // Exact issuers and issuer templates (`{tenant}`); concrete tenants' contexts are created on demand, bounded.
  const contexts = createIssuerRegistry(
    resolved.issuers,
    (config) => createIssuerContext(config, resolved, http, emit),
    now,
  );
  // Opaque tokens name no issuer: options.ts picks the one whose introspection receives them.
  const opaqueIntrospection =
    resolved.opaqueTokenIssuer === undefined
      ? undefined
      : contexts.get(resolved.opaqueTokenIssuer)?.introspection;

  async function verifyJwt(
    token: string,
  ): Promise<{ auth: AuthInfo; notAfterMs: number; context: IssuerContext }> {
    const jws = decodeCompactJws(token, resolved.maxTokenJsonDepth);
    const { header, payload } = jws;
    const iss = payload.iss;
    if (typeof iss !== 'string') {
      throw new TokenGuardError('ERR_CLAIM_MISSING', { claim: 'iss', message: 'The token has no iss claim' });
    }
    // The unverified iss only selects among trusted issuers: an unknown one costs no network request.
    // Awaited only when the registry has to ask (a template tenant): a known issuer costs no tick.
    const selected = contexts.select(iss);
    const context = isPromiseLike(selected) ? await selected : selected;
    const { config } = context;
    const alg = header.alg as string;
    if (!config.algorithms.has(alg as Algorithm)) {
      throw new TokenGuardError('ERR_ALGORITHM_NOT_ALLOWED', {
        message: `The token algorithm ${safeName(alg)} is not allowed`,
        actual: safeName(alg),
      });
    }
    checkTyp(header.typ, config);
    const kid = header.kid;
    if (kid !== undefined && (typeof kid !== 'string' || kid.length > 256)) {
      throw new TokenGuardError('ERR_TOKEN_MALFORMED', { message: 'The token kid is not a short string' });
    }
    // One configured secret is the only key: a kid in the header is a hint it need not match.
    const lookupKid = config.secret === undefined ? kid : undefined;
    const found = findKeys(context.keys, lookupKid, alg as Algorithm);
    const keys = isPromiseLike(found) ? await found : found;
    if (!verifyWithAny(alg as Algorithm, keys, jws.signingInput, jws.signature)) {
      throw new TokenGuardError('ERR_SIGNATURE_INVALID');
    }
    const { audience, notAfterMs } = checkClaims(payload, {
      rules: resolved,
      audience: config.audience,
      nowMs: now(),
      requireExp: true,
      source: 'token',
    });
    if (resolved.validateClaims !== undefined) {
      await runClaimsValidator(resolved.validateClaims, payload, { issuer: iss, header });
    }
    const auth = createAuthInfo(token, {
      claims: payload,
      subject: typeof payload.sub === 'string' ? payload.sub : undefined,
      clientId: readClientId(payload),
      issuer: iss,
      audience,
      scopes: readScopes(payload, config.scopeClaims),
      expiresAt: new Date((payload.exp as number) * 1000),
      tenant: readTokenTenant(payload, config),
      source: 'jwt',
    });
    return { auth, notAfterMs, context };
  }

  async function validateToken(token: string, requirements: Requirements | undefined): Promise<AuthInfo> {
    if (token.length > resolved.maxTokenLength) {
      throw new TokenGuardError('ERR_TOKEN_TOO_LARGE', {
        message: `The token is longer than ${resolved.maxTokenLength} characters`,
      });
    }
    const hit = cachedAuth(token);
    if (hit !== undefined) {
      checkRequirements(hit, requirements);
      return hit;
    }
    if (!looksLikeCompactJws(token)) {
      // Not a compact JWS: introspection when configured (INTROSPECTION.md), else a precise 401.
      if (opaqueIntrospection === undefined) throw new TokenGuardError('ERR_TOKEN_NOT_JWT');
      const auth = await opaqueIntrospection.validate(token);
      checkRequirements(auth, requirements);
      return auth;
    }
    const generation = keyGeneration;
    const { auth, notAfterMs, context } = await verifyJwt(token);
    // introspection.jwt 'always': the issuer must also call the verified JWT active. Asked of the
    // context that verified it: a registry lookup misses a template tenant evicted or lapsed meanwhile.
    const introspection = context.introspection;
    const activeUntilMs = introspection === undefined ? undefined : await introspection.confirmJwt(token);
    if (generation === keyGeneration)
      cache?.set(token, {
        auth,
        notAfterMs: Math.min(notAfterMs, activeUntilMs ?? Number.POSITIVE_INFINITY),
      });
    checkRequirements(auth, requirements);
    return auth;
  }

  /** The cached verification of `token` while it may still be used; a stale entry is dropped. */
  function cachedAuth(token: string): AuthInfo | undefined {
    const hit = cache?.get(token);
    if (hit === undefined) return undefined;
    // Past the key set's max age, a cached answer is re-verified against the revalidated set.
    // No context: a template tenant evicted or due for its resolver's verdict, so verify afresh.
    if (now() < hit.notAfterMs && (contexts.get(hit.auth.issuer)?.keys.touch() ?? false)) return hit.auth;
    cache?.delete(token);
    return undefined;
  }

  function validate(
    tokenOrHeader: string | undefined | null,
    requirements?: Requirements,
  ): Promise<AuthInfo> {
    // A token verified before and still cached is answered at once, with no parsing and no await.
    // Only a bare compact JWS is ever a cache key, so headers and anything else take the full path.
    if (
      cache !== undefined &&
      typeof tokenOrHeader === 'string' &&
      tokenOrHeader.length <= resolved.maxTokenLength
    ) {
      let auth: AuthInfo | undefined;
      try {
        if (requirements !== undefined) assertRequirements(requirements);
      } catch (error) {
        return Promise.reject(error);
      }
      try {
        auth = cachedAuth(tokenOrHeader);
      } catch (error) {
        // A throwing clock must not escape as a bare Error: the same TokenGuardError as the full path.
        return Promise.reject(withRealm(error));
      }
      if (auth !== undefined) {
        try {
          checkRequirements(auth, requirements);
          return Promise.resolve(auth);
        } catch (error) {
          return Promise.reject(withRealm(error));
        }
      }
    }
    return validateFully(tokenOrHeader, requirements);
  }

  async function validateFully(
    tokenOrHeader: string | undefined | null,
    requirements?: Requirements,
  ): Promise<AuthInfo> {
    // A malformed requirement is the route's bug: a TypeError, never reported as the token's fault.
    if (requirements !== undefined) assertRequirements(requirements);
    try {
      if (typeof tokenOrHeader !== 'string') throw new TokenGuardError('ERR_TOKEN_MISSING');
      // Before any parsing: no acceptable value is longer than a token plus its scheme and spacing.
      if (tokenOrHeader.length > resolved.maxTokenLength + AUTHORIZATION_OVERHEAD) {
        throw new TokenGuardError('ERR_TOKEN_TOO_LARGE', {
          message: `The token is longer than ${resolved.maxTokenLength} characters`,
        });
      }
      if (tokenOrHeader.trim() === '') throw new TokenGuardError('ERR_TOKEN_MISSING');
      // A b64token has no whitespace: a value with some is a header (`Basic ...` -> ERR_TOKEN_MISSING).
      const token =
        BEARER_PREFIX.test(tokenOrHeader) || /\s/.test(tokenOrHeader.trim())
          ? parseAuthorizationValue(tokenOrHeader)
          : tokenOrHeader;
      return await validateToken(token, requirements);
    } catch (error) {
      throw withRealm(error);
    }
  }

  function withRealm(error: unknown): TokenGuardError {
    // Anything unexpected is a server fault (500), not the token's (a 401 would send clients to
    // discard good tokens and hide the bug from 5xx monitoring); it never escapes as a bare Error.
    const wrapped =
      error instanceof TokenGuardError ? error : new TokenGuardError('ERR_INTERNAL', { cause: error });
    wrapped.realm = realm;
    return wrapped;
  }

  return {
    validate,
    check(auth, requirements) {
      assertRequirements(requirements);
      try {
        checkRequirements(auth, requirements);
      } catch (error) {
        throw withRealm(error);
      }
    },
    async warm() {
      await Promise.all(contexts.listed().map((context) => context.keys.warm()));
    },
    async refreshKeys() {
      await Promise.all([...contexts.values()].map((context) => context.keys.refresh()));
    },
    state() {
      return {
        issuers: [...contexts.values()].map((context) => ({
          issuer: context.config.issuer,
          keySet: context.keys.state(),
          ...(context.introspection === undefined ? {} : { introspection: context.introspection.state() }),
        })),
        tokenCache: { entries: cache?.size ?? 0, maxEntries: resolved.tokenCacheMaxEntries },
      };
    },
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    realm,
    options: Object.freeze(resolved),
    close: () => http.close(),
  };
}

function createIssuerContext(
  config: ResolvedIssuerOptions,
  resolved: ResolvedValidatorOptions,
  http: HttpClient,
  emit: (event: KeySetEvent) => void,
): IssuerContext {
  const limits = {
    maxResponseBytes: resolved.keySet.maxResponseBytes,
    maxJsonDepth: resolved.keySet.maxJsonDepth,
  };
  const metadata = createMetadataLoader(() => fetchIssuerMetadata(config.issuer, http, limits));
  let keys: KeySource;
  if (config.secret !== undefined) {
    keys = new StaticKeySource([importSecret(config.secret.reveal())]);
  } else if (config.jwks !== undefined) {
    const imported: VerificationKey[] = [];
    for (const jwk of config.jwks.keys) {
      const result = importPublicJwk(jwk);
      if (result.ok) imported.push(result.key);
      else emit({ type: 'key_skipped', uri: 'configured jwks', kid: result.kid, reason: result.reason });
    }
    keys = new StaticKeySource(imported);
  } else {
    const discover = async (): Promise<string> => {
      const document = await metadata();
      if (document.jwks_uri === undefined) throw new Error(`the issuer's metadata has no jwks_uri`);
      return document.jwks_uri;
    };
    keys = new RemoteKeySource({
      uri: config.jwksUri ?? discover,
      http,
      policy: resolved.keySet,
      now: resolved.now,
      emit,
    });
  }
  const introspection =
    config.introspection === undefined
      ? undefined
      : createIntrospectionClient({ config, options: config.introspection, resolved, http, metadata, keys });
  return { config, keys, metadata, introspection };
}

function isPromiseLike<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown }).then === 'function';
}

function checkTyp(typ: unknown, config: ResolvedIssuerOptions): void {
  if (typ === undefined) {
    if (config.allowMissingTyp) return;
    throw new TokenGuardError('ERR_TYPE_MISMATCH', {
      message: 'The token has no typ header; access tokens carry typ at+jwt (RFC 9068)',
    });
  }
  if (typeof typ !== 'string' || !config.typ.has(normaliseTyp(typ))) {
    throw new TokenGuardError('ERR_TYPE_MISMATCH', {
      message: `The token typ ${safeName(typ)} is not an accepted access token type`,
      actual: safeName(typ),
    });
  }
}
