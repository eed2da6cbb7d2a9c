import { hash } from 'node:crypto';
import { z } from 'zod';
import { type AuthInfo, type AuthInfoFields, createAuthInfo, readClientId } from './auth-info.js';
import { checkBinding, checkClaims, type KeyProof, runClaimsValidator } from './claims.js';
import type { IssuerMetadata } from './discovery.js';
import { type ErrorCode, TokenGuardError } from './errors.js';
import { findKeys, type KeySource } from './jwks.js';
import { decodeCompactJws, verifyWithAny } from './jws.js';
import type { Algorithm } from './lib/algorithms.js';
import { boundedLru } from './lib/bounded-lru.js';
import { authenticateClient } from './lib/client-auth.js';
import { frozenCopy } from './lib/frozen-copy.js';
import { describeUrl, type HttpClient, HttpFailure, type HttpResponse } from './lib/http.js';
import { jsonObjectRefusal, parseJsonObject } from './lib/json.js';
import { ReadOnlyDate } from './lib/read-only-date.js';
import {
  normaliseTyp,
  type ResolvedIntrospectionOptions,
  type ResolvedIssuerOptions,
  type ResolvedValidatorOptions,
} from './options.js';
import { readScopes } from './scopes.js';
import { readTokenTenant } from './tenants.js';

/**
 * A snapshot of one issuer's introspection client, for health checks and metrics. Never holds credentials.
 *
 * @example
 * ```ts
 * const introspection = validator.state().issuers[0]?.introspection;
 * if (introspection && introspection.consecutiveFailures > 0) console.warn(introspection.lastError);
 * ```
 */
export interface IntrospectionState {
  /** The endpoint in use (without query), once known. */
  endpoint: string | undefined;
  /** HTTP requests sent to the endpoint since creation. */
  requests: number;
  cache: { entries: number; maxEntries: number };
  /** Distinct tokens whose introspection is in flight. */
  inFlight: number;
  /** The `maxInFlight` option: beyond it, a token needing a new introspection is refused at once. */
  maxInFlight: number;
  /** Validations refused (503) since creation because `maxInFlight` introspections were waiting. */
  refusedInFlight: number;
  consecutiveFailures: number;
  /** Until this instant (ms), requests are not sent and validations fail fast. */
  nextRetryAt: number | undefined;
  lastError: string | undefined;
}

/** What {@link IntrospectionClient.confirmJwt} found: how long the answer may be reused, and its binding. */
export interface JwtConfirmation {
  readonly activeUntilMs: number;
  /** The answer's `cnf` (checked against the proof), when it has one: it binds the JWT too. */
  readonly cnf: unknown;
}

/** The introspection client of one issuer: answer cache, in-flight coalescing and backoff. */
export interface IntrospectionClient {
  /** Validates an opaque token by introspection; resolves to its {@link AuthInfo} (`source: 'introspection'`). */
  /** `proof`: what the request proved (DPoP proof key, client certificate), for the answer's `cnf`. */
  validate(token: string, proof?: KeyProof): Promise<AuthInfo>;
  /**
   * With `jwt: 'always'`: introspects an already verified JWT and resolves to the instant (ms) until
   * which that answer may be reused, and whether the answer binds the token to a key (`cnf`, checked
   * against `proof`); throws when the token is not active. `undefined` otherwise.
   */
  confirmJwt(token: string, proof?: KeyProof): Promise<JwtConfirmation | undefined>;
  state(): IntrospectionState;
  /** Forgets every cached answer. */
  clear(): void;
}

/** What {@link createIntrospectionClient} needs from the validator. */
export interface IntrospectionClientSettings {
  config: ResolvedIssuerOptions;
  options: ResolvedIntrospectionOptions;
  resolved: ResolvedValidatorOptions;
  http: HttpClient;
  /** The issuer's memoised discovery document (for the default endpoint). */
  metadata: () => Promise<IssuerMetadata>;
  /** The issuer's key set (verifies RFC 9701 signed answers). */
  keys: KeySource;
}

type Entry =
  | { readonly kind: 'active'; readonly fields: AuthInfoFields; readonly notAfterMs: number }
  | { readonly kind: 'inactive'; readonly notAfterMs: number }
  | { readonly kind: 'rejected'; readonly error: TokenGuardError; readonly notAfterMs: number };

const SIGNED_MEDIA_TYPE = 'application/token-introspection+jwt';
/** `application/json`, the odd `text/json`, and structured-syntax kin (`application/*+json`). */
const JSON_MEDIA_TYPE = /^[\w.-]+\/(?:[\w.!#$&^-]+\+)?json$/;

/** RFC 7662 §2.2: `active` is the one required member; anything else about the answer is judged later. */
const answerSchema = z.looseObject({ active: z.boolean() });

const optionalString = z.string().optional();
/**
 * The members of an active answer that only introspection has; others pass through as claims. The
 * members a JWT shares (`exp`, `nbf`, `iat`, `aud`, `sub`, `client_id`, `jti`) are judged by `checkClaims`.
 */
const activeSchema = z.looseObject({
  active: z.literal(true),
  scope: z.union([z.string(), z.array(z.string())]).optional(),
  username: optionalString,
  token_type: optionalString,
  token_use: optionalString,
  iss: optionalString,
});

/** `token_use` values that name an access token (fosite/Ory Hydra say `access_token`, Cognito `access`). */
const ACCESS_TOKEN_USE = /^access(?:_token)?$/i;

/**
 * Creates the RFC 7662 introspection client of one issuer.
 *
 * - Answers are cached in an LRU keyed by the SHA-256 hash of the token (the raw token is never a key
 *   and never stored): an active answer for `min(cache.maxTtlSec, exp - now)`, an inactive or rejected
 *   one for `cache.inactiveTtlSec`. Expiry is checked on every read with the validator's clock.
 * - Concurrent validations of one token share one request. At most `maxInFlight` distinct tokens are
 *   introspected at once: a token that would need another request is refused at once (503,
 *   `Retry-After: 1`), without counting as a failure of the endpoint (no backoff, nothing cached), so
 *   a flood of distinct junk tokens cannot queue requests until they time out and start a backoff
 *   that fails every opaque token.
 * - A failed exchange (network, timeout, 5xx, 429, 401/403, unusable answer) starts a backoff that
 *   doubles from `retry.minSec` to `retry.maxSec` (or lasts the endpoint's `Retry-After`, within
 *   `retry.maxSec`); inside it, validations that need the endpoint fail fast with the same error.
 *   Requests that were already in flight when it started and fail too belong to the same round:
 *   they do not double it.
 *
 * @example
 * ```ts
 * const client = createIntrospectionClient({ config, options: config.introspection, resolved, http, metadata, keys });
 * const auth = await client.validate('2YotnFZFEjr1zCsicMWpAA');
 * ```
 */
export function createIntrospectionClient(settings: IntrospectionClientSettings): IntrospectionClient {
  const { config, options, resolved, http } = settings;
  const { now } = resolved;
  // Storage grown with use (see boundedLru): each template tenant has a client of its own.
  const cache = boundedLru<string, Entry>(options.cache.maxEntries);
  const inFlight = new Map<string, Promise<Entry>>();
  let endpoint: string | undefined = options.endpoint;
  let requests = 0;
  let refusedInFlight = 0;
  let consecutiveFailures = 0;
  /** Failures that started or extended a backoff; an exchange notes it when it starts. */
  let failedRounds = 0;
  let nextRetryAt = 0;
  let lastFailure: { code: ErrorCode; message: string } | undefined;

  /** A live cached entry, or the key under which to fetch one. */
  function lookup(token: string): Entry | string {
    const key = hash('sha256', token, 'base64url');
    const hit = cache.get(key);
    if (hit !== undefined) {
      if (now() < hit.notAfterMs) return hit;
      cache.delete(key);
    }
    return key;
  }

  function entryFor(token: string): Entry | Promise<Entry> {
    const key = lookup(token);
    if (typeof key !== 'string') return key;
    const pending = inFlight.get(key);
    if (pending !== undefined) return pending;
    // Inside a backoff window: the same error at once, nothing sent.
    const started = now();
    if (started < nextRetryAt && lastFailure !== undefined) {
      throw fault(lastFailure.code, lastFailure.message, Math.ceil((nextRetryAt - started) / 1000));
    }
    // Refused before any request: neither a failure of the endpoint nor an answer to cache.
    if (inFlight.size >= options.maxInFlight) {
      refusedInFlight++;
      throw fault(
        'ERR_INTROSPECTION_UNAVAILABLE',
        `Too many introspections in flight (introspection.maxInFlight ${options.maxInFlight}); this token was not sent`,
        1,
      );
    }
    const promise = introspect(token)
      .then((entry) => {
        if (now() < entry.notAfterMs) cache.set(key, entry);
        return entry;
      })
      .finally(() => inFlight.delete(key));
    inFlight.set(key, promise);
    return promise;
  }

  function settle(entry: Entry): Entry & { kind: 'active' } {
    if (entry.kind === 'inactive') throw new TokenGuardError('ERR_TOKEN_INACTIVE');
    if (entry.kind === 'rejected') throw entry.error;
    return entry;
  }

  async function introspect(token: string): Promise<Entry> {
    const answer = await exchange(token);
    return judge(answer, now());
  }

  /** One request to the endpoint; resolves to the answer's claims, or throws a server-side error. */
  async function exchange(token: string): Promise<Record<string, unknown>> {
    const round = failedRounds;
    try {
      const url = await resolveEndpoint();
      const auth = await authenticateClient(options, options.assertionAudience ?? config.issuer);
      const form = new URLSearchParams({ token });
      if (options.tokenTypeHint !== undefined) form.set('token_type_hint', options.tokenTypeHint);
      for (const [name, value] of Object.entries(auth.params)) form.set(name, value);
      requests++;
      const response = await http.request(url, {
        method: 'POST',
        headers: {
          ...auth.headers,
          'content-type': 'application/x-www-form-urlencoded',
          accept: options.signedResponse ? SIGNED_MEDIA_TYPE : 'application/json',
        },
        body: form.toString(),
        maxBytes: options.maxResponseBytes,
      });
      if (response.status === 401 || response.status === 403) {
        throw fault(
          'ERR_INTROSPECTION_MISCONFIGURED',
          `The introspection endpoint rejected this API's own client credentials (HTTP ${response.status}, ${options.authMethod}); check the introspection option`,
        );
      }
      const claims = options.signedResponse ? await readSigned(response) : readPlain(response);
      // An answer without a boolean active is unusable like one that is not JSON: part of the failed
      // exchange, so it starts the backoff and shows in state() (a broken endpoint is not asked per token).
      if (!answerSchema.safeParse(claims).success) {
        throw fault(
          'ERR_INTROSPECTION_UNAVAILABLE',
          'The introspection endpoint answered without a boolean active member',
        );
      }
      consecutiveFailures = 0;
      nextRetryAt = 0;
      lastFailure = undefined;
      return claims;
    } catch (error) {
      const failure = classify(error);
      // A 400 is about this one request (e.g. a token the server finds malformed): no backoff, so a
      // single hostile token cannot make every other opaque token fail for the backoff window.
      if (error instanceof HttpFailure && error.kind === 'status' && error.status === 400) throw failure;
      if (round !== failedRounds) {
        // In flight when another request's failure started the backoff: the same failed round, so
        // it neither doubles nor extends the window (a burst of 100 must not mean a 30 s one).
        if (failure.code !== 'ERR_INTROSPECTION_UNAVAILABLE') throw failure;
        const leftSec = Math.ceil((nextRetryAt - now()) / 1000);
        throw fault(failure.code, failure.message, Math.max(1, leftSec), failure.cause);
      }
      failedRounds++;
      consecutiveFailures++;
      const backoffSec = Math.min(
        options.retry.maxSec,
        options.retry.minSec * 2 ** Math.min(consecutiveFailures - 1, 30),
      );
      // The endpoint's own Retry-After (a 503 or 429) is honoured, within retry.maxSec: the backoff
      // and the Retry-After our 503 carries are the same wait, never the raw (unbounded) hint.
      const hintedSec = Math.min(failure.retryAfterSec ?? 0, options.retry.maxSec);
      const delaySec = Math.max(backoffSec, hintedSec);
      nextRetryAt = now() + delaySec * 1000;
      lastFailure = { code: failure.code, message: failure.message };
      if (failure.code === 'ERR_INTROSPECTION_UNAVAILABLE') {
        throw fault(failure.code, failure.message, Math.max(1, Math.ceil(delaySec)), failure.cause);
      }
      throw failure;
    }
  }

  async function resolveEndpoint(): Promise<string> {
    if (endpoint !== undefined) return endpoint;
    let document: IssuerMetadata;
    try {
      document = await settings.metadata();
    } catch (error) {
      throw fault(
        'ERR_INTROSPECTION_UNAVAILABLE',
        "The issuer's discovery document, which names the introspection endpoint, cannot be obtained",
        undefined,
        error,
      );
    }
    if (document.introspection_endpoint === undefined) {
      throw fault(
        'ERR_INTROSPECTION_MISCONFIGURED',
        "The issuer's metadata has no introspection_endpoint; set introspection.endpoint",
      );
    }
    endpoint = document.introspection_endpoint;
    return endpoint;
  }

  function readPlain(response: HttpResponse): Record<string, unknown> {
    // RFC 7662 §2.2: the answer is application/json. Another declared type (an HTML page, a signed
    // answer nobody asked for) is not read as one, whatever its body looks like.
    const type = mediaType(response);
    if (type !== undefined && !JSON_MEDIA_TYPE.test(type)) {
      throw fault('ERR_INTROSPECTION_UNAVAILABLE', `The introspection endpoint answered ${type}, not JSON`);
    }
    const limits = { maxDepth: options.maxJsonDepth };
    const document = parseJsonObject(response.text, limits);
    if (document === undefined) {
      const why = jsonObjectRefusal(response.text, limits, 'introspection.maxJsonDepth');
      throw fault('ERR_INTROSPECTION_UNAVAILABLE', `The introspection endpoint's answer is ${why}`);
    }
    return document;
  }

  /** RFC 9701: a JWT with `typ: token-introspection+jwt`, from the issuer, for us, signed with its keys. */
  async function readSigned(response: HttpResponse): Promise<Record<string, unknown>> {
    if (mediaType(response) !== SIGNED_MEDIA_TYPE) {
      throw fault(
        'ERR_INTROSPECTION_MISCONFIGURED',
        `The introspection endpoint did not answer with a signed response (${SIGNED_MEDIA_TYPE}) although signedResponse is on`,
      );
    }
    const invalid = (why: string, cause?: unknown) =>
      fault('ERR_INTROSPECTION_MISCONFIGURED', `The signed introspection response ${why}`, undefined, cause);
    let jws: ReturnType<typeof decodeCompactJws>;
    try {
      jws = decodeCompactJws(response.text.trim(), options.maxJsonDepth);
    } catch (error) {
      throw invalid('is not a compact JWS', error);
    }
    const { header, payload } = jws;
    if (typeof header.typ !== 'string' || normaliseTyp(header.typ) !== 'token-introspection+jwt') {
      throw invalid('does not have typ token-introspection+jwt');
    }
    const alg = header.alg as Algorithm;
    if (!config.algorithms.has(alg)) throw invalid('uses an algorithm that is not allowed');
    const kid = typeof header.kid === 'string' ? header.kid : undefined;
    let keys: Awaited<ReturnType<KeySource['resolve']>>;
    try {
      keys = await findKeys(settings.keys, kid, alg);
    } catch (error) {
      if (error instanceof TokenGuardError && error.status === 503) {
        throw fault(
          'ERR_INTROSPECTION_UNAVAILABLE',
          "The issuer's keys, which verify signed introspection responses, cannot be obtained",
          error.retryAfterSec,
          error,
        );
      }
      throw invalid('is signed with a key that is not in the issuer key set', error);
    }
    if (!verifyWithAny(alg, keys, jws.signingInput, jws.signature)) {
      throw invalid('has an invalid signature');
    }
    if (payload.iss !== config.issuer) throw invalid('is not from the configured issuer');
    const aud = typeof payload.aud === 'string' ? [payload.aud] : payload.aud;
    if (!Array.isArray(aud) || !aud.includes(options.clientId))
      throw invalid('is not addressed to this client');
    const nested = payload.token_introspection;
    if (nested === null || typeof nested !== 'object' || Array.isArray(nested)) {
      throw invalid('has no token_introspection member');
    }
    return nested as Record<string, unknown>;
  }

  /** Turns an answer into a cache entry, checking it against this validator's own configuration. */
  async function judge(answer: Record<string, unknown>, nowMs: number): Promise<Entry> {
    // exchange() has made sure `active` is a boolean.
    const briefly = nowMs + options.cache.inactiveTtlSec * 1000;
    if (answer.active !== true) return { kind: 'inactive', notAfterMs: briefly };
    try {
      const { fields, notAfterMs } = await checkActive(answer, nowMs);
      return { kind: 'active', fields, notAfterMs };
    } catch (error) {
      if (!(error instanceof TokenGuardError)) throw error;
      // Not valid yet (an issuer clock ahead of ours): kept no longer than until it becomes valid.
      const notAfterMs =
        error.code === 'ERR_TOKEN_NOT_YET_VALID' ? Math.min(briefly, validFromMs(answer)) : briefly;
      return { kind: 'rejected', error, notAfterMs };
    }
  }

  /** The instant (ms) from which the answer's `nbf` and `iat` both pass, with the clock tolerance. */
  function validFromMs(answer: Record<string, unknown>): number {
    const { nbf, iat } = answer;
    const sec = Math.max(typeof nbf === 'number' ? nbf : 0, typeof iat === 'number' ? iat : 0);
    return (sec - resolved.clockToleranceSec) * 1000;
  }

  async function checkActive(
    answer: Record<string, unknown>,
    nowMs: number,
  ): Promise<{ fields: AuthInfoFields; notAfterMs: number }> {
    const parsed = activeSchema.safeParse(answer);
    if (!parsed.success) {
      const claim = String(parsed.error.issues[0]?.path[0] ?? 'active');
      throw new TokenGuardError('ERR_CLAIM_INVALID', {
        claim,
        message: `The introspection answer's ${claim} member is invalid`,
      });
    }
    const claims = parsed.data;
    if (claims.iss !== undefined && claims.iss !== config.issuer) {
      throw new TokenGuardError('ERR_ISSUER_MISMATCH', {
        message: 'The introspection answer names another issuer',
      });
    }
    // A refresh token is active too, but it is not an access token (some servers say so in token_type).
    if (claims.token_type !== undefined && /refresh/i.test(claims.token_type)) {
      throw new TokenGuardError('ERR_TYPE_MISMATCH', {
        message: 'The introspection answer describes a refresh token, not an access token',
      });
    }
    // fosite (Ory Hydra) omits token_type for a refresh token and names it in token_use only.
    if (claims.token_use !== undefined && !ACCESS_TOKEN_USE.test(claims.token_use)) {
      throw new TokenGuardError('ERR_TYPE_MISMATCH', {
        message: 'The introspection answer describes a token whose token_use is not an access token',
      });
    }
    // The same exp/nbf/iat/age/aud/required-claim checks as a JWT; exp may be absent (RFC 7662 §2.2).
    const checked = checkClaims(
      answer,
      {
        rules: resolved,
        audience: config.audience,
        requireExp: false,
        source: 'introspection answer',
        // The answer is cached; each use checks cnf against its own proof, or its absence.
        deferBinding: true,
      },
      nowMs,
    );
    // Never reused past exp itself (RFC 7662 §4), nor past maxTtlSec, which bounds revocation latency.
    const notAfterMs = Math.min(
      checked.notAfterMs,
      (checked.exp ?? Number.POSITIVE_INFINITY) * 1000,
      nowMs + options.cache.maxTtlSec * 1000,
    );
    if (resolved.validateClaims !== undefined) {
      await runClaimsValidator(resolved.validateClaims, answer, { issuer: config.issuer, header: {} });
    }
    // Every request with the token gets these: frozen copies, so nothing one request writes reaches the next.
    const fields: AuthInfoFields = {
      claims: frozenCopy(answer) as AuthInfoFields['claims'],
      subject: typeof answer.sub === 'string' ? answer.sub : undefined,
      clientId: readClientId(answer),
      issuer: config.issuer,
      audience: frozenCopy(checked.audience) as readonly string[],
      scopes: readScopes(answer, config.scopeClaims),
      expiresAt: checked.exp === undefined ? undefined : new ReadOnlyDate(checked.exp * 1000),
      tenant: readTokenTenant(answer, config),
      source: 'introspection',
    };
    return { fields, notAfterMs };
  }

  return {
    async validate(token, proof) {
      // A cache hit completes without awaiting anything.
      const found = entryFor(token);
      const entry = settle('kind' in found ? found : await found);
      checkBinding(entry.fields.claims, proof, resolved, 'introspection answer');
      return createAuthInfo(token, entry.fields);
    },
    async confirmJwt(token, proof) {
      if (options.jwt !== 'always') return undefined;
      const entry = settle(await entryFor(token));
      // The answer's own cnf binds the token too (RFC 9449 §6.2): refused as a bearer token, and
      // checked against the proof's key. Without one, the JWT's own cnf was checked already.
      const { cnf } = entry.fields.claims;
      if (cnf !== undefined && cnf !== null) {
        checkBinding(entry.fields.claims, proof, resolved, 'introspection answer');
      }
      return { activeUntilMs: entry.notAfterMs, cnf };
    },
    state() {
      return {
        endpoint: endpoint === undefined ? undefined : describeUrl(endpoint),
        requests,
        cache: { entries: cache.size, maxEntries: options.cache.maxEntries },
        inFlight: inFlight.size,
        maxInFlight: options.maxInFlight,
        refusedInFlight,
        consecutiveFailures,
        nextRetryAt: nextRetryAt > now() ? nextRetryAt : undefined,
        lastError: lastFailure?.message,
      };
    },
    clear() {
      cache.clear();
    },
  };
}

/** The answer's media type without parameters, lower case; `undefined` when none is declared. */
function mediaType(response: HttpResponse): string | undefined {
  const value = response.header('content-type');
  if (value === undefined) return undefined;
  return value.split(';', 1)[0]?.trim().toLowerCase();
}

function fault(code: ErrorCode, message: string, retryAfterSec?: number, cause?: unknown): TokenGuardError {
  return new TokenGuardError(code, {
    message,
    ...(retryAfterSec === undefined ? {} : { retryAfterSec }),
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Maps a failed exchange to the server-side error it is: never a 401 for the caller. */
function classify(error: unknown): TokenGuardError {
  if (error instanceof TokenGuardError) return error;
  if (error instanceof HttpFailure) {
    const status = error.status;
    const ourRequest =
      error.kind === 'redirect' ||
      (error.kind === 'status' && status !== undefined && status >= 400 && status < 500 && status !== 429);
    if (ourRequest) {
      return fault(
        'ERR_INTROSPECTION_MISCONFIGURED',
        `The introspection endpoint refused this API's request (${error.kind === 'redirect' ? 'redirect' : `HTTP ${status}`}); check the introspection option`,
        undefined,
        error,
      );
    }
    return fault(
      'ERR_INTROSPECTION_UNAVAILABLE',
      error.kind === 'timeout'
        ? 'The introspection endpoint did not answer in time'
        : error.kind === 'status'
          ? `The introspection endpoint answered HTTP ${status}`
          : 'The introspection endpoint cannot be reached',
      error.retryAfterSec,
      error,
    );
  }
  return fault('ERR_INTROSPECTION_UNAVAILABLE', 'The introspection request failed', undefined, error);
}
