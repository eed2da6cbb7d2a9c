import type { RequestSpec } from './http.js';

/** The tokens the table uses, all issued by real oidc-provider dev issuers. */
export interface Tokens {
  /** https://api.test, every scope. */
  full: string;
  /** https://api.test, scope `read` only. */
  read: string;
  /** `full` with its signature altered. */
  tampered: string;
  /** https://short.test (1 s lifetime), presented to a validator whose clock is 2 minutes ahead. */
  short: string;
  /** https://other.test: not this API's audience. */
  otherAudience: string;
  /** https://api.test from a second dev issuer this API does not trust. */
  foreignIssuer: string;
  /** https://opaque.test: an opaque token, validated by introspection. */
  opaque: string;
  /** `full` with the header's `typ` replaced by `["at+jwt"]` (a list; quotes in any echo of it). */
  listTyp: string;
}

/**
 * Which app (validator configuration) a row runs against; each adapter runs every one:
 * - `main`: the API (issuer trusted, audience api.test + opaque.test, introspection, tenant claim
 *   `tid`), form-body tokens enabled, query tokens not;
 * - `expired`: the same issuer for https://short.test, the validator's clock moved 2 minutes ahead;
 * - `keysDown`: a validator that never fetched keys, while the issuer's JWKS endpoint answers 503;
 * - `query`: like `main` with query-string tokens enabled.
 */
export type AppKind = 'main' | 'expired' | 'keysDown' | 'query';

/**
 * The expected `WWW-Authenticate`: `null` for none; otherwise the parameters besides `realm`
 * (always the configured realm). `error_description`, when an error is named, must equal the body's.
 */
export type ExpectedChallenge = null | { error?: string; scope?: string };

export interface ConformanceRow {
  name: string;
  app?: AppKind;
  request: (tokens: Tokens) => RequestSpec;
  expect: {
    status: number;
    challenge: ExpectedChallenge;
    /** A subset of the JSON body. */
    body: Record<string, unknown>;
    /** Headers that must have exactly this value (`null`: must be absent). */
    headers?: Record<string, string | null>;
    /** A `Retry-After` of whole seconds >= 1. */
    retryAfter?: boolean;
  };
}

const bearer = (token: string) => `Bearer ${token}`;
const API_CALLER = {
  subject: 'tokenguard-dev-client',
  clientId: 'tokenguard-dev-client',
  tenant: 'tenant-a',
  source: 'jwt',
};
const ALL_SCOPES = ['admin', 'orders:read', 'orders:write', 'read', 'write'];

/** The one HTTP conformance table: every adapter must answer every row identically. */
export const CONFORMANCE_TABLE: readonly ConformanceRow[] = [
  {
    name: 'valid token: 200 with the caller',
    request: (t) => ({ path: '/me', authorization: bearer(t.full) }),
    expect: { status: 200, challenge: null, body: { ...API_CALLER, scopes: ALL_SCOPES } },
  },
  {
    name: 'no token: 401 with a bare challenge (no error)',
    request: () => ({ path: '/me' }),
    expect: { status: 401, challenge: {}, body: { error: 'unauthorized' } },
  },
  {
    name: 'another scheme (Basic): 401 with a bare challenge',
    request: () => ({ path: '/me', authorization: 'Basic dXNlcjpwYXNz' }),
    expect: { status: 401, challenge: {}, body: { error: 'unauthorized' } },
  },
  {
    name: 'malformed Bearer header: 400 invalid_request',
    request: () => ({ path: '/me', authorization: 'Bearer two words' }),
    expect: { status: 400, challenge: { error: 'invalid_request' }, body: { error: 'invalid_request' } },
  },
  {
    name: 'two Authorization headers: 400 invalid_request',
    request: (t) => ({ path: '/me', authorization: [bearer(t.full), bearer(t.full)] }),
    expect: { status: 400, challenge: { error: 'invalid_request' }, body: { error: 'invalid_request' } },
  },
  {
    name: 'bad signature: 401 invalid_token',
    request: (t) => ({ path: '/me', authorization: bearer(t.tampered) }),
    expect: {
      status: 401,
      challenge: { error: 'invalid_token' },
      body: { error: 'invalid_token', error_description: 'The token signature is invalid' },
    },
  },
  {
    name: 'expired token: 401 invalid_token',
    app: 'expired',
    request: (t) => ({ path: '/me', authorization: bearer(t.short) }),
    expect: {
      status: 401,
      challenge: { error: 'invalid_token' },
      body: { error: 'invalid_token', error_description: 'The token has expired' },
    },
  },
  {
    name: 'wrong audience: 401 invalid_token',
    request: (t) => ({ path: '/me', authorization: bearer(t.otherAudience) }),
    expect: { status: 401, challenge: { error: 'invalid_token' }, body: { error: 'invalid_token' } },
  },
  {
    name: 'wrong issuer: 401 invalid_token',
    request: (t) => ({ path: '/me', authorization: bearer(t.foreignIssuer) }),
    expect: {
      status: 401,
      challenge: { error: 'invalid_token' },
      body: { error: 'invalid_token', error_description: 'The token issuer is not one this API trusts' },
    },
  },
  {
    name: 'required scope held: 200',
    request: (t) => ({ path: '/orders', authorization: bearer(t.full) }),
    expect: { status: 200, challenge: null, body: API_CALLER },
  },
  {
    name: 'insufficient scope: 403 insufficient_scope naming the scope',
    request: (t) => ({ path: '/orders', authorization: bearer(t.read) }),
    expect: {
      status: 403,
      challenge: { error: 'insufficient_scope', scope: 'orders:read' },
      body: { error: 'insufficient_scope' },
    },
  },
  {
    name: 'any-of scopes, one held: 200',
    request: (t) => ({ path: '/reports', authorization: bearer(t.read) }),
    expect: { status: 200, challenge: null, body: { ...API_CALLER, scopes: ['read'] } },
  },
  {
    name: 'right tenant: 200',
    request: (t) => ({ path: '/tenants/tenant-a/orders', authorization: bearer(t.full) }),
    expect: { status: 200, challenge: null, body: API_CALLER },
  },
  {
    name: 'wrong tenant: 403',
    request: (t) => ({ path: '/tenants/tenant-b/orders', authorization: bearer(t.full) }),
    expect: {
      status: 403,
      challenge: { error: 'insufficient_scope' },
      body: { error: 'insufficient_scope' },
    },
  },
  {
    name: 'claim requirement not met: 403',
    request: (t) => ({ path: '/admin', authorization: bearer(t.full) }),
    expect: {
      status: 403,
      challenge: { error: 'insufficient_scope' },
      body: { error: 'insufficient_scope' },
    },
  },
  {
    name: 'key set unavailable: 503 with Retry-After and no challenge',
    app: 'keysDown',
    request: (t) => ({ path: '/me', authorization: bearer(t.full) }),
    expect: {
      status: 503,
      challenge: null,
      body: { error: 'temporarily_unavailable' },
      retryAfter: true,
    },
  },
  {
    name: 'introspected opaque token: 200 from introspection',
    request: (t) => ({ path: '/me', authorization: bearer(t.opaque) }),
    expect: {
      status: 200,
      challenge: null,
      body: { clientId: 'tokenguard-dev-client', scopes: ['read', 'write'], source: 'introspection' },
    },
  },
  {
    name: 'token in a urlencoded POST body (enabled): 200',
    request: (t) => ({ method: 'POST', path: '/orders', form: { access_token: t.full } }),
    expect: { status: 200, challenge: null, body: API_CALLER },
  },
  {
    name: 'token sent two ways (header and body): 400 invalid_request',
    request: (t) => ({
      method: 'POST',
      path: '/orders',
      authorization: bearer(t.full),
      form: { access_token: t.full },
    }),
    expect: { status: 400, challenge: { error: 'invalid_request' }, body: { error: 'invalid_request' } },
  },
  {
    name: 'token in the query string when not enabled: ignored, 401 bare',
    request: (t) => ({ path: `/me?access_token=${t.full}` }),
    expect: { status: 401, challenge: {}, body: { error: 'unauthorized' } },
  },
  {
    name: 'token in the query string when enabled: 200 with Cache-Control: private',
    app: 'query',
    request: (t) => ({ path: `/me?access_token=${t.full}` }),
    expect: { status: 200, challenge: null, body: API_CALLER, headers: { 'cache-control': 'private' } },
  },
  {
    name: 'token sent two ways (header and query): 400 invalid_request',
    app: 'query',
    request: (t) => ({ path: `/me?access_token=${t.full}`, authorization: bearer(t.full) }),
    expect: { status: 400, challenge: { error: 'invalid_request' }, body: { error: 'invalid_request' } },
  },
  {
    name: 'optional-auth route, anonymous: 200',
    request: () => ({ path: '/public' }),
    expect: { status: 200, challenge: null, body: { anonymous: true } },
  },
  {
    name: 'optional-auth route, valid token: 200 with the caller',
    request: (t) => ({ path: '/public', authorization: bearer(t.read) }),
    expect: { status: 200, challenge: null, body: { ...API_CALLER, scopes: ['read'] } },
  },
  {
    name: 'optional-auth route with a scope guard, anonymous: 401 with a bare challenge',
    request: () => ({ path: '/public/orders' }),
    expect: { status: 401, challenge: {}, body: { error: 'unauthorized' } },
  },
  {
    name: 'optional-auth route with a scope guard, scope missing: 403 insufficient_scope',
    request: (t) => ({ path: '/public/orders', authorization: bearer(t.read) }),
    expect: {
      status: 403,
      challenge: { error: 'insufficient_scope', scope: 'orders:read' },
      body: { error: 'insufficient_scope' },
    },
  },
  {
    name: 'access_token twice in a urlencoded body: 400 invalid_request',
    request: (t) => ({
      method: 'POST',
      path: '/orders',
      body: {
        contentType: 'application/x-www-form-urlencoded',
        text: `access_token=${t.full}&access_token=${t.full}`,
      },
    }),
    expect: { status: 400, challenge: { error: 'invalid_request' }, body: { error: 'invalid_request' } },
  },
  {
    name: 'access_token in a urlencoded GET body: never read (RFC 6750 §2.2), 401 bare',
    request: (t) => ({ method: 'GET', path: '/me', form: { access_token: t.full } }),
    expect: { status: 401, challenge: {}, body: { error: 'unauthorized' } },
  },
  {
    name: 'typ of another shape: 401 invalid_token, the description without " or \\ (RFC 6750 §3)',
    request: (t) => ({ path: '/me', authorization: bearer(t.listTyp) }),
    expect: {
      status: 401,
      challenge: { error: 'invalid_token' },
      body: {
        error: 'invalid_token',
        error_description: "The token typ ['at+jwt'] is not an accepted access token type",
      },
    },
  },
  {
    name: 'access_token in a JSON body: not a form, ignored, 401 bare',
    request: (t) => ({
      method: 'POST',
      path: '/orders',
      body: { contentType: 'application/json', text: JSON.stringify({ access_token: t.full }) },
    }),
    expect: { status: 401, challenge: {}, body: { error: 'unauthorized' } },
  },
  {
    name: 'optional-auth route, Bearer then a tab: 400 invalid_request, not anonymous (RFC 9110 auth-scheme)',
    request: (t) => ({ path: '/public', authorization: `Bearer\t${t.read}` }),
    expect: {
      status: 400,
      challenge: { error: 'invalid_request' },
      body: {
        error: 'invalid_request',
        error_description: 'The Bearer scheme is not followed by a space and the token',
      },
    },
  },
  {
    name: 'Bearer token then a latin-1 NBSP byte: 400 invalid_request (outside the b64token grammar)',
    request: (t) => ({ path: '/me', authorization: `Bearer ${t.full}\u00a0` }),
    expect: {
      status: 400,
      challenge: { error: 'invalid_request' },
      body: {
        error: 'invalid_request',
        error_description: 'The Bearer credentials do not match the RFC 6750 token syntax',
      },
    },
  },
  {
    name: 'optional-auth route, Basic and Bearer in two Authorization headers: 400 invalid_request',
    request: (t) => ({ path: '/public', authorization: ['Basic dXNlcjpwYXNz', bearer(t.read)] }),
    expect: {
      status: 400,
      challenge: { error: 'invalid_request' },
      body: { error: 'invalid_request', error_description: 'More than one Authorization header was sent' },
    },
  },
  {
    name: 'an empty access_token in a urlencoded body: 400 invalid_request, not a missing token',
    request: () => ({ method: 'POST', path: '/orders', form: { access_token: '' } }),
    expect: { status: 400, challenge: { error: 'invalid_request' }, body: { error: 'invalid_request' } },
  },
  {
    name: 'optional-auth route, bad token: 401 invalid_token',
    request: (t) => ({ path: '/public', authorization: bearer(t.tampered) }),
    expect: { status: 401, challenge: { error: 'invalid_token' }, body: { error: 'invalid_token' } },
  },
];

/** Stand-ins for the tokens, enough to see the shape of a row's request before any is issued. */
const PLACEHOLDER_TOKENS: Tokens = {
  full: 'full',
  read: 'read',
  tampered: 'tampered',
  short: 'short',
  otherAudience: 'other-audience',
  foreignIssuer: 'foreign-issuer',
  opaque: 'opaque',
  listTyp: 'list-typ',
};

/** Whether a row's request carries a body (a form or another content type). */
export function sendsBody(row: ConformanceRow): boolean {
  const spec = row.request(PLACEHOLDER_TOKENS);
  return spec.form !== undefined || spec.body !== undefined;
}
