import type {
  AdapterOptions as CoreAdapterOptions,
  ClientCertificateReader as CoreClientCertificateReader,
  TokenguardOptions as CoreTokenguardOptions,
} from '@tokenguard/core';
import type { FastifyRequest } from 'fastify';

/**
 * What the plugin accepts besides the validator: `optional`, `transport`, `onError`, and
 * `clientCertificate` as a function of the Fastify request.
 *
 * @example
 * ```ts
 * const options: AdapterOptions = {
 *   onError: 'next',
 *   clientCertificate: (request) => request.headers['x-client-cert-pem'] as string | undefined,
 * };
 * await app.register(tokenguard, { validator, ...options });
 * ```
 */
export type AdapterOptions = CoreAdapterOptions<FastifyRequest>;

/**
 * The options in one object: the validator's own options (the plugin creates and owns the
 * validator), or an existing `validator`; plus the {@link AdapterOptions}.
 *
 * @example
 * ```ts
 * const a: TokenguardOptions = { issuer: 'https://id.example', audience: 'https://api.example', mtls: true };
 * const b: TokenguardOptions = { validator, optional: true };
 * ```
 */
export type TokenguardOptions = CoreTokenguardOptions<FastifyRequest>;

/**
 * The `clientCertificate` option: reads the TLS client certificate a request came with, as DER bytes
 * or PEM text (`undefined`: none), for certificate-bound tokens (RFC 8705 §3) when TLS ends at a
 * proxy that forwards the certificate in a header only it sets (the function decodes and returns it).
 * Called once per request, only when the validator has `mtls`.
 *
 * @example
 * ```ts
 * // nginx: proxy_set_header X-Client-Cert $ssl_client_escaped_cert;
 * const fromProxy: ClientCertificateReader = (request) =>
 *   forwardedCertificate(request.headers['x-client-cert']);
 * await app.register(tokenguard, { issuer, audience, mtls: true, clientCertificate: fromProxy });
 * ```
 */
export type ClientCertificateReader = CoreClientCertificateReader<FastifyRequest>;
