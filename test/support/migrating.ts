/**
 * Test helpers for MIGRATING.md: its code blocks, run as written, and a second issuer for the tokens
 * the dev issuer does not issue (`typ: JWT`, no `exp`, a key set that is down).
 *
 * A block is TypeScript with imports. `runBlock` replaces the guide's example URLs with the running
 * issuer's and the API's, compiles the block to CommonJS with TypeScript (types removed, nothing
 * else changed) and runs it with a `require` that hands out the modules the test imported (the real
 * packages), then returns the top-level names asked for (`app`, `validator`, ...). Top-level `await`
 * works: the block runs as the body of an async function.
 *
 * @example
 * ```ts
 * const [before] = migratingBlocks('express-oauth2-jwt-bearer (Auth0)');
 * const { app } = await runBlock(before, { express, 'express-oauth2-jwt-bearer': auth0 }, urls, ['app']);
 * ```
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { decodeJwt } from 'jose';
import ts from 'typescript';
import { accessTokenClaims, generateSigningKey, type SigningKey, signToken } from './keys.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The issuer and API identifier the guide's blocks are written with. */
export const GUIDE_ISSUER = 'https://id.example.com';
export const GUIDE_AUDIENCE = 'https://api.example.com';

/** The ```ts blocks of the `## heading` section of MIGRATING.md, in order. */
export function migratingBlocks(heading: string): string[] {
  const text = readFileSync(path.join(ROOT, 'MIGRATING.md'), 'utf8');
  const start = text.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`MIGRATING.md has no section "## ${heading}"`);
  const end = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1] ?? '');
}

/** The rows of the first Markdown table after `marker` in the `## heading` section, as cell arrays. */
export function migratingTable(heading: string, marker: string): string[][] {
  const text = readFileSync(path.join(ROOT, 'MIGRATING.md'), 'utf8');
  const start = text.indexOf(`\n## ${heading}\n`);
  const at = text.indexOf(marker, start);
  if (start < 0 || at < 0) throw new Error(`MIGRATING.md: no "${marker}" in "## ${heading}"`);
  const lines = text.slice(at).split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

export interface GuideUrls {
  issuer: string;
  audience: string;
}

/** Runs a block of the guide, with the example URLs replaced; returns the top-level `names`. */
export async function runBlock(
  code: string,
  modules: Record<string, unknown>,
  urls: GuideUrls,
  names: readonly string[],
): Promise<Record<string, unknown>> {
  const source = code.replaceAll(GUIDE_ISSUER, urls.issuer).replaceAll(GUIDE_AUDIENCE, urls.audience);
  const { outputText, diagnostics } = ts.transpileModule(`${source}\nexport {};\n`, {
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
      verbatimModuleSyntax: false,
    },
    reportDiagnostics: true,
  });
  if (diagnostics !== undefined && diagnostics.length > 0) {
    throw new Error(ts.flattenDiagnosticMessageText(diagnostics[0]?.messageText, '\n'));
  }
  const load = (name: string): unknown => {
    if (!(name in modules)) throw new Error(`the block imports ${name}, which the test did not pass`);
    const module = modules[name] as Record<string, unknown>;
    return { __esModule: true, ...module };
  };
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
    ...args: string[]
  ) => (...values: unknown[]) => Promise<Record<string, unknown>>;
  const body = `${outputText}\nreturn { ${names.join(', ')} };`;
  return new AsyncFunction('require', 'exports', 'module', body)(load, {}, { exports: {} });
}

/** Resolves with the base URL of a server once it listens on 127.0.0.1. */
export function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
  });
}

/** Closes a server and its keep-alive connections. */
export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

export interface Answer {
  status: number;
  wwwAuthenticate: string | null;
  retryAfter: string | null;
  contentType: string;
  text: string;
  json: Record<string, unknown> | undefined;
}

/** `GET url` with `Authorization: Bearer <token>` (none without a token). */
export async function call(
  url: string,
  token?: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(url, {
    headers: token === undefined ? headers : { authorization: `Bearer ${token}`, ...headers },
  });
  const text = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return {
    status: res.status,
    wwwAuthenticate: res.headers.get('www-authenticate'),
    retryAfter: res.headers.get('retry-after'),
    contentType: res.headers.get('content-type') ?? '',
    text,
    json,
  };
}

/**
 * A second issuer on 127.0.0.1: OIDC discovery and a key set (RS256), served by a plain HTTP server
 * whose key set can be taken down, and tokens signed with its key by the test (test/support/keys.ts).
 */
export interface MiniIssuer {
  /** `http://127.0.0.1:<port>`, as in `iss`. */
  issuer: string;
  jwksUri: string;
  /** While `true`, the key set answers 503 (discovery still answers). */
  down: boolean;
  /** Requests received so far (discovery and key set). */
  readonly requests: number;
  /** A token with the usual access-token claims (`overrides` applied, `undefined` removes one). */
  token(
    audience: string,
    overrides?: Record<string, unknown>,
    header?: Record<string, unknown>,
  ): Promise<string>;
  close(): Promise<void>;
}

export async function startMiniIssuer(): Promise<MiniIssuer> {
  const key: SigningKey = generateSigningKey('RS256');
  const state = { down: false, requests: 0 };
  const server = createServer((req, res) => {
    state.requests++;
    if (state.down && req.url === '/jwks') {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"down"}');
      return;
    }
    const body =
      req.url === '/.well-known/openid-configuration'
        ? { issuer, jwks_uri: `${issuer}/jwks` }
        : req.url === '/jwks'
          ? { keys: [key.publicJwk] }
          : undefined;
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  const issuer = await listen(server);
  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    get down() {
      return state.down;
    },
    set down(value: boolean) {
      state.down = value;
    },
    get requests() {
      return state.requests;
    },
    token: (audience, overrides = {}, header = {}) =>
      signToken(
        key,
        {
          ...accessTokenClaims({ iss: issuer, aud: audience, nowSec: Math.floor(Date.now() / 1000) }),
          scope: 'orders:read',
          ...overrides,
        },
        header,
      ),
    close: () => closeServer(server),
  };
}

/** The audience the guide's blocks are run with, and the one of the short-lived token. */
export const MIGRATING_API = 'https://api.test';
/** The audience of `tokens.short`. */
export const SHORT_LIVED = 'https://short.test';

/** What every migration test file runs its blocks against. */
export interface MigrationIssuers {
  /** The real authorization server (oidc-provider): RFC 9068 `at+jwt` tokens. */
  dev: DevIssuer;
  /** A second issuer for tokens the dev issuer cannot make, and a key set that can go down. */
  mini: MiniIssuer;
  /** Tokens of the dev issuer: both scopes, `read` only, another audience, a 1 s one (and DPoP-bound, if asked). */
  tokens: { full: string; noScope: string; otherAudience: string; short: string; bound: string };
  /** Resolves once `tokens.short` is expired beyond every tolerance (its ttl is 1 s; tokenguard's 5 s). */
  shortExpired: Promise<void>;
}

/**
 * Starts both issuers and gets the tokens; `closers` gets what closes them. With `dpop`, the dev issuer
 * binds tokens on request and `tokens.bound` is one (empty otherwise).
 */
export async function startMigrationIssuers(
  closers: Array<() => Promise<unknown>>,
  { dpop = false }: { dpop?: boolean } = {},
): Promise<MigrationIssuers> {
  const [dev, mini] = await Promise.all([startDevIssuer(dpop ? { dpop: true } : {}), startMiniIssuer()]);
  closers.push(
    () => dev.close(),
    () => mini.close(),
  );
  const [full, noScope, otherAudience, short, bound] = await Promise.all([
    dev.getToken({ resource: MIGRATING_API, scope: 'read orders:read' }),
    dev.getToken({ resource: MIGRATING_API, scope: 'read' }),
    dev.getToken({ resource: 'https://other.test', scope: 'read' }),
    dev.getToken({ resource: SHORT_LIVED, scope: 'read' }),
    dpop ? dev.getToken({ resource: MIGRATING_API, scope: 'orders:read', dpop: true }) : Promise.resolve(''),
  ]);
  const exp = decodeJwt(short).exp ?? 0;
  const shortExpired = new Promise<void>((resolve) =>
    setTimeout(resolve, Math.max(0, (exp + 7) * 1000 - Date.now())),
  );
  return { dev, mini, tokens: { full, noScope, otherAudience, short, bound }, shortExpired };
}
