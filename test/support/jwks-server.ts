import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * How the JWKS server misbehaves on its next answers.
 * - `none`: 200, `application/json`, the current keys.
 * - `status_500` / `status_503`: that status (503 with `Retry-After: 30`).
 * - `invalid_json`: 200 with a truncated document.
 * - `not_a_jwks`: 200 with a JSON object that has no `keys` array.
 * - `huge`: 200, chunked, no `Content-Length`, megabytes of whitespace then the keys.
 * - `huge_declared`: 200 with a `Content-Length` over the cap.
 * - `redirect`: 302 to `/moved`, which serves the keys (and counts in `movedCount`).
 * - `html`: 200 `text/html`.
 * - `stall_headers`: accepts the request and never answers.
 * - `stall_body`: sends headers and the start of the body, then nothing.
 * - `drip`: sends the body one byte every 50 ms, forever (defeats a per-chunk body timeout).
 * - `reset`: destroys the socket.
 */
export type JwksFault =
  | 'none'
  | 'status_500'
  | 'status_503'
  | 'invalid_json'
  | 'not_a_jwks'
  | 'huge'
  | 'huge_declared'
  | 'redirect'
  | 'html'
  | 'stall_headers'
  | 'stall_body'
  | 'drip'
  | 'reset';

/** A public JWK as served in the set. */
export type PublicJwk = Record<string, unknown> & { kid?: string };

/** A local JWKS server whose behaviour a test changes between requests. */
export interface JwksServer {
  /** `http://127.0.0.1:<port>/jwks` */
  readonly url: string;
  /** The keys served; replace to rotate or remove keys. */
  keys: PublicJwk[];
  fault: JwksFault;
  /** Extra response headers, e.g. `{ 'cache-control': 'max-age=120' }`. */
  headers: Record<string, string>;
  /** Delay before each answer, in ms. */
  latencyMs: number;
  /** Requests received on `/jwks`. */
  readonly fetchCount: number;
  /** Requests received on `/moved` (a followed redirect). */
  readonly movedCount: number;
  close(): Promise<void>;
}

/**
 * Starts a JWKS server on 127.0.0.1 with an ephemeral port.
 *
 * @example
 * ```ts
 * const server = await startJwksServer([key.jwk]);
 * server.fault = 'status_500';
 * ```
 */
export async function startJwksServer(keys: PublicJwk[] = []): Promise<JwksServer> {
  let fetchCount = 0;
  let movedCount = 0;
  const timers = new Set<NodeJS.Timeout>();
  const state = {
    keys,
    fault: 'none' as JwksFault,
    headers: {} as Record<string, string>,
    latencyMs: 0,
  };
  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const answer = (req: IncomingMessage, res: ServerResponse): void => {
    const body = JSON.stringify({ keys: state.keys });
    const json = { 'content-type': 'application/json', ...state.headers };
    if (req.url === '/moved') {
      movedCount++;
      res.writeHead(200, json).end(body);
      return;
    }
    if (req.url !== '/jwks') {
      res.writeHead(404).end();
      return;
    }
    fetchCount++;
    switch (state.fault) {
      case 'none':
        res.writeHead(200, json).end(body);
        return;
      case 'status_500':
        res.writeHead(500, { 'content-type': 'text/plain' }).end('boom');
        return;
      case 'status_503':
        res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '30' }).end('down');
        return;
      case 'invalid_json':
        res.writeHead(200, json).end(body.slice(0, -3));
        return;
      case 'not_a_jwks':
        res.writeHead(200, json).end(JSON.stringify({ keys: 'none', issuer: 'x' }));
        return;
      case 'huge': {
        res.writeHead(200, json);
        const chunk = ' '.repeat(64 * 1024);
        let sent = 0;
        const pump = (): void => {
          while (sent < 4 * 1024 * 1024 && !res.destroyed) {
            sent += chunk.length;
            if (!res.write(chunk)) {
              res.once('drain', pump);
              return;
            }
          }
          if (!res.destroyed) res.end(body);
        };
        pump();
        return;
      }
      case 'huge_declared':
        res.writeHead(200, { ...json, 'content-length': String(10 * 1024 * 1024) });
        res.write(body);
        return;
      case 'redirect':
        res.writeHead(302, { location: '/moved' }).end();
        return;
      case 'html':
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>');
        return;
      case 'stall_headers':
        return;
      case 'stall_body':
        res.writeHead(200, json);
        res.write(body.slice(0, 10));
        return;
      case 'drip': {
        res.writeHead(200, json);
        const tick = (): void => {
          if (res.destroyed) return;
          res.write(' ');
          later(50, tick);
        };
        tick();
        return;
      }
      case 'reset':
        req.socket.destroy();
        return;
    }
  };

  const server = createServer((req, res) => {
    if (state.latencyMs > 0) later(state.latencyMs, () => answer(req, res));
    else answer(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/jwks`,
    get keys() {
      return state.keys;
    },
    set keys(value) {
      state.keys = value;
    },
    get fault() {
      return state.fault;
    },
    set fault(value) {
      state.fault = value;
    },
    get headers() {
      return state.headers;
    },
    set headers(value) {
      state.headers = value;
    },
    get latencyMs() {
      return state.latencyMs;
    },
    set latencyMs(value) {
      state.latencyMs = value;
    },
    get fetchCount() {
      return fetchCount;
    },
    get movedCount() {
      return movedCount;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A signing key pair for tests: the private key and its public JWK (with `kid`, `alg`, `use`). */
export interface TestSigningKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: KeyObject;
  jwk: PublicJwk;
}

/**
 * Generates a key pair through PEM (exporting a freshly generated KeyObject to JWK directly hung
 * once on Node 20.20).
 *
 * @example
 * ```ts
 * const key = createSigningKey('k1');
 * ```
 */
export function createSigningKey(kid: string, alg: 'RS256' | 'ES256' = 'RS256'): TestSigningKey {
  const publicKeyEncoding = { type: 'spki', format: 'pem' } as const;
  const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const;
  const pair: { publicKey: string; privateKey: string } =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding, privateKeyEncoding })
      : generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding, privateKeyEncoding });
  const jwk = createPublicKey(pair.publicKey).export({ format: 'jwk' }) as PublicJwk;
  return { kid, alg, privateKey: createPrivateKey(pair.privateKey), jwk: { ...jwk, kid, alg, use: 'sig' } };
}
