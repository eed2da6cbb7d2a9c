import type { AdapterOptions as CoreAdapterOptions, Validator, ValidatorOptions } from '@tokenguard/core';
import type { ClientCertificateReader } from './client-certificate.js';

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
export interface AdapterOptions extends Omit<CoreAdapterOptions, 'clientCertificate'> {
  /**
   * With the validator's `mtls` option: the request's TLS client certificate (DER bytes or PEM text;
   * `undefined` for none), for TLS terminated at a proxy that forwards it in a header only the proxy
   * sets. Default: the connection's own (`request.raw.socket`, an HTTPS server with `requestCert`).
   * When given, the socket is not read (its peer is the proxy).
   */
  clientCertificate?: ClientCertificateReader | undefined;
}

/**
 * The plugin's options: the validator's own options (the plugin creates and owns the validator),
 * or an existing `validator`; plus the {@link AdapterOptions}.
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
