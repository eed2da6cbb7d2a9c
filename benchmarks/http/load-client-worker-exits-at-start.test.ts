/**
 * LoadClient.start() when the load generator dies before its first 'ready' (a start-up failure: a
 * dependency that fails to load, no memory, a killed process). The exit handler hands start() an error
 * reply, which start() does not look at: it sends the token pool on the closed channel, and the
 * ChildProcess, with no 'error' listener, throws ERR_IPC_CHANNEL_CLOSED as an uncaught exception. In
 * `pnpm bench` that kills the process past runHttpScenarios' `finally` (the issuer process stays up),
 * and start() itself never settles.
 */
import { describe, expect, it } from 'vitest';
import { LoadClient } from './load-client.js';

/** `promise`'s outcome, or 'still waiting' after `ms`. */
function within(promise: Promise<unknown>, ms: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(
      () => 'started',
      (error: unknown) => `rejected: ${(error as Error).message}`,
    ),
    new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`still waiting after ${ms} ms`), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

describe('LoadClient.start, the load generator exiting before it is ready', () => {
  it('rejects with the exit instead of sending on the closed channel', async () => {
    const execArgv = process.execArgv;
    // fork() reads process.execArgv when called: the worker exits with 3 before its module runs.
    process.execArgv = [...execArgv, '--import=data:text/javascript,process.exit(3)'];
    let starting: Promise<LoadClient>;
    try {
      starting = LoadClient.start(['a-token']);
    } finally {
      process.execArgv = execArgv;
    }
    expect(await within(starting, 5_000)).toBe('rejected: load generator exited with 3');
  });
});
