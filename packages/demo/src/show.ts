import type { Answer } from './call.js';
import type { Printer } from './print.js';

/**
 * Prints the `auth` a handler answered with: who called, with which scopes, until when.
 *
 * @example
 * ```ts
 * showAuth(out, await call(url, token));
 * ```
 */
export function showAuth(out: Printer, answer: Answer): void {
  const auth = (answer.body as { auth?: Record<string, unknown> } | undefined)?.auth;
  if (auth === undefined) {
    describeAnswer(out, answer);
    return;
  }
  out.line('auth the handler saw (req.auth; the token itself is hidden from JSON):');
  for (const name of ['source', 'subject', 'clientId', 'issuer', 'audience', 'scopes', 'expiresAt']) {
    if (auth[name] !== undefined) out.detail(`  ${name}`, JSON.stringify(auth[name]));
  }
}

/**
 * Prints what an error answer carries: `WWW-Authenticate`, `Retry-After` and the JSON body.
 *
 * @example
 * ```ts
 * describeAnswer(out, await call(url));
 * ```
 */
export function describeAnswer(out: Printer, answer: Answer): void {
  const challenge = answer.headers.get('www-authenticate');
  if (challenge !== null) out.detail('WWW-Authenticate', challenge);
  const retryAfter = answer.headers.get('retry-after');
  if (retryAfter !== null) out.detail('Retry-After', retryAfter);
  if (answer.body !== '' && answer.body !== undefined) out.detail('body', JSON.stringify(answer.body));
}
