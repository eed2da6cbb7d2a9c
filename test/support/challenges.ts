import { type ParsedChallenge, parseChallenge } from '../conformance/challenge.js';

/** An auth-param (`name=...`); any other list item begins a challenge with its auth-scheme. */
const PARAM = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+\s*=/;

/** The comma-separated items of a header value, commas inside quoted strings kept. */
function items(header: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < header.length; i++) {
    const char = header[i] as string;
    if (quoted && char === '\\') {
      current += char + (header[i + 1] ?? '');
      i++;
      continue;
    }
    if (char === '"') quoted = !quoted;
    if (char === ',' && !quoted) {
      out.push(current.trim());
      current = '';
    } else current += char;
  }
  if (quoted) throw new Error(`unterminated quoted string in: ${header}`);
  out.push(current.trim());
  return out;
}

/**
 * Test helper: every challenge of a `WWW-Authenticate` value (RFC 9110 §11.6.1), such as tokenguard's
 * `Bearer realm="api", DPoP algs="ES256"`, each parsed by the conformance suite's strict
 * {@link parseChallenge}. Commas inside quoted strings are kept; a list item that is not an auth-param
 * (`name=value`) starts a new challenge.
 *
 * @example
 * ```ts
 * parseChallenges('Bearer realm="api", DPoP algs="ES256 PS256"');
 * // [{ scheme: 'Bearer', params: { realm: 'api' } }, { scheme: 'DPoP', params: { algs: 'ES256 PS256' } }]
 * ```
 */
export function parseChallenges(header: string): ParsedChallenge[] {
  const groups: string[][] = [];
  for (const item of items(header)) {
    if (item === '') throw new Error(`empty list item in: ${header}`);
    if (!PARAM.test(item)) groups.push([item]);
    else if (groups.length === 0) throw new Error(`no auth-scheme before ${item} in: ${header}`);
    else groups[groups.length - 1]?.push(item);
  }
  return groups.map((group) => parseChallenge(group.join(', ')));
}
