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

/**
 * The most parameters a form read for its token may hold: 1000, Express's `urlencoded()` default; a
 * form with more is a 413 on every adapter, never read in part (a second `access_token` past the
 * thousandth parameter is never missed).
 *
 * @example
 * ```ts
 * const reading = readFormBody(new TextEncoder().encode('a=1&b=2'), { 'content-type': 'application/x-www-form-urlencoded' });
 * console.log(FORM_MAX_PARAMETERS, 'status' in reading); // 1000 false
 * ```
 */
export const FORM_MAX_PARAMETERS = 1000;

/** Charsets a form body may name (Express 5's `urlencoded()` takes these two); none means UTF-8. */
const FORM_CHARSETS = new Set(['utf-8', 'iso-8859-1']);

/**
 * One parameter of a media type (RFC 9110 §5.6.6): `; name=value`, the value a token or a quoted
 * string (§5.6.4, `\` escapes), with the spaces Express's `content-type` package allows.
 */
const MEDIA_TYPE_PARAMETER =
  /; *([!#$%&'*+.^_`|~0-9A-Za-z-]+) *= *("(?:[\v\u0020\u0021\u0023-\u005b\u005d-\u007e\u0080-\u00ff]|\\[\v\u0020-\u00ff])*"|[!#$%&'*+.^_`|~0-9A-Za-z-]+) */g;

/**
 * The `charset` parameter of a media type, lower case, a quoted one unquoted and unescaped (the last
 * one, if named twice); `undefined` when it has none or an empty one, or when its parameters do not
 * parse: as Express reads it (its `content-type` package throws, and the charset is then UTF-8).
 */
function charsetOf(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  let at = contentType.indexOf(';');
  if (at === -1) return undefined;
  let charset: string | undefined;
  const parameter = new RegExp(MEDIA_TYPE_PARAMETER);
  parameter.lastIndex = at;
  for (let match = parameter.exec(contentType); match !== null; match = parameter.exec(contentType)) {
    if (match.index !== at) return undefined;
    at += match[0].length;
    if ((match[1] as string).toLowerCase() !== 'charset') continue;
    const value = match[2] as string;
    charset = (
      value.startsWith('"') ? value.slice(1, -1).replace(/\\([\v\u0020-\u00ff])/g, '$1') : value
    ).toLowerCase();
  }
  if (at !== contentType.length) return undefined;
  return charset === '' ? undefined : charset;
}

/** ISO-8859-1 as it is: each byte the character of that code (TextDecoder's `latin1` is windows-1252). */
function decodeLatin1(bytes: Uint8Array): string {
  let text = '';
  for (let at = 0; at < bytes.length; at += 8192)
    text += String.fromCharCode(...bytes.subarray(at, at + 8192));
  return text;
}

/**
 * Why a form body cannot be read for its token, or `undefined` when it can: a `Content-Encoding`
 * other than `identity` (unless `checkEncoding` is false), a charset other than UTF-8 and ISO-8859-1.
 */
function formBodyRefusal(headers: HeadersLike, checkEncoding: boolean): string | undefined {
  // Every Content-Encoding line, as Node joins them: anything but one `identity` (any case) is refused.
  const coding = readHeaderValues(headers, 'content-encoding').join(', ');
  if (checkEncoding && coding !== '' && coding.toLowerCase() !== 'identity')
    return 'unsupported content encoding';
  const charset = charsetOf(readHeaderValues(headers, 'content-type')[0]);
  if (charset !== undefined && !FORM_CHARSETS.has(charset)) return 'unsupported charset';
  return undefined;
}

/**
 * The parameters of a form body, decoded in the charset its `Content-Type` names, or `undefined`
 * past {@link FORM_MAX_PARAMETERS}.
 */
function parseFormBody(
  body: Uint8Array,
  headers: HeadersLike,
): Record<string, string | string[]> | undefined {
  const charset = charsetOf(readHeaderValues(headers, 'content-type')[0]);
  // As Express decodes a form: one leading byte order mark dropped from UTF-8, none from ISO-8859-1.
  let text =
    charset === 'iso-8859-1'
      ? decodeLatin1(body)
      : new TextDecoder('utf-8', { ignoreBOM: true }).decode(body);
  if (charset !== 'iso-8859-1' && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const parameters: Record<string, string | string[]> = Object.create(null);
  if (text === '') return parameters;
  // Counted as Express counts them: the parts between `&`s, empty ones included.
  for (let at = text.indexOf('&'), count = 1; at !== -1; at = text.indexOf('&', at + 1)) {
    if (++count > FORM_MAX_PARAMETERS) return undefined;
  }
  // URLSearchParams drops one leading `?` of a string (a query's); a form has none to drop: its first
  // name keeps it, as Express reads it. An empty first part changes nothing else.
  for (const [name, value] of new URLSearchParams(text.startsWith('?') ? `&${text}` : text)) {
    const earlier = parameters[name];
    if (earlier === undefined) parameters[name] = value;
    else if (Array.isArray(earlier)) earlier.push(value);
    else parameters[name] = [earlier, value];
  }
  return parameters;
}

/** What {@link readFormBody} made of a form body: its parameters, or the answer that refuses it. */
export type FormBodyReading =
  | { readonly parameters: Record<string, string | string[]> }
  | { readonly status: 413 | 415; readonly reason: string };

/**
 * Reads an `application/x-www-form-urlencoded` body for its token, as every adapter reads one (and
 * as Express's `urlencoded()` does by default): its parameters (a record without a prototype, a
 * repeated name holding the list of its values, the shape `node:querystring` gives), parsed as the
 * URL Standard says in time linear in its length and decoded in the charset its `Content-Type`
 * names; or a refusal: 413 past `maxBytes` (default {@link FORM_BODY_MAX_BYTES}) or past
 * {@link FORM_MAX_PARAMETERS} parameters (never read in part, so a second `access_token` is never
 * missed), 415 (RFC 9110 §15.5.16) for a charset other than UTF-8 and ISO-8859-1 or a
 * `Content-Encoding` other than `identity` (a compressed body is not inflated: nothing a token needs,
 * and no decompression bomb). `checkEncoding: false` leaves the coding to the framework (Fastify: a
 * `preParsing` hook such as @fastify/compress's may have decoded the body, its header unchanged).
 *
 * @example
 * ```ts
 * const reading = readFormBody(new Uint8Array(await request.arrayBuffer()), request.headers);
 * const answer = 'status' in reading ? new Response(reading.reason, { status: reading.status }) : undefined;
 * const token = 'parameters' in reading ? reading.parameters.access_token : undefined;
 * ```
 */
export function readFormBody(
  bytes: Uint8Array,
  headers: HeadersLike,
  options: { readonly maxBytes?: number; readonly checkEncoding?: boolean } = {},
): FormBodyReading {
  if (bytes.length > (options.maxBytes ?? FORM_BODY_MAX_BYTES))
    return { status: 413, reason: 'request entity too large' };
  const refusal = formBodyRefusal(headers, options.checkEncoding !== false);
  if (refusal !== undefined) return { status: 415, reason: refusal };
  const parameters = parseFormBody(bytes, headers);
  return parameters === undefined ? { status: 413, reason: 'too many parameters' } : { parameters };
}
