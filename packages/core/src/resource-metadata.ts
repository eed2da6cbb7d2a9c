import type { Validator } from './validator.js';

/**
 * How a protected resource accepts bearer tokens (RFC 9728 §2 `bearer_methods_supported`; RFC 6750 §2).
 *
 * @example
 * ```ts
 * const methods: BearerMethod[] = ['header'];
 * ```
 */
export type BearerMethod = 'header' | 'body' | 'query';

/**
 * The `resourceMetadata` option of `createValidator`: what this API says about itself in its
 * RFC 9728 protected resource metadata. Setting it also adds `resource_metadata` to every challenge.
 *
 * @example
 * ```ts
 * const resourceMetadata: ResourceMetadataOptions = {
 *   resource: 'https://mcp.example/mcp',
 *   scopesSupported: ['tools:read', 'tools:call'],
 *   resourceName: 'Example MCP server',
 * };
 * createValidator({ issuer: 'https://id.example', audience: 'https://mcp.example/mcp', resourceMetadata });
 * ```
 */
export interface ResourceMetadataOptions {
  /**
   * This API's resource identifier: an https URL without fragment (http only for localhost and
   * loopback addresses). Sent back exactly as given; clients compare it to the URL they used.
   */
  resource: string;
  /** Issuer identifiers of the authorization servers. Default: every configured issuer that is a URL and not a `{tenant}` template. */
  authorizationServers?: readonly string[];
  /** Scopes this API uses (advisory). */
  scopesSupported?: readonly string[];
  /** How tokens may be sent. Default `['header']`: list `body` or `query` when an adapter's `transport` allows them. */
  bearerMethodsSupported?: readonly BearerMethod[];
  /** A human-readable name for this API. */
  resourceName?: string;
  /** A URL of documentation for developers. */
  resourceDocumentation?: string;
  /** A URL of the policy on how clients may use the data. */
  resourcePolicyUri?: string;
  /** A URL of the terms of service. */
  resourceTosUri?: string;
}

/**
 * The RFC 9728 §2 metadata document: snake_case names, only the fields that are set.
 *
 * @example
 * ```ts
 * const document: ProtectedResourceMetadataDocument = {
 *   resource: 'https://mcp.example/mcp',
 *   authorization_servers: ['https://id.example'],
 *   bearer_methods_supported: ['header'],
 * };
 * ```
 */
export interface ProtectedResourceMetadataDocument {
  readonly resource: string;
  readonly authorization_servers?: readonly string[];
  readonly scopes_supported?: readonly string[];
  readonly bearer_methods_supported?: readonly BearerMethod[];
  readonly resource_name?: string;
  readonly resource_documentation?: string;
  readonly resource_policy_uri?: string;
  readonly resource_tos_uri?: string;
  /** RFC 9728 §2: the JWS algorithms accepted in DPoP proofs, with the validator's `dpop` option. */
  readonly dpop_signing_alg_values_supported?: readonly string[];
  /** RFC 9728 §2: `true` when only DPoP-bound tokens are accepted (`dpop.required`). */
  readonly dpop_bound_access_tokens_required?: boolean;
  /** RFC 9728 §2 (RFC 8705): `true` when tokens bound to a TLS client certificate are accepted (`mtls`). */
  readonly tls_client_certificate_bound_access_tokens?: boolean;
}

/**
 * A validator's protected resource metadata, ready to serve: where (`url`, and its `path` and
 * `query` on this server) and what (`document`, and `json`, its serialisation).
 *
 * @example
 * ```ts
 * const metadata: ProtectedResourceMetadata | undefined = protectedResourceMetadata(validator);
 * metadata?.path; // '/.well-known/oauth-protected-resource/mcp'
 * ```
 */
export interface ProtectedResourceMetadata {
  /** The metadata URL (RFC 9728 §3.1); the challenges' `resource_metadata`. */
  readonly url: string;
  /** The URL's path, as a request for it carries it. */
  readonly path: string;
  /** The URL's query with its `?`, or `''`: a resource identifier with a query has it in its metadata URL too. */
  readonly query: string;
  readonly document: ProtectedResourceMetadataDocument;
  /** `document` as JSON. */
  readonly json: string;
}

/**
 * How to answer a request at the metadata URL: what {@link answerProtectedResourceMetadata} gives the adapters.
 *
 * @example
 * ```ts
 * const answer: ProtectedResourceMetadataAnswer = { status: 405, headers: { allow: 'GET, HEAD, OPTIONS' }, body: undefined };
 * ```
 */
export interface ProtectedResourceMetadataAnswer {
  readonly status: 200 | 204 | 405;
  readonly headers: Readonly<Record<string, string>>;
  /** The JSON for GET; `undefined` otherwise (HEAD gets GET's headers, with its `content-length`). */
  readonly body: string | undefined;
}

/**
 * The RFC 9728 §3 well-known path, `/.well-known/oauth-protected-resource`.
 *
 * @example
 * ```ts
 * const isMetadataPath = (path: string) => path.startsWith(PROTECTED_RESOURCE_WELL_KNOWN);
 * ```
 */
export const PROTECTED_RESOURCE_WELL_KNOWN = '/.well-known/oauth-protected-resource';

/**
 * The metadata URL of a resource identifier (RFC 9728 §3.1): `/.well-known/oauth-protected-resource`
 * inserted between the host and the path and query, a path of just `/` dropped first. The host is
 * lower-cased and a default port dropped, as URL parsing does. Throws a `TypeError` when `resource`
 * is not an absolute http(s) URL.
 *
 * @example
 * ```ts
 * protectedResourceMetadataUrl('https://resource.example.com/resource1');
 * // 'https://resource.example.com/.well-known/oauth-protected-resource/resource1'
 * protectedResourceMetadataUrl('https://resource.example.com/');
 * // 'https://resource.example.com/.well-known/oauth-protected-resource'
 * ```
 */
export function protectedResourceMetadataUrl(resource: string): string {
  const { origin, path, query } = metadataLocation(resource);
  return `${origin}${path}${query}`;
}

/**
 * The protected resource metadata of a validator created with the `resourceMetadata` option, or
 * `undefined` without it. What the adapters' `protectedResourceMetadata` serve.
 *
 * @example
 * ```ts
 * const validator = createValidator({
 *   issuer: 'https://id.example',
 *   audience: 'https://mcp.example/mcp',
 *   resourceMetadata: { resource: 'https://mcp.example/mcp' },
 * });
 * protectedResourceMetadata(validator)?.url;
 * // 'https://mcp.example/.well-known/oauth-protected-resource/mcp'
 * ```
 */
export function protectedResourceMetadata(validator: Validator): ProtectedResourceMetadata | undefined {
  return (validator as Partial<Validator>).options?.resourceMetadata;
}

const ALLOW = 'GET, HEAD, OPTIONS';

/** The four answers of one metadata, built on first use (they never change): nothing per request. */
interface Answers {
  readonly get: ProtectedResourceMetadataAnswer;
  readonly head: ProtectedResourceMetadataAnswer;
  readonly preflight: ProtectedResourceMetadataAnswer;
  readonly notAllowed: ProtectedResourceMetadataAnswer;
}

const answersByMetadata = new WeakMap<ProtectedResourceMetadata, Answers>();

function answersOf(metadata: ProtectedResourceMetadata): Answers {
  let answers = answersByMetadata.get(metadata);
  if (answers === undefined) {
    const headers = Object.freeze({
      'content-type': 'application/json',
      'content-length': String(new TextEncoder().encode(metadata.json).byteLength),
      'cache-control': 'public, max-age=3600',
      'access-control-allow-origin': '*',
    });
    answers = {
      get: Object.freeze({ status: 200, headers, body: metadata.json }),
      head: Object.freeze({ status: 200, headers, body: undefined }),
      preflight: Object.freeze({
        status: 204,
        headers: Object.freeze({
          allow: ALLOW,
          'access-control-allow-origin': '*',
          'access-control-allow-methods': ALLOW,
          // Clients may send headers of their own (MCP's mcp-protocol-version); no credentials are involved.
          'access-control-allow-headers': '*',
          'access-control-max-age': '86400',
        }),
        body: undefined,
      }),
      notAllowed: Object.freeze({ status: 405, headers: Object.freeze({ allow: ALLOW }), body: undefined }),
    };
    answersByMetadata.set(metadata, answers);
  }
  return answers;
}

/**
 * How to answer `method` on `target` (the request-target as received: path and query, or the
 * absolute-form `http://host/path?query`, which RFC 9112 §3.2.2 has servers accept and whose
 * scheme and authority are not compared, as the `Host` of an origin-form target is not), or
 * `undefined` when the target is not the metadata URL (the adapter passes the request on). GET and
 * HEAD: 200 with the JSON, cacheable for an hour and readable cross-origin (browser-based clients);
 * OPTIONS: 204, the CORS preflight; anything else: 405 with `allow`. The answers are frozen and
 * shared: copy the headers to change them. A request for another URL costs a string comparison.
 *
 * @example
 * ```ts
 * const metadata = protectedResourceMetadata(validator);
 * const answer = metadata && answerProtectedResourceMetadata(metadata, req.method, req.url);
 * if (answer) res.writeHead(answer.status, answer.headers).end(answer.body);
 * ```
 */
export function answerProtectedResourceMetadata(
  metadata: ProtectedResourceMetadata,
  method: string,
  target: string,
): ProtectedResourceMetadataAnswer | undefined {
  // The path (which holds no `?`) must be the target's whole path: the target ends there or a query follows.
  const { path, query } = metadata;
  if (!target.startsWith(path)) {
    // Not origin-form (`/...`): the absolute-form's path and query, when it is one.
    const originForm = target.charCodeAt(0) === 47 /* / */ ? undefined : originFormOf(target);
    return originForm === undefined
      ? undefined
      : answerProtectedResourceMetadata(metadata, method, originForm);
  }
  if (target.length > path.length) {
    if (target.charCodeAt(path.length) !== 63 /* ? */) return undefined;
    // A resource identifier without a query owns its metadata path whatever query a request adds.
    if (query !== '' && target.slice(path.length) !== query) return undefined;
  } else if (query !== '') {
    return undefined;
  }
  const answers = answersOf(metadata);
  const upper = method.toUpperCase();
  if (upper === 'GET') return answers.get;
  if (upper === 'HEAD') return answers.head;
  if (upper === 'OPTIONS') return answers.preflight;
  return answers.notAllowed;
}

/**
 * The headers to send with `answer`: its own, less the CORS ones (`access-control-*`) the response
 * already carries. An app whose CORS middleware ran first answered for the caller's origin, perhaps
 * with `Access-Control-Allow-Credentials: true`; the metadata's `*` must not replace that origin, as
 * browsers refuse `*` with credentials. Without such headers, the answer's own (shared) object.
 *
 * @example
 * ```ts
 * const metadata = protectedResourceMetadata(validator);
 * const answer = metadata && answerProtectedResourceMetadata(metadata, req.method, req.url);
 * if (answer) res.writeHead(answer.status, metadataAnswerHeaders(answer, (name) => res.hasHeader(name))).end(answer.body);
 * ```
 */
export function metadataAnswerHeaders(
  answer: ProtectedResourceMetadataAnswer,
  alreadySet: (name: string) => boolean,
): Readonly<Record<string, string>> {
  const kept = Object.keys(answer.headers).filter(
    (name) => name.startsWith('access-control-') && alreadySet(name),
  );
  if (kept.length === 0) return answer.headers;
  return Object.fromEntries(Object.entries(answer.headers).filter(([name]) => !kept.includes(name)));
}

/** `scheme://authority` of an absolute-form request-target (RFC 9112 §3.2.2). */
const ABSOLUTE_FORM_ORIGIN = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

/** The path and query of an absolute-form request-target (an empty path is `/`), or `undefined`. */
function originFormOf(target: string): string | undefined {
  const origin = ABSOLUTE_FORM_ORIGIN.exec(target)?.[0];
  if (origin === undefined) return undefined;
  const rest = target.slice(origin.length);
  return rest.charCodeAt(0) === 47 /* / */ ? rest : `/${rest}`;
}

/**
 * Internal: the metadata of the `resourceMetadata` option, its values already checked. Frozen, so
 * what `validator.options` holds cannot change what is served.
 */
export function buildProtectedResourceMetadata(
  options: ResourceMetadataOptions,
  defaultAuthorizationServers: readonly string[],
  dpop?: { readonly algorithms: readonly string[]; readonly required: boolean },
  mtls = false,
): ProtectedResourceMetadata {
  const { origin, path, query } = metadataLocation(options.resource);
  const servers = options.authorizationServers ?? defaultAuthorizationServers;
  const document: Record<string, unknown> = { resource: options.resource };
  const set = (name: string, value: string | readonly string[] | undefined): void => {
    if (value === undefined || value.length === 0) return;
    document[name] = typeof value === 'string' ? value : Object.freeze([...value]);
  };
  set('authorization_servers', servers);
  set('scopes_supported', options.scopesSupported);
  set('bearer_methods_supported', options.bearerMethodsSupported ?? ['header']);
  set('resource_name', options.resourceName);
  set('resource_documentation', options.resourceDocumentation);
  set('resource_policy_uri', options.resourcePolicyUri);
  set('resource_tos_uri', options.resourceTosUri);
  set('dpop_signing_alg_values_supported', dpop?.algorithms);
  if (dpop?.required === true) document.dpop_bound_access_tokens_required = true;
  if (mtls) document.tls_client_certificate_bound_access_tokens = true;
  return Object.freeze({
    url: `${origin}${path}${query}`,
    path,
    query,
    document: Object.freeze(document) as unknown as ProtectedResourceMetadataDocument,
    json: JSON.stringify(document),
  });
}

/**
 * Internal: whether `hostname` (as URL parsing gives it) is this machine: `localhost`, a name under
 * `.localhost` (RFC 6761 §6.3), 127.0.0.0/8 or `[::1]`.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  );
}

function metadataLocation(resource: string): { origin: string; path: string; query: string } {
  const url = URL.canParse(resource) ? new URL(resource) : undefined;
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new TypeError(`tokenguard: a resource identifier must be an absolute http(s) URL, not ${resource}`);
  }
  // §3.1: a terminating slash after the host goes before the suffix is inserted.
  const rest = url.pathname === '/' ? '' : url.pathname;
  return {
    origin: `${url.protocol}//${url.host}`,
    path: `${PROTECTED_RESOURCE_WELL_KNOWN}${rest}`,
    query: url.search,
  };
}
