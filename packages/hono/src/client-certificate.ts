import { peerCertificateOf, type ResolvedAdapterOptions } from '@tokenguard/core';
import type { Context } from 'hono';

/**
 * Reads the TLS client certificate a request came with, as DER bytes or PEM text (`undefined`: none),
 * for certificate-bound tokens (RFC 8705 §3): the `clientCertificate` option, for TLS terminated at a
 * proxy or platform that forwards the certificate in a header (the function decodes and returns it),
 * and the only source on runtimes other than @hono/node-server. Called once per request, only when
 * the validator has `mtls`.
 *
 * @example
 * ```ts
 * // nginx: proxy_set_header X-Client-Cert $ssl_client_escaped_cert;
 * const fromProxy: ClientCertificateReader = (c) => {
 *   const escaped = c.req.header('x-client-cert');
 *   return escaped === undefined ? undefined : decodeURIComponent(escaped);
 * };
 * app.use('*', tokenguard({ issuer, audience, mtls: true, clientCertificate: fromProxy }));
 * ```
 */
export type ClientCertificateReader = (c: Context) => Uint8Array | string | undefined;

/**
 * How the middleware finds a request's client certificate, decided once: nothing without the
 * validator's `mtls` (a Bearer-only validator reads nothing more per request), else the
 * `clientCertificate` option, or the peer certificate of @hono/node-server's connection
 * (remembered per connection by core).
 */
export function clientCertificateSource(
  settings: ResolvedAdapterOptions,
): ClientCertificateReader | undefined {
  // A validator made some other way than createValidator() may have no options.
  if ((settings.validator as Partial<typeof settings.validator>).options?.mtls !== true) return undefined;
  return (settings.clientCertificate as ClientCertificateReader | undefined) ?? nodePeerCertificate;
}

/**
 * On @hono/node-server, the certificate of the connection Node's request came on: `c.env.incoming`
 * is the outer request's also in an app reached through `app.mount()` or a gateway's
 * `inner.fetch(request, c.env)`, on the same connection. Elsewhere (no `incoming`), none.
 */
function nodePeerCertificate(c: Context): Uint8Array | undefined {
  const incoming = (c.env as { incoming?: { socket?: unknown } } | undefined)?.incoming;
  return peerCertificateOf(incoming?.socket);
}
