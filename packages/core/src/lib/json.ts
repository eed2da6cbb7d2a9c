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
  // Flat (no `{` after the first character, no `[`): one level deep, which every limit allows (it
  // is at least 2), and a `__proto__` member can only be the top level's own. A claim set usually is.
  const flat = text.indexOf('{', 1) === -1 && text.indexOf('[') === -1;
  if (!flat && exceedsDepth(text, limits.maxDepth)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  if (flat) return Object.hasOwn(value, '__proto__') ? undefined : (value as Record<string, unknown>);
  // The raw text is searched first so the common case pays no walk of the whole document.
  // A JSON escape (`"\u005f_proto__"`) spells the same member without the literal text.
  if ((text.includes('__proto__') || text.includes('\\u')) && hasProtoKey(value)) return undefined;
  return value as Record<string, unknown>;
}

/**
 * Why {@link parseJsonObject} refused `text`, as words to follow "is": the limit hit is named (as
 * `limitName`), so a document refused for its depth is not taken for garbage. Parses again: call it
 * only on the refusal path.
 *
 * @example
 * ```ts
 * `The answer is ${jsonObjectRefusal('{"a":{"b":{}}}', { maxDepth: 2 }, 'keySet.maxJsonDepth')}`;
 * // 'The answer is nested deeper than 2 levels (keySet.maxJsonDepth)'
 * ```
 */
export function jsonObjectRefusal(text: string, limits: JsonLimits, limitName: string): string {
  if (exceedsDepth(text, limits.maxDepth)) {
    return `nested deeper than ${limits.maxDepth} levels (${limitName})`;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  return 'a JSON object with a "__proto__" member';
}

function hasProtoKey(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (Object.hasOwn(value, '__proto__')) return true;
  for (const child of Object.values(value)) if (hasProtoKey(child)) return true;
  return false;
}

/** Scans brackets outside strings: O(n), no recursion, so a hostile document cannot exhaust the stack. */
function exceedsDepth(text: string, maxDepth: number): boolean {
  // Nesting never exceeds the number of opening brackets: a few native searches spare the scan of a
  // typical token's claims.
  if (!hasMoreOpeningBrackets(text, maxDepth)) return false;
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

/** Whether `text` holds more than `limit` `{` and `[` characters in all (inside strings or not). */
function hasMoreOpeningBrackets(text: string, limit: number): boolean {
  let count = 0;
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) if (++count > limit) return true;
  for (let i = text.indexOf('['); i !== -1; i = text.indexOf('[', i + 1)) if (++count > limit) return true;
  return false;
}
