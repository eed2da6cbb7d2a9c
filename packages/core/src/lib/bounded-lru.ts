import { LRUCache } from 'lru-cache';

/**
 * An LRU cache holding at most `maxEntries` entries (least recently used evicted first) whose storage
 * grows with what it holds. lru-cache's `max` allocates every slot up front: a bound is an option
 * users set high ("as many as there are"), so millions of slots were allocated at `createValidator`
 * before a single entry, and a bound past 2^32 was a `RangeError` naming no option. Counted through
 * `maxSize` instead, one per entry.
 *
 * @example
 * ```ts
 * const kept = boundedLru<string, IssuerContext>(options.maxTenants);
 * ```
 */
export function boundedLru<K extends {}, V extends {}>(maxEntries: number): LRUCache<K, V> {
  return new LRUCache<K, V>({ maxSize: maxEntries, sizeCalculation: () => 1 });
}
