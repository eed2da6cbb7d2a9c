import { isTokenGuardError, type ResolvedAdapterOptions } from '@tokenguard/core';
import type { Context } from 'hono';

/**
 * The middleware settings that authenticated a request, for the guards that run after: a
 * symbol-keyed property of the context (a `WeakMap` entry per request cost more than the lookup).
 */
const SETTINGS = Symbol('tokenguard.settings');
type WithSettings = Context & { [SETTINGS]?: ResolvedAdapterOptions };

export function setContext(c: Context, settings: ResolvedAdapterOptions): void {
  (c as WithSettings)[SETTINGS] = settings;
}

export function getContext(c: Context): ResolvedAdapterOptions | undefined {
  return (c as WithSettings)[SETTINGS];
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
