/**
 * A deep copy of a JSON value with every object and array in it frozen; primitives as they are. The
 * original is left as it was. For values held and handed out by a cache, so that no reader can
 * change what the next one sees. JSON values only (plain objects, arrays, primitives), whose nesting
 * the parser has already bounded.
 *
 * @example
 * ```ts
 * const claims = frozenCopy(payload) as Readonly<Record<string, unknown>>;
 * ```
 */
export function frozenCopy(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [] : {};
  for (const [key, member] of Object.entries(value))
    (copy as Record<string, unknown>)[key] = frozenCopy(member);
  return Object.freeze(copy);
}
