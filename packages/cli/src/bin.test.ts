import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('./bin.ts', import.meta.url));

/** A JWT that decodes (never verified here): inspect exits 0 on it. */
const TOKEN = [
  { alg: 'RS256', typ: 'at+jwt' },
  { iss: 'https://id.example', exp: 2_000_000_000 },
]
  .map((part) => Buffer.from(JSON.stringify(part)).toString('base64url'))
  .concat('c2lnbmF0dXJl')
  .join('.');

/**
 * Runs the CLI from its sources with the reader of `closed` gone before it writes (as `| head -0` or
 * `| true` do), collecting the other stream.
 */
function runWithClosedReader(
  args: readonly string[],
  closed: 'stdout' | 'stderr',
): Promise<{ code: number | null; other: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', BIN, ...args], {
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child[closed].destroy();
    let other = '';
    child[closed === 'stdout' ? 'stderr' : 'stdout'].setEncoding('utf8').on('data', (chunk: string) => {
      other += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, other }));
  });
}

describe('the tokenguard binary, its reader gone (| head)', () => {
  it.each([
    ['--help', ['--help'], 0],
    ['inspect', ['inspect', TOKEN], 0],
    ['inspect --json', ['inspect', TOKEN, '--json'], 0],
  ] as const)(
    '%s with stdout closed: no stack trace, the exit code of the command (%i)',
    { timeout: 30_000 },
    async (_, args, code) => {
      const run = await runWithClosedReader(args, 'stdout');
      expect(run.other).toBe('');
      expect(run.code).toBe(code);
    },
  );

  it('a usage error with stderr closed still exits 2, no stack trace', { timeout: 30_000 }, async () => {
    const run = await runWithClosedReader(['inspect', '--bogus'], 'stderr');
    expect(run.other).toBe('');
    expect(run.code).toBe(2);
  });
});
