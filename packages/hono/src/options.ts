import type { AdapterOptions as CoreAdapterOptions, Validator, ValidatorOptions } from '@tokenguard/core';
import type { ClientCertificateReader } from './client-certificate.js';

/**
 * What `tokenguard()` accepts besides the validator: `optional`, `transport`, `onError`, and
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
export interface AdapterOptions extends Omit<CoreAdapterOptions, 'clientCertificate'> {
  /**
   * With the validator's `mtls` option: the request's TLS client certificate (DER bytes or PEM text;
   * `undefined` for none), for TLS terminated at a proxy or platform that forwards it in a header
   * only it sets. Default: on @hono/node-server, the connection's own (`c.env.incoming.socket`, an
   * HTTPS server with `requestCert`); on other runtimes, none. When given, the socket is not read.
   */
  clientCertificate?: ClientCertificateReader | undefined;
}

/**
 * `tokenguard()`'s options in one object: the validator's own options (the middleware creates and
 * owns the validator), or an existing `validator`; plus the {@link AdapterOptions}.
 *
 * @example
 * ```ts
 * const a: TokenguardOptions = { issuer: 'https://id.example', audience: 'https://api.example', mtls: true };
 * const b: TokenguardOptions = { validator, optional: true };
 * ```
 */
export type TokenguardOptions =
  | (ValidatorOptions & AdapterOptions)
  | ({ validator: Validator } & AdapterOptions);
