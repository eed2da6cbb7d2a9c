/** Limits on JSON read from the network or from a token. */
export interface JsonLimits {
  /** Deepest nesting of objects and arrays. */
  maxDepth: number;
}

/**
 * Parses JSON text that must be an object, refusing documents nested deeper than `maxDepth` and any
 * `__proto__` member (so a parsed claim set can never be turned into a prototype by a later merge).
 * Returns `undefined` for anything else; never throws.
 */
export function parseJsonObject(text: string, limits: JsonLimits): Record<string, unknown> | undefined {
  if (exceedsDepth(text, limits.maxDepth)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  // The raw text is searched first so the common case pays no reviver cost.
  if (text.includes('__proto__') && hasProtoKey(value)) return undefined;
  return value as Record<string, unknown>;
}

function hasProtoKey(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (Object.hasOwn(value, '__proto__')) return true;
  for (const child of Object.values(value)) if (hasProtoKey(child)) return true;
  return false;
}

/** Scans brackets outside strings: O(n), no recursion, so a hostile document cannot exhaust the stack. */
function exceedsDepth(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > maxDepth) return true;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return false;
}
