import type { DecodedToken, DecodeFailure } from './decode.js';
import type { Style } from './style.js';
import { printable } from './text.js';
import { formatDate, formatRelative } from './time.js';

const TIME_CLAIMS = new Set(['exp', 'nbf', 'iat', 'auth_time']);

/** The warning every `inspect` output starts with. */
export const NOT_VERIFIED =
  'NOT VERIFIED: decoded only. Signature, issuer, audience and expiry were NOT checked; do not trust these values. Use "tokenguard verify" to validate.';

function describeTime(name: string, value: unknown, nowMs: number): string {
  const iso = formatDate(value);
  if (iso === undefined || typeof value !== 'number') return printable(value);
  const relative = formatRelative(value, nowMs);
  const words =
    name === 'exp'
      ? value * 1000 > nowMs
        ? `expires ${relative}`
        : `expired ${relative}`
      : name === 'nbf'
        ? `valid from ${relative}`
        : `issued ${relative}`;
  return `${value}  ${iso}  (${name === 'auth_time' ? `authenticated ${relative}` : words})`;
}

function section(
  title: string,
  record: Readonly<Record<string, unknown>>,
  nowMs: number,
  style: Style,
): string[] {
  const names = Object.keys(record);
  const width = Math.min(24, Math.max(0, ...names.map((name) => printable(name).length)));
  const lines = [style.bold(title)];
  if (names.length === 0) lines.push(style.dim('  (empty)'));
  for (const name of names) {
    const value = record[name];
    const shown = TIME_CLAIMS.has(name) ? describeTime(name, value, nowMs) : printable(value);
    lines.push(`  ${style.cyan(printable(name).padEnd(width))}  ${shown}`);
  }
  return lines;
}

/**
 * The text of `tokenguard inspect`: the not-verified warning, then header and claims, with times
 * as ISO dates and relative to now.
 *
 * @example
 * ```ts
 * process.stdout.write(renderInspect(decodeToken(token) as DecodedToken, Date.now(), createStyle(false)));
 * ```
 */
export function renderInspect(decoded: DecodedToken, nowMs: number, style: Style): string {
  return [
    style.yellow(style.bold(`!! ${NOT_VERIFIED}`)),
    '',
    ...section('Header', decoded.header, nowMs, style),
    '',
    ...section('Claims', decoded.claims, nowMs, style),
    '',
  ].join('\n');
}

/**
 * The JSON of `tokenguard inspect --json`: `verified: false` first, so no script can miss it.
 *
 * @example
 * ```ts
 * JSON.parse(renderInspectJson(decoded)).verified; // false
 * ```
 */
export function renderInspectJson(decoded: DecodedToken): string {
  return `${JSON.stringify({ verified: false, warning: NOT_VERIFIED, header: decoded.header, claims: decoded.claims }, null, 2)}\n`;
}

/**
 * The JSON of `tokenguard inspect --json` for a token it cannot read (exit 1): `verified: false` and
 * why, so a script reading stdout gets JSON on every outcome but a usage error. Never the token.
 *
 * @example
 * ```ts
 * JSON.parse(renderInspectFailureJson({ error: 'the token is not a JWT' })); // { verified: false, error: '...' }
 * ```
 */
export function renderInspectFailureJson(failure: DecodeFailure): string {
  return `${JSON.stringify({ verified: false, error: failure.error }, null, 2)}\n`;
}
