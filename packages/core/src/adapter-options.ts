import { peerCertificateOf } from './mtls.js';
import type { ValidatorOptions } from './options.js';
import type { TransportOptions } from './transport.js';
import { createValidator, type Validator } from './validator.js';

/**
 * How an adapter reads the TLS client certificate of a request of its framework (`R`), for tokens
 * bound to it (RFC 8705 §3): DER bytes or PEM text, `undefined` for none.
 *
 * @example
 * ```ts
 * // nginx in front: proxy_set_header X-Client-Cert $ssl_client_escaped_cert;
 * const fromProxy: ClientCertificateReader<{ headers: Record<string, string | undefined> }> = (request) =>
 *   forwardedCertificate(request.headers['x-client-cert']);
 * ```
 */
export type ClientCertificateReader<R> = (request: R) => Uint8Array | string | undefined;

/**
 * What every adapter accepts besides the validator: the same names in Express, Fastify and Hono.
 *
 * @example
 * ```ts
 * const options: AdapterOptions = { optional: true, transport: { body: true }, onError: 'next' };
 * ```
 */
export interface AdapterOptions<R = never> {
  /** Anonymous requests pass with no `auth`; a token that is sent must still be valid. Default `false`. */
  optional?: boolean;
  /** Extra token transports; the `Authorization` header is always read. */
  transport?: TransportOptions;
  /**
   * `'respond'` (default) answers errors itself: status, `WWW-Authenticate`/`Retry-After`, and the
   * JSON body `{ error, error_description }`. `'next'` hands the {@link TokenGuardError} to the
   * framework's error handling instead.
   */
  onError?: 'respond' | 'next';
  /**
   * With the validator's `mtls` option: reads the client certificate of a request (DER bytes or PEM
   * text; `undefined` for none), in place of the adapter's default, the TLS connection's own
   * ({@link peerCertificateOf}). For TLS terminated at a proxy that forwards the certificate in a
   * header only it can set. Each adapter types the request as its framework's.
   */
  clientCertificate?: ClientCertificateReader<R> | undefined;
}

/**
 * An adapter's options: the validator's own options (the adapter creates and owns the validator),
 * or an existing `validator`; plus the {@link AdapterOptions}.
 *
 * @example
 * ```ts
 * const a: TokenguardOptions = { issuer: 'https://id.example', audience: 'https://api.example' };
 * const b: TokenguardOptions = { validator, optional: true };
 * ```
 */
export type TokenguardOptions<R = never> =
  | (ValidatorOptions & AdapterOptions<R>)
  | ({ validator: Validator } & AdapterOptions<R>);

/**
 * {@link AdapterOptions} after checks and defaults, with the validator to use.
 *
 * @example
 * ```ts
 * const { validator, optional, transport, onError, clientCertificate } = resolveAdapterOptions(options);
 * ```
 */
export interface ResolvedAdapterOptions<R = never> {
  validator: Validator;
  /** Whether the adapter created the validator (and so should close it). */
  ownsValidator: boolean;
  optional: boolean;
  transport: TransportOptions;
  onError: 'respond' | 'next';
  /** The `clientCertificate` option, a function (checked), or `undefined`. */
  clientCertificate: ClientCertificateReader<R> | undefined;
}

const ADAPTER_KEYS = ['optional', 'transport', 'onError', 'clientCertificate', 'validator'] as const;

/**
 * Resolves an adapter's arguments, in either form: `(validator, adapterOptions?)` or
 * `(options)`. Bad options throw a `TypeError` naming the option, as the core factory does.
 *
 * @example
 * ```ts
 * const { validator, optional, transport } = resolveAdapterOptions({ issuer, audience, optional: true });
 * ```
 */
export function resolveAdapterOptions<R = never>(
  validatorOrOptions: Validator | TokenguardOptions<R>,
  adapterOptions?: AdapterOptions<R>,
): ResolvedAdapterOptions<R> {
  if (validatorOrOptions === null || typeof validatorOrOptions !== 'object') {
    throw new TypeError('tokenguard: options must be an object or a validator');
  }
  if (isValidator(validatorOrOptions)) {
    if (adapterOptions === undefined) return resolveAdapterSettings(validatorOrOptions, false, {});
    if (adapterOptions === null || typeof adapterOptions !== 'object' || Array.isArray(adapterOptions)) {
      throw new TypeError('tokenguard: adapter options (after the validator) must be an object');
    }
    // Beside a validator only adapter options apply: a typo (`optinal`) must not pass unnoticed.
    for (const key of Object.keys(adapterOptions)) {
      if (!(ADAPTER_KEYS as readonly string[]).includes(key) || key === 'validator') {
        throw new TypeError(
          `tokenguard: invalid option "${key}": not an adapter option (optional, transport, onError, clientCertificate)`,
        );
      }
    }
    return resolveAdapterSettings(validatorOrOptions, false, adapterOptions);
  }
  const all = validatorOrOptions as Record<string, unknown>;
  if (adapterOptions !== undefined) {
    throw new TypeError('tokenguard: a second argument is only accepted after a validator');
  }
  const core: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(all)) {
    if (!(ADAPTER_KEYS as readonly string[]).includes(key)) core[key] = value;
  }
  if (all.validator !== undefined) {
    if (!isValidator(all.validator)) {
      throw new TypeError(
        'tokenguard: invalid option "validator": must be a validator from createValidator()',
      );
    }
    const extra = Object.keys(core)[0];
    if (extra !== undefined) {
      throw new TypeError(
        `tokenguard: invalid option "${extra}": beside "validator" only adapter options apply (optional, transport, onError, clientCertificate); validator options go to createValidator()`,
      );
    }
    return resolveAdapterSettings(all.validator, false, all as AdapterOptions<R>);
  }
  const settings = resolveAdapterSettings(undefined, true, all as AdapterOptions<R>);
  return { ...settings, validator: createValidator(core as ValidatorOptions) };
}

function resolveAdapterSettings<R>(
  validator: Validator | undefined,
  ownsValidator: boolean,
  options: AdapterOptions<R>,
): ResolvedAdapterOptions<R> {
  const { optional = false, transport = {}, onError = 'respond', clientCertificate } = options;
  if (typeof optional !== 'boolean')
    throw new TypeError('tokenguard: invalid option "optional": must be a boolean');
  if (onError !== 'respond' && onError !== 'next') {
    throw new TypeError('tokenguard: invalid option "onError": must be "respond" or "next"');
  }
  if (clientCertificate !== undefined && typeof clientCertificate !== 'function') {
    throw new TypeError(
      'tokenguard: invalid option "clientCertificate": must be a function of the request returning its client certificate (DER bytes or PEM text) or undefined',
    );
  }
  if (transport === null || typeof transport !== 'object' || Array.isArray(transport)) {
    throw new TypeError('tokenguard: invalid option "transport": must be an object');
  }
  for (const [key, value] of Object.entries(transport)) {
    if (key !== 'body' && key !== 'query') {
      throw new TypeError(`tokenguard: invalid option "transport.${key}": unknown transport (body, query)`);
    }
    if (value !== undefined && typeof value !== 'boolean') {
      throw new TypeError(`tokenguard: invalid option "transport.${key}": must be a boolean`);
    }
  }
  return {
    validator: validator as Validator,
    ownsValidator,
    optional,
    transport: { body: transport.body === true, query: transport.query === true },
    onError,
    clientCertificate,
  };
}

function isValidator(value: unknown): value is Validator {
  const candidate = value as Partial<Validator> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.validate === 'function' &&
    typeof candidate.check === 'function'
  );
}

/** The parts of Node's `IncomingMessage` / `Http2ServerRequest` {@link socketOfConnection} reads. */
export interface NodeRequestLike {
  readonly socket?: unknown;
  readonly stream?: { readonly session?: { readonly socket?: unknown } | undefined } | undefined;
}

/**
 * The socket of the connection a Node request came on, the same object for every request of that
 * connection: HTTP/1.1's `req.socket`; over HTTP/2, the session's `socket` (each stream's
 * `req.socket` is a new stand-in for it). For {@link clientCertificateReader}, whose answer
 * {@link peerCertificateOf} remembers per socket.
 *
 * @example
 * ```ts
 * import type { FastifyRequest } from 'fastify';
 *
 * const settings = resolveAdapterOptions<FastifyRequest>({ issuer, audience, mtls: true });
 * const certificateOf = clientCertificateReader(settings, (request) => socketOfConnection(request.raw));
 * ```
 */
export function socketOfConnection(request: NodeRequestLike | undefined): unknown {
  return request?.stream?.session?.socket ?? request?.socket;
}

/**
 * How an adapter finds a request's client certificate, decided once when it is created: `undefined`
 * without the validator's `mtls` (a Bearer-only validator reads nothing more per request); else the
 * `clientCertificate` option, or the peer certificate of the TLS connection `socketOf` gives for the
 * request (remembered per connection, {@link peerCertificateOf}).
 *
 * @example
 * ```ts
 * import type { Request } from 'express';
 *
 * const settings = resolveAdapterOptions<Request>({ issuer, audience, mtls: true });
 * const certificateOf = clientCertificateReader(settings, (req) => req.socket);
 * ```
 */
export function clientCertificateReader<R>(
  settings: ResolvedAdapterOptions<R>,
  socketOf: (request: R) => unknown,
): ClientCertificateReader<R> | undefined {
  // A validator made some other way than createValidator() may have no options.
  if ((settings.validator as Partial<Validator>).options?.mtls !== true) return undefined;
  return settings.clientCertificate ?? ((request) => peerCertificateOf(socketOf(request)));
}
