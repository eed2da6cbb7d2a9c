/**
 * Raw HTTP/1.x over `node:net`: every byte of the request is the caller's (header order, case,
 * repeats, tabs, bytes >= 0x80, a missing `Host`, absolute-form targets, chunked bodies, trailers,
 * `Expect: 100-continue`), and the answer is parsed by hand, so the adapters of tokenguard can be
 * compared on exactly the same bytes. Also a parser of a `WWW-Authenticate` holding several
 * challenges (`Bearer ..., DPoP ...`).
 *
 * @example
 * ```ts
 * const answer = await sendRaw(port, `GET /me HTTP/1.0\r\nAuthorization: Bearer ${token}\r\n\r\n`);
 * const challenges = parseChallenges(answer.headers['www-authenticate']?.[0] ?? '');
 * ```
 */
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';

/** A response read off the socket: the final status, its headers (each a list), body, 1xx statuses. */
export interface RawAnswer {
  status: number;
  /** Lower-case names; every field line kept, in order. */
  headers: Record<string, string[]>;
  /** The body as UTF-8 (chunked bodies de-chunked). */
  body: string;
  /** Interim (1xx) statuses that came before the final one, e.g. `[100]`. */
  interim: number[];
}

export interface RawSendOptions {
  /** Written after `head` (at once, or after a `100 Continue` with `afterContinue`). */
  body?: readonly (string | Buffer)[];
  /** Holds `body` back until the server sends `100 Continue` (an `Expect: 100-continue` client). */
  afterContinue?: boolean;
  /** Bound on the whole exchange; default 8000 ms. */
  timeoutMs?: number;
}

const bytesOf = (part: string | Buffer): Buffer =>
  typeof part === 'string' ? Buffer.from(part, 'latin1') : part;

/**
 * Sends `head` (a string is written as latin1, one byte per character) on a new connection and reads
 * until the server closes it (ask for that with `Connection: close` or HTTP/1.0). A server that
 * answers before reading the whole body (a 413) may reset the connection: what it sent still counts.
 */
export function sendRaw(
  port: number,
  head: string | Buffer,
  options: RawSendOptions = {},
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bodySent = false;
    const sendBody = () => {
      bodySent = true;
      for (const part of options.body ?? []) socket.write(bytesOf(part));
    };
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(bytesOf(head));
      if (options.afterContinue !== true) sendBody();
    });
    let timedOut = false;
    socket.setTimeout(options.timeoutMs ?? 8000, () => {
      timedOut = true;
      socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (!bodySent && Buffer.concat(chunks).toString('latin1').startsWith('HTTP/1.1 100')) sendBody();
    });
    // EPIPE/ECONNRESET after an early answer: the answer is judged, not the error.
    socket.on('error', () => {});
    socket.on('close', () => {
      if (timedOut) {
        reject(new Error(`no complete answer within ${options.timeoutMs ?? 8000} ms`));
        return;
      }
      try {
        resolve(parseRawResponse(Buffer.concat(chunks)));
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** Parses the bytes of one HTTP/1.x response, after any 1xx ones. */
export function parseRawResponse(bytes: Buffer): RawAnswer {
  let offset = 0;
  const interim: number[] = [];
  for (;;) {
    const headEnd = bytes.indexOf('\r\n\r\n', offset);
    if (headEnd === -1) throw new Error(`no complete response head in: ${bytes.toString('latin1', 0, 200)}`);
    const [statusLine = '', ...lines] = bytes.subarray(offset, headEnd).toString('latin1').split('\r\n');
    const status = Number(statusLine.split(' ')[1]);
    const headers: Record<string, string[]> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      headers[name] ??= [];
      headers[name].push(line.slice(colon + 1).trim());
    }
    offset = headEnd + 4;
    if (status >= 100 && status < 200) {
      interim.push(status);
      continue;
    }
    let body: Buffer;
    if (headers['transfer-encoding']?.[0]?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      let at = offset;
      for (;;) {
        const lineEnd = bytes.indexOf('\r\n', at);
        if (lineEnd === -1) break;
        const size = Number.parseInt(bytes.toString('latin1', at, lineEnd), 16);
        if (!(size > 0)) break;
        parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      body = bytes.subarray(offset, offset + Number(headers['content-length'][0]));
    } else body = bytes.subarray(offset);
    return { status, headers, body: body.toString('utf8'), interim };
  }
}

/** One challenge of a `WWW-Authenticate` value. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

const TOKEN = /[A-Za-z0-9!#$%&'*+.^_`|~-]+/y;

/**
 * Parses a `WWW-Authenticate` value of one or more challenges (RFC 9110 §11.6.1) with auth-param
 * lists (no token68). Throws on anything malformed, a parameter given twice in one challenge
 * included (RFC 6750 §3), so a broken header fails a test instead of being compared as text.
 */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let current: Challenge | undefined;
  let i = 0;
  const skipSpace = () => {
    while (header[i] === ' ' || header[i] === '\t') i++;
  };
  while (i < header.length) {
    skipSpace();
    if (header[i] === ',') {
      i++;
      continue;
    }
    if (i >= header.length) break;
    TOKEN.lastIndex = i;
    const word = TOKEN.exec(header)?.[0];
    if (word === undefined) throw new Error(`bad character at ${i} in: ${header}`);
    let next = i + word.length;
    while (header[next] === ' ' || header[next] === '\t') next++;
    if (header[next] !== '=' || current === undefined) {
      current = { scheme: word, params: {} };
      challenges.push(current);
      i += word.length;
      continue;
    }
    i = next + 1;
    skipSpace();
    let value = '';
    if (header[i] === '"') {
      i++;
      while (i < header.length && header[i] !== '"') {
        if (header[i] === '\\') i++;
        value += header[i] ?? '';
        i++;
      }
      if (header[i] !== '"') throw new Error(`unterminated quoted string in: ${header}`);
      i++;
    } else {
      TOKEN.lastIndex = i;
      const token = TOKEN.exec(header)?.[0];
      if (token === undefined) throw new Error(`bad value at ${i} in: ${header}`);
      value = token;
      i += token.length;
    }
    const name = word.toLowerCase();
    if (Object.hasOwn(current.params, name)) throw new Error(`${name} appears twice in: ${header}`);
    current.params[name] = value;
    skipSpace();
    if (i < header.length && header[i] !== ',') throw new Error(`expected a comma at ${i} in: ${header}`);
  }
  return challenges;
}

/**
 * What the adapters are compared on: status, 1xx statuses, every challenge (parsed), `Cache-Control`,
 * `Retry-After`, the media type (its `charset` parameter left out: JSON has none, RFC 8259 §11) and
 * the body (parsed when JSON).
 */
export interface ComparedAnswer {
  status: number;
  interim: number[];
  challenges: Challenge[] | null;
  cacheControl: string[] | null;
  retryAfter: string[] | null;
  mediaType: string | null;
  body: unknown;
}

export function comparedAnswer(answer: RawAnswer): ComparedAnswer {
  const www = answer.headers['www-authenticate'];
  let body: unknown = answer.body;
  const mediaType = answer.headers['content-type']?.[0]?.split(';')[0]?.trim().toLowerCase() ?? null;
  if (mediaType === 'application/json' && answer.body !== '') body = JSON.parse(answer.body) as unknown;
  return {
    status: answer.status,
    interim: answer.interim,
    challenges: www === undefined ? null : www.flatMap((value) => parseChallenges(value)),
    cacheControl: answer.headers['cache-control'] ?? null,
    retryAfter: answer.headers['retry-after'] ?? null,
    mediaType,
    body,
  };
}

/** A request head: `METHOD target HTTP/1.1`, `Host`, the given field lines, `Connection: close`. */
export function head11(method: string, target: string, host: string, lines: readonly string[] = []): string {
  return [`${method} ${target} HTTP/1.1`, `Host: ${host}`, ...lines, 'Connection: close', '', ''].join(
    '\r\n',
  );
}

/** A POST with this body and `Content-Type`, `Content-Length` computed from its bytes. */
export function postRaw(
  target: string,
  host: string,
  contentType: string,
  body: string | Buffer,
  lines: readonly string[] = [],
): { head: string; body: Buffer[] } {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  return {
    head: head11('POST', target, host, [
      `Content-Type: ${contentType}`,
      `Content-Length: ${bytes.length}`,
      ...lines,
    ]),
    body: [bytes],
  };
}

/** `text` gzipped, for a `Content-Encoding: gzip` body. */
export const gzipped = (text: string): Buffer => gzipSync(Buffer.from(text, 'latin1'));
