import type { FastifyRequest } from 'fastify';

/**
 * RFC 9110 §7.2 `Host` = uri-host [ ":" port ]: an IP literal in brackets or a reg-name (RFC 3986
 * §3.2.2: unreserved, percent-encoded and sub-delims characters), no userinfo, path, query or fragment.
 */
const HOST_AND_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]+)(?::[0-9]*)?$/;

/**
 * The origin the request was addressed to (`http://127.0.0.1:3000`), for a DPoP proof's `htu`
 * (RFC 9449 §4.3): Fastify's `request.protocol` and `request.host` (with its port), which follow
 * `X-Forwarded-Proto` and `X-Forwarded-Host` only when the `trustProxy` option trusts the peer.
 * `undefined` without a host (an HTTP/1.0 request with no `Host`), or with one that is not a host and
 * port (`127.0.0.1:3000/me?`: the path and query it would slip in front of the real path, so that a
 * proof for `/me` names a request routed to `/admin`): core then answers 401 `invalid_dpop_proof`,
 * since no proof can name this request.
 *
 * @example
 * ```ts
 * const source: TokenSource = { method: request.method, headers: request.headers, url: request.originalUrl, origin: requestOrigin(request) };
 * ```
 */
export function requestOrigin(request: FastifyRequest): string | undefined {
  const host = request.host;
  if (!HOST_AND_PORT.test(host)) return undefined;
  // X-Forwarded-Proto from a trusted proxy is taken as sent: only the two schemes of RFC 9110 §4.2.
  const protocol = request.protocol?.toLowerCase();
  return protocol === 'http' || protocol === 'https' ? `${protocol}://${host}` : undefined;
}
