import { peerCertificateOf, type ResolvedAdapterOptions } from '@tokenguard/core';
import type { FastifyRequest } from 'fastify';

/**
 * Reads the TLS client certificate a request came with, as DER bytes or PEM text (`undefined`: none),
 * for certificate-bound tokens (RFC 8705 §3): the `clientCertificate` option, for TLS terminated at a
 * proxy that forwards the certificate in a header (the function decodes and returns it). Called once
 * per authenticated request, only when the validator has `mtls`.
 *
 * @example
 * ```ts
 * // nginx: proxy_set_header X-Client-Cert $ssl_client_escaped_cert;
 * const fromProxy: ClientCertificateReader = (request) => {
 *   const escaped = request.headers['x-client-cert'];
 *   return typeof escaped === 'string' ? decodeURIComponent(escaped) : undefined;
 * };
 * await app.register(tokenguard, { issuer, audience, mtls: true, clientCertificate: fromProxy });
 * ```
 */
export type ClientCertificateReader = (request: FastifyRequest) => Uint8Array | string | undefined;

/**
 * How the plugin finds a request's client certificate, decided once: nothing without the
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

function peerCertificateOfRequest(request: FastifyRequest): Uint8Array | undefined {
  return peerCertificateOf(request.raw.socket);
}
