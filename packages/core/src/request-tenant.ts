import type { HeadersLike } from './bearer.js';
import { readHeaderValues } from './lib/headers.js';

/**
 * Where a route's tenant comes from in the request: a route parameter, a header, or the first label
 * of the host under a base domain (`acme.api.example` under `api.example` is `acme`).
 *
 * @example
 * ```ts
 * const byParam: TenantSource = { param: 'tenant' };        // /tenants/:tenant/orders
 * const byHeader: TenantSource = { header: 'x-tenant-id' };
 * const byHost: TenantSource = { subdomainOf: 'api.example.com' };
 * ```
 */
export type TenantSource =
  | { readonly param: string }
  | { readonly header: string }
  | { readonly subdomainOf: string };

/**
 * The parts of a request a {@link TenantSource} reads; adapters fill it from their request type.
 *
 * @example
 * ```ts
 * const request: RequestLike = { params: req.params, headers: req.headers, host: req.hostname };
 * ```
 */
export interface RequestLike {
  /** Route parameters (`req.params`, `c.req.param()`). */
  readonly params?: Readonly<Record<string, unknown>> | undefined;
  readonly headers?: HeadersLike | undefined;
  /** The request host (`Host` header or URL host), with or without port. Default: the `host` header. */
  readonly host?: string | undefined;
}

const SOURCE_KEYS = ['param', 'header', 'subdomainOf'];

/** A header field name: an RFC 9110 §5.1 token. */
const HEADER_NAME = /^[!#$%&'*+.^`|~0-9A-Za-z_-]+$/;
/** A DNS name of letters, digits and `-`, with an optional leading and trailing dot. */
const BASE_DOMAIN = /^\.?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?$/;

/**
 * A malformed source is the route's bug, so a `TypeError` naming it: a typo such as `{ params }`
 * must not quietly read the host instead (403 for every request, or a crash once a host is sent),
 * and neither may a header name or base domain that no request can match (`'https://api.example'`,
 * `'api.example:443'`): the route would answer 403 to every request without saying why.
 */
function assertTenantSource(source: unknown): void {
  const keys = source !== null && typeof source === 'object' ? Object.keys(source) : [];
  const key = keys[0];
  const value = key === undefined ? undefined : (source as Record<string, unknown>)[key];
  if (
    keys.length !== 1 ||
    !SOURCE_KEYS.includes(key as string) ||
    typeof value !== 'string' ||
    value === ''
  ) {
    throw new TypeError(
      'tokenguard: invalid tenant source: must be { param }, { header } or { subdomainOf }, with a non-empty string',
    );
  }
  if (key === 'header' && !HEADER_NAME.test(value)) {
    throw new TypeError('tokenguard: invalid tenant source: { header } must be a header name');
  }
  if (key === 'subdomainOf' && !BASE_DOMAIN.test(value)) {
    throw new TypeError(
      'tokenguard: invalid tenant source: { subdomainOf } must be a domain name such as api.example.com (no scheme, port or path)',
    );
  }
}

/**
 * Reads the tenant a request addresses, for `Requirements.tenant`. Returns `undefined` when the
 * request does not name exactly one tenant (absent, empty, a repeated header or a comma list, a
 * host outside the base domain or more than one label below it); `assertTenant` then fails closed
 * with 403. Values are returned as sent except hosts, which are lower-cased (DNS names are
 * case-insensitive). A source of another shape is a `TypeError`.
 *
 * @example
 * ```ts
 * const tenant = readRequestTenant({ param: 'tenant' }, { params: req.params });
 * await validator.validate(req.headers.authorization, { tenant });
 * ```
 */
export function readRequestTenant(source: TenantSource, request: RequestLike): string | undefined {
  assertTenantSource(source);
  if ('param' in source) {
    const value = request.params?.[source.param];
    return typeof value === 'string' && value !== '' && Object.hasOwn(request.params ?? {}, source.param)
      ? value
      : undefined;
  }
  if ('header' in source) return readSingleHeader(request.headers, source.header);
  const host = request.host ?? readSingleHeader(request.headers, 'host');
  if (host === undefined) return undefined;
  const name = host.replace(/:\d+$/, '').replace(/\.$/, '').toLowerCase();
  const base = `.${source.subdomainOf.replace(/^\.|\.$/g, '').toLowerCase()}`;
  if (!name.endsWith(base)) return undefined;
  const label = name.slice(0, -base.length);
  return /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(label) ? label : undefined;
}

function readSingleHeader(headers: HeadersLike | undefined, name: string): string | undefined {
  if (headers == null) return undefined;
  const values = readHeaderValues(headers, name.toLowerCase());
  if (values.length !== 1) return undefined;
  const trimmed = (values[0] as string).trim();
  // A fetch Headers object joins repeated headers with ", ": ambiguous, so no tenant.
  return trimmed === '' || trimmed.includes(',') ? undefined : trimmed;
}
