import { certificateThumbprint, forwardedCertificate } from './mtls.js';

/** Longest `x-forwarded-client-cert` value read: a certificate and its attributes, not a chain of hops. */
const MAX_XFCC_LENGTH = 16_384;

/**
 * The PEM text of the client certificate in Envoy's `x-forwarded-client-cert` (XFCC) header: the `Cert`
 * of its one element (URL-encoded PEM, quoted or not), which must be one certificate whose SHA-256 is the
 * element's `Hash` (Envoy always sends it), for the adapters' `clientCertificate` option behind an Envoy
 * that terminates the client's TLS. `undefined`, never a throw, for no header, a header sent twice, more
 * than one element (which element is the client's depends on how each proxy on the way sets the header;
 * one a client sent ahead of the proxy's is never taken, and neither is an Istio sidecar's appended
 * after its gateway's), an element without `Cert` (Envoy sends it only when
 * `set_current_client_cert_details` asks for `cert`) or without `Hash`, a `Cert` or `Hash` given twice,
 * or a `Cert` that is not one certificate with that `Hash`. A part without `=` (an unquoted `URI` with a
 * `;`) is skipped.
 *
 * The proxy must set the header on every request, replacing what a client sent: Envoy's
 * `forward_client_cert_details: SANITIZE_SET` with `set_current_client_cert_details: { cert: true }`.
 *
 * @example
 * ```ts
 * // An adapter's option: clientCertificate: (req) => envoyClientCertificate(req.get('x-forwarded-client-cert'))
 * const certificate = envoyClientCertificate(req.headers['x-forwarded-client-cert']);
 * ```
 */
export function envoyClientCertificate(
  value: string | readonly string[] | null | undefined,
): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_XFCC_LENGTH) return undefined;
  const elements = splitOutsideQuotes(value, ',');
  if (elements === undefined || elements.length !== 1) return undefined;
  const pairs = splitOutsideQuotes(elements[0] as string, ';');
  if (pairs === undefined) return undefined;
  let cert: string | undefined;
  let hash: string | undefined;
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    // Envoy leaves URI and DNS unquoted: a `;` in a SAN makes a part without `=`. It cannot add a Cert
    // or a Hash (the proxy's come first, and a second of either gives none).
    if (equals === -1) continue;
    // Keys are case-insensitive, values case-sensitive (Envoy's header documentation).
    const key = pair.slice(0, equals).trim().toLowerCase();
    const raw = unquote(pair.slice(equals + 1).trim());
    if (raw === undefined) return undefined;
    if (key === 'cert') {
      if (cert !== undefined) return undefined;
      cert = raw;
    } else if (key === 'hash') {
      if (hash !== undefined) return undefined;
      hash = raw;
    }
  }
  if (cert === undefined || hash === undefined || !/^[0-9a-fA-F]{64}$/.test(hash)) return undefined;
  const decoded = forwardedCertificate(cert);
  if (typeof decoded !== 'string') return undefined;
  // Envoy's Hash is the hex SHA-256 of the DER: the digest x5t#S256 encodes in base64url. Text that is
  // not one PEM certificate has no thumbprint, so it never matches.
  const thumbprint = certificateThumbprint(decoded);
  if (thumbprint === undefined || Buffer.from(hash, 'hex').toString('base64url') !== thumbprint)
    return undefined;
  return decoded;
}

/** Splits at `separator` outside double quotes (a `\` escapes the next character); undefined for an open quote. */
function splitOutsideQuotes(text: string, separator: string): string[] | undefined {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && c === separator) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (quoted) return undefined;
  parts.push(text.slice(start));
  return parts;
}

/** A value as it is, or the inside of a double-quoted one with `\"` and `\\` unescaped; undefined if half quoted. */
function unquote(value: string): string | undefined {
  if (!value.startsWith('"')) return value.includes('"') ? undefined : value;
  if (value.length < 2 || !value.endsWith('"')) return undefined;
  const inner = value.slice(1, -1);
  // A Cert (URL-encoded PEM) has no escapes: taken as it is, not rebuilt a character at a time.
  if (!inner.includes('\\')) return inner.includes('"') ? undefined : inner;
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i] as string;
    if (c === '\\') {
      i++;
      if (i >= inner.length) return undefined;
      out += inner[i];
    } else if (c === '"') {
      return undefined;
    } else {
      out += c;
    }
  }
  return out;
}
