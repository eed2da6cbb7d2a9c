import type { HeadersLike } from '../bearer.js';

/**
 * Every value sent for the header `name` (lower case), from a fetch `Headers` (one value at most:
 * it joins repeats with `", "`) or a plain record, whose keys are matched case-insensitively so that
 * `authorization` and `Authorization` in one record count as two values. Array values are spread.
 */
export function readHeaderValues(headers: HeadersLike, name: string): string[] {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    const value = (headers as { get(name: string): string | null }).get(name);
    return value === null ? [] : [value];
  }
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  const values: string[] = [];
  for (const key of Object.keys(record)) {
    if (key.length !== name.length || key.toLowerCase() !== name) continue;
    const value = record[key];
    if (typeof value === 'string') values.push(value);
    else if (Array.isArray(value)) values.push(...value);
  }
  return values;
}

/** What {@link rawAuthorization} answers for a raw header list with more than one `Authorization`. */
export const SEVERAL: unique symbol = Symbol('several Authorization headers');

const AUTHORIZATION = 'authorization';

/**
 * The one `Authorization` value of Node's raw header list (`IncomingMessage.rawHeaders`: names and
 * values in turn, as sent), `undefined` when there is none, {@link SEVERAL} when there are more (Node
 * keeps only the first in its header record). Allocates nothing for the usual spellings.
 */
export function rawAuthorization(raw: readonly string[]): string | undefined | typeof SEVERAL {
  let count = 0;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    // Length first: most names are not 13 characters long. The usual spellings need no
    // toLowerCase(), which allocates a string for every name with a capital letter.
    if (
      name?.length === AUTHORIZATION.length &&
      (name === 'Authorization' || name === AUTHORIZATION || name.toLowerCase() === AUTHORIZATION)
    ) {
      count++;
      value = raw[i + 1];
    }
  }
  return count > 1 ? SEVERAL : value;
}
