import type { AuthInfo } from './auth-info.js';
import {
  assertB64Credentials,
  type HeadersLike,
  isB64Token,
  readAuthorizationHeader,
  readBearerCredentials,
  readDpopCredentials,
} from './bearer.js';
import type { KeyProof } from './claims.js';
import type { DpopProof, DpopVerifier } from './dpop.js';
import { isTokenGuardError, TokenGuardError } from './errors.js';
import { rawAuthorization, readHeaderValues, SEVERAL } from './lib/headers.js';
import { certificateThumbprint } from './mtls.js';
import type { ResolvedDpopOptions } from './options.js';
import {
  type AuthenticationRequirement,
  assertRequirements,
  type ClaimRequirement,
  type Requirements,
} from './requirements.js';
import type { ScopeRule } from './scopes.js';
import {
  assertAuthorizationLength,
  dpopVerifierOf,
  lookupVerified,
  markProvedWithDpop,
  type Validator,
  validateFound,
} from './validator.js';

/**
 * Where a request may carry its access token (RFC 6750 §2).
 *
 * @example
 * ```ts
 * const allowed: TokenTransport[] = ['header', 'body'];
 * ```
 */
export type TokenTransport = 'header' | 'body' | 'query';

/**
 * Which ways of sending the token an API accepts besides the `Authorization` header (always on).
 *
 * @example
 * ```ts
 * const transport: TransportOptions = { body: true }; // RFC 6750 §2.2 form body, POST/PUT/PATCH only
 * ```
 */
export interface TransportOptions {
  /** `access_token` in an `application/x-www-form-urlencoded` body (RFC 6750 §2.2). Default `false`. */
  body?: boolean;
  /**
   * `access_token` in the query string (RFC 6750 §2.3). Default `false`: OAuth 2.1 and MCP forbid it,
   * and URLs end up in logs. When a token comes this way, adapters send `Cache-Control: private`.
   */
  query?: boolean;
}

/**
 * A request as any framework can describe it: enough to find the token, nothing framework-specific.
 *
 * @example
 * ```ts
 * const source: TokenSource = {
 *   method: req.method, headers: req.headers, rawHeaders: req.rawHeaders, url: req.url, body: req.body,
 * };
 * ```
 */
export interface TokenSource {
  /**
   * The request method; read when `body` is enabled (a form body counts on POST, PUT, PATCH) and for
   * a DPoP proof's `htm`.
   */
  method?: string | undefined;
  headers: HeadersLike;
  /**
   * Node's `IncomingMessage.rawHeaders`. Node keeps only the first of duplicate `Authorization`
   * headers in `headers`, so this is how a second one is noticed.
   */
  rawHeaders?: readonly string[] | undefined;
  /** The request URL (absolute or path with query); read when `query` is enabled and for DPoP's `htu`. */
  url?: string | undefined;
  /**
   * The origin the request was addressed to (`https://api.example.com`: scheme, `Host` as sent), for a
   * DPoP proof's `htu` when `url` is a path; one that is not `http(s)://host[:port]` is the client's
   * doing (401 `invalid_dpop_proof`). The validator's `dpop.origin` takes precedence.
   */
  origin?: string | undefined;
  /** The parsed form body (a record or `URLSearchParams`); read only when `body` is enabled. */
  body?: unknown;
  /**
   * The TLS client certificate the request came with (DER bytes or PEM text), for a token bound to
   * it (RFC 8705 §3); read only with the validator's `mtls` option. Only a certificate the client
   * proved it holds: the TLS handshake's ({@link peerCertificateOf}), or one forwarded by the proxy
   * that terminated TLS, from a header no client can set.
   */
  clientCertificate?: Uint8Array | string | undefined;
}

/**
 * A token found in a request, and where.
 *
 * @example
 * ```ts
 * const { token, transport } = extractAccessToken(source, { body: true });
 * ```
 */
export interface ExtractedToken {
  token: string;
  transport: TokenTransport;
}

const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';
/** Methods whose request body has defined semantics (RFC 6750 §2.2 forbids GET). */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const PARAMETER = 'access_token';

/** A `no-store` or an unqualified `private` directive (`private="field"` covers one field only). */
const KEEPS_PRIVATE = /(?:^|,)\s*(?:no-store|private)\s*(?:,|$)/i;

/**
 * The `Cache-Control` an adapter sets on the answer to a request whose token came in the query
 * string (RFC 6750 §2.3: not for shared caches), given the one the response already has: `private`,
 * or `undefined` (leave it) when that one is at least as strict (`no-store`, an unqualified
 * `private`), as an app that sets it for every response has it: replacing it with `private` would
 * let a browser store what the app said must not be stored.
 *
 * @example
 * ```ts
 * const cacheControl = queryTokenCacheControl(res.getHeader('cache-control'));
 * if (cacheControl !== undefined) res.setHeader('cache-control', cacheControl);
 * ```
 */
export function queryTokenCacheControl(current: unknown): 'private' | undefined {
  const value = Array.isArray(current) ? current.join(', ') : current;
  return typeof value === 'string' && KEEPS_PRIVATE.test(value) ? undefined : 'private';
}

/**
 * Whether a form body may carry the token for this request: a method with body semantics and the
 * `application/x-www-form-urlencoded` content type (RFC 6750 §2.2). Adapters call it to decide
 * whether the body needs parsing at all.
 *
 * @example
 * ```ts
 * if (isFormTokenRequest(req.method, req.headers['content-type'])) await parseForm(req);
 * ```
 */
export function isFormTokenRequest(method: string, contentType: string | null | undefined): boolean {
  if (!BODY_METHODS.has(method.toUpperCase()) || typeof contentType !== 'string') return false;
  return contentType.split(';', 1)[0]?.trim().toLowerCase() === FORM_CONTENT_TYPE;
}

/**
 * Whether {@link extractAccessToken} reads `source.body` for this request's token (with `body`
 * enabled): {@link isFormTokenRequest} of its method and its first `Content-Type` as core reads it (a
 * fetch `Headers` joins a repeated one, which then names no form). An adapter that parses the body
 * itself asks this, so it reads a body exactly when core looks for a token in it.
 *
 * @example
 * ```ts
 * if (isFormTokenSource(source)) {
 *   const reading = readFormBody(new Uint8Array(await request.arrayBuffer()), source.headers);
 *   if ('parameters' in reading) source.body = reading.parameters;
 * }
 * ```
 */
export function isFormTokenSource(source: Pick<TokenSource, 'method' | 'headers'>): boolean {
  const { method } = source;
  return (
    method !== undefined && isFormTokenRequest(method, readHeaderValues(source.headers, 'content-type')[0])
  );
}

/**
 * Finds the access token of a request: the `Authorization: Bearer` header, and, only when enabled,
 * the form body and the query string. Framework-neutral; every adapter calls it.
 *
 * - Two `Authorization` headers, a malformed `Bearer` header, a token sent more than one way, or an
 *   `access_token` parameter repeated or outside the token grammar: `ERR_INVALID_REQUEST` (400).
 * - No token at all (or only a header of another scheme): `ERR_TOKEN_MISSING` (401, bare challenge).
 *
 * @example
 * ```ts
 * const { token, transport } = extractAccessToken(
 *   { method: 'POST', headers: req.headers, rawHeaders: req.rawHeaders, body: req.body },
 *   { body: true },
 * );
 * ```
 */
export function extractAccessToken(source: TokenSource, options: TransportOptions = {}): ExtractedToken {
  const found = findAccessToken(source, options, undefined);
  return found.auth === undefined ? found : { token: found.token, transport: found.transport };
}

/**
 * What {@link findAccessToken} found; `auth` when the header's token was answered from the cache,
 * `cacheMissed` when the cache was asked and holds none (the validator need not ask again; the
 * token's b64token grammar is then left to {@link validateFound}).
 */
interface FoundToken extends ExtractedToken {
  auth?: AuthInfo;
  cacheMissed?: boolean;
  /** Sent with the `DPoP` scheme (RFC 9449 §7.1): it comes with a proof to check. */
  dpop?: boolean;
}

/**
 * {@link extractAccessToken}; with `validator`, a header-only token verified before is looked up
 * before its syntax is checked (every cached token has it) and comes back with its `auth`.
 */
function findAccessToken(
  source: TokenSource,
  options: TransportOptions,
  validator: Validator | undefined,
  dpopSettings?: ResolvedDpopOptions,
): FoundToken {
  const header = readHeader(source);
  const headerOnly = options.body !== true && options.query !== true;
  let fromHeader: string | undefined;
  let missing: TokenGuardError | undefined;
  let dpop = false;
  if (header !== undefined && header.trim() !== '') {
    // As validate() does: a value longer than any acceptable one is refused before it is parsed, and
    // never read as another scheme (which an optional route would let through as anonymous). A
    // validator made some other way than createValidator() may have no options: its validate judges.
    const maxTokenLength = validator?.options?.maxTokenLength;
    if (typeof maxTokenLength === 'number') assertAuthorizationLength(header, maxTokenLength);
    try {
      fromHeader = readBearerCredentials(header);
    } catch (error) {
      // Another scheme (Basic ...) is not a bearer token; a broken Bearer header is a 400 at once.
      if (!(error instanceof TokenGuardError) || error.code !== 'ERR_TOKEN_MISSING') throw error;
      missing = error;
      // DPoP, when the validator takes it: the token then comes with a proof (not from the cache).
      if (dpopSettings !== undefined) {
        try {
          fromHeader = readDpopCredentials(header);
          if (fromHeader !== undefined) assertB64Credentials(fromHeader, 'DPoP');
        } catch (dpopError) {
          // A broken DPoP authorization: its 400 goes in the DPoP challenge (RFC 9449 §7.1).
          if (dpopError instanceof TokenGuardError) dpopError.scheme = 'DPoP';
          throw dpopError;
        }
        dpop = fromHeader !== undefined;
      }
    }
    if (fromHeader !== undefined && !dpop && dpopSettings?.required === true) {
      // RFC 6750 §3.1: an unsupported authentication method is answered as no credentials at all.
      missing = new TokenGuardError('ERR_TOKEN_MISSING', {
        message: 'This API accepts only DPoP-bound tokens (Authorization: DPoP)',
      });
      fromHeader = undefined;
    }
    if (fromHeader !== undefined && dpop) {
      if (headerOnly) return { token: fromHeader, transport: 'header', dpop };
    } else if (fromHeader !== undefined) {
      const cached =
        validator !== undefined && headerOnly ? lookupVerified(validator, fromHeader) : undefined;
      if (cached) return { token: fromHeader, transport: 'header', auth: cached };
      // A miss: validateFound checks the token's grammar, cheaply for a canonical compact JWS.
      if (cached === false) return { token: fromHeader, transport: 'header', cacheMissed: true };
      assertB64Credentials(fromHeader);
    }
  }
  // The common case, header only: no list of candidates to build.
  if (headerOnly) {
    if (fromHeader === undefined) throw missing ?? new TokenGuardError('ERR_TOKEN_MISSING');
    return { token: fromHeader, transport: 'header' };
  }

  const found: FoundToken[] =
    fromHeader === undefined ? [] : [{ token: fromHeader, transport: 'header', ...(dpop ? { dpop } : {}) }];
  if (options.body === true && isFormTokenSource(source)) {
    const token = readParameter(source.body, 'form body');
    if (token !== undefined) found.push({ token, transport: 'body' });
  }
  if (options.query === true && source.url !== undefined) {
    const token = readParameter(parseQuery(source.url), 'query string');
    if (token !== undefined) found.push({ token, transport: 'query' });
  }

  if (found.length > 1) {
    const error = new TokenGuardError('ERR_INVALID_REQUEST', {
      message: `The access token was sent more than one way (${found.map((f) => f.transport).join(' and ')})`,
    });
    if (dpop) error.scheme = 'DPoP';
    throw error;
  }
  const first = found[0];
  if (first === undefined) throw missing ?? new TokenGuardError('ERR_TOKEN_MISSING');
  if (dpopSettings?.required === true && first.dpop !== true) {
    throw new TokenGuardError('ERR_TOKEN_MISSING', {
      message: `This API accepts only DPoP-bound tokens (Authorization: DPoP), not one in the ${first.transport}`,
    });
  }
  return first;
}

/**
 * What {@link authenticateRequest} found: the caller, or nobody on an optional route.
 *
 * @example
 * ```ts
 * const { auth, transport } = await authenticateRequest(validator, source);
 * if (transport === 'query') res.setHeader('cache-control', 'private');
 * ```
 */
export interface AuthenticationResult {
  /** `undefined` only when `optional` is set and the request carried no token. */
  auth: AuthInfo | undefined;
  /** How the token came; adapters send `Cache-Control: private` when it is `query`. */
  transport: TokenTransport | undefined;
}

/**
 * Options of {@link authenticateRequest}.
 *
 * @example
 * ```ts
 * await authenticateRequest(validator, source, { optional: true, transport: { body: true } });
 * ```
 */
export interface AuthenticateOptions {
  transport?: TransportOptions | undefined;
  /** Requests without any token pass as anonymous; a token that is sent must still be valid. */
  optional?: boolean | undefined;
  requirements?: Requirements | undefined;
}

/**
 * Extracts the token of a request and validates it: the whole job of an adapter's middleware, so
 * the adapters contain no validation logic. Errors are {@link TokenGuardError}s carrying the
 * validator's realm.
 *
 * @example
 * ```ts
 * const { auth } = await authenticateRequest(validator, {
 *   method: req.method, headers: req.headers, rawHeaders: req.rawHeaders,
 * });
 * ```
 */
export function authenticateRequest(
  validator: Validator,
  source: TokenSource,
  options: AuthenticateOptions = {},
): Promise<AuthenticationResult> {
  const result = authenticateRequestNow(validator, source, options);
  return result instanceof Promise ? result : Promise.resolve(result);
}

/**
 * {@link authenticateRequest}, answered at once when nothing has to wait: a token the validator
 * verified before and still holds in its cache (with no `requirements`), or an anonymous request on
 * an optional route, gives the result itself, so an adapter can go on in the same tick; anything
 * else gives a promise. Never throws: every failure is a rejection.
 *
 * @example
 * ```ts
 * const result = authenticateRequestNow(validator, { headers: req.headers, rawHeaders: req.rawHeaders });
 * if (result instanceof Promise) result.then(proceed, fail);
 * else proceed(result);
 * ```
 */
export function authenticateRequestNow(
  validator: Validator,
  source: TokenSource,
  options: AuthenticateOptions = {},
): AuthenticationResult | Promise<AuthenticationResult> {
  let extracted: FoundToken;
  // A validator made some other way than createValidator() may have no options (and no DPoP).
  const dpopSettings = (validator as Partial<Validator>).options?.dpop;
  const dpop = dpopSettings === undefined ? undefined : dpopVerifierOf(validator);
  try {
    // With route requirements, validate() applies them: no cache answer here.
    extracted = findAccessToken(
      source,
      options.transport ?? {},
      options.requirements === undefined ? validator : undefined,
      dpop === undefined ? undefined : dpopSettings,
    );
  } catch (error) {
    if (options.optional === true && error instanceof TokenGuardError && error.code === 'ERR_TOKEN_MISSING') {
      return { auth: undefined, transport: undefined };
    }
    if (error instanceof TokenGuardError) setChallenge(error, validator);
    return Promise.reject(error);
  }
  const { token, transport, auth } = extracted;
  if (auth !== undefined) return { auth, transport };
  if (extracted.dpop === true && dpop !== undefined) {
    return authenticateWithProof(validator, dpop, source, token, options.requirements);
  }
  let validated: Promise<AuthInfo>;
  try {
    // Asked of the cache already (only ever without requirements): not asked twice.
    validated = validateFound(
      validator,
      token,
      options.requirements,
      extracted.cacheMissed === true,
      proofOfCertificate(certificateThumbprintOf(validator, source)),
    );
  } catch (error) {
    return Promise.reject(error);
  }
  return validated.then((verified) => ({ auth: verified, transport }));
}

/**
 * RFC 9449 §7.1: a token sent with the `DPoP` scheme, checked with the request's one `DPoP` proof:
 * the proof first (its key, signature and request claims), then the token, which must be bound to the
 * proof's key; the proof is spent only once both passed, so a replay is refused as such. Every error
 * names the `DPoP` scheme in its challenge.
 */
function authenticateWithProof(
  validator: Validator,
  dpop: DpopVerifier,
  source: TokenSource,
  token: string,
  requirements: Requirements | undefined,
): Promise<AuthenticationResult> {
  let validated: Promise<AuthInfo>;
  let proof: DpopProof;
  try {
    proof = dpop.verify(readProofHeader(source), {
      method: requestMethod(source),
      url: requestUrl(source, validator.options.dpop?.origin),
      accessToken: token,
    });
    const certificate = certificateThumbprintOf(validator, source);
    validated = validateFound(validator, token, requirements, true, { jkt: proof.jkt, certificate });
  } catch (error) {
    return Promise.reject(dpopSchemeError(error, validator));
  }
  const accepted = (verified: AuthInfo): AuthenticationResult => {
    // Unless bound tokens are cached as bearer tokens (then shared with bearer requests), an auth only
    // DPoP requests get (this one's, or the cache of bound tokens').
    if (validator.options.acceptBoundTokens !== true) markProvedWithDpop(verified);
    return { auth: verified, transport: 'header' };
  };
  const refused = (error: unknown): never => {
    throw dpopSchemeError(error, validator);
  };
  return validated.then((verified) => {
    // Spent once the token passed too; with a shared replay store, once the store has answered.
    let spent: void | Promise<void>;
    try {
      spent = proof.spend();
    } catch (error) {
      return refused(error);
    }
    return spent === undefined ? accepted(verified) : spent.then(() => accepted(verified), refused);
  }, refused);
}

/**
 * The `x5t#S256` of the request's TLS client certificate, with the validator's `mtls` option;
 * `undefined` without the option, a certificate, or one that is not one.
 */
function certificateThumbprintOf(validator: Validator, source: TokenSource): string | undefined {
  if ((validator as Partial<Validator>).options?.mtls !== true) return undefined;
  const certificate = source.clientCertificate;
  return certificate === undefined ? undefined : certificateThumbprint(certificate);
}

/** What a certificate proves; `undefined` without one, so a bearer request allocates nothing. */
function proofOfCertificate(thumbprint: string | undefined): KeyProof | undefined {
  return thumbprint === undefined ? undefined : { certificate: thumbprint };
}

/** An error of a DPoP-scheme request: its challenge is the `DPoP` one (RFC 9449 §7.1). */
function dpopSchemeError(error: unknown, validator: Validator): TokenGuardError {
  // Anything unexpected (a throwing clock) is a 500 ERR_INTERNAL, as on the Bearer path (withChallenge).
  const wrapped =
    error instanceof TokenGuardError ? error : new TokenGuardError('ERR_INTERNAL', { cause: error });
  setChallenge(wrapped, validator);
  wrapped.scheme = 'DPoP';
  return wrapped;
}

/** The request's one `DPoP` header (RFC 9449 §4.3, step 1): none, or more than one, is refused. */
function readProofHeader(source: TokenSource): string {
  const raw = source.rawHeaders;
  let values: string[];
  if (raw !== undefined) {
    values = [];
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i]?.toLowerCase() === 'dpop') values.push(raw[i + 1] ?? '');
    }
  } else values = readHeaderValues(source.headers, 'dpop');
  // A fetch runtime's Headers join repeated fields with a comma, which no compact JWS holds.
  if (values.length !== 1 || (values[0] as string).includes(',')) {
    throw new TokenGuardError('ERR_DPOP_PROOF_INVALID', {
      message:
        values.length === 0
          ? 'The request has no DPoP header with the DPoP-bound token'
          : 'The request has more than one DPoP header',
    });
  }
  return (values[0] as string).trim();
}

function requestMethod(source: TokenSource): string {
  if (typeof source.method !== 'string' || source.method === '') {
    throw new TokenGuardError('ERR_INTERNAL', {
      message: 'The adapter gave no request method to check DPoP proofs with',
    });
  }
  return source.method;
}

/**
 * An origin as a request names it: `http` or `https`, then RFC 9110 §7.2's `Host` = uri-host [ ":" port ]
 * (an IP literal in brackets or a reg-name of RFC 3986 §3.2.2's characters), and nothing else.
 */
const REQUEST_ORIGIN = /^https?:\/\/(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]+)(?::[0-9]*)?$/i;

/** A `.` or `..` path segment, percent-encoded or not. */
const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?=\/|$)/i;

/**
 * The absolute URL a proof's `htu` must name: the request's path on `origin` (the `dpop.origin`
 * option), else on the request's own origin (an absolute `url`, or `source.origin`). A path is
 * appended to the origin as text, so `//host/x` stays a path on this origin.
 */
function requestUrl(source: TokenSource, origin: string | undefined): string {
  const url = source.url;
  if (typeof url !== 'string' || url === '') {
    throw new TokenGuardError('ERR_INTERNAL', {
      message: 'The adapter gave no request URL to check DPoP proofs with',
    });
  }
  const absolute = /^https?:\/\//i.test(url);
  assertRoutedAsNamed(absolute ? url.slice(url.indexOf('//') + 2) : url, absolute);
  if (absolute) {
    // An absolute URL (fetch runtimes, or an absolute-form request line): its origin is the
    // request's own, unless one is configured.
    if (origin === undefined || !URL.canParse(url)) return url;
    return `${origin}${new URL(url).pathname}`;
  }
  const base = origin ?? source.origin;
  // No host (HTTP/1.0 without Host), or a Host that is not host[:port] (`host/me?` would slip a path in
  // front of the routed one, so a proof for `/me` named a request routed to `/admin`): the client's
  // doing, and no htu can name the request.
  if (base === undefined || !REQUEST_ORIGIN.test(base)) {
    throw new TokenGuardError('ERR_DPOP_PROOF_INVALID', {
      message:
        'The request names no usable host, so no DPoP proof can name its URL (the API can set dpop.origin)',
    });
  }
  return `${base}${url.startsWith('/') ? url : `/${url}`}`;
}

/**
 * Refuses a request target the framework routes otherwise than a URL parser reads it: a `.` or `..`
 * segment (plain or percent-encoded) or a `\` anywhere after the scheme (`afterScheme`: the target,
 * or for an absolute one the text after `scheme://`, authority included). A URL parser resolves them,
 * so a proof for `/me` would pass on `/admin/../me`, which Express and Fastify route under `/admin`.
 * No client that makes proofs sends such a target.
 */
function assertRoutedAsNamed(afterScheme: string, absolute: boolean): void {
  const end = afterScheme.search(/[?#]/);
  const target = end === -1 ? afterScheme : afterScheme.slice(0, end);
  const slash = target.indexOf('/');
  const path = absolute ? (slash === -1 ? '' : target.slice(slash)) : target;
  if (target.includes('\\') || DOT_SEGMENT.test(path)) {
    throw new TokenGuardError('ERR_DPOP_PROOF_INVALID', {
      message:
        'The request path has dot segments or backslashes, so no DPoP proof can name it as it is routed',
    });
  }
}

function readHeader(source: TokenSource): string | undefined {
  const raw = source.rawHeaders;
  if (raw !== undefined) {
    const rawValue = rawAuthorization(raw);
    if (rawValue === SEVERAL) {
      throw new TokenGuardError('ERR_INVALID_REQUEST', {
        message: 'More than one Authorization header was sent',
      });
    }
    // Node's header record (lower-case keys) holding the one header as sent: no walk over its keys.
    // A value a middleware put there instead is read the long way below.
    if (
      rawValue !== undefined &&
      (source.headers as { authorization?: unknown } | null | undefined)?.authorization === rawValue
    ) {
      return rawValue;
    }
  }
  return readAuthorizationHeader(source.headers);
}

function parseQuery(url: string): URLSearchParams {
  const index = url.indexOf('?');
  return new URLSearchParams(index === -1 ? '' : url.slice(index + 1));
}

/** Reads `access_token` from a parsed body or query: absent, exactly one valid token, or a 400. */
function readParameter(container: unknown, where: string): string | undefined {
  let values: unknown[];
  if (container instanceof URLSearchParams) values = container.getAll(PARAMETER);
  else if (container !== null && typeof container === 'object' && Object.hasOwn(container, PARAMETER)) {
    const value = (container as Record<string, unknown>)[PARAMETER];
    values = Array.isArray(value) ? value : [value];
  } else values = [];
  if (values.length === 0) return undefined;
  if (values.length > 1) {
    throw new TokenGuardError('ERR_INVALID_REQUEST', {
      message: `The ${where} carries access_token more than once`,
    });
  }
  const [token] = values;
  if (typeof token !== 'string' || !isB64Token(token)) {
    throw new TokenGuardError('ERR_INVALID_REQUEST', {
      message: `The access_token in the ${where} does not match the RFC 6750 token syntax`,
    });
  }
  return token;
}

/** The scope requirements the guards of a request have met so far, by request (see {@link enforceRequirements}). */
const metScopes = new WeakMap<object, NonNullable<Requirements['scopes']>[]>();

/** A route's `scopes` as one rule (a list is all-of). */
const ruleOf = (scopes: NonNullable<Requirements['scopes']>): ScopeRule =>
  Array.isArray(scopes) ? { allOf: scopes } : (scopes as ScopeRule);

/**
 * Applies a route guard's requirements to the request's `auth`: a request that reached the guard
 * without a token (optional-auth routes) is a 401 with a bare challenge; otherwise the validator's
 * {@link Validator.check} decides. Route guards of every adapter call this, with their `request`
 * (any object standing for it): a route's scope guards, stacked (`requireScopes('a')`, then
 * `requireAnyScope('b', 'c')`), then refuse with a `scope` that names what satisfies them all (`a b`),
 * the scopes the earlier guards required included, as RFC 6750 §3 has it, not only their own.
 *
 * @example
 * ```ts
 * enforceRequirements(validator, req.auth, { scopes: ['orders:read'] }, req);
 * ```
 */
export function enforceRequirements(
  validator: Validator,
  auth: AuthInfo | null | undefined,
  requirements: Requirements,
  request?: object,
): asserts auth is AuthInfo {
  if (auth == null) {
    const error = new TokenGuardError('ERR_TOKEN_MISSING', { message: 'This route requires a bearer token' });
    setChallenge(error, validator);
    throw error;
  }
  const { scopes } = requirements;
  if (request === undefined || scopes === undefined) {
    validator.check(auth, requirements);
    return;
  }
  const met = metScopes.get(request);
  try {
    validator.check(auth, requirements);
  } catch (error) {
    // Checked again with the earlier guards' scopes (which the token holds) for the challenge's `scope`;
    // the rules are only built here, on a refusal.
    if (met !== undefined && isTokenGuardError(error) && error.code === 'ERR_INSUFFICIENT_SCOPE') {
      validator.check(auth, { ...requirements, scopes: { allOf: [...met, scopes].map(ruleOf) } });
    }
    throw error;
  }
  if (met === undefined) metScopes.set(request, [scopes]);
  else met.push(scopes);
}

/**
 * Gives an error raised outside the validator what the validator gives its own: the challenge's
 * `realm` and `resource_metadata`. Only ever on the failure path.
 */
function setChallenge(error: TokenGuardError, validator: Validator): void {
  error.realm = validator.realm;
  // A validator made some other way than createValidator() may have no options.
  const options = (validator as Partial<Validator>).options;
  error.resourceMetadata = options?.resourceMetadata?.url;
  if (options?.dpop !== undefined) {
    error.dpopAlgorithms = options.dpop.algorithms;
    error.dpopRequired = options.dpop.required;
  }
}

/**
 * Checks a scope guard's arguments once, when the route is declared: a `TypeError` naming the
 * guard if there is no scope or one that is not a non-empty string without spaces.
 *
 * @example
 * ```ts
 * assertScopeArguments('requireScopes', ['orders:read']);
 * ```
 */
export function assertScopeArguments(guard: string, scopes: readonly unknown[]): asserts scopes is string[] {
  if (scopes.length === 0) throw new TypeError(`tokenguard: ${guard}() needs at least one scope`);
  for (const scope of scopes) {
    if (typeof scope !== 'string' || scope === '' || /\s/.test(scope)) {
      throw new TypeError(`tokenguard: ${guard}() scopes must be non-empty strings without spaces`);
    }
  }
}

/**
 * Checks claim guard arguments once, when the route is declared.
 *
 * @example
 * ```ts
 * assertClaimArguments('requireClaims', [{ claim: 'roles', includes: 'admin' }]);
 * ```
 */
export function assertClaimArguments(
  guard: string,
  claims: readonly unknown[],
): asserts claims is ClaimRequirement[] {
  if (claims.length === 0) throw new TypeError(`tokenguard: ${guard}() needs at least one claim requirement`);
  for (const claim of claims) {
    const value = claim as Record<string, unknown> | null;
    const ok =
      value !== null &&
      typeof value === 'object' &&
      ((typeof value.claim === 'string' && ('equals' in value || 'includes' in value)) ||
        (typeof value.test === 'function' && typeof value.description === 'string'));
    if (!ok) {
      throw new TypeError(
        `tokenguard: ${guard}() takes { claim, equals }, { claim, includes } or { test, description }`,
      );
    }
  }
}

/**
 * A tenant, several, or a function of the framework's request (`R`) that names them: what every
 * adapter's `requireTenant()` takes.
 *
 * @example
 * ```ts
 * const fromParam: TenantSelectorOf<{ params: { tenant: string } }> = (req) => req.params.tenant;
 * const fixed: TenantSelectorOf<unknown> = ['acme', 'acme-eu'];
 * ```
 */
export type TenantSelectorOf<R> =
  | string
  | readonly string[]
  | ((request: R) => string | readonly string[] | undefined);

/**
 * The route guards every adapter exports under these names.
 *
 * @example
 * ```ts
 * const name: RouteGuardName = 'requireScopes';
 * ```
 */
export type RouteGuardName =
  | 'requireScopes'
  | 'requireAnyScope'
  | 'requireTenant'
  | 'requireClaims'
  | 'requireAuthentication';

/**
 * Builds the {@link Requirements} of a route guard from the arguments it was declared with,
 * checked once, when the route is declared (a `TypeError` naming the guard), and returns them as a
 * function of the request: fixed for scopes, claims and authentication (lists and claim requirements
 * copied, so a caller's object changed later does not change the route), read from the request by a
 * tenant selector.
 * Adapters keep only their framework glue around it. `requestName` words the `requireTenant`
 * error ("a function of the request", or of the `context` in Hono).
 *
 * @example
 * ```ts
 * import type { Request } from 'express';
 *
 * const requirements = routeGuardRequirements<Request>('requireScopes', ['orders:read']);
 * enforceRequirements(validator, req.auth, requirements(req));
 * routeGuardRequirements<Request>('requireTenant', [(req: Request) => req.params.tenant]);
 * ```
 */
export function routeGuardRequirements<R>(
  guard: RouteGuardName,
  args: readonly unknown[],
  requestName = 'request',
): (request: R) => Requirements {
  let fixed: Requirements;
  switch (guard) {
    case 'requireScopes':
      assertScopeArguments(guard, args);
      fixed = { scopes: [...args] };
      break;
    case 'requireAnyScope':
      assertScopeArguments(guard, args);
      fixed = { scopes: { anyOf: [...args] } };
      break;
    case 'requireClaims': {
      // Each requirement copied: an object the caller changes later, or reuses for the next route
      // in a loop, does not change this route. Anything else is left for the argument check.
      const claims = args.map((claim) =>
        claim !== null && typeof claim === 'object' ? { ...claim } : claim,
      );
      assertClaimArguments(guard, claims);
      fixed = { claims };
      break;
    }
    case 'requireAuthentication':
      fixed = { authentication: copyAuthentication(guard, args) };
      break;
    case 'requireTenant': {
      const tenant = args[0];
      if (typeof tenant === 'function') {
        const select = tenant as (request: R) => string | readonly string[] | undefined;
        return (request) => ({ tenant: select(request) });
      }
      if (typeof tenant !== 'string' && !Array.isArray(tenant)) {
        throw new TypeError(
          `tokenguard: requireTenant() takes a tenant, a list of tenants or a function of the ${requestName}`,
        );
      }
      // A fixed '' or [] names no tenant: the route would answer 403 to every request.
      if (tenant === '' || (Array.isArray(tenant) && (tenant.length === 0 || tenant.includes('')))) {
        throw new TypeError(
          'tokenguard: requireTenant() needs a non-empty tenant (or a non-empty list of them)',
        );
      }
      // Copied: a caller's list changed later does not change the route.
      fixed = { tenant: typeof tenant === 'string' ? tenant : [...(tenant as readonly string[])] };
      break;
    }
    default:
      throw new TypeError(`tokenguard: unknown route guard "${String(guard)}"`);
  }
  // A fixed tenant list of non-strings is a TypeError now, not a 500 on every request.
  assertRequirements(fixed);
  return () => fixed;
}

/**
 * The one argument of `requireAuthentication()`, copied (its `acrValues` too): a caller's object
 * changed later does not change the route. Its content is checked by `assertRequirements`, which
 * names the key at fault.
 */
function copyAuthentication(guard: string, args: readonly unknown[]): AuthenticationRequirement {
  const [value] = args;
  if (args.length !== 1 || value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`tokenguard: ${guard}() takes one object like { acrValues: [...], maxAgeSec: 300 }`);
  }
  const copy: Record<string, unknown> = { ...value };
  if (Array.isArray(copy.acrValues)) copy.acrValues = [...copy.acrValues];
  return copy as unknown as AuthenticationRequirement;
}
