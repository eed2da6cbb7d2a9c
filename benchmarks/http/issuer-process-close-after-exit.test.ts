/**
 * The issuer process's close() once the child has exited on its own (crashed, killed, out of memory):
 * close() waits for an 'exit' event that was emitted already, so it never settles. runHttpScenarios
 * awaits it in its `finally` (scenarios/http.ts) after the error that ended the run: the error is never
 * thrown, and with no handle left Node ends `pnpm bench` with exit code 13 ("unsettled top-level
 * await") and no message at all.
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchIssuer } from './issuer.js';
import { startIssuerProcess } from './issuer-process.js';

/** Starts the issuer process as `pnpm bench` does (under tsx's loader) and finds its pid. */
async function startWithPid(): Promise<{ issuer: BenchIssuer; pid: number }> {
  const execArgv = process.execArgv;
  // fork() reads process.execArgv when called: the child needs tsx's loader, as under `pnpm bench`.
  process.execArgv = [...execArgv, '--conditions=source', '--import', 'tsx'];
  let starting: Promise<BenchIssuer>;
  try {
    starting = startIssuerProcess({ keys: [] });
  } finally {
    process.execArgv = execArgv;
  }
  const issuer = await starting;
  const children = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8')
    .trim()
    .split(' ')
    .map(Number);
  const pid = children.find((child) => {
    try {
      return readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('issuer-process.ts');
    } catch {
      return false;
    }
  });
  if (pid === undefined) throw new Error("the issuer process was not found among this process's children");
  return { issuer, pid };
}

describe('the issuer process, closed after it exited on its own', () => {
  let pid: number | undefined;

  afterAll(() => {
    if (pid !== undefined && existsSync(`/proc/${pid}`)) process.kill(pid, 'SIGKILL');
  });

  it('close() settles', async () => {
    const started = await startWithPid();
    pid = started.pid;
    process.kill(pid, 'SIGKILL');
    // Reaped (and its 'exit' emitted) before close() is called.
    for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((resolve) => setTimeout(resolve, 100));
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      started.issuer.close().then(() => 'closed'),
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve('close() still pending after 3 s'), 3_000);
      }),
    ]).finally(() => clearTimeout(timer));
    expect(outcome).toBe('closed');
  });
});
