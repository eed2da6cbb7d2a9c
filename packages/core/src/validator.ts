import { type AuthInfo, createAuthInfo, readClientId } from './auth-info.js';
import { assertB64Credentials, isOtherSchemeValue, readBearerCredentials } from './bearer.js';
import {
  type CheckedClaims,
  type ClaimCheck,
  checkBinding,
  checkClaims,
  type KeyProof,
  runClaimsValidator,
} from './claims.js';
import { createMetadataLoader, fetchIssuerMetadata, type IssuerMetadata } from './discovery.js';
import { createDpopVerifier, type DpopVerifier } from './dpop.js';
import type { DpopState } from './dpop-replay.js';
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
  type KeySourceEvent,
  RemoteKeySource,
  StaticKeySource,
} from './jwks.js';
import {
  type DecodedJws,
  decodeCanonicalJws,
  decodeCompactJws,
  looksLikeCompactJws,
  verifyWithAny,
  verifyWithAnyOffThread,
} from './jws.js';
import { importPublicJwk, importSecret, type VerificationKey } from './keys.js';
import { ALGORITHM_SPECS, type Algorithm } from './lib/algorithms.js';
import { frozenCopy } from './lib/frozen-copy.js';
import { createHttpClient, type HttpClient } from './lib/http.js';
import { ignoreRejection } from './lib/ignore-rejection.js';
import { safeName } from './lib/safe-name.js';
import {
  normaliseTyp,
  type ResolvedIssuerOptions,
  type ResolvedValidatorOptions,
  resolveOptions,
  type ValidatorOptions,
} from './options.js';
import {
  assertRequirements,
  checkRequirements,
  type Requirements,
  type RequirementsClock,
} from './requirements.js';
import { readScopes } from './scopes.js';
import { createIssuerRegistry, readTokenTenant } from './tenants.js';
import { createVerifiedCache, type VerifiedCache, type VerifiedEntry } from './verified-cache.js';
import { verifyInPhaseBatch } from './verify-batch.js';

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
  /**
   * The verified-token cache; `boundEntries`, with `dpop` or `mtls` (and not `acceptBoundTokens`): the
   * tokens in the cache of bound tokens, which holds up to `maxEntries` more.
   */
  tokenCache: { entries: number; maxEntries: number; boundEntries?: number };
  /** With `dpop`: the replay cache's size, and the replay store's answers with `dpop.replayStore`. */
  dpop?: DpopState;
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
  /**
   * Applies requirements to an already verified token (what route guards call), with this
   * validator's clock (`now`, `clockToleranceSec`) for `authentication.maxAgeSec`.
   */
  check(auth: AuthInfo, requirements: Requirements): void;
  /** Fetches discovery documents and key sets now, so the first request does not wait. */
  warm(): Promise<void>;
  /** Refetches every remote key set now (e.g. on a signal that the issuer rotated keys). */
  refreshKeys(): Promise<void>;
  /** Key set and cache state. */
  state(): ValidatorState;
  /** Subscribes to key set events; returns the unsubscribe function. */
  on(listener: (event: KeySetEvent) => void): () => void;
  /**
   * With `dpop.nonce`: the DPoP server nonce to hand out now (RFC 9449 §9), for an app that sends it
   * ahead of the `use_dpop_nonce` 401, as a `DPoP-Nonce` header on any answer; otherwise `undefined`.
   */
  dpopNonce(): string | undefined;
  /** The challenge realm, if configured. */
  readonly realm: string | undefined;
  /** The resolved options (frozen), for adapters and diagnostics. */
  readonly options: ResolvedValidatorOptions;
  /**
   * Closes the HTTP connection pool, for good: from then on the validator asks nothing of the network
   * (a key set, discovery document or introspection answer it would need is a 503); tokens it can
   * verify with the keys and answers it holds still validate while those last (a key set up to its
   * max age plus `staleIfErrorSec`). Calling it again is harmless: every call settles with the first.
   */
  close(): Promise<void>;
}

interface IssuerContext {
  readonly config: ResolvedIssuerOptions;
  /** How a verified JWT's claims are checked (built once per issuer). */
  readonly claimCheck: ClaimCheck;
  readonly keys: KeySource;
  readonly metadata: () => Promise<IssuerMetadata>;
  readonly introspection: IntrospectionClient | undefined;
}

interface VerifiedJwt {
  readonly auth: AuthInfo;
  /** After this instant (ms) the verification must not be reused. */
  readonly notAfterMs: number;
  /** The issuer context that verified it. */
  readonly context: IssuerContext;
  /**
   * The token's `cnf` as its claims check saw it (a frozen copy): what decides where it may be cached
   * and what a cache hit is held to, whatever a `validateClaims` hook or an app later does to the claims
   * object the auth shares.
   */
  readonly cnf: unknown;
}

/** `cnf` as it is now: a frozen deep copy of an object (JSON from the token), anything else as it is. */
function bindingOf(cnf: unknown): unknown {
  return typeof cnf === 'object' && cnf !== null ? frozenCopy(cnf) : cnf;
}

/** A signature verification waiting in the phase's batch, and the keys it is verified with. */
interface SignatureInBatch {
  readonly keys: readonly VerificationKey[];
  readonly verdict: Promise<boolean>;
}

/** Longest `kid` a token header may carry (characters): a lookup string, never more. */
const MAX_KID_LENGTH = 256;

/** Room for `Bearer` and surrounding whitespace in an Authorization value, beyond `maxTokenLength`. */
const AUTHORIZATION_OVERHEAD = 256;

/**
 * Internal: `ERR_TOKEN_TOO_LARGE` when an `Authorization` value is longer than any acceptable one (a
 * token of `maxTokenLength` plus its scheme and spacing), checked before its token is read; `validate`
 * applies it to the value it is given, the adapters to the header they read. A value of another
 * scheme (a Kerberos `Negotiate` ticket may well be longer) is not a bearer token at all: it goes on
 * to be answered as one without a token (`ERR_TOKEN_MISSING`, anonymous on an optional route).
 */
export function assertAuthorizationLength(value: string, maxTokenLength: number): void {
  if (value.length > maxTokenLength + AUTHORIZATION_OVERHEAD && !isOtherSchemeValue(value)) {
    // Refusals only: what is too long, the token or (a short token padded with spaces) the value.
    const token = value.trim().replace(/^\S+\s+/, '');
    if (token.length > maxTokenLength) throw tokenTooLarge(maxTokenLength);
    throw new TokenGuardError('ERR_TOKEN_TOO_LARGE', {
      message: `The Authorization value is longer than ${maxTokenLength + AUTHORIZATION_OVERHEAD} characters (a token of at most ${maxTokenLength}, its scheme and spaces)`,
    });
  }
}

function tokenTooLarge(maxTokenLength: number): TokenGuardError {
  return new TokenGuardError('ERR_TOKEN_TOO_LARGE', {
    message: `The token is longer than ${maxTokenLength} characters`,
  });
}

const BEARER_PREFIX = /^\s*bearer(?:\s|$)/i;

/** {@link BEARER_PREFIX}, asked only when the first character could start it (`b`, `B`, a space). */
function mayStartWithBearer(value: string): boolean {
  const first = value.charCodeAt(0);
  return (first <= 0x20 || first === 0x42 || first === 0x62 || first >= 0x80) && BEARER_PREFIX.test(value);
}

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
  /** The clock a route's `authentication.maxAgeSec` is judged by: the one `exp` and `iat` are. */
  const requirementsClock: RequirementsClock = { now, clockToleranceSec: resolved.clockToleranceSec };
  const resourceMetadataUrl = resolved.resourceMetadata?.url;
  const listeners = new Set<(event: KeySetEvent) => void>();
  if (resolved.onEvent !== undefined) listeners.add(resolved.onEvent);
  const http: HttpClient = createHttpClient(resolved.http);
  const cache =
    resolved.tokenCacheMaxEntries > 0 ? createVerifiedCache(resolved.tokenCacheMaxEntries) : undefined;
  /**
   * Tokens bound to a key (`cnf`) that passed with the request's proof: a cache of their own, asked only
   * for a request that brings a proof (a DPoP proof, a client certificate), and every hit held to that
   * proof again ({@link checkBinding}). Kept apart so that no lookup without a proof (`validate`'s
   * bare-token answer, the adapters' synchronous one) can ever find one. Under `acceptBoundTokens` bound
   * tokens are good as bearer tokens and go to the main cache instead.
   */
  const boundCache =
    cache !== undefined && (resolved.dpop !== undefined || resolved.mtls) && !resolved.acceptBoundTokens
      ? createVerifiedCache(resolved.tokenCacheMaxEntries)
      : undefined;
  /** The `cnf` each auth in {@link boundCache} was verified with (frozen), by auth. */
  const boundBindings = new WeakMap<AuthInfo, unknown>();

  // Bumped when a key leaves a set, so a verification that straddled the removal is not cached.
  let keyGeneration = 0;
  /**
   * True while {@link validateFound} runs (synchronously): a signature verified now is for a token
   * found in a request, and waits for the end of the event loop's phase to be verified with the
   * others found in it ({@link verifyInPhaseBatch}). `validate` called directly verifies at once; so
   * does a verification that waited for keys or a tenant (the phase it was asked in is over).
   */
  let validatingFoundToken = false;
  /**
   * The verdicts waiting in the phase's batch, by token, each with the keys it is verified with: at
   * most one per verification waiting, so at most the batch's bound.
   */
  const signaturesInBatch = new Map<string, SignatureInBatch>();
  const emit = (event: KeySetEvent): void => {
    // A key that leaves the set stops being trusted everywhere, including cached verifications.
    if (event.type === 'key_removed') {
      cache?.clear();
      boundCache?.clear();
      keyGeneration++;
    }
    for (const listener of listeners) {
      try {
        // An async listener's rejection is caught too: unhandled, it would end the process.
        ignoreRejection(listener(event));
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

  /**
   * Verifies a compact JWS. Synchronous while every step is (an exact issuer, keys already held, no
   * `validateClaims`), so a fresh token costs no tick; a promise once a step has to wait.
   */
  function verifyJwt(
    token: string,
    jws: DecodedJws,
    proof: KeyProof | undefined,
  ): VerifiedJwt | Promise<VerifiedJwt> {
    // A header rule (SECURITY.md, item 5): refused before the issuer, algorithm or typ are looked at.
    const kid = jws.header.kid;
    if (kid !== undefined && (typeof kid !== 'string' || kid.length > MAX_KID_LENGTH)) {
      throw new TokenGuardError('ERR_TOKEN_MALFORMED', { message: 'The token kid is not a short string' });
    }
    const iss = jws.payload.iss;
    if (typeof iss !== 'string') {
      throw new TokenGuardError('ERR_CLAIM_MISSING', { claim: 'iss', message: 'The token has no iss claim' });
    }
    // The unverified iss only selects among trusted issuers: an unknown one costs no network request.
    // Waited for only when the registry has to ask (a template tenant): a known issuer costs no tick.
    const selected = contexts.select(iss);
    return isPromiseLike(selected)
      ? selected.then((context) => verifyWithContext(token, jws, iss, context, proof))
      : verifyWithContext(token, jws, iss, selected, proof);
  }

  function verifyWithContext(
    token: string,
    jws: DecodedJws,
    iss: string,
    context: IssuerContext,
    proof: KeyProof | undefined,
  ): VerifiedJwt | Promise<VerifiedJwt> {
    const { header } = jws;
    const { config } = context;
    const alg = header.alg as Algorithm;
    if (!config.algorithms.has(alg)) {
      throw new TokenGuardError('ERR_ALGORITHM_NOT_ALLOWED', {
        message: `The token algorithm ${safeName(alg)} is not allowed`,
        actual: safeName(alg),
      });
    }
    checkTyp(header.typ, config);
    // A string of at most MAX_KID_LENGTH characters when present: verifyJwt checked it.
    const kid = header.kid as string | undefined;
    // One configured secret is the only key: a kid in the header is a hint it need not match.
    const lookupKid = config.secret === undefined ? kid : undefined;
    const found = findKeys(context.keys, lookupKid, alg);
    return isPromiseLike(found)
      ? found.then((keys) => verifyWithKeys(token, jws, iss, context, keys, proof))
      : verifyWithKeys(token, jws, iss, context, found, proof);
  }

  function verifyWithKeys(
    token: string,
    jws: DecodedJws,
    iss: string,
    context: IssuerContext,
    keys: readonly VerificationKey[],
    proof: KeyProof | undefined,
  ): VerifiedJwt | Promise<VerifiedJwt> {
    const verdict = signatureVerdict(token, jws, keys);
    return isPromiseLike(verdict)
      ? verdict.then((valid) => verifiedClaims(token, jws, iss, context, valid, proof))
      : verifiedClaims(token, jws, iss, context, verdict, proof);
  }

  /** Whether any of `keys` verifies the JWS: on libuv's pool, in the phase's batch, or at once. */
  function signatureVerdict(
    token: string,
    jws: DecodedJws,
    keys: readonly VerificationKey[],
  ): boolean | Promise<boolean> {
    const alg = jws.header.alg as Algorithm;
    if (resolved.verifyOffThread) return verifyWithAnyOffThread(alg, keys, jws.signingInput, jws.signature);
    // A token found in a request, with keys at hand: verified with the others found in this phase.
    // HMAC costs less than the wait.
    if (validatingFoundToken && ALGORITHM_SPECS[alg].kty !== 'oct')
      return verdictInBatch(token, alg, keys, jws);
    return verifyWithAny(alg, keys, jws.signingInput, jws.signature);
  }

  /**
   * The signature verdict of a found token from the phase's batch ({@link verifyInPhaseBatch}). The
   * same token sent again in this phase (a client's parallel requests) shares the verdict waiting
   * while its keys are the same (a key set replaced meanwhile: verified again, with the new keys);
   * each request still gets its own claims check, answer and error.
   */
  function verdictInBatch(
    token: string,
    alg: Algorithm,
    keys: readonly VerificationKey[],
    jws: DecodedJws,
  ): boolean | Promise<boolean> {
    const waiting = signaturesInBatch.get(token);
    if (waiting !== undefined && sameKeys(waiting.keys, keys)) return waiting.verdict;
    const verdict = verifyInPhaseBatch(() => verifyWithAny(alg, keys, jws.signingInput, jws.signature));
    if (!isPromiseLike(verdict)) return verdict;
    const entry: SignatureInBatch = { keys, verdict };
    signaturesInBatch.set(token, entry);
    const forget = (): void => {
      if (signaturesInBatch.get(token) === entry) signaturesInBatch.delete(token);
    };
    verdict.then(forget, forget);
    return verdict;
  }

  /**
   * Checks the claims of a JWS whose signature check gave `signatureValid`; `proof`, what the request
   * proved (its DPoP proof's key, its client certificate), which the token's `cnf` is checked against.
   */
  function verifiedClaims(
    token: string,
    jws: DecodedJws,
    iss: string,
    context: IssuerContext,
    signatureValid: boolean,
    proof: KeyProof | undefined,
  ): VerifiedJwt | Promise<VerifiedJwt> {
    if (!signatureValid) throw new TokenGuardError('ERR_SIGNATURE_INVALID');
    const { header, payload } = jws;
    const checked = checkClaims(payload, context.claimCheck, now(), proof);
    // Taken before a validateClaims hook, which gets the very claims object, could change it.
    const cnf = bindingOf(payload.cnf);
    if (resolved.validateClaims === undefined) return verifiedJwt(token, payload, iss, context, checked, cnf);
    return runClaimsValidator(resolved.validateClaims, payload, { issuer: iss, header }).then(() =>
      verifiedJwt(token, payload, iss, context, checked, cnf),
    );
  }

  function verifiedJwt(
    token: string,
    payload: Readonly<Record<string, unknown>>,
    iss: string,
    context: IssuerContext,
    checked: CheckedClaims,
    cnf: unknown,
  ): VerifiedJwt {
    const { config } = context;
    // Every field is an own property, worked out now: `{ ...auth }` and structuredClone keep them all.
    const auth = createAuthInfo(token, {
      claims: payload,
      subject: typeof payload.sub === 'string' ? payload.sub : undefined,
      clientId: readClientId(payload),
      issuer: iss,
      audience: checked.audience,
      scopes: readScopes(payload, config.scopeClaims),
      expiresAt: new Date((payload.exp as number) * 1000),
      tenant: readTokenTenant(payload, config),
      source: 'jwt',
    });
    return { auth, notAfterMs: checked.notAfterMs, context, cnf };
  }

  /**
   * `validate` for a bare token; `cacheChecked` when the caller already missed the cache with it;
   * `grammarUnchecked` for a header's credentials not yet held to RFC 6750's b64token grammar. A
   * canonical compact JWS (its decoding proves the alphabet) and a cached token (always one) are
   * b64token text, so only another token pays for the grammar's regular expression, which costs more
   * than the decoding; it is checked before anything could tell that token apart, so every outcome is
   * that of checking the grammar first.
   */
  function validateToken(
    token: string,
    requirements: Requirements | undefined,
    cacheChecked: boolean,
    grammarUnchecked: boolean,
    proof?: KeyProof,
  ): AuthInfo | Promise<AuthInfo> {
    if (token.length > resolved.maxTokenLength) {
      if (grammarUnchecked) assertB64Credentials(token);
      throw tokenTooLarge(resolved.maxTokenLength);
    }
    // A DPoP request is never answered from the cache (which holds tokens good as bearer tokens): its
    // token must be bound to the proof's key. A client certificate alone changes nothing for a cached
    // (unbound) token.
    const hit = cacheChecked || proof?.jkt !== undefined ? undefined : cachedAuth(token);
    if (hit !== undefined) {
      checkRequirements(hit, requirements, requirementsClock);
      return hit;
    }
    // A bound token verified before with a proof: held to this request's proof, as when verified.
    const boundHit =
      proof === undefined || boundCache === undefined ? undefined : usableEntry(boundCache, token);
    const boundCnf = boundHit === undefined ? undefined : boundBindings.get(boundHit.auth);
    if (boundHit !== undefined && boundCnf !== undefined) {
      // Held to the cnf its verification saw, not to the claims object every request shares.
      checkBinding({ cnf: boundCnf }, proof, resolved, 'token');
      checkRequirements(boundHit.auth, requirements, requirementsClock);
      return boundHit.auth;
    }
    const jws = decodeCanonicalJws(token, resolved.maxTokenJsonDepth);
    if (jws !== undefined) return validateJws(token, jws, requirements, proof);
    if (grammarUnchecked) assertB64Credentials(token);
    if (!looksLikeCompactJws(token)) {
      // Not a compact JWS: introspection when configured (INTROSPECTION.md), else a precise 401.
      if (opaqueIntrospection === undefined) throw new TokenGuardError('ERR_TOKEN_NOT_JWT');
      return opaqueIntrospection.validate(token, proof).then((auth) => {
        checkRequirements(auth, requirements, requirementsClock);
        return auth;
      });
    }
    // Shaped like a JWS but not canonical: decodeCompactJws says precisely what is wrong.
    return validateJws(token, decodeCompactJws(token, resolved.maxTokenJsonDepth), requirements, proof);
  }

  /** Verifies a decoded JWS, caches the verification and applies the route's requirements. */
  function validateJws(
    token: string,
    jws: DecodedJws,
    requirements: Requirements | undefined,
    proof?: KeyProof,
  ): AuthInfo | Promise<AuthInfo> {
    const generation = keyGeneration;
    const verified = verifyJwt(token, jws, proof);
    return isPromiseLike(verified)
      ? verified.then((result) => admitJwt(token, result, generation, requirements, proof))
      : admitJwt(token, verified, generation, requirements, proof);
  }

  /** Caches a verified JWT (unless a key left a set meanwhile) and applies the route's requirements. */
  function admitJwt(
    token: string,
    verified: VerifiedJwt,
    generation: number,
    requirements: Requirements | undefined,
    proof: KeyProof | undefined,
  ): AuthInfo | Promise<AuthInfo> {
    // introspection.jwt 'always': the issuer must also call the verified JWT active. Asked of the
    // context that verified it: a registry lookup misses a template tenant evicted or lapsed meanwhile.
    const { context, notAfterMs } = verified;
    const introspection = context.introspection;
    if (introspection !== undefined && context.config.introspection?.jwt === 'always') {
      return introspection.confirmJwt(token, proof).then((confirmation) => {
        const usableUntilMs = Math.min(notAfterMs, confirmation?.activeUntilMs ?? Number.POSITIVE_INFINITY);
        return admitVerified(token, verified, usableUntilMs, generation, requirements, confirmation?.cnf);
      });
    }
    return admitVerified(token, verified, notAfterMs, generation, requirements);
  }

  function admitVerified(
    token: string,
    verified: VerifiedJwt,
    usableUntilMs: number,
    generation: number,
    requirements: Requirements | undefined,
    answerCnf?: unknown,
  ): AuthInfo {
    const { auth, cnf } = verified;
    const answerBound = answerCnf !== undefined && answerCnf !== null;
    // The cache answers requests whatever they prove: a bound token (taken with its DPoP proof or
    // client certificate), by its own cnf or its introspection answer's, is cached only where bound
    // tokens are good as bearer tokens.
    const unbound = cnf === undefined || cnf === null;
    const cacheable = (unbound && !answerBound) || resolved.acceptBoundTokens;
    // The auth a cache stores (from a token's second verification on) is its own, with frozen claims:
    // this request and every later one with the token get it.
    let answer = auth;
    if (generation === keyGeneration) {
      if (cacheable) answer = cache?.admit(token, auth, usableUntilMs, verified.context) ?? auth;
      // Bound by its own cnf (and so passed with this request's proof): kept for requests with proofs.
      // Not a JWT its issuer's introspection confirms (jwt 'always'), whose answer may bind it too.
      else if (
        !unbound &&
        boundCache !== undefined &&
        verified.context.config.introspection?.jwt !== 'always'
      ) {
        answer = boundCache.admit(token, auth, usableUntilMs, verified.context);
        boundBindings.set(answer, cnf);
      }
    }
    checkRequirements(answer, requirements, requirementsClock);
    return answer;
  }

  /**
   * Whether the cache is worth asking for `value`: only a bare compact JWS within the length limit is
   * ever a cache key, so with no cache, or for a longer value, there is nothing to ask.
   */
  function mayBeCached(value: string): boolean {
    return cache !== undefined && value.length <= resolved.maxTokenLength;
  }

  /** The cached verification of `token` while it may still be used; a stale entry is dropped. */
  function cachedEntry(token: string): VerifiedEntry | undefined {
    return cache === undefined ? undefined : usableEntry(cache, token);
  }

  /** The entry `from` holds for `token` while it may still be used; a stale entry is dropped. */
  function usableEntry(from: VerifiedCache, token: string): VerifiedEntry | undefined {
    const hit = from.get(token);
    if (hit === undefined) return undefined;
    if (isUsable(hit)) return hit;
    from.delete(token);
    return undefined;
  }

  /**
   * Whether a cached verification may still answer: before its `notAfterMs`, and while the context
   * that verified it is the issuer's and its key set is within its max age (past it, the answer is
   * re-verified against the revalidated set). Only the context that verified it will do: none (a
   * template tenant evicted, or due for its resolver's verdict) or a new one (evicted and brought
   * back, with a key set fetched anew that never held, so never reported removing, the key this token
   * was verified with): verify afresh. One clock read.
   */
  function isUsable(hit: VerifiedEntry): boolean {
    const at = now();
    if (at >= hit.notAfterMs) return false;
    const context = contexts.get(hit.auth.issuer);
    return context === hit.verifiedBy && context.keys.touch(at);
  }

  function cachedAuth(token: string): AuthInfo | undefined {
    return cachedEntry(token)?.auth;
  }

  /**
   * Never throws: every failure is a rejection. A token verified before and still cached, or a fresh
   * one whose issuer and keys are at hand, is answered without a tick; only what must wait (a key set
   * fetch, a template tenant, introspection, an async `validateClaims`) goes through promises.
   */
  function validate(
    tokenOrHeader: string | undefined | null,
    requirements?: Requirements,
  ): Promise<AuthInfo> {
    // Called by an app's wrapper of `validate` for a request that proved a key: with that proof.
    if (readsPresentedProof) {
      const presented = presentedProof;
      if (presented !== undefined && presented.validate === validate && presented.token === tokenOrHeader) {
        return settle(presented.token, requirements, false, true, presented.proof);
      }
    }
    // A repeated token with no requirements to apply: the promise made when it was cached, so the
    // answer allocates nothing.
    if (requirements === undefined && typeof tokenOrHeader === 'string' && mayBeCached(tokenOrHeader)) {
      let entry: VerifiedEntry | undefined;
      try {
        entry = cachedEntry(tokenOrHeader);
      } catch (error) {
        return Promise.reject(withChallenge(error));
      }
      return entry?.answer ?? settle(tokenOrHeader, undefined, true);
    }
    return settle(tokenOrHeader, requirements, false);
  }

  /**
   * {@link validate}; `cacheMissed` when the caller already looked the bare value up in the cache,
   * `grammarUnchecked` when it is a header's credentials not yet held to RFC 6750's b64token grammar.
   */
  function settle(
    tokenOrHeader: string | undefined | null,
    requirements: Requirements | undefined,
    cacheMissed: boolean,
    grammarUnchecked = false,
    proof?: KeyProof,
  ): Promise<AuthInfo> {
    // A malformed requirement is the route's bug: a TypeError, never reported as the token's fault.
    try {
      if (requirements !== undefined) assertRequirements(requirements);
    } catch (error) {
      return Promise.reject(error);
    }
    let result: AuthInfo | Promise<AuthInfo>;
    try {
      result =
        grammarUnchecked && typeof tokenOrHeader === 'string'
          ? validateToken(tokenOrHeader, requirements, cacheMissed, true, proof)
          : validateValue(tokenOrHeader, requirements, cacheMissed);
    } catch (error) {
      // A throwing clock must not escape as a bare Error: withChallenge makes it ERR_INTERNAL.
      return Promise.reject(withChallenge(error));
    }
    return isPromiseLike(result)
      ? result.catch((error: unknown) => {
          throw withChallenge(error);
        })
      : Promise.resolve(result);
  }

  function validateValue(
    tokenOrHeader: string | undefined | null,
    requirements: Requirements | undefined,
    cacheMissed: boolean,
  ): AuthInfo | Promise<AuthInfo> {
    if (typeof tokenOrHeader !== 'string') throw new TokenGuardError('ERR_TOKEN_MISSING');
    let cacheChecked = cacheMissed;
    if (!cacheMissed && mayBeCached(tokenOrHeader)) {
      const hit = cachedAuth(tokenOrHeader);
      if (hit !== undefined) {
        checkRequirements(hit, requirements, requirementsClock);
        return hit;
      }
      cacheChecked = true;
    }
    // Before any parsing: no acceptable value is longer than a token plus its scheme and spacing
    // (a value of another scheme is not ours to refuse: it is answered as no bearer token below).
    assertAuthorizationLength(tokenOrHeader, resolved.maxTokenLength);
    // A canonical compact JWS has no whitespace, so it is a bare token, never a header.
    if (tokenOrHeader.length <= resolved.maxTokenLength && !mayStartWithBearer(tokenOrHeader)) {
      const jws = decodeCanonicalJws(tokenOrHeader, resolved.maxTokenJsonDepth);
      if (jws !== undefined) return validateJws(tokenOrHeader, jws, requirements);
    }
    if (tokenOrHeader.trim() === '') throw new TokenGuardError('ERR_TOKEN_MISSING');
    // A b64token has no whitespace: a value with some is a header (`Basic ...` -> ERR_TOKEN_MISSING).
    if (BEARER_PREFIX.test(tokenOrHeader) || /\s/.test(tokenOrHeader.trim())) {
      return validateToken(readBearerCredentials(tokenOrHeader), requirements, false, true);
    }
    return validateToken(tokenOrHeader, requirements, cacheChecked, false);
  }

  function withChallenge(error: unknown): TokenGuardError {
    // Anything unexpected is a server fault (500), not the token's (a 401 would send clients to
    // discard good tokens and hide the bug from 5xx monitoring); it never escapes as a bare Error.
    const wrapped =
      error instanceof TokenGuardError ? error : new TokenGuardError('ERR_INTERNAL', { cause: error });
    wrapped.realm = realm;
    wrapped.resourceMetadata = resourceMetadataUrl;
    if (resolved.dpop !== undefined) {
      wrapped.dpopAlgorithms = resolved.dpop.algorithms;
      wrapped.dpopRequired = resolved.dpop.required;
    }
    return wrapped;
  }

  const dpop =
    resolved.dpop === undefined
      ? undefined
      : createDpopVerifier(resolved.dpop, { now, clockToleranceSec: resolved.clockToleranceSec });

  // Only a validator that takes proofs (DPoP, mTLS) looks for one a request handed its wrapper.
  const readsPresentedProof = resolved.dpop !== undefined || resolved.mtls;
  // Some issuer's JWTs are confirmed by introspection, whose answer may bind them (checkWrapperAnswer).
  const mayConfirmJwts = resolved.issuers.some((issuer) => issuer.introspection?.jwt === 'always');
  const validator: Validator = {
    validate,
    check(auth, requirements) {
      assertRequirements(requirements);
      try {
        checkRequirements(auth, requirements, requirementsClock);
      } catch (error) {
        const wrapped = withChallenge(error);
        // RFC 9449 §7.1: a request authenticated with DPoP is answered with the DPoP challenge.
        if (provedWithDpop.has(auth)) wrapped.scheme = 'DPoP';
        throw wrapped;
      }
    },
    async warm() {
      await allEnded(contexts.listed().map((context) => context.keys.warm()));
    },
    async refreshKeys() {
      await allEnded([...contexts.values()].map((context) => context.keys.refresh()));
    },
    state() {
      return {
        issuers: [...contexts.values()].map((context) => ({
          issuer: context.config.issuer,
          keySet: context.keys.state(),
          ...(context.introspection === undefined ? {} : { introspection: context.introspection.state() }),
        })),
        tokenCache: {
          entries: cache?.size ?? 0,
          maxEntries: resolved.tokenCacheMaxEntries,
          ...(boundCache === undefined ? {} : { boundEntries: boundCache.size }),
        },
        ...(dpop === undefined ? {} : { dpop: dpop.state() }),
      };
    },
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    dpopNonce() {
      try {
        return dpop?.currentNonce();
      } catch (error) {
        // A clock that throws: ERR_INTERNAL, as validate() would answer.
        throw withChallenge(error);
      }
    },
    realm,
    options: Object.freeze(resolved),
    close: () => http.close(),
  };
  cachedLookups.set(validator, {
    validate,
    dpop,
    lookup(token) {
      if (!mayBeCached(token)) return undefined;
      try {
        return cachedAuth(token) ?? false;
      } catch (error) {
        throw withChallenge(error);
      }
    },
    peekAuthorization(authorization) {
      const hit = cache?.getByAuthorization(authorization);
      try {
        return hit !== undefined && isUsable(hit) ? hit.auth : undefined;
      } catch {
        // A clock that throws: `lookup` answers it (ERR_INTERNAL), on the request's whole way.
        return undefined;
      }
    },
    readsProofs: readsPresentedProof,
    checkWrapperAnswer(token, auth, proof) {
      // A wrapper's own answer may have no claims: then nothing in it is bound.
      const claims = typeof auth?.claims === 'object' && auth.claims !== null ? auth.claims : {};
      let selected: IssuerContext | Promise<IssuerContext> | undefined;
      try {
        checkBinding(
          claims,
          proof,
          resolved,
          auth?.source === 'introspection' ? 'introspection answer' : 'token',
        );
        // A JWT its issuer's introspection answer must confirm (`introspection.jwt: 'always'`) may be
        // bound by that answer alone: asked again (the answer is cached), held to this request's proof.
        if (auth?.source === 'jwt' && mayConfirmJwts) selected = contexts.select(auth.issuer);
      } catch (error) {
        throw withChallenge(error);
      }
      if (selected === undefined) return auth;
      const confirmed = Promise.resolve(selected).then((context) =>
        context.introspection !== undefined && context.config.introspection?.jwt === 'always'
          ? context.introspection.confirmJwt(token, proof)
          : undefined,
      );
      return confirmed.then(
        () => auth,
        (error: unknown) => {
          throw withChallenge(error);
        },
      );
    },
    validateFound(token, requirements, cacheMissed, proof) {
      const outer = validatingFoundToken;
      validatingFoundToken = true;
      try {
        return settle(token, requirements, cacheMissed, true, proof);
      } finally {
        validatingFoundToken = outer;
      }
    },
  });
  return validator;
}

/** A validator's own cache lookup and `validate`, for {@link lookupVerified} and {@link validateFound}. */
interface CachedLookup {
  readonly validate: Validator['validate'];
  lookup(token: string): AuthInfo | false | undefined;
  /**
   * The cached `auth` of the token of exactly `Bearer <token>` (one space) while it may answer;
   * `undefined` for anything else. Never throws, never drops an entry: whatever it does not answer
   * goes to `lookup`, which does.
   */
  peekAuthorization(authorization: string): AuthInfo | undefined;
  validateFound(
    token: string,
    requirements: Requirements | undefined,
    cacheMissed: boolean,
    proof: KeyProof | undefined,
  ): Promise<AuthInfo>;
  /** The validator's DPoP proof checker, when its `dpop` option is on. */
  readonly dpop: DpopVerifier | undefined;
  /**
   * The `auth` a replaced `validate` answered, its binding checked against what this request proved:
   * a wrapper that remembers or shares answers by token must not hand one request's proof to another.
   */
  checkWrapperAnswer(
    token: string,
    auth: AuthInfo,
    proof: KeyProof | undefined,
  ): AuthInfo | Promise<AuthInfo>;
  /** The validator takes proofs (`dpop` or `mtls`): only then can an answer be bound. */
  readonly readsProofs: boolean;
}

const cachedLookups = new WeakMap<Validator, CachedLookup>();

/**
 * What a request proved of keys (DPoP, a client certificate), for the validator's own `validate`
 * while an app's wrapper of it is called with the request's token ({@link validateFound}): set for
 * the wrapper's synchronous part only (an async wrapper's code before its first `await`), not carried
 * through promises (AsyncLocalStorage would turn on async hooks for every promise of the process). A
 * wrapper that calls `validate` later gets it without the proof: a bound token is then refused.
 */
let presentedProof:
  | { readonly validate: Validator['validate']; readonly token: string; readonly proof: KeyProof }
  | undefined;

/** The `auth` of requests authenticated with a DPoP proof: a route guard's refusal names that scheme. */
const provedWithDpop = new WeakSet<AuthInfo>();

/**
 * Internal: records that `auth` came from a request with a DPoP proof, so {@link Validator.check}
 * answers its refusals with the `DPoP` challenge. Only for an `auth` that only DPoP requests get: not
 * one of the verified-token cache (bearer answers), where `acceptBoundTokens` puts bound tokens; one of
 * the cache of bound tokens is (a token bound to a DPoP key passes only with a proof of it).
 */
export function markProvedWithDpop(auth: AuthInfo): void {
  provedWithDpop.add(auth);
}

/**
 * Internal: a validator's own cache peek ({@link CachedLookup.peekAuthorization}) and the `validate` it answers
 * for, for {@link createCachedBearerLookup}; `undefined` for a validator made some other way than
 * {@link createValidator}.
 */
export function cachePeekOf(
  validator: Validator,
): Pick<CachedLookup, 'validate' | 'peekAuthorization'> | undefined {
  return cachedLookups.get(validator);
}

/**
 * Internal: the DPoP proof checker of a validator made by {@link createValidator} with the `dpop`
 * option; `undefined` otherwise (DPoP authorizations are then another scheme).
 */
export function dpopVerifierOf(validator: Validator): DpopVerifier | undefined {
  return cachedLookups.get(validator)?.dpop;
}

/**
 * Internal (not exported by the package): the cached verification of exactly `token`, a bare token,
 * while it may be reused; `false` when the cache holds none (then {@link validateFound} validates
 * without asking the cache again); `undefined` when nothing was looked up (no cache, a token longer
 * than the limit, or a `validate` replaced on the validator: a wrapper or a spy must see every token).
 * It never verifies, never waits. Every cached token is a canonical compact JWS, so a hit is also an
 * RFC 6750 `b64token`: callers may ask before checking the token's syntax. Throws what `validate`
 * would reject with (a failing clock: `ERR_INTERNAL`, realm set). Requirements are not applied.
 */
export function lookupVerified(validator: Validator, token: string): AuthInfo | false | undefined {
  const entry = cachedLookups.get(validator);
  return entry === undefined || validator.validate !== entry.validate ? undefined : entry.lookup(token);
}

/**
 * Internal: `validator.validate(token, requirements)` for a token found in a request (a header's
 * credentials, a form body's or query string's `access_token`): always validated as a token, never
 * read again as an `Authorization` value (the credentials `bearer` are the token `bearer`), its
 * RFC 6750 b64token grammar checked only when it is not a canonical compact JWS; `cacheMissed` when
 * {@link lookupVerified} has just answered `false` for it, so the cache is not asked again. A
 * `validate` replaced on the validator (a wrapper, a spy) is called with the token as it is.
 */
export function validateFound(
  validator: Validator,
  token: string,
  requirements: Requirements | undefined,
  cacheMissed: boolean,
  proof?: KeyProof,
): Promise<AuthInfo> {
  const entry = cachedLookups.get(validator);
  if (entry !== undefined && validator.validate === entry.validate) {
    return entry.validateFound(token, requirements, cacheMissed, proof);
  }
  // Without DPoP or mTLS no answer can be bound (the validator refuses bound tokens): nothing to check.
  if (entry === undefined || !entry.readsProofs)
    return Promise.resolve(validator.validate(token, requirements));
  // A replaced `validate` (an app's wrapper: a revocation list, a log) still judges the request; a
  // proof waits for the validator's own `validate`, which the wrapper calls. Whatever the wrapper
  // answers, its binding is held to this request's proof, or to none.
  let answer: Promise<AuthInfo>;
  const outer = presentedProof;
  presentedProof = proof === undefined ? undefined : { validate: entry.validate, token, proof };
  try {
    answer = Promise.resolve(validator.validate(token, requirements));
  } finally {
    presentedProof = outer;
  }
  return answer.then((auth) => entry.checkWrapperAnswer(token, auth, proof));
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
  // Every event names the issuer: with several, a key set's URL alone may not say whose it is.
  const emitForIssuer = (event: KeySourceEvent): void => emit({ ...event, issuer: config.issuer });
  let keys: KeySource;
  if (config.secret !== undefined) {
    keys = new StaticKeySource([importSecret(config.secret.reveal())]);
  } else if (config.jwks !== undefined) {
    const imported: VerificationKey[] = [];
    for (const jwk of config.jwks.keys) {
      const result = importPublicJwk(jwk);
      if (result.ok) imported.push(result.key);
      else
        emitForIssuer({
          type: 'key_skipped',
          uri: 'configured jwks',
          kid: result.kid,
          reason: result.reason,
        });
    }
    keys = new StaticKeySource(imported);
  } else {
    // After a failed fetch the document is loaded again: an issuer that moved its key set, or fixed
    // a document without jwks_uri, needs no restart.
    const discover = async (rediscover: boolean): Promise<string> => {
      if (rediscover) metadata.forget();
      const document = await metadata();
      if (document.jwks_uri === undefined) throw new Error(`the issuer's metadata has no jwks_uri`);
      return document.jwks_uri;
    };
    keys = new RemoteKeySource({
      uri: config.jwksUri ?? discover,
      http,
      policy: resolved.keySet,
      now: resolved.now,
      emit: emitForIssuer,
    });
  }
  const introspection =
    config.introspection === undefined
      ? undefined
      : createIntrospectionClient({ config, options: config.introspection, resolved, http, metadata, keys });
  const claimCheck: ClaimCheck = {
    rules: resolved,
    audience: config.audience,
    requireExp: true,
    source: 'token',
  };
  return { config, claimCheck, keys, metadata, introspection };
}

/**
 * Whether an internal step went asynchronous. Every such step is a native promise (async functions),
 * and `instanceof` stays cheap where a `then` lookup would see every kind of result and go megamorphic.
 */
function isPromiseLike<T>(value: T | Promise<T>): value is Promise<T> {
  return value instanceof Promise;
}

/**
 * Whether two candidate lists hold the same keys in the same order (a key set's unchanged keys stay
 * the same objects across refreshes), so a signature checked against one has its verdict for the other.
 */
function sameKeys(a: readonly VerificationKey[], b: readonly VerificationKey[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}

function checkTyp(typ: unknown, config: ResolvedIssuerOptions): void {
  // Already in normal form (the usual `at+jwt`): no lower-casing per token.
  if (typeof typ === 'string' && config.typ.has(typ) && !typ.startsWith('application/')) return;
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

/**
 * Waits for every one of `works` to end, then rejects with the first failure, if any: `warm()` and
 * `refreshKeys()` answer once every issuer's fetch is over, so a healthy issuer's set is loaded when
 * they settle even if another issuer failed first.
 */
async function allEnded(works: readonly Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(works)).find((outcome) => outcome.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
