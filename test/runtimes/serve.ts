/**
 * Bun and Deno entry of the cross-runtime test: serves {@link handleRequest} on 127.0.0.1 with a
 * port the runtime picks, then prints `listening <port>` on stdout. Settings come from the
 * environment (`ISSUER`, `AUDIENCE`, `JWKS_URI`).
 *
 * @example
 * ```sh
 * ISSUER=... AUDIENCE=... JWKS_URI=... bun run serve.mjs
 * ```
 */
import { env as processEnv } from 'node:process';
import { handleRequest, type RuntimeAppEnv } from './worker.js';

interface BunLike {
  serve(options: { hostname: string; port: number; fetch(request: Request): Promise<Response> }): {
    port: number;
  };
}

interface DenoLike {
  serve(
    options: { hostname: string; port: number; onListen(address: { port: number }): void },
    handler: (request: Request) => Promise<Response>,
  ): unknown;
}

const env: RuntimeAppEnv = {
  ISSUER: processEnv.ISSUER ?? '',
  AUDIENCE: processEnv.AUDIENCE ?? '',
  JWKS_URI: processEnv.JWKS_URI ?? '',
};
const handler = (request: Request): Promise<Response> => handleRequest(request, env);
const announce = (port: number): void => console.log(`listening ${port}`);
const runtime = globalThis as { Bun?: BunLike; Deno?: DenoLike };

if (runtime.Bun !== undefined) {
  announce(runtime.Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: handler }).port);
} else if (runtime.Deno !== undefined) {
  runtime.Deno.serve({ hostname: '127.0.0.1', port: 0, onListen: ({ port }) => announce(port) }, handler);
} else {
  throw new Error('serve.ts runs on Bun or Deno');
}
