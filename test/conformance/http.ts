import { request } from 'node:http';

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
