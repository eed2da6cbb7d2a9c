/** C0/C1 controls, line/paragraph separators and bidi overrides: what could rewrite a terminal line. */
function isUnsafe(code: number): boolean {
  return (
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x2028 ||
    code === 0x2029 ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

function escapeUnsafe(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    out += isUnsafe(code) ? `\\u${code.toString(16).padStart(4, '0')}` : char;
  }
  return out;
}

/**
 * A value from an untrusted token made safe for a terminal: JSON for non-strings, control and
 * bidi characters escaped (no ANSI injection through a claim), long values cut.
 *
 * @example
 * ```ts
 * printable('a\u001b[2Jb'); // 'a\\u001b[2Jb'
 * ```
 */
export function printable(value: unknown, max = 200): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const escaped = escapeUnsafe(text);
  return escaped.length > max ? `${escaped.slice(0, max)}... (${escaped.length - max} more)` : escaped;
}

/**
 * A list for a sentence: `a`, `a or b`, `a, b or c` (with `and` when asked).
 *
 * @example
 * ```ts
 * joinWords(['x', 'y', 'z'], 'and'); // 'x, y and z'
 * ```
 */
export function joinWords(items: readonly string[], last: 'and' | 'or' = 'or'): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${last} ${items[items.length - 1]}`;
}
