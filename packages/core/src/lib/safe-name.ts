/**
 * A token-supplied value made safe to echo in an error message: at most 40 characters, printable
 * ASCII only (anything else becomes `?`).
 */
export function safeName(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return text.length > 40
    ? `${text.slice(0, 40).replace(/[^\x20-\x7e]/g, '?')}...`
    : text.replace(/[^\x20-\x7e]/g, '?');
}
