import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadRequest, LoadResult } from './load-worker.js';

type Reply = { type: 'ready' } | { type: 'result'; result: LoadResult } | { type: 'error'; message: string };
type Message = { type: 'tokens'; tokens: readonly string[] } | { type: 'run'; request: LoadRequest };

/** The autocannon child process: one run at a time, each bounded by a duration or an amount. */
export class LoadClient {
  readonly #child: ChildProcess;
  #pending: ((reply: Reply) => void) | undefined;
  /** Why the child can answer nothing more (it exited, its channel failed), once that happened. */
  #gone: string | undefined;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (reply: Reply) => {
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.(reply);
    });
    child.on('exit', (code) => this.#end(`load generator exited with ${code}`));
    // A send on a closed channel, among others: without a listener, an uncaught exception.
    child.on('error', (error) => this.#end(`load generator: ${error.message}`));
  }

  /**
   * Forks the load generator (inheriting tsx's loader flags) and hands it the token pool; rejects
   * (and ends the child) when it exits or fails first.
   */
  static async start(tokens: readonly string[]): Promise<LoadClient> {
    const child = fork(fileURLToPath(new URL('./load-worker.ts', import.meta.url)), {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const client = new LoadClient(child);
    try {
      readyOrThrow(await client.#next());
      readyOrThrow(await client.#ask({ type: 'tokens', tokens }));
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  async run(request: LoadRequest): Promise<LoadResult> {
    const answer = await this.#ask({ type: 'run', request });
    if (answer.type !== 'result') throw new Error(answer.type === 'error' ? answer.message : 'no result');
    return answer.result;
  }

  close(): void {
    this.#child.kill();
  }

  /** Sends `message` and waits for the answer; an error reply at once when the child is gone. */
  #ask(message: Message): Promise<Reply> {
    const reply = this.#next();
    if (this.#gone === undefined) {
      this.#child.send(message, (error) => {
        if (error !== null && error !== undefined) this.#end(`load generator: ${error.message}`);
      });
    }
    return reply;
  }

  #next(): Promise<Reply> {
    if (this.#gone !== undefined) return Promise.resolve({ type: 'error', message: this.#gone });
    return new Promise((resolve) => {
      this.#pending = resolve;
    });
  }

  /** The child answers nothing more: the reply waited for, and every later one, is an error. */
  #end(reason: string): void {
    this.#gone ??= reason;
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.({ type: 'error', message: this.#gone });
  }
}

function readyOrThrow(reply: Reply): void {
  if (reply.type !== 'ready') throw new Error(reply.type === 'error' ? reply.message : 'no ready');
}
