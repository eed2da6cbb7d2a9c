import { AsyncLocalStorage } from 'node:async_hooks';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { VERIFY_BATCH_MAX_SIZE, verifyInPhaseBatch } from './verify-batch.js';

/** Lets every pending microtask run, but no immediate. */
async function drainMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

const nextImmediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('verifyInPhaseBatch', () => {
  it('runs the verifications asked for in one phase together, at its end, in order, each with its verdict', async () => {
    const ran: string[] = [];
    const verdicts = [true, false, true].map((verdict, i) =>
      verifyInPhaseBatch(() => {
        ran.push(`verify ${i}`);
        return verdict;
      }),
    );
    const settled: string[] = [];
    for (const [i, verdict] of verdicts.entries()) {
      expect(verdict).toBeInstanceOf(Promise);
      void (verdict as Promise<boolean>).then((valid) => settled.push(`${i}: ${valid}`));
    }
    await drainMicrotasks();
    expect(ran).toEqual([]); // nothing verified before the phase ends
    await nextImmediate();
    expect(ran).toEqual(['verify 0', 'verify 1', 'verify 2']);
    expect(settled).toEqual(['0: true', '1: false', '2: true']);
  });

  it('a verification that throws rejects alone; the rest of its batch is verified', async () => {
    const failure = new Error('broken verifier');
    const before = verifyInPhaseBatch(() => true);
    const broken = verifyInPhaseBatch(() => {
      throw failure;
    });
    const after = verifyInPhaseBatch(() => false);
    await expect(broken).rejects.toBe(failure);
    await expect(before).resolves.toBe(true);
    await expect(after).resolves.toBe(false);
  });

  it(`verifies at once, inline, beyond ${VERIFY_BATCH_MAX_SIZE} waiting`, async () => {
    let ran = 0;
    const waiting = Array.from({ length: VERIFY_BATCH_MAX_SIZE }, () =>
      verifyInPhaseBatch(() => {
        ran++;
        return true;
      }),
    );
    const beyond = verifyInPhaseBatch(() => {
      ran++;
      return false;
    });
    expect(beyond).toBe(false);
    expect(ran).toBe(1);
    expect(await Promise.all(waiting)).toEqual(Array(VERIFY_BATCH_MAX_SIZE).fill(true));
    expect(ran).toBe(VERIFY_BATCH_MAX_SIZE + 1);
    // The batch ran and emptied: the next verification waits again.
    expect(verifyInPhaseBatch(() => true)).toBeInstanceOf(Promise);
    await nextImmediate();
  });

  it('a verification asked for while a batch runs joins the next batch', async () => {
    let inner: boolean | Promise<boolean> | undefined;
    const outer = verifyInPhaseBatch(() => {
      inner = verifyInPhaseBatch(() => false);
      return true;
    });
    await expect(outer).resolves.toBe(true);
    expect(inner).toBeInstanceOf(Promise);
    await expect(inner).resolves.toBe(false);
  });

  it("verifies outside the asking request's async context; each caller continues in its own", async () => {
    const requestContext = new AsyncLocalStorage<string>();
    let seenWhileVerifying: string | undefined = 'not run';
    const continuedIn = await requestContext.run('request 1', () =>
      (
        verifyInPhaseBatch(() => {
          seenWhileVerifying = requestContext.getStore();
          return true;
        }) as Promise<boolean>
      ).then(() => requestContext.getStore()),
    );
    expect(seenWhileVerifying).toBeUndefined();
    expect(continuedIn).toBe('request 1');
  });

  it('is not held up by fake timers: an app tested under them still gets its answers', async () => {
    vi.useFakeTimers({ toFake: ['setImmediate', 'setTimeout', 'setInterval', 'Date'] });
    try {
      await expect(verifyInPhaseBatch(() => true)).resolves.toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it.each(['while they are on', 'once they are reset'] as const)(
    'answers when fake timers were on as it first loaded (node:test mock.timers), %s',
    async (when) => {
      // node:timers' ES module takes the CommonJS module's exports when it is first imported; mock
      // timers (and @sinonjs/fake-timers) replace those, so a module first loaded under them binds the
      // fake for good, and an immediate it schedules never runs. A fresh process shows it: without an
      // answer its top-level await never settles and it exits with 13.
      const script = `
        import { mock } from 'node:test';
        mock.timers.enable({ apis: ['setImmediate'] });
        const { verifyInPhaseBatch } = await import(process.argv[1]);
        if (process.argv[2] === 'once they are reset') mock.timers.reset();
        const answers = await Promise.all([verifyInPhaseBatch(() => true), verifyInPhaseBatch(() => false)]);
        process.stdout.write(JSON.stringify(answers));`;
      const module = fileURLToPath(new URL('./verify-batch.ts', import.meta.url));
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--conditions=source', '--import', 'tsx', '--input-type=module', '--eval', script, module, when],
        { timeout: 30_000 },
      );
      expect(JSON.parse(stdout)).toEqual([true, false]);
    },
  );
});
