/**
 * A real node:http server on 127.0.0.1 that serves JSON documents by path and counts every request,
 * so a test can prove that a URL named in a token (`jku`, `x5u`) was never fetched.
 *
 * @example
 * ```ts
 * const server = await startJsonServer({ '/jwks': { keys: [...] } });
 * server.url('/jwks'); server.count('/attacker'); await server.close();
 * ```
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface JsonServer {
  url(path: string): string;
  /** Requests received for `path` (any method, query ignored). */
  count(path: string): number;
  /** Every path requested, in order. */
  readonly requests: string[];
  /** Replaces or adds a document; a string body is sent as is. */
  set(path: string, body: unknown, headers?: Record<string, string>): void;
  close(): Promise<void>;
}

export async function startJsonServer(documents: Record<string, unknown>): Promise<JsonServer> {
  const routes = new Map<string, { body: string; headers: Record<string, string> }>();
  const requests: string[] = [];
  const set = (path: string, body: unknown, headers: Record<string, string> = {}) => {
    routes.set(path, {
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...headers },
    });
  };
  for (const [path, body] of Object.entries(documents)) set(path, body);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    requests.push(path);
    const route = routes.get(path);
    if (route === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, route.headers).end(route.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    count: (path) => requests.filter((entry) => entry === path).length,
    requests,
    set,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
