import { peerCertificateOf, type ResolvedAdapterOptions } from '@tokenguard/core';
import type { Request } from 'express';

/**
 * Reads the TLS client certificate a request came with, as DER bytes or PEM text (`undefined`: none),
 * for certificate-bound tokens (RFC 8705 §3): the `clientCertificate` option, for TLS terminated at a
 * proxy that forwards the certificate in a header (the function decodes and returns it). Called once
 * per request, only when the validator has `mtls`.
 *
 * @example
 * ```ts
 * // nginx: proxy_set_header X-Client-Cert $ssl_client_escaped_cert;
 * const fromProxy: ClientCertificateReader = (req) => {
 *   const escaped = req.get('x-client-cert');
 *   return escaped === undefined ? undefined : decodeURIComponent(escaped);
 * };
 * app.use(tokenguard({ issuer, audience, mtls: true, clientCertificate: fromProxy }));
 * ```
 */
export type ClientCertificateReader = (req: Request) => Uint8Array | string | undefined;

/**
 * How the middleware finds a request's client certificate, decided once: nothing without the
 * validator's `mtls` (a Bearer-only validator reads nothing more per request), else the
 * `clientCertificate` option, or the TLS connection's peer certificate (remembered per connection
 * by core).
 */
export function clientCertificateSource(
  settings: ResolvedAdapterOptions,
): ClientCertificateReader | undefined {
  // A validator made some other way than createValidator() may have no options.
  if ((settings.validator as Partial<typeof settings.validator>).options?.mtls !== true) return undefined;
  return (settings.clientCertificate as ClientCertificateReader | undefined) ?? peerCertificateOfRequest;
}

function peerCertificateOfRequest(req: Request): Uint8Array | undefined {
  return peerCertificateOf(req.socket);
}
