/** Whitespace a pasted token may carry inside it, named for a human. */
function nameOf(char: string): string {
  if (char === '\n' || char === '\r') return 'a line break';
  if (char === ' ') return 'a space';
  if (char === '\t') return 'a tab';
  return `whitespace (U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')})`;
}

/**
 * Why a token with whitespace inside fails, or `undefined` when it has none. A token copied from a
 * wrapped terminal line, log or mail arrives in pieces; the validator then reads the text as a whole
 * `Authorization` value of another scheme (`ERR_TOKEN_MISSING`), which says nothing of the real cause.
 * The input's ends are trimmed before this is asked.
 *
 * @example
 * ```ts
 * explainWhitespace('eyJhbGc\niOiJSUzI1NiJ9...'); // 'the token has a line break after character 7: ...'
 * ```
 */
export function explainWhitespace(token: string): string | undefined {
  const at = token.search(/\s/u);
  if (at < 0) return undefined;
  return `the token has ${nameOf(token[at] as string)} after character ${at}: a token is one unbroken string (was it wrapped when copied?); the validator reads text with whitespace inside as a whole Authorization header`;
}
