/**
 * Starting and stopping the runtimes of the cross-runtime test as child processes: every wait is
 * bounded, and a process that exits early fails the wait with its output.
 *
 * @example
 * ```ts
 * const deno = launch('deno', denoPath, ['run', 'serve.mjs'], { cwd, env });
 * const port = await deno.waitFor('its port', 30_000, () => portPrinted(deno.output()));
 * await deno.stop();
 * ```
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** A runtime started by {@link launch}. */
export interface Launched {
  readonly name: string;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /**
   * Polls `probe` every 100 ms until it gives a value, the process exits, or `timeoutMs` passes
   * (both of which throw with the output).
   */
  waitFor<T>(
    what: string,
    timeoutMs: number,
    probe: () => Promise<T | undefined> | T | undefined,
  ): Promise<T>;
  /** SIGKILL, then waits (at most 5 s) for the exit. */
  stop(): Promise<void>;
}

/**
 * Spawns `command` with stdout and stderr captured.
 *
 * @example
 * ```ts
 * const bun = launch('bun', bunPath, ['run', 'serve.mjs'], { cwd, env: { ...process.env, ISSUER } });
 * ```
 */
export function launch(
  name: string,
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Launched {
  const child: ChildProcess = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  let exitCode: number | string | null | undefined;
  child.stdout?.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitCode = code ?? signal;
      resolve();
    });
    child.once('error', (error) => {
      text += `\nspawn error: ${error.message}`;
      exitCode = 'spawn error';
      resolve();
    });
  });

  return {
    name,
    output: () => text,
    async waitFor(what, timeoutMs, probe) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (exitCode !== undefined) {
          throw new Error(`${name} exited (${exitCode}) before ${what}; output:\n${text}`);
        }
        const value = await probe();
        if (value !== undefined) return value;
        if (Date.now() > deadline)
          throw new Error(`${name}: no ${what} within ${timeoutMs} ms; output:\n${text}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async stop() {
      if (exitCode === undefined) child.kill('SIGKILL');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    },
  };
}

/**
 * A port that was free a moment ago: a server on 127.0.0.1 port 0, closed at once. For a runtime
 * that cannot report the port it was given (workerd); another process could take it in between.
 *
 * @example
 * ```ts
 * const port = await freePort();
 * ```
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

/**
 * Whether `http://127.0.0.1:<port>/health` answers 200 (for {@link Launched.waitFor}).
 *
 * @example
 * ```ts
 * await workerd.waitFor('/health', 30_000, () => healthy(port));
 * ```
 */
export async function healthy(port: number): Promise<true | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status === 200 ? true : undefined;
  } catch {
    return undefined;
  }
}
