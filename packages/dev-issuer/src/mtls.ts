import { randomBytes, X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { devIssuerOptionError } from './options.js';

/**
 * Request header by which the dev issuer's own `getToken` names the client certificate of its token
 * request: a one-time random reference to a certificate it handed to {@link CertificateChannel.offer},
 * never the certificate itself. The front handler removes the header before the provider sees the request.
 */
export const CERTIFICATE_REF_HEADER = 'x-tokenguard-dev-certificate-ref';

const PEM_CERTIFICATE =
  /^\s*-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\s*$/;

/**
 * Checks that `value` is the PEM text of exactly one X.509 certificate and returns it normalised (as
 * node:crypto writes it); otherwise a `TypeError` (code `ERR_DEV_ISSUER_OPTION`) naming `option`.
 *
 * @example
 * ```ts
 * const pem = certificatePem(cert.pem, 'getToken.certificate');
 * ```
 */
export function certificatePem(value: unknown, option: string): string {
  if (typeof value !== 'string') {
    throw devIssuerOptionError(option, `must be a PEM certificate (string), not ${typeof value}`);
  }
  if (!PEM_CERTIFICATE.test(value)) {
    throw devIssuerOptionError(
      option,
      'must be the PEM text of one certificate (-----BEGIN CERTIFICATE-----)',
    );
  }
  try {
    return new X509Certificate(value).toString();
  } catch (err) {
    throw Object.assign(devIssuerOptionError(option, 'is not a parseable X.509 certificate'), { cause: err });
  }
}

/**
 * How a client certificate reaches oidc-provider's `features.mTLS.getCertificate(ctx)` when the dev issuer
 * serves plain HTTP on loopback, where there is no TLS handshake to take it from. `getToken` offers the
 * certificate and sends the reference it gets in {@link CERTIFICATE_REF_HEADER}; the front handler claims
 * it for that request (once) and strips the header; the provider then asks for the request's certificate.
 * A reference nobody offered, or one already used, names no certificate: no other caller can make the
 * provider see a certificate.
 */
export interface CertificateChannel {
  /** Holds `pem` for one request and returns the header value that claims it. */
  offer(pem: string): string;
  /** Withdraws an offered reference the request did not claim (the request failed before arriving). */
  withdraw(ref: string): void;
  /** Takes the certificate `req`'s header names (if any), removes the header, and ties the two together. */
  claim(req: IncomingMessage): void;
  /** The PEM certificate tied to `req` by {@link CertificateChannel.claim}, if any. */
  certificateOf(req: IncomingMessage): string | undefined;
}

/**
 * Creates the {@link CertificateChannel} of one dev issuer.
 *
 * @example
 * ```ts
 * const channel = createCertificateChannel();
 * const headers = { [CERTIFICATE_REF_HEADER]: channel.offer(pem) };
 * // front handler: channel.claim(req); provider: getCertificate: (ctx) => channel.certificateOf(ctx.req)
 * ```
 */
export function createCertificateChannel(): CertificateChannel {
  const offered = new Map<string, string>();
  const claimed = new WeakMap<IncomingMessage, string>();
  return {
    offer(pem) {
      const ref = randomBytes(24).toString('base64url');
      offered.set(ref, pem);
      return ref;
    },
    withdraw(ref) {
      offered.delete(ref);
    },
    claim(req) {
      const ref = req.headers[CERTIFICATE_REF_HEADER];
      if (ref === undefined) return;
      delete req.headers[CERTIFICATE_REF_HEADER];
      const pem = typeof ref === 'string' ? offered.get(ref) : undefined;
      if (pem === undefined) return;
      offered.delete(ref as string);
      claimed.set(req, pem);
    },
    certificateOf: (req) => claimed.get(req),
  };
}
