import { request } from 'node:http';
import { connect } from 'node:net';

/** One request of the conformance table. */
export interface RequestSpec {
  method?: 'GET' | 'POST';
  path: string;
  /** Sent as is; a list sends that many `Authorization` headers. */
  authorization?: string | string[];
  /** Sent as an `application/x-www-form-urlencoded` body. */
  form?: Record<string, string>;
  /** A body sent as is with this content type (a repeated parameter, JSON); ignored when `form` is set. */
  body?: { contentType: string; text: string };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * Sends a request with `node:http`, which (unlike fetch) can send two `Authorization` headers.
 * The connection is not kept alive so servers close promptly.
 */
export function send(baseUrl: string, spec: RequestSpec): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(spec.path, baseUrl);
    const req = request(url, { method: spec.method ?? 'GET', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (spec.authorization !== undefined) req.setHeader('authorization', spec.authorization);
    if (spec.form !== undefined) {
      const body = new URLSearchParams(spec.form).toString();
      req.setHeader('content-type', 'application/x-www-form-urlencoded');
      req.setHeader('content-length', Buffer.byteLength(body));
      req.end(body);
    } else if (spec.body !== undefined) {
      req.setHeader('content-type', spec.body.contentType);
      req.setHeader('content-length', Buffer.byteLength(spec.body.text));
      req.end(spec.body.text);
    } else req.end();
  });
}

/**
 * Sends GET requests pipelined on one connection, all in one write, so the server reads them
 * together (in one phase of its event loop), and returns the responses in order. Every response must
 * carry a `Content-Length`, as the adapters' JSON answers do. Bounded by `timeoutMs`.
 */
export function sendPipelined(
  baseUrl: string,
  requests: readonly { path: string; authorization: string }[],
  timeoutMs = 10_000,
): Promise<RawResponse[]> {
  const { hostname, port } = new URL(baseUrl);
  const text = requests
    .map(
      ({ path, authorization }, i) =>
        `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: ${authorization}\r\n` +
        `Connection: ${i === requests.length - 1 ? 'close' : 'keep-alive'}\r\n\r\n`,
    )
    .join('');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    // Written, not ended: a half-closed connection would abort the requests not yet answered. The
    // last asks the server to close it.
    const socket = connect(Number(port), hostname, () => socket.write(text));
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('pipelined requests timed out')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      try {
        resolve(splitResponses(Buffer.concat(chunks), requests.length));
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** Splits `count` HTTP/1.1 responses with a `Content-Length` each out of `bytes`. */
function splitResponses(bytes: Buffer, count: number): RawResponse[] {
  const responses: RawResponse[] = [];
  let offset = 0;
  while (responses.length < count) {
    const headerEnd = bytes.indexOf('\r\n\r\n', offset);
    if (headerEnd === -1) throw new Error(`only ${responses.length} of ${count} responses arrived`);
    const [statusLine = '', ...lines] = bytes.subarray(offset, headerEnd).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length']);
    if (!Number.isInteger(length)) throw new Error(`a response without Content-Length: ${statusLine}`);
    const bodyStart = headerEnd + 4;
    responses.push({
      status: Number(statusLine.split(' ')[1]),
      headers,
      text: bytes.subarray(bodyStart, bodyStart + length).toString('utf8'),
    });
    offset = bodyStart + length;
  }
  return responses;
}
