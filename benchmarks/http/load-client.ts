import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadRequest, LoadResult } from './load-worker.js';

type Reply = { type: 'ready' } | { type: 'result'; result: LoadResult } | { type: 'error'; message: string };

/** The autocannon child process: one run at a time, each bounded by a duration or an amount. */
export class LoadClient {
  readonly #child: ChildProcess;
  #pending: ((reply: Reply) => void) | undefined;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (reply: Reply) => {
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.(reply);
    });
    child.on('exit', (code) => {
      this.#pending?.({ type: 'error', message: `load generator exited with ${code}` });
    });
  }

  /** Forks the load generator (inheriting tsx's loader flags) and hands it the token pool. */
  static async start(tokens: readonly string[]): Promise<LoadClient> {
    const child = fork(fileURLToPath(new URL('./load-worker.ts', import.meta.url)), {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const client = new LoadClient(child);
    await client.#next();
    client.#child.send({ type: 'tokens', tokens });
    await client.#next();
    return client;
  }

  async run(request: LoadRequest): Promise<LoadResult> {
    const reply = this.#next();
    this.#child.send({ type: 'run', request });
    const answer = await reply;
    if (answer.type !== 'result') throw new Error(answer.type === 'error' ? answer.message : 'no result');
    return answer.result;
  }

  close(): void {
    this.#child.kill();
  }

  #next(): Promise<Reply> {
    return new Promise((resolve) => {
      this.#pending = resolve;
    });
  }
}
