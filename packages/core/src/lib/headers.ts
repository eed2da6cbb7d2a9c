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
