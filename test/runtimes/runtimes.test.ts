/**
 * The Hono adapter and core on other runtimes (packages/hono/README.md, "Fetch-only runtimes"):
 * worker.ts, bundled with esbuild from the workspace sources, runs on Cloudflare's workerd (with
 * nodejs_compat), Bun and Deno, each installed from npm as a devDependency of this package. Every
 * runtime must answer as Node does (the same module called in this process), except on workerd,
 * where a PS256 token gets 401 ERR_ALGORITHM_NOT_ALLOWED and `algorithms: ['PS256']` is a TypeError:
 * the tokens on `/api/me`, the RFC 9470 step-up on `/api/mfa` (`requireAuthentication`), and the
 * RFC 9728 metadata document (`protectedResourceMetadata`) that every challenge points to.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChallenge } from '../conformance/challenge.js';
import { type JwksServer, type PublicJwk, startJwksServer } from '../support/jwks-server.js';
import { type AsymmetricAlg, accessTokenClaims, generateSigningKey, signToken } from '../support/keys.js';
import { freePort, healthy, type Launched, launch } from './launch.js';
import { handleRequest, type RuntimeAppEnv } from './worker.js';

const here = dirname(fileURLToPath(import.meta.url));
const requireHere = createRequire(import.meta.url);
const packageDir = (name: string): string => dirname(requireHere.resolve(`${name}/package.json`));

const ISSUER = 'https://issuer.runtimes.test';
const AUDIENCE = 'https://api.runtimes.test';
const VALID: readonly AsymmetricAlg[] = ['RS256', 'ES256', 'ES384', 'EdDSA', 'PS256'];
const MODES = ['inline', 'offthread'] as const;
const STARTUP_MS = 30_000;
// worker.ts's resource and step-up requirement.
const RESOURCE = 'https://app.test/mcp';
const METADATA_PATH = '/.well-known/oauth-protected-resource/mcp';
const METADATA_URL = `https://app.test${METADATA_PATH}`;
const MFA = 'urn:example:mfa';
const MAX_AGE_SEC = 3600;
/** The metadata requests: method and query. */
const METADATA_REQUESTS = [
  ['GET', ''],
  ['GET', '?client=1'],
  ['HEAD', ''],
  ['OPTIONS', ''],
  ['POST', ''],
] as const;
/**
 * The response headers a metadata answer is compared on; `content-length` on 200 only (an HTTP
 * server adds `0` to an empty 405 of its own accord, the in-process reference does not).
 */
const METADATA_HEADERS = [
  'content-type',
  'content-length',
  'cache-control',
  'access-control-allow-origin',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-max-age',
  'allow',
] as const;

/** What a case's answer is compared on. */
interface Outcome {
  status: number;
  /** `sub` on 200, the tokenguard error code otherwise. */
  result: string;
  /** On 401: whether `WWW-Authenticate` is a Bearer challenge. */
  bearerChallenge?: boolean;
  /** On 401: the challenge's parameters but `error_description`. */
  challenge?: Record<string, string>;
}

/** What a metadata answer is compared on. */
interface MetadataOutcome {
  status: number;
  headers: Record<string, string>;
  body: string;
}

type Case = [name: string, token: string | undefined];

let jwks: JwksServer;
let env: RuntimeAppEnv;
let outDir: string;
const cases: Case[] = [];
const stepUpCases: Case[] = [];
/** Node's outcomes, by `<mode><path>`. */
const reference = new Map<string, Record<string, Outcome>>();
const metadataReference = new Map<string, Record<string, MetadataOutcome>>();

async function outcomeOf(res: Response): Promise<Outcome> {
  const body = (await res.json()) as { sub?: string; code?: string; unexpected?: string };
  const result = body.sub ?? body.code ?? body.unexpected ?? JSON.stringify(body);
  if (res.status !== 401) return { status: res.status, result };
  const challenge = res.headers.get('www-authenticate') ?? '';
  const { error_description: _, ...params } = parseChallenge(challenge).params;
  return {
    status: res.status,
    result,
    bearerChallenge: /^Bearer(?: |$)/.test(challenge),
    challenge: params,
  };
}

/** Sends every case of `list` through `send` in turn; outcomes by case name. */
async function runCases(
  list: readonly Case[],
  send: (headers: Record<string, string>) => Promise<Response>,
): Promise<Record<string, Outcome>> {
  const outcomes: Record<string, Outcome> = {};
  for (const [name, token] of list) {
    outcomes[name] = await outcomeOf(
      await send(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    );
  }
  return outcomes;
}

function overHttp(port: number, path: string) {
  return (headers: Record<string, string>) =>
    fetch(`http://127.0.0.1:${port}${path}`, { headers, signal: AbortSignal.timeout(15_000) });
}

/** Sends every metadata request (under `/<mode>`) through `send`; outcomes by `<method><query>`. */
async function runMetadata(
  mode: string,
  send: (path: string, method: string) => Promise<Response>,
): Promise<Record<string, MetadataOutcome>> {
  const outcomes: Record<string, MetadataOutcome> = {};
  for (const [method, query] of METADATA_REQUESTS) {
    const res = await send(`/${mode}${METADATA_PATH}${query}`, method);
    const headers: Record<string, string> = {};
    for (const name of METADATA_HEADERS) {
      const value = res.headers.get(name);
      if (value !== null && (name !== 'content-length' || res.status === 200)) headers[name] = value;
    }
    outcomes[`${method}${query}`] = { status: res.status, headers, body: await res.text() };
  }
  return outcomes;
}

beforeAll(async () => {
  const keys = VALID.map((alg) => generateSigningKey(alg));
  jwks = await startJwksServer(keys.map((key) => key.publicJwk as PublicJwk));
  env = { ISSUER, AUDIENCE, JWKS_URI: jwks.url };
  const nowSec = Math.floor(Date.now() / 1000);
  const claims = accessTokenClaims({ iss: ISSUER, aud: AUDIENCE, nowSec });
  for (const key of keys) cases.push([key.alg, await signToken(key, claims)]);
  const rs256 = cases[0]![1]!.split('.');
  const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url');
  cases.push(['tampered', `${rs256[0]}.${forged}.${rs256[2]}`]);
  cases.push(['none', undefined]);
  cases.push(['wrongAudience', await signToken(keys[0]!, { ...claims, aud: 'https://other.test' })]);
  const stepUp = (overrides: Record<string, unknown>) =>
    accessTokenClaims({ iss: ISSUER, aud: AUDIENCE, nowSec }, { auth_time: nowSec - 60, ...overrides });
  stepUpCases.push(
    ['mfa', await signToken(keys[0]!, stepUp({ acr: MFA }))],
    ['mfaES256', await signToken(keys[1]!, stepUp({ acr: MFA }))],
    ['weakAcr', await signToken(keys[0]!, stepUp({ acr: 'urn:example:pwd' }))],
    ['noAcr', await signToken(keys[0]!, stepUp({}))],
    ['stale', await signToken(keys[0]!, stepUp({ acr: MFA, auth_time: nowSec - 2 * MAX_AGE_SEC }))],
    ['none', undefined],
  );

  for (const mode of MODES) {
    const inNode = (path: string) => (headers: Record<string, string>) =>
      handleRequest(new Request(`http://node.test/${mode}${path}`, { headers }), env);
    reference.set(`${mode}/api/me`, await runCases(cases, inNode('/api/me')));
    reference.set(`${mode}/api/mfa`, await runCases(stepUpCases, inNode('/api/mfa')));
    metadataReference.set(
      mode,
      await runMetadata(mode, (path, method) =>
        handleRequest(new Request(`http://node.test${path}`, { method }), env),
      ),
    );
  }

  outDir = await mkdtemp(join(tmpdir(), 'tokenguard-runtimes-'));
  const common: BuildOptions = {
    bundle: true,
    format: 'esm',
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    external: ['node:*', 'undici'],
    logLevel: 'silent',
  };
  // workerd: its own conditions first, as wrangler resolves; Bun and Deno: the packages' defaults.
  await build({
    ...common,
    entryPoints: { worker: join(here, 'worker.ts') },
    platform: 'browser',
    conditions: ['source', 'workerd', 'worker', 'browser'],
  });
  await build({
    ...common,
    entryPoints: { serve: join(here, 'serve.ts') },
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['source'],
  });
}, 60_000);

afterAll(async () => {
  await jwks?.close();
  if (outDir !== undefined) await rm(outDir, { recursive: true, force: true });
});

/** A 401 outcome whose challenge carries `error` (if any) and `resource_metadata`. */
function refused(result: string, params: Record<string, string> = {}): Outcome {
  const challenge = { ...params, resource_metadata: METADATA_URL };
  return { status: 401, result, bearerChallenge: true, challenge };
}

describe('Node, the reference', () => {
  it('verifies every algorithm and refuses the rest, inline and off the thread', () => {
    for (const mode of MODES) {
      expect(reference.get(`${mode}/api/me`)).toEqual({
        RS256: { status: 200, result: 'user-1' },
        ES256: { status: 200, result: 'user-1' },
        ES384: { status: 200, result: 'user-1' },
        EdDSA: { status: 200, result: 'user-1' },
        PS256: { status: 200, result: 'user-1' },
        tampered: refused('ERR_SIGNATURE_INVALID', { error: 'invalid_token' }),
        none: refused('ERR_TOKEN_MISSING'),
        wrongAudience: refused('ERR_AUDIENCE_MISMATCH', { error: 'invalid_token' }),
      });
    }
  });

  it('asks for a step-up (RFC 9470) unless acr and auth_time meet requireAuthentication', () => {
    const insufficient = refused('ERR_INSUFFICIENT_USER_AUTHENTICATION', {
      error: 'insufficient_user_authentication',
      acr_values: MFA,
      max_age: String(MAX_AGE_SEC),
    });
    for (const mode of MODES) {
      expect(reference.get(`${mode}/api/mfa`)).toEqual({
        mfa: { status: 200, result: 'user-1' },
        mfaES256: { status: 200, result: 'user-1' },
        weakAcr: insufficient,
        noAcr: insufficient,
        stale: insufficient,
        none: refused('ERR_TOKEN_MISSING'),
      });
    }
  });

  it('serves the RFC 9728 metadata document at the well-known URL of the resource', () => {
    const json = JSON.stringify({
      resource: RESOURCE,
      authorization_servers: [ISSUER],
      bearer_methods_supported: ['header'],
    });
    const served = {
      status: 200,
      headers: {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(json)),
        'cache-control': 'public, max-age=3600',
        'access-control-allow-origin': '*',
      },
      body: json,
    };
    for (const mode of MODES) {
      expect(metadataReference.get(mode)).toEqual({
        GET: served,
        'GET?client=1': served,
        HEAD: { ...served, body: '' },
        OPTIONS: {
          status: 204,
          headers: {
            allow: 'GET, HEAD, OPTIONS',
            'access-control-allow-origin': '*',
            'access-control-allow-methods': 'GET, HEAD, OPTIONS',
            'access-control-allow-headers': '*',
            'access-control-max-age': '86400',
          },
          body: '',
        },
        POST: { status: 405, headers: { allow: 'GET, HEAD, OPTIONS' }, body: '' },
      });
    }
  });

  it('constructs a PS256-only validator', async () => {
    const res = await handleRequest(new Request('http://node.test/construct/ps256'), env);
    expect(await res.json()).toEqual({ constructed: true });
  });
});

interface Runtime {
  name: 'workerd' | 'bun' | 'deno';
  /** Starts it serving the bundle in `outDir`; resolves with its port. */
  start(): Promise<{ server: Launched; port: number }>;
}

const runtimeEnv = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  NO_COLOR: '1',
  DENO_NO_UPDATE_CHECK: '1',
  ...env,
});

const portPrinted = (output: string): number | undefined => {
  const match = /listening (\d+)/.exec(output);
  return match === null ? undefined : Number(match[1]);
};

const runtimes: Runtime[] = [
  {
    name: 'workerd',
    async start() {
      // workerd takes its socket address from the config and does not report a port it picked:
      // a port found free by a Node server on port 0 (closed again) is written into the config.
      const port = await freePort();
      const text = (value: string) => JSON.stringify(value);
      await writeFile(
        join(outDir, 'workerd.capnp'),
        `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .app),
    (name = "net", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const app :Workerd.Worker = (
  modules = [(name = "worker.mjs", esModule = embed "worker.mjs")],
  compatibilityDate = "2026-11-01",
  compatibilityFlags = ["nodejs_compat"],
  bindings = [
    (name = "ISSUER", text = ${text(ISSUER)}),
    (name = "AUDIENCE", text = ${text(AUDIENCE)}),
    (name = "JWKS_URI", text = ${text(jwks.url)}),
  ],
  globalOutbound = "net",
);
`,
      );
      const binary = join(packageDir('workerd'), 'bin', 'workerd');
      const server = launch('workerd', binary, ['serve', 'workerd.capnp'], {
        cwd: outDir,
        env: runtimeEnv(),
      });
      await server.waitFor('/health', STARTUP_MS, () => healthy(port));
      return { server, port };
    },
  },
  {
    name: 'bun',
    async start() {
      const binary = join(packageDir('bun'), 'bin', 'bun.exe');
      const server = launch('bun', binary, ['run', 'serve.mjs'], { cwd: outDir, env: runtimeEnv() });
      const port = await server.waitFor('its port', STARTUP_MS, () => portPrinted(server.output()));
      return { server, port };
    },
  },
  {
    name: 'deno',
    async start() {
      const binary = join(packageDir('deno'), 'deno');
      const args = [
        'run',
        '--no-config',
        '--no-lock',
        '--no-prompt',
        '--allow-env',
        '--allow-net',
        'serve.mjs',
      ];
      const server = launch('deno', binary, args, { cwd: outDir, env: runtimeEnv() });
      const port = await server.waitFor('its port', STARTUP_MS, () => portPrinted(server.output()));
      return { server, port };
    },
  },
];

describe.each(runtimes)('$name', (runtime) => {
  let started: { server: Launched; port: number } | undefined;

  beforeAll(async () => {
    started = await runtime.start();
  }, STARTUP_MS + 10_000);

  afterAll(async () => {
    await started?.server.stop();
  });

  it.each(MODES)('answers as Node does (%s)', async (mode) => {
    const expected = { ...reference.get(`${mode}/api/me`) };
    if (runtime.name === 'workerd') {
      expected.PS256 = refused('ERR_ALGORITHM_NOT_ALLOWED', { error: 'invalid_token' });
    }
    const outcomes = await runCases(cases, overHttp(started!.port, `/${mode}/api/me`));
    expect(outcomes, started!.server.output()).toEqual(expected);
  });

  it.each(MODES)('asks for a step-up as Node does (%s)', async (mode) => {
    const outcomes = await runCases(stepUpCases, overHttp(started!.port, `/${mode}/api/mfa`));
    expect(outcomes, started!.server.output()).toEqual(reference.get(`${mode}/api/mfa`));
  });

  it.each(MODES)('serves the protected resource metadata as Node does (%s)', async (mode) => {
    const outcomes = await runMetadata(mode, (path, method) =>
      fetch(`http://127.0.0.1:${started!.port}${path}`, { method, signal: AbortSignal.timeout(15_000) }),
    );
    expect(outcomes, started!.server.output()).toEqual(metadataReference.get(mode));
  });

  it(
    runtime.name === 'workerd'
      ? "refuses algorithms: ['PS256'] with a TypeError naming algorithms"
      : "constructs a validator with algorithms: ['PS256']",
    async () => {
      const res = await fetch(`http://127.0.0.1:${started!.port}/construct/ps256`, {
        signal: AbortSignal.timeout(15_000),
      });
      const body = (await res.json()) as Record<string, unknown>;
      if (runtime.name !== 'workerd') {
        expect(body).toEqual({ constructed: true });
        return;
      }
      expect(body).toMatchObject({ constructed: false, name: 'TypeError' });
      expect(body.message).toMatch(/algorithms/);
    },
  );
});
