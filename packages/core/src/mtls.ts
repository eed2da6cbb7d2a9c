import { createHash } from 'node:crypto';

/** A PEM certificate: one `CERTIFICATE` block, its base64 body spread over any number of lines. */
const PEM_CERTIFICATE = /^\s*-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----\s*$/;
/** Strict base64 (RFC 4648 §4): padding only at the end. Node's decoder stops at an inner `=`. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The RFC 8705 §3.1 `x5t#S256` of a TLS client certificate: the base64url SHA-256 of its DER bytes.
 * `certificate` is the DER itself or the PEM text of one certificate; text that is not one PEM
 * certificate gives `undefined`. The bytes are not parsed: whatever a token's `cnf` names is compared
 * with what the TLS handshake (or the proxy that terminated it) gave.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 *
 * // What an authorization server puts in cnf["x5t#S256"] of the tokens it binds to this certificate:
 * const x5t = certificateThumbprint(readFileSync('client.pem', 'utf8'));
 * ```
 */
export function certificateThumbprint(certificate: Uint8Array | string): string | undefined {
  let der: Uint8Array;
  if (typeof certificate === 'string') {
    const body = PEM_CERTIFICATE.exec(certificate)?.[1];
    const base64 = body?.replace(/\s+/g, '');
    if (base64 === undefined || !BASE64.test(base64)) return undefined;
    der = Buffer.from(base64, 'base64');
  } else if (certificate instanceof Uint8Array) {
    der = certificate;
  } else {
    return undefined;
  }
  if (der.byteLength === 0) return undefined;
  return createHash('sha256').update(der).digest('base64url');
}

/** The part of Node's `TLSSocket` read here (structural: core imports no framework or server). */
interface PeerCertificateSource {
  getPeerCertificate(detailed?: boolean): { raw?: Uint8Array } | null | undefined;
}

/** Each TLS connection's client certificate (`null`: none), asked once per connection. */
const peerCertificates = new WeakMap<object, Uint8Array | null>();

/**
 * The DER bytes of the client certificate a Node TLS connection (`req.socket` of an HTTPS server)
 * was opened with, remembered per connection: a keep-alive connection asks once. `undefined` for a
 * plain socket, a TLS client that sent none, or anything else. Node's handshake has already proved
 * that the client holds the certificate's key, whether or not the server checked its chain
 * (`rejectUnauthorized`), which is all RFC 8705's self-signed binding needs.
 *
 * @example
 * ```ts
 * authenticateRequest(validator, { headers: req.headers, clientCertificate: peerCertificateOf(req.socket) });
 * ```
 */
export function peerCertificateOf(socket: unknown): Uint8Array | undefined {
  if (typeof socket !== 'object' || socket === null) return undefined;
  const known = peerCertificates.get(socket);
  if (known !== undefined) return known ?? undefined;
  const source = socket as Partial<PeerCertificateSource>;
  if (typeof source.getPeerCertificate !== 'function') return undefined;
  let raw: Uint8Array | undefined;
  try {
    raw = source.getPeerCertificate(false)?.raw;
  } catch {
    // A socket that has closed meanwhile: no certificate to prove anything with.
    return undefined;
  }
  const certificate = raw instanceof Uint8Array && raw.byteLength > 0 ? raw : undefined;
  peerCertificates.set(socket, certificate ?? null);
  return certificate;
}

/**
 * RFC 9440 §2: a `Client-Cert` field value, an RFC 8941 Byte Sequence: the DER in base64 between colons,
 * with optional whitespace around it. As RFC 8941 §4.2.7 asks of parsers, neither missing `=` padding
 * nor non-zero pad bits fail it (the bytes decoded are what the thumbprint is taken of).
 */
const CLIENT_CERT_FIELD = /^[ \t]*:([A-Za-z0-9+/]+={0,2}):[ \t]*$/;

/**
 * The client certificate that the proxy which terminated TLS forwarded in a header: the DER bytes of an
 * RFC 9440 `Client-Cert` field (`:MIIB...:`), or the PEM text, URL-encoded (nginx's
 * `$ssl_client_escaped_cert`) or as it is. `undefined` for no header, a header sent twice, or an
 * encoding that does not decode (never a throw: a reader built on it cannot turn a malformed header
 * into a 500). For the adapters' `clientCertificate` option.
 *
 * @example
 * ```ts
 * // nginx: proxy_set_header X-Client-Cert $ssl_client_escaped_cert;
 * const pem = forwardedCertificate(req.headers['x-client-cert']);
 * // A proxy that sends RFC 9440's Client-Cert field:
 * const der = forwardedCertificate(req.headers['client-cert']);
 * ```
 */
export function forwardedCertificate(
  value: string | readonly string[] | null | undefined,
): string | Uint8Array | undefined {
  if (typeof value !== 'string' || value.length === 0) return undefined;
  const field = CLIENT_CERT_FIELD.exec(value);
  if (field !== null) {
    const base64 = field[1] as string;
    // Padding, where there is some, completes a group of four; without it, a last group of one
    // character encodes no byte: neither is base64.
    const length = base64.length;
    if (base64.endsWith('=') ? length % 4 !== 0 : length % 4 === 1) return undefined;
    return Buffer.from(base64, 'base64');
  }
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
