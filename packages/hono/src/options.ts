import type {
  AdapterOptions as CoreAdapterOptions,
  ClientCertificateReader as CoreClientCertificateReader,
  TokenguardOptions as CoreTokenguardOptions,
} from '@tokenguard/core';
import type { Context } from 'hono';

/**
 * What the middleware accepts besides the validator: `optional`, `transport`, `onError`, and
 * `clientCertificate` as a function of the Hono context.
 *
 * @example
 * ```ts
 * const options: AdapterOptions = {
 *   optional: true,
 *   clientCertificate: (c) => c.req.header('x-client-cert-pem'),
 * };
 * app.use('*', tokenguard(validator, options));
 * ```
 */
export type AdapterOptions = CoreAdapterOptions<Context>;

/**
 * The options in one object: the validator's own options (the middleware creates and owns the
 * validator), or an existing `validator`; plus the {@link AdapterOptions}.
 *
 * @example
 * ```ts
 * const a: TokenguardOptions = { issuer: 'https://id.example', audience: 'https://api.example', mtls: true };
 * const b: TokenguardOptions = { validator, optional: true };
 * ```
 */
export type TokenguardOptions = CoreTokenguardOptions<Context>;

/**
 * The `clientCertificate` option: reads the TLS client certificate a request came with, as DER bytes
 * or PEM text (`undefined`: none), for certificate-bound tokens (RFC 8705 §3) when TLS ends at a
 * proxy that forwards the certificate in a header only it sets (the function decodes and returns it).
 * Called once per request, only when the validator has `mtls`.
 *
 * @example
 * ```ts
 * // nginx: proxy_set_header X-Client-Cert $ssl_client_escaped_cert;
 * const fromProxy: ClientCertificateReader = (c) => forwardedCertificate(c.req.header('x-client-cert'));
 * app.use('*', tokenguard({ issuer, audience, mtls: true, clientCertificate: fromProxy }));
 * ```
 */
export type ClientCertificateReader = CoreClientCertificateReader<Context>;
