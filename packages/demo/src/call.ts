/** What the demo saw of one HTTP answer. */
export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

/**
 * Calls the protected API on loopback with an optional bearer token.
 *
 * @example
 * ```ts
 * const answer = await call(`${api.url}/orders`, token);
 * ```
 */
export async function call(url: string, token?: string): Promise<Answer> {
  const response = await fetch(url, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: shown as text.
  }
  return { status: response.status, headers: response.headers, body };
}
