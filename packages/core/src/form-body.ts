import type { HeadersLike } from './bearer.js';
import { readHeaderValues } from './lib/headers.js';

/**
 * The most of a form body an adapter reads for its token, in bytes: 100 KiB, Express's
 * `urlencoded()` default; a larger body is a 413 on every adapter.
 *
 * @example
 * ```ts
 * if (Number(req.headers['content-length']) > FORM_BODY_MAX_BYTES) res.status(413).end();
 * ```
 */
export const FORM_BODY_MAX_BYTES = 100 * 1024;

/** Charsets a form body may name (Express 5's `urlencoded()` takes these two); none means UTF-8. */
const FORM_CHARSETS = new Set(['utf-8', 'iso-8859-1']);

/** The `charset` parameter of a media type, lower case and unquoted; `undefined` when it has none. */
function charsetOf(contentType: string): string | undefined {
  for (const parameter of contentType.split(';').slice(1)) {
    const separator = parameter.indexOf('=');
    if (separator === -1 || parameter.slice(0, separator).trim().toLowerCase() !== 'charset') continue;
    return parameter
      .slice(separator + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase();
  }
  return undefined;
}

/**
 * Why a form body cannot be read for its token (a short reason for the answer's body), or `undefined`
 * when it can: a `Content-Encoding`
 * other than `identity` (a compressed body is not inflated: nothing a token needs, and no
 * decompression bomb), or a charset other than UTF-8 and ISO-8859-1. The adapter answers 415
 * Unsupported Media Type (RFC 9110 §15.5.16), as Express's `urlencoded()` does for these bodies.
 *
 * @example
 * ```ts
 * const refusal = formBodyRefusal(req.headers);
 * if (refusal !== undefined) res.status(415).send(refusal);
 * ```
 */
export function formBodyRefusal(headers: HeadersLike): string | undefined {
  for (const coding of readHeaderValues(headers, 'content-encoding')) {
    for (const name of coding.split(',')) {
      const trimmed = name.trim().toLowerCase();
      if (trimmed !== '' && trimmed !== 'identity') return 'unsupported content encoding';
    }
  }
  const charset = charsetOf(readHeaderValues(headers, 'content-type')[0] ?? '');
  if (charset !== undefined && !FORM_CHARSETS.has(charset)) return 'unsupported charset';
  return undefined;
}

/**
 * The parameters of an `application/x-www-form-urlencoded` body as a record without a prototype,
 * a repeated name holding the list of its values (the shape `node:querystring` gives): every
 * parameter, however many (so a second `access_token` is never missed), a leading byte order mark
 * dropped. Parsed as the URL Standard says, so the same on every runtime.
 *
 * @example
 * ```ts
 * const parameters = parseFormBody(await request.text());
 * const token = parameters.access_token;
 * ```
 */
export function parseFormBody(text: string): Record<string, string | string[]> {
  const parameters: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of new URLSearchParams(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)) {
    const earlier = parameters[name];
    if (earlier === undefined) parameters[name] = value;
    else if (Array.isArray(earlier)) earlier.push(value);
    else parameters[name] = [earlier, value];
  }
  return parameters;
}
