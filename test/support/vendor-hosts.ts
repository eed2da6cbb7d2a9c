/**
 * Test helper: the discovery documents and key sets of public identity providers (Auth0, Entra ID,
 * Cognito, Keycloak, Okta), served by one real HTTP server on 127.0.0.1 (port 0) at the providers' own
 * paths. The validator reaches it through its documented `http.fetch` option: `hosts.fetch` sends a
 * request for `https://<host>/<path>` to this server, naming `<host>` in a header, so an issuer
 * configured exactly as a README recipe says is discovered over real HTTP without the network.
 *
 * @example
 * ```ts
 * const hosts = await startVendorHosts();
 * hosts.serve('https://dev-123456.okta.com/oauth2/default/v1/keys', { keys: [jwk] });
 * createValidator({ issuer, audience, http: { fetch: hosts.fetch } });
 * await hosts.close();
 * ```
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The header carrying the host the validator asked for. */
const HOST_HEADER = 'x-vendor-host';

export interface VendorHosts {
  /** A `fetch` for the validator's `http.fetch`: every URL is answered by this server. */
  readonly fetch: typeof globalThis.fetch;
  /** Serves `body` as `application/json` at `url` (an https URL of the provider); replaces any earlier. */
  serve(url: string, body: unknown): void;
  /** The URLs asked for, in order (`https://host/path`), served or not. */
  readonly requests: readonly string[];
  close(): Promise<void>;
}

/** `https://Host/path?q` as the key of a served document: host lower-cased, as URL parsing does. */
function documentKey(url: URL): string {
  return `${url.host.toLowerCase()}${url.pathname}${url.search}`;
}

export async function startVendorHosts(): Promise<VendorHosts> {
  const documents = new Map<string, string>();
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const host = String(req.headers[HOST_HEADER] ?? '');
    const key = `${host}${req.url ?? '/'}`;
    requests.push(`https://${key}`);
    const body = documents.get(key);
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const routed: typeof globalThis.fetch = (input, init) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const headers = new Headers(init?.headers);
    headers.set(HOST_HEADER, url.host.toLowerCase());
    return globalThis.fetch(`http://127.0.0.1:${port}${url.pathname}${url.search}`, { ...init, headers });
  };

  return {
    fetch: routed,
    serve(url, body) {
      documents.set(documentKey(new URL(url)), JSON.stringify(body));
    },
    get requests() {
      return requests;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
