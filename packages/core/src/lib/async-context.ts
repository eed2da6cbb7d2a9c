import { AsyncResource } from 'node:async_hooks';

/** The async context this module was loaded in: no request's. */
const LOADED_IN = new AsyncResource('tokenguard');

/**
 * Runs `make` in the async context this module was loaded in instead of the caller's: for a promise
 * kept beyond the request that made it (a cached answer, a shared discovery document). Node 20 and
 * 22 attach the AsyncLocalStorage stores current where a promise is made to the promise, so one kept
 * for later would keep that request's context (its request, response, logger, trace) reachable.
 *
 * @example
 * ```ts
 * cached ??= outsideRequestContext(() => load());
 * ```
 */
export function outsideRequestContext<T>(make: () => T): T {
  return LOADED_IN.runInAsyncScope(make);
}
