/**
 * What a browser on another origin sends and needs, for the CORS tests: the single-page app's origin,
 * its cross-origin requests (with `Origin`), the preflight before a call with `Authorization`, and
 * the check that an answer is readable by the page.
 */
import { request } from 'undici';
import { expect } from 'vitest';

/** The single-page app's origin. */
export const SPA = 'https://spa.example';

/** An answer as the test reads it. */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A cross-origin request from the SPA, as a browser sends it (with `Origin`). */
export async function fromSpa(
  url: string,
  method: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await request(url, { method, headers: { origin: SPA, ...headers } });
  return { status: response.statusCode, headers: response.headers, body: await response.body.text() };
}

/** The preflight a browser sends before a call with `Authorization` (and `DPoP`). */
export const preflight = (url: string, requestHeaders = 'authorization', method = 'GET'): Promise<Answer> =>
  fromSpa(url, 'OPTIONS', {
    'access-control-request-method': method,
    'access-control-request-headers': requestHeaders,
  });

/** What a browser needs to hand an answer's status, body and challenge to the SPA. */
export function expectReadable(answer: Answer, exposed: string[] = ['WWW-Authenticate']): void {
  expect(answer.headers['access-control-allow-origin'], `${answer.status} ${answer.body}`).toBe(SPA);
  expect(answer.headers['access-control-allow-credentials']).toBe('true');
  const list = String(answer.headers['access-control-expose-headers'])
    .toLowerCase()
    .split(/\s*,\s*/);
  for (const name of exposed) expect(list).toContain(name.toLowerCase());
}
