import { type Readable, Transform, type TransformCallback, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import type { Dispatcher } from 'undici';
import { safeName } from './safe-name.js';

/** How the validator talks to the issuer (key set, discovery, introspection). */
export interface HttpSettings {
  /** A `fetch` to use instead of undici (fetch-only runtimes, or custom transports). */
  fetch: typeof globalThis.fetch | undefined;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  /** Deadline for the whole exchange. */
  timeoutMs: number;
}

/** What went wrong with an HTTP exchange; the token never appears in it. */
export class HttpFailure extends Error {
  override readonly name = 'HttpFailure';
  constructor(
    readonly kind: 'network' | 'timeout' | 'status' | 'redirect' | 'too_large' | 'content_type',
    message: string,
    readonly status?: number,
    readonly retryAfterSec?: number,
  ) {
    super(message);
  }
}

export interface HttpRequest {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  maxBytes: number;
}

export interface HttpResponse {
  status: number;
  header(name: string): string | undefined;
  text: string;
}

export interface HttpClient {
  request(url: string, request: HttpRequest): Promise<HttpResponse>;
  close(): Promise<void>;
}

/**
 * One keep-alive undici dispatcher per validator with connect, headers and body timeouts; or the
 * given `fetch` (and the global one where undici cannot be loaded). Redirects are never followed and
 * bodies larger than `maxBytes` are cut off while streaming. A `Content-Encoding` is decoded as `fetch`
 * decodes it (see {@link readEncoded}), with `maxBytes` bounding the decoded bytes.
 */
export function createHttpClient(settings: HttpSettings): HttpClient {
  let undici:
    | Promise<{ agent: Dispatcher; request: typeof import('undici').request } | undefined>
    | undefined;
  const loadUndici = () => {
    undici ??= import('undici').then(
      (mod) => ({
        agent: new mod.Agent({
          connect: { timeout: settings.connectTimeoutMs },
          headersTimeout: settings.headersTimeoutMs,
          bodyTimeout: settings.bodyTimeoutMs,
          keepAliveTimeout: 30_000,
          connections: 16,
        }),
        request: mod.request,
      }),
      () => undefined,
    );
    return undici;
  };

  /** Set by `close()`: from then on nothing is asked of the network (no pool is opened again). */
  let closed = false;

  async function request(url: string, req: HttpRequest): Promise<HttpResponse> {
    if (closed) throw new HttpFailure('network', `${describeUrl(url)} not asked: the validator was closed`);
    const signal = AbortSignal.timeout(settings.timeoutMs);
    try {
      const lib = settings.fetch === undefined ? await loadUndici() : undefined;
      if (lib !== undefined) return await viaUndici(lib, url, req, signal);
      return await viaFetch(settings.fetch ?? globalThis.fetch, url, req, signal);
    } catch (error) {
      if (error instanceof HttpFailure) throw error;
      if (signal.aborted || isTimeout(error)) {
        throw new HttpFailure('timeout', `no answer from ${describeUrl(url)} within the timeout`);
      }
      throw new HttpFailure('network', `could not reach ${describeUrl(url)}`);
    }
  }

  /** The one closing of the pool: a second `close()` (two shutdown paths, a second signal) shares it. */
  let closing: Promise<void> | undefined;

  return {
    request,
    close() {
      closed = true;
      closing ??= (async () => {
        const lib = await undici;
        await lib?.agent.close();
      })();
      return closing;
    },
  };
}

async function viaUndici(
  lib: { agent: Dispatcher; request: typeof import('undici').request },
  url: string,
  req: HttpRequest,
  signal: AbortSignal,
): Promise<HttpResponse> {
  const res = await lib.request(url, {
    dispatcher: lib.agent,
    method: req.method ?? 'GET',
    headers: req.headers ?? {},
    body: req.body ?? null,
    signal,
  });
  const header = (name: string) => {
    const value = res.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
  checkStatus(url, res.statusCode, header, () => res.body.dump());
  checkDeclaredLength(url, header('content-length'), req.maxBytes, () => destroyQuietly(res.body));
  // No Accept-Encoding is sent (RFC 9110 §12.5.3: any coding is acceptable), on purpose: servers that
  // negotiate (nginx `gzip on`, CDNs) then answer uncompressed, so the usual answer, a few KB, costs no
  // zlib work; those that do not negotiate (an object stored pre-compressed on S3 or a CDN) send their
  // stored coding whatever the request says, and are decoded below. A coding not decoded here (`zstd`)
  // is a failure that names it.
  const encoding = header('content-encoding');
  const codings = encoding === undefined ? [] : contentCodings(encoding);
  if (codings.length > 0) {
    const text = await readEncoded(url, res.statusCode, res.body, encoding!, codings, req.maxBytes);
    return { status: res.statusCode, header, text };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > req.maxBytes) {
      destroyQuietly(res.body);
      throw tooLarge(url, req.maxBytes);
    }
    chunks.push(chunk as Buffer);
  }
  return { status: res.statusCode, header, text: Buffer.concat(chunks).toString('utf8') };
}

/** The decoders of the content codings read (`x-gzip` is `gzip`, RFC 9110 §8.4.1.3). */
const DECODERS: Readonly<Record<string, () => Transform>> = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  deflate: () => new DeflateDecoder(),
  br: () => zlib.createBrotliDecompress(),
};

/**
 * The codings a `Content-Encoding` lists, in the order they were applied, lower-cased, without
 * `identity` or empty list members: none for an answer sent as it is.
 */
function contentCodings(value: string): string[] {
  const codings: string[] = [];
  for (const member of value.split(',')) {
    const coding = member.trim().toLowerCase();
    if (coding !== '' && coding !== 'identity') codings.push(coding);
  }
  return codings;
}

/**
 * Reads and decodes a body sent with a `Content-Encoding`: the codings are undone last-applied first
 * (RFC 9110 §8.4) by node:zlib streaming decoders, with `maxBytes` bounding the bytes on the wire, the
 * decoded bytes, and every step between (`gzip, br` whose inner gzip is endless empty blocks). A step
 * over it ends the exchange at once; backpressure stops each decoder (and the socket) while the next
 * step does not ask, so a gzip bomb is inflated by at most a decoder's chunk past the cap, and is not
 * read whole first. A coding not listed in {@link DECODERS}, or a body that does not decode, is a
 * `content_type` failure naming the `Content-Encoding`; with a 401 or 403, whose status is the answer
 * (discovery reads a static host's 403 as "no document"), the body is then passed on as empty.
 */
async function readEncoded(
  url: string,
  status: number,
  body: Readable,
  encoding: string,
  codings: readonly string[],
  maxBytes: number,
): Promise<string> {
  if (!codings.every((coding) => Object.hasOwn(DECODERS, coding))) {
    destroyQuietly(body);
    if (status !== 200) return '';
    throw new HttpFailure(
      'content_type',
      `${describeUrl(url)} answered with Content-Encoding "${safeName(encoding)}", which is not decoded (gzip, deflate, br and identity are)`,
    );
  }
  // The first error emitted tells where the exchange failed: an error passed on by the pipeline to
  // the other streams is emitted by them only after it.
  let first = undefined as { error: unknown; decoding: boolean } | undefined;
  body.on('error', (error) => {
    first ??= { error, decoding: false };
  });
  const stages: (Readable | Transform | Writable)[] = [body, new ByteLimit(url, maxBytes)];
  for (let i = codings.length - 1; i >= 0; i--) {
    const decoder = DECODERS[codings[i]!]!();
    decoder.on('error', (error) => {
      first ??= { error, decoding: true };
    });
    stages.push(decoder, new ByteLimit(url, maxBytes, encoding));
  }
  const chunks: Buffer[] = [];
  stages.push(
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    }),
  );
  try {
    await pipeline(stages);
  } catch (error) {
    if (error instanceof HttpFailure || !first?.decoding || first.error !== error) throw error;
    if (status !== 200) return '';
    throw new HttpFailure(
      'content_type',
      `${describeUrl(url)} answered a body that does not decode as its Content-Encoding "${safeName(encoding)}" (${safeName((error as Error).message)})`,
    );
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Passes bytes on until more than `maxBytes` have come, then fails with `too_large`. */
class ByteLimit extends Transform {
  #size = 0;

  constructor(
    readonly url: string,
    readonly maxBytes: number,
    /** Set after a decoder: the message says the cap was passed by the decoded bytes. */
    readonly encoding?: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#size += chunk.length;
    if (this.#size <= this.maxBytes) {
      callback(null, chunk);
    } else if (this.encoding === undefined) {
      callback(tooLarge(this.url, this.maxBytes));
    } else {
      callback(
        new HttpFailure(
          'too_large',
          `${describeUrl(this.url)} sent more than ${this.maxBytes} bytes once its Content-Encoding "${safeName(this.encoding)}" is decoded`,
        ),
      );
    }
  }
}

/**
 * `deflate` as browsers and undici's `fetch` read it: the zlib format (RFC 1950) the coding names, or
 * the raw deflate (RFC 1951) some servers send, told apart by the first byte (a zlib header's low four
 * bits are 8, which raw deflate's first block never starts with in practice). The inflater is paused
 * while this stream's reader does not ask, so backpressure holds through it.
 */
class DeflateDecoder extends Transform {
  #inflater: zlib.Inflate | zlib.InflateRaw | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#inflater === undefined) {
      if (chunk.length === 0) {
        callback();
        return;
      }
      const inflater = (chunk[0]! & 0x0f) === 0x08 ? zlib.createInflate() : zlib.createInflateRaw();
      inflater.on('data', (data: Buffer) => {
        if (!this.push(data)) inflater.pause();
      });
      inflater.on('error', (error) => this.destroy(error));
      this.#inflater = inflater;
    }
    this.#inflater.write(chunk, callback);
  }

  override _read(size: number): void {
    this.#inflater?.resume();
    super._read(size);
  }

  override _flush(callback: TransformCallback): void {
    const inflater = this.#inflater;
    // As zlib answers an empty gzip or br body.
    if (inflater === undefined) {
      callback(new Error('unexpected end of file'));
      return;
    }
    inflater.once('end', () => callback());
    inflater.end();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#inflater?.destroy();
    callback(error);
  }
}

/**
 * Destroys an undici body. `destroy()` makes undici emit an `AbortError`; with no listener that
 * error would be uncaught and end the process.
 */
function destroyQuietly(body: import('node:stream').Readable): void {
  body.on('error', () => {});
  body.destroy();
}

async function viaFetch(
  fetchFn: typeof globalThis.fetch,
  url: string,
  req: HttpRequest,
  signal: AbortSignal,
): Promise<HttpResponse> {
  const init: RequestInit = { method: req.method ?? 'GET', redirect: 'manual', signal };
  if (req.headers !== undefined) init.headers = req.headers;
  if (req.body !== undefined) init.body = req.body;
  const pending = fetchFn(url, init);
  const res = await untilAborted(pending, signal, () => {
    // An answer that comes after the deadline is not read: its body is released.
    pending.then(
      (late) => late.body?.cancel().catch(() => {}),
      () => {},
    );
  });
  const header = (name: string) => res.headers.get(name) ?? undefined;
  const status = res.type === 'opaqueredirect' ? 302 : res.status;
  checkStatus(url, status, header, () => res.body?.cancel());
  checkDeclaredLength(url, header('content-length'), req.maxBytes, () => res.body?.cancel());
  const reader = res.body?.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (reader !== undefined) {
    for (;;) {
      const { done, value } = await untilAborted(reader.read(), signal, () => {
        reader.cancel().catch(() => {});
      });
      if (done) break;
      size += value.byteLength;
      if (size > req.maxBytes) {
        await reader.cancel();
        throw tooLarge(url, req.maxBytes);
      }
      chunks.push(value);
    }
  }
  return { status, header, text: Buffer.concat(chunks).toString('utf8') };
}

/**
 * `promise`, or a rejection with the signal's reason once it aborts, calling `onAbort` to release
 * what the promise holds: a `fetch` that ignores its signal (a wrapper that passes on method and
 * headers only) must not outlive the overall deadline.
 */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, onAbort: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => {
      onAbort();
      reject(signal.reason);
    };
    if (signal.aborted) return abort();
    signal.addEventListener('abort', abort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(error);
      },
    );
  });
}

function checkStatus(
  url: string,
  status: number,
  header: (name: string) => string | undefined,
  discard: () => unknown,
): void {
  if (status >= 300 && status < 400) {
    void Promise.resolve(discard()).catch(() => {});
    throw new HttpFailure(
      'redirect',
      `${describeUrl(url)} answered with a redirect, which is never followed`,
      status,
    );
  }
  // 401/403 are passed on: for introspection they mean our own credentials are wrong.
  if (status !== 200 && status !== 401 && status !== 403) {
    void Promise.resolve(discard()).catch(() => {});
    throw new HttpFailure(
      'status',
      `${describeUrl(url)} answered ${status}`,
      status,
      parseRetryAfter(header('retry-after')),
    );
  }
}

function checkDeclaredLength(
  url: string,
  value: string | undefined,
  maxBytes: number,
  discard: () => unknown,
): void {
  if (value !== undefined && Number(value) > maxBytes) {
    void Promise.resolve(discard()).catch(() => {});
    throw tooLarge(url, maxBytes);
  }
}

function tooLarge(url: string, maxBytes: number): HttpFailure {
  return new HttpFailure('too_large', `${describeUrl(url)} sent more than ${maxBytes} bytes`);
}

function isTimeout(error: unknown): boolean {
  const name = (error as { name?: string; code?: string } | null)?.name;
  const code = (error as { code?: string } | null)?.code;
  return (
    name === 'TimeoutError' ||
    name === 'AbortError' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT'
  );
}

/** Seconds from a `Retry-After` header (delta-seconds or HTTP date). */
export function parseRetryAfter(value: string | undefined, nowMs = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - nowMs) / 1000));
}

/** A URL without query or credentials, safe to put in messages. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return 'the configured URL';
  }
}
