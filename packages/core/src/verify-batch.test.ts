import { AsyncLocalStorage } from 'node:async_hooks';
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
});
