import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A minimal issuer on 127.0.0.1: discovery document and JWKS, cacheable for ten minutes. */
export interface BenchIssuer {
  /** `http://127.0.0.1:<port>`: the tokens' `iss`. */
  readonly issuer: string;
  readonly jwksUri: string;
  close(): Promise<void>;
}

export async function startBenchIssuer(jwks: { keys: readonly unknown[] }): Promise<BenchIssuer> {
  let origin = '';
  const body = JSON.stringify(jwks);
  const server: Server = createServer((req, res) => {
    if (req.url === '/.well-known/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=600' });
      res.end(body);
    } else if (
      req.url === '/.well-known/openid-configuration' ||
      req.url === '/.well-known/oauth-authorization-server'
    ) {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=600' });
      res.end(JSON.stringify({ issuer: origin, jwks_uri: `${origin}/.well-known/jwks.json` }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer: origin,
    jwksUri: `${origin}/.well-known/jwks.json`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
