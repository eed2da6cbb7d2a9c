import { type ChallengeParams, challengeText, formatChallenge } from './challenge.js';

/**
 * Every stable error code tokenguard produces. Switch on `error.code` to narrow.
 *
 * @example
 * ```ts
 * try { await validator.validate(header); }
 * catch (err) {
 *   if (isTokenGuardError(err) && err.code === 'ERR_TOKEN_EXPIRED') refreshAndRetry();
 * }
 * ```
 */
export type ErrorCode =
  | 'ERR_TOKEN_MISSING'
  | 'ERR_INVALID_REQUEST'
  | 'ERR_TOKEN_MALFORMED'
  | 'ERR_TOKEN_TOO_LARGE'
  | 'ERR_TOKEN_EXPIRED'
  | 'ERR_TOKEN_NOT_YET_VALID'
  | 'ERR_TOKEN_TOO_OLD'
  | 'ERR_ISSUER_MISMATCH'
  | 'ERR_AUDIENCE_MISMATCH'
  | 'ERR_ALGORITHM_NOT_ALLOWED'
  | 'ERR_TYPE_MISMATCH'
  | 'ERR_SIGNATURE_INVALID'
  | 'ERR_KEY_NOT_FOUND'
  | 'ERR_CLAIM_MISSING'
  | 'ERR_CLAIM_INVALID'
  | 'ERR_TOKEN_BOUND'
  | 'ERR_DPOP_PROOF_INVALID'
  | 'ERR_DPOP_NONCE_REQUIRED'
  | 'ERR_DPOP_BINDING_MISMATCH'
  | 'ERR_MTLS_BINDING_MISMATCH'
  | 'ERR_TOKEN_INACTIVE'
  | 'ERR_TOKEN_NOT_JWT'
  | 'ERR_INSUFFICIENT_SCOPE'
  | 'ERR_CLAIM_REQUIREMENT'
  | 'ERR_TENANT_MISMATCH'
  | 'ERR_INSUFFICIENT_USER_AUTHENTICATION'
  | 'ERR_KEYS_UNAVAILABLE'
  | 'ERR_INTROSPECTION_UNAVAILABLE'
  | 'ERR_DPOP_REPLAY_UNAVAILABLE'
  | 'ERR_INTROSPECTION_MISCONFIGURED'
  | 'ERR_INTERNAL';

/**
 * The OAuth 2.0 error codes of RFC 6750 §3.1, RFC 9470's `insufficient_user_authentication` and
 * RFC 9449's `invalid_dpop_proof` and `use_dpop_nonce`.
 *
 * @example
 * ```ts
 * const error: OAuthErrorCode | undefined = err.oauthError; // undefined for 401 without credentials, 500, 503
 * ```
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'insufficient_user_authentication'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce';

interface CodeSpec {
  readonly oauthError: OAuthErrorCode | undefined;
  readonly status: 400 | 401 | 403 | 500 | 503;
  readonly message: string;
}

/**
 * Status, OAuth error and default message of each code: the single source of the error table.
 *
 * @example
 * ```ts
 * ERROR_CODES.ERR_TOKEN_EXPIRED; // { oauthError: 'invalid_token', status: 401, message: 'The token has expired' }
 * const serverSide = Object.entries(ERROR_CODES).filter(([, spec]) => spec.status >= 500);
 * ```
 */
export const ERROR_CODES: Readonly<Record<ErrorCode, CodeSpec>> = {
  ERR_TOKEN_MISSING: { oauthError: undefined, status: 401, message: 'No bearer token in the request' },
  ERR_INVALID_REQUEST: { oauthError: 'invalid_request', status: 400, message: 'The request is malformed' },
  ERR_TOKEN_MALFORMED: { oauthError: 'invalid_token', status: 401, message: 'The token is malformed' },
  ERR_TOKEN_TOO_LARGE: { oauthError: 'invalid_token', status: 401, message: 'The token is too large' },
  ERR_TOKEN_EXPIRED: { oauthError: 'invalid_token', status: 401, message: 'The token has expired' },
  ERR_TOKEN_NOT_YET_VALID: {
    oauthError: 'invalid_token',
    status: 401,
    message: 'The token is not valid yet',
  },
  ERR_TOKEN_TOO_OLD: {
    oauthError: 'invalid_token',
    status: 401,
    message: 'The token was issued too long ago',
  },
  ERR_ISSUER_MISMATCH: {
    oauthError: 'invalid_token',
    status: 401,
    message: 'The token issuer is not trusted',
  },
  ERR_AUDIENCE_MISMATCH: {
    oauthError: 'invalid_token',
    status: 401,
    message: 'The token is not meant for this API',
  },
  ERR_ALGORITHM_NOT_ALLOWED: {
    oauthError: 'invalid_token',
    status: 401,
    message: 'The token algorithm is not allowed',
  },
  ERR_TYPE_MISMATCH: {
    oauthError: 'invalid_token',
    status: 401,
    message: 'The token is not an access token',
  },
  ERR_SIGNATURE_INVALID: {
    oauthError: 'invalid_token',
    status: 401,
    message: 'The token signature is invalid',
  },
  ERR_KEY_NOT_FOUND: {
    oauthError: 'invalid_token',
    status: 401,
    message: "The token's signing key is not in the issuer's key set",
  },
  ERR_CLAIM_MISSING: { oauthError: 'invalid_token', status: 401, message: 'A required claim is missing' },
  ERR_CLAIM_INVALID: { oauthError: 'invalid_token', status: 401, message: 'A claim is invalid' },
  ERR_TOKEN_BOUND: {
    oauthError: 'invalid_token',
    status: 401,
    message: 'The token is bound to a key and was presented as a bearer token',
  },
  // RFC 9449 §7.1: the DPoP header is missing, repeated, malformed, or does not prove this request.
  ERR_DPOP_PROOF_INVALID: {
    oauthError: 'invalid_dpop_proof',
    status: 401,
    message: 'The DPoP proof is invalid',
  },
  // RFC 9449 §9 (dpop.nonce): the proof has no nonce, or not a current one; the answer carries one.
  ERR_DPOP_NONCE_REQUIRED: {
    oauthError: 'use_dpop_nonce',
    status: 401,
    message: 'The DPoP proof must carry a nonce from this API',
  },
  // RFC 9449 §7.1: the token sent with the DPoP scheme is not bound to the proof's key.
  ERR_DPOP_BINDING_MISMATCH: {
    oauthError: 'invalid_token',
    status: 401,
    message: 'Invalid DPoP key binding',
  },
  // RFC 8705 §3: the token is bound to a TLS client certificate the request did not come with.
  ERR_MTLS_BINDING_MISMATCH: {
    oauthError: 'invalid_token',
    status: 401,
    message: 'Invalid certificate binding',
  },
  ERR_TOKEN_INACTIVE: { oauthError: 'invalid_token', status: 401, message: 'The token is not active' },
  ERR_TOKEN_NOT_JWT: {
    oauthError: 'invalid_token',
    status: 401,
    message: 'The token is not a JWT and no introspection endpoint is configured',
  },
  ERR_INSUFFICIENT_SCOPE: {
    oauthError: 'insufficient_scope',
    status: 403,
    message: 'The token lacks a required scope',
  },
  ERR_CLAIM_REQUIREMENT: {
    oauthError: 'insufficient_scope',
    status: 403,
    message: "The token's claims do not meet this route's requirements",
  },
  ERR_TENANT_MISMATCH: {
    oauthError: 'insufficient_scope',
    status: 403,
    message: 'The token belongs to another tenant',
  },
  // RFC 9470 §3: the token is valid but the user's authentication behind it is not strong or recent
  // enough; the challenge tells the client what to ask the authorization server for.
  ERR_INSUFFICIENT_USER_AUTHENTICATION: {
    oauthError: 'insufficient_user_authentication',
    status: 401,
    message: 'A different or more recent authentication is required',
  },
  ERR_KEYS_UNAVAILABLE: {
    oauthError: undefined,
    status: 503,
    message: "The issuer's signing keys cannot be obtained right now",
  },
  ERR_INTROSPECTION_UNAVAILABLE: {
    oauthError: undefined,
    status: 503,
    message: 'The introspection endpoint cannot be reached right now',
  },
  // dpop.replayStore failed or timed out: whether the proof was used before is unknown, so it is not
  // accepted, and the answer blames the server, not the client's proof.
  ERR_DPOP_REPLAY_UNAVAILABLE: {
    oauthError: undefined,
    status: 503,
    message: 'The DPoP replay store cannot be reached right now',
  },
  ERR_INTROSPECTION_MISCONFIGURED: {
    oauthError: undefined,
    status: 500,
    message: "The introspection endpoint rejected this API's own credentials",
  },
  // A bug, or a callback (clock, listener) that threw: the server's fault, never blamed on the token.
  ERR_INTERNAL: {
    oauthError: undefined,
    status: 500,
    message: 'The token could not be validated because of an internal error',
  },
};

/**
 * Extra data an error may carry.
 *
 * @example
 * ```ts
 * throw new TokenGuardError('ERR_CLAIM_INVALID', { claim: 'org_id', message: 'The org_id claim is not a string' });
 * ```
 */
export interface TokenGuardErrorOptions {
  /** Replaces the code's default message. Never put the token in it. */
  message?: string;
  cause?: unknown;
  /** For `insufficient_scope`: the scope value that would satisfy the route (RFC 6750 §3). */
  scope?: string;
  /** For 503 errors: seconds until a retry may succeed. */
  retryAfterSec?: number;
  /** The claim concerned, when there is one. */
  claim?: string;
  /** For `insufficient_user_authentication`: the route's `acr_values` (RFC 9470 §3). */
  acrValues?: readonly string[] | undefined;
  /** For `insufficient_user_authentication`: the route's `max_age` in seconds (RFC 9470 §3). */
  maxAgeSec?: number | undefined;
  /** What was expected and what the token had, for diagnostics (never secrets). */
  expected?: unknown;
  actual?: unknown;
  /** For `use_dpop_nonce`: the nonce the client must put in its next proof, sent as `DPoP-Nonce` (RFC 9449 §9). */
  dpopNonce?: string | undefined;
}

/**
 * The one error class of tokenguard. It carries everything an HTTP adapter needs: the HTTP
 * `status`, the OAuth `oauthError`, a ready `WWW-Authenticate` value and the response headers.
 * Its message and description never contain the token.
 *
 * @example
 * ```ts
 * import { isTokenGuardError } from '@tokenguard/core';
 * try { await validator.validate(req.headers.authorization); }
 * catch (err) {
 *   if (!isTokenGuardError(err)) throw err;
 *   res.writeHead(err.status, err.headers).end(JSON.stringify(err.toJSON()));
 * }
 * ```
 */
export class TokenGuardError extends Error {
  override readonly name = 'TokenGuardError';
  readonly code: ErrorCode;
  readonly oauthError: OAuthErrorCode | undefined;
  readonly status: 400 | 401 | 403 | 500 | 503;
  readonly scope: string | undefined;
  readonly retryAfterSec: number | undefined;
  readonly claim: string | undefined;
  /** The `acr_values` of an `insufficient_user_authentication` challenge (RFC 9470 §3). */
  readonly acrValues: readonly string[] | undefined;
  /** The `max_age` (seconds) of an `insufficient_user_authentication` challenge (RFC 9470 §3). */
  readonly maxAgeSec: number | undefined;
  readonly expected: unknown;
  readonly actual: unknown;
  /** The nonce of a `use_dpop_nonce` answer (RFC 9449 §9), which {@link headers} sends as `DPoP-Nonce`. */
  readonly dpopNonce: string | undefined;
  /** Realm for the challenge; the validator sets it from its `realm` option. */
  realm: string | undefined = undefined;
  /**
   * RFC 9728 metadata URL for the challenge's `resource_metadata`; the validator sets it from its
   * `resourceMetadata` option.
   */
  resourceMetadata: string | undefined = undefined;
  /**
   * RFC 9449: the algorithms DPoP proofs may use, set by the validator when its `dpop` option is on.
   * The challenge then offers the `DPoP` scheme with them (`algs`).
   */
  dpopAlgorithms: readonly string[] | undefined = undefined;
  /** Whether only the `DPoP` scheme is accepted (`dpop.required`): no `Bearer` challenge then. */
  dpopRequired = false;
  /** The scheme the rejected request used, when it was `DPoP`: the error goes in that challenge. */
  scheme: 'Bearer' | 'DPoP' = 'Bearer';

  constructor(code: ErrorCode, options: TokenGuardErrorOptions = {}) {
    const spec = ERROR_CODES[code];
    super(
      options.message ?? spec.message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = code;
    this.oauthError = spec.oauthError;
    this.status = spec.status;
    this.scope = options.scope;
    this.retryAfterSec = options.retryAfterSec;
    this.claim = options.claim;
    this.acrValues = options.acrValues;
    this.maxAgeSec = options.maxAgeSec;
    this.expected = options.expected;
    this.actual = options.actual;
    this.dpopNonce = options.dpopNonce;
  }

  /**
   * `status` under the name Node's HTTP frameworks read from an error (Fastify's `reply.code(error.statusCode)`
   * pattern, Express's final handler, http-errors): an error handler written for them answers 401/403/503,
   * not 500. A getter, so logs and `JSON.stringify` show the status once.
   */
  get statusCode(): 400 | 401 | 403 | 500 | 503 {
    return this.status;
  }

  /**
   * The RFC 6750 `error_description`: the message, for developers, with only the characters RFC 6750
   * §3 allows there (`"` shown as `'`, and no `\`).
   */
  get description(): string {
    return challengeText(this.message);
  }

  /**
   * The `WWW-Authenticate` value for 400/401/403 answers (RFC 6750 §3), or `undefined` for server
   * errors (500/503), which are not a statement about the client's credentials.
   */
  get wwwAuthenticate(): string | undefined {
    if (this.status >= 500) return undefined;
    const bare: ChallengeParams = { realm: this.realm, resourceMetadata: this.resourceMetadata };
    const params = this.oauthError === undefined ? bare : this.errorParams();
    const algs = this.dpopAlgorithms;
    if (algs === undefined) return formatChallenge(params);
    // RFC 9449 §7.1-7.2: the error goes in the challenge of the scheme the request used; the other
    // scheme accepted is offered bare (DPoP with its `algs`).
    const dpopError = this.scheme === 'DPoP' || this.dpopRequired;
    const dpop = formatChallenge({ ...(dpopError ? params : bare), scheme: 'DPoP', algs });
    if (this.dpopRequired) return dpop;
    return `${formatChallenge(dpopError ? bare : params)}, ${dpop}`;
  }

  /** The RFC 6750 §3 parameters of this error's challenge when it names an `error`, whatever its scheme. */
  private errorParams(): ChallengeParams {
    return {
      realm: this.realm,
      error: this.oauthError,
      errorDescription: this.description,
      scope: this.scope,
      // RFC 9470 §3's parameters say how to meet a step-up challenge: on any other error they would
      // send the client to authenticate again for nothing.
      ...(this.oauthError === 'insufficient_user_authentication'
        ? { acrValues: this.acrValues, maxAge: this.maxAgeSec }
        : {}),
      resourceMetadata: this.resourceMetadata,
    };
  }

  /**
   * The response headers to send: `WWW-Authenticate` and/or `Retry-After`, and `DPoP-Nonce` with a
   * `use_dpop_nonce` answer (RFC 9449 §9).
   */
  get headers(): Record<string, string> {
    const headers: Record<string, string> = {};
    const challenge = this.wwwAuthenticate;
    if (challenge !== undefined) headers['www-authenticate'] = challenge;
    if (this.status === 503) headers['retry-after'] = retryAfterText(this.retryAfterSec);
    // Only an RFC 9449 §8.1 nonce (1*NQCHAR): anything else set by hand would break the response.
    if (this.dpopNonce !== undefined && NONCE.test(this.dpopNonce)) headers['dpop-nonce'] = this.dpopNonce;
    return headers;
  }

  /** The small JSON body adapters send: `{ error, error_description }`. */
  toJSON(): { error: string; error_description: string } {
    return { error: this.oauthError ?? defaultBodyError(this.status), error_description: this.description };
  }
}

/** RFC 9449 §8.1: `nonce = 1*NQCHAR`, NQCHAR = %x21 / %x23-5B / %x5D-7E. */
const NONCE = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** The longest Retry-After sent, in seconds (a day): a bound on any hint, and on `Infinity`. */
const MAX_RETRY_AFTER_SEC = 86_400;

/**
 * RFC 9110 §10.2.3 `delay-seconds` (`1*DIGIT`): whole seconds from 1 to a day. `NaN` counts as no
 * hint (5 s); `String()` alone would send `NaN`, `Infinity` or `1e+21`, which no client can read.
 */
function retryAfterText(retryAfterSec: number | undefined): string {
  const sec = retryAfterSec === undefined || Number.isNaN(retryAfterSec) ? 5 : Math.ceil(retryAfterSec);
  return String(Math.min(MAX_RETRY_AFTER_SEC, Math.max(1, sec)));
}

function defaultBodyError(status: number): string {
  if (status === 401) return 'unauthorized';
  if (status === 503) return 'temporarily_unavailable';
  return 'server_error';
}

/**
 * Whether `value` is a {@link TokenGuardError}.
 *
 * @example
 * ```ts
 * if (isTokenGuardError(err)) reply.code(err.status).headers(err.headers).send(err.toJSON());
 * ```
 */
export function isTokenGuardError(value: unknown): value is TokenGuardError {
  return value instanceof TokenGuardError;
}
