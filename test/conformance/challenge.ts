/** A parsed `WWW-Authenticate` challenge. */
export interface ParsedChallenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses one RFC 7235 challenge (`Bearer realm="x", error="y"`): quoted-string values with `\`
 * escapes, or tokens. Throws on anything malformed, including a parameter given twice (RFC 6750 §3),
 * so a broken header fails the table instead of being compared as a string.
 */
export function parseChallenge(header: string): ParsedChallenge {
  const match = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)(?:\s+(.*))?$/s.exec(header.trim());
  if (match === null) throw new Error(`not a challenge: ${header}`);
  const scheme = match[1] as string;
  const rest = match[2] ?? '';
  const params: Record<string, string> = {};
  let i = 0;
  while (i < rest.length) {
    const name = /^\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*/.exec(rest.slice(i));
    if (name === null) throw new Error(`bad parameter at ${i} in: ${header}`);
    i += name[0].length;
    let value = '';
    if (rest[i] === '"') {
      i++;
      while (i < rest.length && rest[i] !== '"') {
        if (rest[i] === '\\') i++;
        value += rest[i] ?? '';
        i++;
      }
      if (rest[i] !== '"') throw new Error(`unterminated quoted string in: ${header}`);
      i++;
    } else {
      const token = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+/.exec(rest.slice(i));
      if (token === null) throw new Error(`bad value at ${i} in: ${header}`);
      value = token[0];
      i += value.length;
    }
    const key = (name[1] as string).toLowerCase();
    if (Object.hasOwn(params, key)) throw new Error(`parameter ${key} appears twice in: ${header}`);
    params[key] = value;
    const separator = /^\s*(,|$)\s*/.exec(rest.slice(i));
    if (separator === null) throw new Error(`expected a comma at ${i} in: ${header}`);
    i += separator[0].length;
  }
  return { scheme, params };
}
