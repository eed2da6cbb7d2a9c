import { createHash } from 'node:crypto';
import type { DpopClock } from './dpop.js';
import { TokenGuardError } from './errors.js';
import { boundedLru } from './lib/bounded-lru.js';
import type { DpopReplayStore, ResolvedDpopOptions } from './options.js';

/** Seconds a client is told to wait (`Retry-After`) when the shared replay store did not answer. */
export const REPLAY_STORE_RETRY_AFTER_SEC = 1;

/**
 * Remembers spent DPoP proofs (RFC 9449 §11.1): in this validator's own memory, and, with
 * `dpop.replayStore`, in a store every instance of the API shares.
 *
 * @example
 * ```ts
 * const replay = createReplayGuard(resolved.dpop, { now: Date.now, clockToleranceSec: 5 });
 * await replay.spend(jkt, jti, acceptableUntilMs, Date.now()); // throws when the proof was used before
 * ```
 */
export interface ReplayGuard {
  /**
   * Records the proof of key `jkt` with identifier `jti` as used; throws (or rejects with) 401
   * `ERR_DPOP_PROOF_INVALID` when it was used before, while still acceptable, here or (with a store) on
   * any instance; 503 `ERR_DPOP_REPLAY_UNAVAILABLE` when the store failed or did not answer in time.
   */
  spend(jkt: string, jti: string, acceptableUntilMs: number, nowMs: number): void | Promise<void>;
  /** What it remembers, and how the store has answered (see {@link DpopState}). */
  state(): DpopState;
}

/**
 * The DPoP part of `validator.state()`: the replay cache's size, and with `dpop.replayStore`, how the
 * store has answered since the validator was created.
 *
 * @example
 * ```ts
 * const store = validator.state().dpop?.replayStore;
 * if (store !== undefined && store.consecutiveFailures > 0) log.warn('DPoP replay store', store.lastError);
 * ```
 */
export interface DpopState {
  /** Proofs this validator remembers against replay, and `dpop.replayCacheMaxEntries`. */
  replayCache: { entries: number; maxEntries: number };
  /** With `dpop.replayStore`: its answers since creation. */
  replayStore?: {
    /** Proofs taken to the store. */
    requests: number;
    /** Proofs the store had already recorded (refused as replays). */
    replays: number;
    /** Throws, rejections, late answers and answers neither true nor false (each a 503 or 500). */
    failures: number;
    /** Failures since the store last answered true or false. */
    consecutiveFailures: number;
    /**
     * What the last failure said, up to 200 characters: the store's own message when it threw or
     * rejected with an Error, else ours (a late answer, an answer neither true nor false).
     */
    lastError: string | undefined;
    /** When the last failure happened, in ms on the validator's clock. */
    lastFailureAt: number | undefined;
  };
}

type StoreState = NonNullable<DpopState['replayStore']>;

/**
 * Creates the {@link ReplayGuard} of a validator's `dpop` option. The store's `markUsed` is taken now:
 * a write through `validator.options` later does not change what the validator asks.
 */
export function createReplayGuard(options: ResolvedDpopOptions, clock: DpopClock): ReplayGuard {
  /** Proofs spent here, by thumbprint and `jti`, each with the instant it stops being acceptable anyway. */
  const spent = boundedLru<string, number>(options.replayCacheMaxEntries);
  /** The store, its `markUsed` as it was now, and its answers so far; `undefined` without a store. */
  const shared = sharedStoreOf(options.replayStore);
  /**
   * How long past a proof's last acceptable instant the store keeps it: clocks that disagree, and an
   * answer taken up to `replayStoreTimeoutMs` after the command was sent (by then the store may have
   * recorded it, on its own clock, and another instance's command may reach it later still).
   */
  const storeMarginMs = clock.clockToleranceSec * 1000 + options.replayStoreTimeoutMs;
  return {
    state() {
      return {
        replayCache: { entries: spent.size, maxEntries: options.replayCacheMaxEntries },
        ...(shared === undefined ? {} : { replayStore: { ...shared.state } }),
      };
    },
    spend(jkt, jti, acceptableUntilMs, nowMs) {
      const id = `${jkt}.${jti}`;
      // Judged at the instant the proof was accepted, not when its token's validation ended: a use
      // remembered until then (inclusive) makes this one a replay, however long the token took.
      const until = spent.get(id);
      if (until !== undefined && until >= nowMs) throw usedBefore();
      // The store keeps a proof only so long after its last acceptable instant: one that passed that
      // instant while its token was validated might be gone from the store, and is not taken to it.
      if (shared !== undefined && clock.now() > acceptableUntilMs) {
        throw new TokenGuardError('ERR_DPOP_PROOF_INVALID', { message: 'The DPoP proof is too old' });
      }
      // Remembered here before the store answers: the same proof again on this instance meanwhile is
      // refused without a second round trip.
      const remembered = Math.max(until ?? 0, acceptableUntilMs);
      spent.set(id, remembered);
      if (shared === undefined) return;
      const { store, markUsed, state: storeState } = shared;
      storeState.requests++;
      // A store that failed decided nothing: the proof, not accepted, may come again (a client obeying
      // Retry-After) and the store is asked again then. One the store found stays refused here.
      const forgetUnlessReplay = (error: unknown): never => {
        const replayed = error instanceof TokenGuardError && error.code === 'ERR_DPOP_PROOF_INVALID';
        if (replayed) {
          storeState.replays++;
          storeState.consecutiveFailures = 0;
        } else {
          // Any earlier use remembered here had expired (else this one was refused above).
          if (spent.get(id) === remembered) spent.delete(id);
          storeState.failures++;
          storeState.consecutiveFailures++;
          storeState.lastError = failureText(error);
          storeState.lastFailureAt = failureInstant(clock, nowMs);
        }
        throw error;
      };
      const recorded = (): void => {
        storeState.consecutiveFailures = 0;
      };
      let marked: void | Promise<void>;
      try {
        const expiresAtMs = Math.ceil(acceptableUntilMs) + storeMarginMs;
        const answer = () => Reflect.apply(markUsed, store, [replayStoreKey(id), expiresAtMs]) as unknown;
        marked = markedInStore(answer, options.replayStoreTimeoutMs);
      } catch (error) {
        return forgetUnlessReplay(error);
      }
      if (marked === undefined) return recorded();
      return marked.then(recorded, forgetUnlessReplay);
    },
  };
}

/** The store of `dpop.replayStore` with the `markUsed` it has now, and counters of its answers. */
function sharedStoreOf(
  store: DpopReplayStore | undefined,
): { store: DpopReplayStore; markUsed: DpopReplayStore['markUsed']; state: StoreState } | undefined {
  if (store === undefined) return undefined;
  const state: StoreState = {
    requests: 0,
    replays: 0,
    failures: 0,
    consecutiveFailures: 0,
    lastError: undefined,
    lastFailureAt: undefined,
  };
  return { store, markUsed: store.markUsed, state };
}

/**
 * The key a proof is stored under: the base64url SHA-256 of `jkt.jti` (43 characters of `A-Z a-z 0-9
 * - _`), so a `jti` the client chose (up to 256 characters of anything) is never a store key as it is.
 */
export function replayStoreKey(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

/** Asks the store (`ask`) to record a proof; settles once it answered, within `timeoutMs`. */
function markedInStore(ask: () => unknown, timeoutMs: number): void | Promise<void> {
  let answer: unknown;
  let thenable: boolean;
  try {
    answer = ask();
    // Reading `then` can throw too (a revoked Proxy, a getter): the store failed, as if it had thrown.
    thenable = isThenable(answer);
  } catch (error) {
    throw storeUnavailable('failed', error);
  }
  if (!thenable) return judged(answer);
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(storeUnavailable(`did not answer in ${timeoutMs} ms`)), timeoutMs);
    timer.unref?.();
    let settled: Promise<unknown>;
    try {
      settled = Promise.resolve(answer);
    } catch (error) {
      // A promise whose `constructor` cannot be read: the store failed too.
      clearTimeout(timer);
      reject(storeUnavailable('failed', error));
      return;
    }
    settled.then(
      (value) => {
        clearTimeout(timer);
        try {
          resolve(judged(value));
        } catch (error) {
          reject(error);
        }
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(storeUnavailable('failed', error));
      },
    );
  });
}

/** The store's answer: `true` recorded the proof now, `false` found it recorded (a replay). */
function judged(answer: unknown): void {
  if (answer === true) return;
  if (answer === false) throw usedBefore();
  throw new TokenGuardError('ERR_INTERNAL', {
    message: 'The DPoP replay store gave an answer that is neither true nor false',
    cause: new TypeError(
      `tokenguard: dpop.replayStore.markUsed must return true (recorded now), false (recorded before) or a promise of one; it returned ${describe(answer)}`,
    ),
  });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `a string (${JSON.stringify(value.slice(0, 20))})`;
  if (typeof value === 'function') return 'a function';
  return typeof value === 'object' ? 'an object' : String(value);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** Longest `lastError`, in characters (UTF-16 units), its ellipsis included. */
const MAX_FAILURE_TEXT = 200;

/**
 * A failure as `state()` shows it: the store's own message when it threw or rejected with an Error,
 * else ours; never throws (a cause whose `message` or `toString` throws, or is not text, is described
 * by its type), and is cut to {@link MAX_FAILURE_TEXT} without splitting a surrogate pair.
 */
function failureText(error: unknown): string {
  let text: unknown;
  try {
    const cause = error instanceof TokenGuardError && error.cause !== undefined ? error.cause : error;
    text =
      cause instanceof Error
        ? cause.message
        : typeof cause === 'object' || typeof cause === 'function'
          ? 'a value that is not an Error'
          : String(cause);
  } catch {
    text = undefined;
  }
  if (typeof text !== 'string') return '(a failure that could not be described)';
  if (text.length <= MAX_FAILURE_TEXT) return text;
  const cut = text.slice(0, MAX_FAILURE_TEXT - 1).replace(/[\uD800-\uDBFF]$/, '');
  return `${cut}…`;
}

/** When a failure is recorded, on the validator's clock (when the proof was checked, if it throws). */
function failureInstant(clock: DpopClock, checkedMs: number): number {
  try {
    return clock.now();
  } catch {
    return checkedMs;
  }
}

function usedBefore(): TokenGuardError {
  return new TokenGuardError('ERR_DPOP_PROOF_INVALID', { message: 'The DPoP proof was used before' });
}

function storeUnavailable(what: string, cause?: unknown): TokenGuardError {
  return new TokenGuardError('ERR_DPOP_REPLAY_UNAVAILABLE', {
    message: `The DPoP replay store ${what}: whether this proof was used before is unknown`,
    retryAfterSec: REPLAY_STORE_RETRY_AFTER_SEC,
    cause,
  });
}
