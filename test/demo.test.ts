import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES } from '@tokenguard/core';
import { describe, expect, it } from 'vitest';
import { runSource, type SourceRun } from './support/run-source.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Runs `pnpm demo`'s command (tsx on the demo's sources) in a child process, without colour. */
function runDemo(args: readonly string[] = []): Promise<SourceRun> {
  return runSource('packages/demo/src/main.ts', args, { cwd: ROOT });
}

/** Each step of the walk-through and the statuses it must show, in order. */
const STEPS: readonly [string, readonly number[]][] = [
  ['1. A valid token', [200]],
  ['2. No token', [401]],
  ['3. A tampered token', [401]],
  ['4. A token for another audience', [401]],
  ['5. A missing scope', [403]],
  ['6. An opaque token, introspected', [200, 401]],
  ['7. A key rotation', [200]],
  ["8. The issuer's key set goes down", [200, 503, 200]],
  ['9. An expired token', [401]],
];

describe('pnpm demo', () => {
  it.each(['express', 'fastify', 'hono'])(
    'walks through every outcome with a real issuer and %s, and exits 0',
    { timeout: 60_000 },
    async (framework) => {
      const run = await runDemo(['--framework', framework]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const sections = run.stdout.split(/\n── /).slice(1);
      expect(sections.map((section) => section.slice(0, section.indexOf(' ─')))).toEqual(
        STEPS.map(([title]) => title),
      );
      for (const [index, [, statuses]] of STEPS.entries()) {
        const shown = [...(sections[index] ?? '').matchAll(/→ HTTP (\d{3}) .* ✔ \1$/gm)].map((match) =>
          Number(match[1]),
        );
        expect(shown).toEqual(statuses);
      }
      expect(run.stdout).toContain('scope="admin"');
      expect(run.stdout).toMatch(/Retry-After: \d+/);
      expect(run.stdout).toContain('source: "introspection"');
      expect(run.stdout).toContain('All 9 steps answered as expected');
      expect(run.stdout).toContain(`@tokenguard/${framework}`);
      expect(run.stdout).not.toContain('\u001b[');
    },
  );

  it('refuses an unknown framework with exit code 2', async () => {
    const run = await runDemo(['--framework', 'koa']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--framework must be one of express, fastify, hono');
  });
});

const readDoc = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

describe('README.md', () => {
  const readme = readDoc('README.md');

  it('opens with the two commands: install and demo, then test', () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(firstBlock?.trim().split('\n')).toEqual([
      'npm install -g pnpm@10.34.9 && pnpm install --frozen-lockfile && pnpm demo',
      'pnpm test',
    ]);
  });

  it.each(['README.md', 'packages/core/README.md'])(
    '%s lists every error code with the OAuth error and status of ERROR_CODES, and nothing else',
    (path) => {
      const table =
        /<!-- error-codes:start -->([\s\S]*?)<!-- error-codes:end -->/.exec(readDoc(path))?.[1] ?? '';
      const rows = [...table.matchAll(/^\| `(ERR_[A-Z_]+)` +\| (?:`([a-z_]+)`|—) +\| (\d{3}) +\|/gm)].map(
        (match) => ({
          code: match[1],
          oauthError: match[2],
          status: Number(match[3]),
        }),
      );
      expect(rows).toEqual(
        Object.entries(ERROR_CODES).map(([code, spec]) => ({
          code,
          oauthError: spec.oauthError,
          status: spec.status,
        })),
      );
    },
  );
});
