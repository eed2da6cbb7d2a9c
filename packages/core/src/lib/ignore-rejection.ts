/**
 * Internal: when `value` (what a caller's callback returned) is a promise or any other thenable, its
 * rejection is caught and dropped, since one nobody handles ends a Node process by default. Returns
 * whether it was a thenable. A `then` getter that throws is the caller's to catch.
 *
 * @example
 * ```ts
 * if (ignoreRejection(listener(event))) log('an async listener: not awaited');
 * ```
 */
export function ignoreRejection(value: unknown): boolean {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  if (typeof (value as { then?: unknown }).then !== 'function') return false;
  Promise.resolve(value).catch(ignore);
  return true;
}

function ignore(): void {}
