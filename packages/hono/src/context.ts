import { isTokenGuardError, type ResolvedAdapterOptions } from '@tokenguard/core';
import type { Context } from 'hono';

/** The middleware settings that authenticated a request, for the guards that run after. */
const contexts = new WeakMap<Context, ResolvedAdapterOptions>();

export function setContext(c: Context, settings: ResolvedAdapterOptions): void {
  contexts.set(c, settings);
}

export function getContext(c: Context): ResolvedAdapterOptions | undefined {
  return contexts.get(c);
}

/**
 * Answers a tokenguard error per RFC 6750 (status, `WWW-Authenticate`/`Retry-After`, JSON body
 * `{ error, error_description }`); with `onError: 'next'` (or for any other error) rethrows it to
 * the app's `onError`.
 */
export function handleError(c: Context, error: unknown, onError: 'respond' | 'next'): Response {
  if (onError === 'next' || !isTokenGuardError(error)) throw error;
  return c.json(error.toJSON(), error.status, error.headers);
}
