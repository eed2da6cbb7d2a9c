/**
 * README.md ("The CLI: why is my token rejected?") and packages/cli/README.md ("Running it from this
 * repository") tell a user of a clone to run `pnpm -s tokenguard ...` at the repository root. The `-s`
 * matters: without it pnpm prints its script banner on stdout before the CLI runs, and the banner
 * repeats the command line, the whole token included (the CLI README: "The token itself is never
 * printed"), and `--json` output is no longer JSON. The docs once showed `pnpm tokenguard ...` (review
 * helper-122, session 23). The documented form is run here, and the bare one, to show why the `-s`.
 *
 * Real dev issuer (oidc-provider) on 127.0.0.1, a real token; pnpm run as documented.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const API = 'https://api.test';

let issuer: DevIssuer;
let token: string;

beforeAll(async () => {
  issuer = await startDevIssuer();
  token = await issuer.getToken({ resource: API, scope: 'read orders:read' });
});

afterAll(async () => {
  await issuer?.close();
});

/** `pnpm <args>` at the repository root, as a user types it; stdin from `input`. */
function pnpm(args: readonly string[], input = ''): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('pnpm', args, {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout }));
    child.stdin.end(input);
  });
}

describe('README: `pnpm -s tokenguard inspect "$TOKEN"` at the root of a clone', () => {
  it('never prints the whole token', async () => {
    const run = await pnpm(['-s', 'tokenguard', 'inspect', token]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('NOT VERIFIED');
    expect(run.stdout).not.toContain(token);
  }, 60_000);

  it("without -s, pnpm's banner repeats the command line, token included (why the docs say -s)", async () => {
    const run = await pnpm(['tokenguard', 'inspect', token]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(token);
  }, 60_000);

  it('`verify --json` prints JSON only (token piped on stdin, as the CLI README advises)', async () => {
    const run = await pnpm(
      ['-s', 'tokenguard', 'verify', '--issuer', issuer.issuer, '--audience', API, '--json'],
      token,
    );
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ valid: true });
  }, 60_000);
});
