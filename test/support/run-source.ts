import { spawn } from 'node:child_process';

/** What a script run by {@link runSource} printed, and how it exited. */
export interface SourceRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a workspace TypeScript entry point as its `pnpm` script does (tsx on the sources, workspace
 * packages resolved to `src/` by the `source` condition) in a child process without colour, and
 * collects what it prints. `input` (text, or raw bytes) goes to its stdin (closed at once when absent).
 *
 * @example
 * ```ts
 * const run = await runSource('packages/cli/src/bin.ts', ['inspect', token], { cwd: ROOT });
 * expect(run.code).toBe(0);
 * ```
 */
export function runSource(
  script: string,
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string>; input?: string | Buffer } = {},
): Promise<SourceRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', script, ...args], {
      cwd: options.cwd,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}
