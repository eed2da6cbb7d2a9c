import type { Request } from 'express';

/** What Express keeps under `app.get('trust proxy fn')`: whether to trust the peer at this hop. */
type TrustProxyFn = (address: string | undefined, hop: number) => boolean;

/**
 * The origin a request was addressed to (`http://127.0.0.1:3000`), for a DPoP proof's `htu`
 * (RFC 9449 §4.3): `req.protocol` (`X-Forwarded-Proto` when `trust proxy` trusts the peer), and the
 * host with its port: `X-Forwarded-Host` (its first entry) when `trust proxy` trusts the peer, else
 * `Host`. That is Express 5's `req.host`, computed here because Express 4's `req.host` is the
 * deprecated hostname without its port. `undefined` without a host (an HTTP/1.0 request with no
 * `Host`). Core answers 401 `invalid_dpop_proof` to that, and to a scheme or host that is not
 * `http(s)://host[:port]` (`Host: 127.0.0.1:3000/me?` would slip a path in front of the routed one).
 *
 * @example
 * ```ts
 * const source: TokenSource = { method: req.method, headers: req.headers, url: req.originalUrl, origin: requestOrigin(req) };
 * ```
 */
export function requestOrigin(req: Request): string | undefined {
  const host = forwardedHost(req) ?? req.get('host');
  return host === undefined ? undefined : `${req.protocol}://${host}`;
}

function forwardedHost(req: Request): string | undefined {
  const forwarded = req.get('x-forwarded-host');
  if (forwarded === undefined || forwarded === '') return undefined;
  const trust = req.app.get('trust proxy fn') as TrustProxyFn | undefined;
  if (typeof trust !== 'function' || !trust(req.socket.remoteAddress, 0)) return undefined;
  const comma = forwarded.indexOf(',');
  return (comma === -1 ? forwarded : forwarded.slice(0, comma)).trim();
}
