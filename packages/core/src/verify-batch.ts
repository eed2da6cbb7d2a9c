import { setImmediate } from 'node:timers';
import { outsideRequestContext } from './lib/async-context.js';

/**
 * Most verifications one batch holds, process-wide; beyond it a verification runs at once, inline,
 * so a flood of requests in one phase never defers unbounded work.
 */
export const VERIFY_BATCH_MAX_SIZE = 64;

interface PendingVerification {
  readonly verify: () => boolean;
  readonly resolve: (valid: boolean) => void;
  readonly reject: (error: unknown) => void;
}

let pending: PendingVerification[] = [];
/**
 * False once the `setImmediate` this module bound turned out not to be Node's (a fake timer that was
 * on when it loaded): a batch it holds might never run, so nothing waits for one any more.
 */
let immediatesRun = true;

/**
 * Runs `verify` (a signature verification, never waiting) at the end of the event loop's current
 * phase, back to back with every other verification asked for during it, and settles with its
 * verdict; when {@link VERIFY_BATCH_MAX_SIZE} are already waiting, runs it now and returns the verdict.
 *
 * Why: an HTTP server reads the requests that arrived together in one poll phase one after the other,
 * and a public-key verification between two requests' parsing runs with cold caches (its code, and on
 * a virtual machine its page-table entries, were evicted by the framework's work). Verified in a row
 * at the end of the phase, the second verification onwards runs warm, and so does what each request
 * does next. Scheduled with `setImmediate`, which runs right after the poll phase (Node does not
 * block in the poll while one is pending), so a lone request waits one turn of the loop, not for I/O.
 * The callback runs outside any request's async context; each caller's continuation keeps its own.
 * `setImmediate` is node:timers' own, bound when this module loads: fake timers in an app's tests
 * replace the global one, and a request waiting for a faked immediate would never be answered. Fake
 * timers already on when this module first loads (node:test's `mock.timers`, @sinonjs/fake-timers)
 * are what it binds, for good: then the handle scheduled is not an `Immediate`, and from there on
 * every verification runs at once, inline, as `validate` does.
 *
 * @example
 * ```ts
 * const valid = await verifyInPhaseBatch(() => verifyWithAny(alg, keys, signingInput, signature));
 * ```
 */
export function verifyInPhaseBatch(verify: () => boolean): boolean | Promise<boolean> {
  if (!immediatesRun || pending.length >= VERIFY_BATCH_MAX_SIZE) return verify();
  if (pending.length === 0 && !scheduleBatch()) return verify();
  return new Promise((resolve, reject) => {
    pending.push({ verify, resolve, reject });
  });
}

/** Schedules {@link runBatch}; false, and batching off for good, when no real immediate was made. */
function scheduleBatch(): boolean {
  let handle: unknown;
  try {
    handle = outsideRequestContext(() => setImmediate(runBatch));
  } catch {
    handle = undefined;
  }
  immediatesRun = isNodeImmediate(handle);
  return immediatesRun;
}

/** Node's `setImmediate` answers an `Immediate`; a fake, its own timer object, run when its clock is. */
function isNodeImmediate(handle: unknown): boolean {
  return (handle as { constructor?: { name?: unknown } } | undefined)?.constructor?.name === 'Immediate';
}

/** Verifies the waiting batch in the order it was asked for; a verification that throws rejects alone. */
function runBatch(): void {
  const batch = pending;
  pending = [];
  for (const { verify, resolve, reject } of batch) {
    let valid: boolean;
    try {
      valid = verify();
    } catch (error) {
      reject(error);
      continue;
    }
    resolve(valid);
  }
}
