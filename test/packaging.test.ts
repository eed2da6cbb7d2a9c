// What a user who installs the published packages gets: each publishable package is packed the way
// `pnpm publish` packs it (prepack builds dist/), the tarballs are unpacked into a consumer project
// outside the workspace, and that project imports, require()s, type-checks and runs them without the
// workspace's "source" condition. Dependencies come from the workspace's pnpm store (no network).
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PACKAGES = ['core', 'express', 'fastify', 'hono', 'cli'] as const;
type PackageDir = (typeof PACKAGES)[number];

/** Runtime and type dependencies of the consumer: [name, workspace package whose node_modules has it]. */
const LINKED_DEPENDENCIES: ReadonlyArray<readonly [string, string]> = [
  ['jose', 'packages/core'],
  ['lru-cache', 'packages/core'],
  ['undici', 'packages/core'],
  ['zod', 'packages/core'],
  ['fastify-plugin', 'packages/fastify'],
  ['fastify', 'packages/fastify'],
  ['express', 'packages/express'],
  ['@types/express', 'packages/express'],
  ['hono', 'packages/hono'],
  ['@types/node', '.'],
];

/** A child environment without the workspace's conditions or loaders (vitest's, tsx's). */
const CONSUMER_ENV: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => name !== 'NODE_OPTIONS' && !name.startsWith('VITEST')),
);

interface PackedFile {
  readonly path: string;
}
interface PackResult {
  readonly name: string;
  readonly version: string;
  readonly filename: string;
  readonly files: readonly PackedFile[];
}
interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly types?: string;
  readonly bin?: Record<string, string>;
  readonly exports?: unknown;
  readonly scripts?: Record<string, string>;
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
}
interface Packed {
  readonly files: readonly string[];
  readonly manifest: Manifest;
  readonly dir: string;
}

let workDir: string;
let consumer: string;
let packStartedAt: number;
/** The two type checks, started as soon as the consumer exists: each takes a while with skipLibCheck off. */
let typeChecks: { nodeNext: Promise<string>; bundler: Promise<string> } | undefined;
const packed = new Map<PackageDir, Packed>();

const shortName = (name: string): PackageDir => name.replace('@tokenguard/', '') as PackageDir;
const packedOf = (dir: PackageDir): Packed => {
  const entry = packed.get(dir);
  if (entry === undefined) throw new Error(`@tokenguard/${dir} was not packed`);
  return entry;
};

/** Every file path an `exports` value names (all conditions, every subpath). */
function exportTargets(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value === null || typeof value !== 'object') return [];
  return Object.values(value).flatMap(exportTargets);
}

async function node(args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, args, { cwd: consumer, env: CONSUMER_ENV, timeout: 30_000 });
}

async function tsc(project: string): Promise<string> {
  const bin = join(ROOT, 'node_modules/typescript/bin/tsc');
  try {
    await run(process.execPath, [bin, '-p', project], { cwd: consumer, env: CONSUMER_ENV, timeout: 60_000 });
    return '';
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    return `${failed.stdout ?? ''}${failed.stderr ?? ''}` || failed.message;
  }
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'tokenguard-packaging-'));
  consumer = join(workDir, 'consumer');
  const packs = join(workDir, 'packs');
  // Whole seconds: some file systems store coarser modification times.
  packStartedAt = Math.floor(Date.now() / 1000) * 1000;
  const filters = PACKAGES.flatMap((dir) => ['--filter', `@tokenguard/${dir}`]);
  const { stdout } = await run('pnpm', [...filters, 'pack', '--pack-destination', packs, '--json'], {
    cwd: ROOT,
    env: CONSUMER_ENV,
    timeout: 90_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  // pnpm prints the lifecycle scripts' output before the JSON array.
  const results = JSON.parse(stdout.slice(stdout.indexOf('\n[') + 1)) as PackResult[];
  for (const result of results) {
    const dir = join(consumer, 'node_modules', result.name);
    await mkdir(dir, { recursive: true });
    await run('tar', ['-xzf', result.filename, '-C', dir, '--strip-components=1']);
    const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Manifest;
    packed.set(shortName(result.name), { files: result.files.map((file) => file.path), manifest, dir });
  }
  for (const [name, from] of LINKED_DEPENDENCIES) {
    const link = join(consumer, 'node_modules', name);
    await mkdir(dirname(link), { recursive: true });
    await symlink(await realpath(join(ROOT, from, 'node_modules', name)), link, 'dir');
  }
  await writeFile(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', type: 'module', private: true }),
  );
  await writeConsumerSources();
  typeChecks = { nodeNext: tsc('tsconfig.nodenext.json'), bundler: tsc('tsconfig.bundler.json') };
}, 180_000);

afterAll(async () => {
  await Promise.all([typeChecks?.nodeNext, typeChecks?.bundler]);
  if (workDir !== undefined && process.env.KEEP !== '1') await rm(workDir, { recursive: true, force: true });
});

describe('the tarballs', () => {
  it('are the five publishable packages', () => {
    expect([...packed.keys()].sort()).toEqual([...PACKAGES].sort());
  });

  it.each(PACKAGES)(
    '@tokenguard/%s holds dist, sources, README, LICENSE and package.json, no tests or fixtures',
    (dir) => {
      const { files } = packedOf(dir);
      const allowed =
        /^(dist\/.+\.(js|d\.ts)(\.map)?|src\/.+\.ts|bin\/[\w-]+\.js|README\.md|LICENSE|package\.json)$/;
      expect(files.filter((file) => !allowed.test(file))).toEqual([]);
      expect(files.filter((file) => /\.test(-d)?\.ts$|__fixtures__|\.test\.js$/.test(file))).toEqual([]);
      expect(files).toContain('dist/index.js');
      expect(files).toContain('dist/index.d.ts');
      expect(files).toContain('LICENSE');
      // A module removed from src/ must not linger in dist/ (a build over an old dist/ would publish it).
      const sources = new Set(files.filter((file) => file.startsWith('src/')));
      const orphans = files
        .filter((file) => file.startsWith('dist/') && file.endsWith('.js'))
        .filter((file) => !sources.has(`src/${file.slice('dist/'.length, -'.js'.length)}.ts`));
      expect(orphans).toEqual([]);
    },
  );

  it.each(PACKAGES)(
    '@tokenguard/%s builds dist/ when packed (prepack), so a publish never ships a stale one',
    async (dir) => {
      const built = await stat(join(ROOT, 'packages', dir, 'dist/index.js'));
      expect(built.mtimeMs).toBeGreaterThanOrEqual(packStartedAt);
    },
  );

  it.each(PACKAGES)('@tokenguard/%s names only files it contains (exports, types, bin)', async (dir) => {
    const { manifest, dir: root } = packedOf(dir);
    const named = [
      ...exportTargets(manifest.exports),
      ...(manifest.types === undefined ? [] : [manifest.types]),
      ...Object.values(manifest.bin ?? {}),
    ];
    expect(named.length).toBeGreaterThan(2);
    const missing: string[] = [];
    for (const path of named) {
      const found = await stat(join(root, path)).then(
        (info) => info.isFile(),
        () => false,
      );
      if (!found) missing.push(path);
    }
    expect(missing).toEqual([]);
  });

  // The workspace's "source" condition (src/*.ts) must not reach users: a project of theirs resolving a
  // "source" condition of its own would type-check our sources under its settings (skipLibCheck does not
  // cover .ts files) and bundle TypeScript.
  it.each(PACKAGES)('@tokenguard/%s publishes exports with the types and default conditions only', (dir) => {
    const conditions = new Set<string>();
    const collect = (value: unknown): void => {
      if (value === null || typeof value !== 'object') return;
      for (const [key, inner] of Object.entries(value)) {
        if (!key.startsWith('.')) conditions.add(key);
        collect(inner);
      }
    };
    collect(packedOf(dir).manifest.exports);
    expect([...conditions].sort()).toEqual(['default', 'types']);
  });

  it.each(PACKAGES)('@tokenguard/%s depends on published versions, never workspace:', (dir) => {
    const { manifest } = packedOf(dir);
    const ranges = { ...manifest.dependencies, ...manifest.peerDependencies };
    expect(Object.entries(ranges).filter(([, range]) => range.startsWith('workspace:'))).toEqual([]);
    if (dir !== 'core')
      expect(manifest.dependencies?.['@tokenguard/core']).toBe(packedOf('core').manifest.version);
  });
});

describe('a consumer project', () => {
  it('imports every package as ESM and validates a signed token', async () => {
    const { stdout } = await node(['esm.mjs']);
    const result = JSON.parse(stdout) as {
      subject: string;
      scopes: string[];
      code: string;
      exports: unknown;
    };
    expect(result.subject).toBe('user-1');
    expect(result.scopes).toEqual(['orders:read']);
    expect(result.code).toBe('ERR_INSUFFICIENT_SCOPE');
    // express.tokenguard, fastify's default plugin, hono.tokenguard, cli.runCli
    expect(result.exports).toEqual(['function', 'function', 'function', 'function']);
  });

  it('require()s every package from CommonJS and sees the same exports as import', async () => {
    const [esm, cjs] = await Promise.all([node(['exports.mjs']), node(['exports.cjs'])]);
    const imported = JSON.parse(esm.stdout) as Record<string, string[]>;
    const required = JSON.parse(cjs.stdout) as Record<string, string[]>;
    expect(Object.keys(imported).sort()).toEqual([...PACKAGES].sort());
    expect(imported.core).toContain('createValidator');
    expect(imported.fastify).toContain('default');
    expect(required).toEqual(imported);
  });

  it('type-checks the documented surface with module NodeNext (strictest options, skipLibCheck off)', {
    timeout: 120_000,
  }, async () => {
    expect(await typeChecks?.nodeNext).toBe('');
  });

  it('type-checks the documented surface with moduleResolution Bundler', { timeout: 120_000 }, async () => {
    expect(await typeChecks?.bundler).toBe('');
  });

  it("runs the CLI's bin from the tarball: --help, and inspect on a token", async () => {
    const bin = join(packedOf('cli').dir, packedOf('cli').manifest.bin?.tokenguard ?? 'missing');
    expect((await readFile(bin, 'utf8')).startsWith('#!/usr/bin/env node\n')).toBe(true);
    const help = await node([bin, '--help']);
    expect(help.stdout).toMatch(/^Usage:/);
    expect(help.stdout).toContain('tokenguard verify');
    const token = (await node(['sign.mjs'])).stdout.trim();
    const inspected = JSON.parse((await node([bin, 'inspect', '--json', token])).stdout) as {
      claims: { sub: string };
    };
    expect(inspected.claims.sub).toBe('user-1');
  });
});

const ISSUER = 'https://id.example.com/';
const AUDIENCE = 'https://api.example.com';

/** Writes the consumer's scripts, TypeScript sources and two tsconfigs. */
async function writeConsumerSources(): Promise<void> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const files: Record<string, string> = {
    'keys.mjs': `
import { exportJWK, importPKCS8, importSPKI } from 'jose';
export const privateKey = await importPKCS8(${JSON.stringify(privateKey.export({ type: 'pkcs8', format: 'pem' }))}, 'ES256');
export const jwk = { ...(await exportJWK(await importSPKI(${JSON.stringify(publicKey.export({ type: 'spki', format: 'pem' }))}, 'ES256'))), kid: 'k1', alg: 'ES256', use: 'sig' };
`,
    'sign.mjs': `
import { SignJWT } from 'jose';
import { privateKey } from './keys.mjs';
const token = await new SignJWT({ scope: 'orders:read', client_id: 'app' })
  .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
  .setIssuer(${JSON.stringify(ISSUER)}).setAudience(${JSON.stringify(AUDIENCE)}).setSubject('user-1')
  .setIssuedAt().setExpirationTime('5m').sign(privateKey);
process.stdout.write(token);
`,
    'esm.mjs': `
import { execFileSync } from 'node:child_process';
import { createValidator, isTokenGuardError } from '@tokenguard/core';
import * as express from '@tokenguard/express';
import * as fastify from '@tokenguard/fastify';
import * as hono from '@tokenguard/hono';
import * as cli from '@tokenguard/cli';
import { jwk } from './keys.mjs';
const token = execFileSync(process.execPath, ['sign.mjs'], { encoding: 'utf8' });
const validator = createValidator({ issuer: ${JSON.stringify(ISSUER)}, audience: ${JSON.stringify(AUDIENCE)}, jwks: { keys: [jwk] } });
const auth = await validator.validate('Bearer ' + token, { scopes: ['orders:read'] });
const code = await validator.validate(token, { scopes: ['orders:write'] }).then(() => 'accepted', (error) => isTokenGuardError(error) ? error.code : String(error));
await validator.close();
const exports = [express.tokenguard, fastify.default, hono.tokenguard, cli.runCli].map((value) => typeof value);
process.stdout.write(JSON.stringify({ subject: auth.subject, scopes: [...auth.scopes], code, exports }));
`,
    'exports.mjs': `
const names = {};
for (const dir of ${JSON.stringify(PACKAGES)}) names[dir] = Object.keys(await import('@tokenguard/' + dir)).sort();
process.stdout.write(JSON.stringify(names));
`,
    'exports.cjs': `
const names = {};
for (const dir of ${JSON.stringify(PACKAGES)}) names[dir] = Object.keys(require('@tokenguard/' + dir)).filter((name) => name !== '__esModule').sort();
process.stdout.write(JSON.stringify(names));
`,
    'src/core.ts': `
import {
  type AuthInfo,
  createValidator,
  ERROR_CODES,
  type ErrorCode,
  isTokenGuardError,
  type Requirements,
  type Validator,
  type ValidatorState,
} from '@tokenguard/core';

const validator: Validator = createValidator({ issuer: '${ISSUER}', audience: '${AUDIENCE}' });
const requirements: Requirements = { scopes: { anyOf: ['orders:read', 'admin'] } };

export async function subjectOf(header: string): Promise<string | undefined> {
  try {
    const auth: AuthInfo = await validator.validate(header, requirements);
    const scopes: ReadonlySet<string> = auth.scopes;
    return scopes.has('admin') ? 'admin' : auth.subject;
  } catch (error) {
    if (!isTokenGuardError(error)) throw error;
    const code: ErrorCode = error.code;
    const status: number = ERROR_CODES[code].status;
    if (code === 'ERR_TOKEN_EXPIRED' || status >= 500) return undefined;
    throw error;
  }
}

export const health = (): ValidatorState => validator.state();
`,
    'src/express.ts': `
import type { AuthInfo } from '@tokenguard/core';
import { requireScopes, tokenguard } from '@tokenguard/express';
import express from 'express';

const app = express();
app.use(tokenguard({ issuer: '${ISSUER}', audience: '${AUDIENCE}' }));
app.get('/me', requireScopes('orders:read'), (req, res) => {
  const auth: AuthInfo | undefined = req.auth;
  res.json({ subject: auth?.subject ?? null });
});
export { app };
`,
    'src/fastify.ts': `
import type { AuthInfo } from '@tokenguard/core';
import tokenguard from '@tokenguard/fastify';
import Fastify from 'fastify';

const app = Fastify();
await app.register(tokenguard, { issuer: '${ISSUER}', audience: '${AUDIENCE}' });
app.get('/me', { config: { auth: { scopes: ['orders:read'] } } }, async (request) => {
  const auth: AuthInfo | null = request.auth;
  return { subject: auth?.subject ?? null };
});
app.get('/admin', { preHandler: app.requireScopes('admin') }, async () => 'ok');
export { app };
`,
    'src/hono.ts': `
import type { AuthInfo } from '@tokenguard/core';
import { requireScopes, tokenguard } from '@tokenguard/hono';
import { Hono } from 'hono';

const app = new Hono();
app.get('/me', tokenguard({ issuer: '${ISSUER}', audience: '${AUDIENCE}' }), (c) => {
  const auth: AuthInfo = c.var.auth;
  return c.json({ subject: auth.subject ?? null });
});
app.get('/orders', requireScopes('orders:read'), (c) => {
  const auth: AuthInfo | undefined = c.get('auth');
  return c.text(auth?.subject ?? '');
});
export { app };
`,
    'src/cli.ts': `
import { EXIT, runCli, USAGE } from '@tokenguard/cli';

export const code: Promise<number> = runCli(['--help'], process);
export const usage: string = USAGE;
export const ok: number = EXIT.ok;
`,
  };
  const strictest = {
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    noImplicitOverride: true,
    noPropertyAccessFromIndexSignature: true,
    skipLibCheck: false,
    noEmit: true,
    target: 'ES2022',
    lib: ['ES2022'],
    types: ['node'],
    verbatimModuleSyntax: true,
    isolatedModules: true,
  };
  files['tsconfig.nodenext.json'] = JSON.stringify({
    compilerOptions: { ...strictest, module: 'NodeNext', moduleResolution: 'NodeNext' },
    include: ['src'],
  });
  files['tsconfig.bundler.json'] = JSON.stringify({
    compilerOptions: { ...strictest, module: 'ESNext', moduleResolution: 'Bundler' },
    include: ['src'],
  });
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(consumer, path)), { recursive: true });
    await writeFile(join(consumer, path), text);
  }
}
