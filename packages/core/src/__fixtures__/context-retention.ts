import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * Runs one probe of `context-retention-probe.ts` in a child process (`--expose-gc`, bounded to 30 s):
 * it makes what a validator keeps inside an AsyncLocalStorage store holding 1 MiB, leaves the store,
 * collects garbage, and answers what it found, `retained` saying whether the store is still reachable.
 *
 * @example
 * ```ts
 * expect(await probeContextRetention('metadata')).toEqual({ loads: 1, retained: false });
 * ```
 */
export async function probeContextRetention(
  probe: 'verified-cache' | 'metadata',
): Promise<Record<string, unknown>> {
  const script = fileURLToPath(new URL('./context-retention-probe.ts', import.meta.url));
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', '--conditions=source', '--import', 'tsx', script, probe],
    { timeout: 30_000 },
  );
  return JSON.parse(stdout) as Record<string, unknown>;
}
