import type { Request } from 'express';

/** What Express keeps under `app.get('trust proxy fn')`: whether to trust the peer at this hop. */
type TrustProxyFn = (address: string | undefined, hop: number) => boolean;

/**
 * RFC 9110 §7.2 `Host` = uri-host [ ":" port ]: an IP literal in brackets or a reg-name (RFC 3986
 * §3.2.2: unreserved, percent-encoded and sub-delims characters), no userinfo, path, query or fragment.
 */
const HOST_AND_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]+)(?::[0-9]*)?$/;

/**
 * The origin a request was addressed to (`http://127.0.0.1:3000`), for a DPoP proof's `htu`
 * (RFC 9449 §4.3): `req.protocol` (`X-Forwarded-Proto` when `trust proxy` trusts the peer), and the
 * host with its port: `X-Forwarded-Host` (its first entry) when `trust proxy` trusts the peer, else
 * `Host`. That is Express 5's `req.host`, computed here because Express 4's `req.host` is the
 * deprecated hostname without its port. `undefined` without a host (an HTTP/1.0 request with no
 * `Host`), or with one that is not a host and port (`127.0.0.1:3000/me?`: the path and query it would
 * slip in front of the real path, so that a proof for `/me` names a request routed to `/admin`): core
 * then answers 401 `invalid_dpop_proof`, since no proof can name this request.
 *
 * @example
 * ```ts
 * const source: TokenSource = { method: req.method, headers: req.headers, url: req.originalUrl, origin: requestOrigin(req) };
 * ```
 */
export function requestOrigin(req: Request): string | undefined {
  const host = forwardedHost(req) ?? req.get('host');
  if (host === undefined || !HOST_AND_PORT.test(host)) return undefined;
  // X-Forwarded-Proto from a trusted proxy is taken as sent: only the two schemes of RFC 9110 §4.2.
  const protocol = req.protocol.toLowerCase();
  return protocol === 'http' || protocol === 'https' ? `${protocol}://${host}` : undefined;
}

function forwardedHost(req: Request): string | undefined {
  const forwarded = req.get('x-forwarded-host');
  if (forwarded === undefined || forwarded === '') return undefined;
  const trust = req.app.get('trust proxy fn') as TrustProxyFn | undefined;
  if (typeof trust !== 'function' || !trust(req.socket.remoteAddress, 0)) return undefined;
  const comma = forwarded.indexOf(',');
  return (comma === -1 ? forwarded : forwarded.slice(0, comma)).trim();
}
