import type { AuthInfo, ResolvedAdapterOptions } from '@tokenguard/core';
import express from 'express';

/** What tokenguard keeps for a request: its caller, and the settings of the middleware that ran. */
interface RequestState {
  /** The value of `req.auth`. */
  auth: AuthInfo | undefined;
  /** The `tokenguard()` that ran on the request, for its guards; `undefined` when none ran. */
  settings: ResolvedAdapterOptions | undefined;
}

/**
 * One entry per request, in a `WeakMap` rather than in properties of `req`: Express 5 gives every
 * request a hidden class of its own (`Object.setPrototypeOf(req, app.request)`, not cached by V8
 * there), so adding a property to `req` builds a new hidden class each time (~14k instructions per
 * request, callgrind via `benchmarks/http/profile.ts`). One entry, not two: each `WeakMap.set`
 * with a short-lived key costs V8 an ephemeron remembered-set insertion (~0.6 µs in a tight loop,
 * ~1.6 µs in an Express server, sampled with `--cpu-prof`).
 */
const states = new WeakMap<object, RequestState>();

/**
 * Makes `req.auth` an accessor on Express's shared request prototype (`express.request`, the
 * documented place to extend every request) that reads and writes the request's entry. Reading and
 * assigning `req.auth` work as before, by any code, on every request of every app of this Express,
 * also after the request leaves a mounted sub-app; a request whose prototype chain does not reach
 * this `express.request` (another copy of Express) gets an own property, as before. Nothing is
 * changed when something else already defined `auth` there.
 */
export function installAuthAccessor(): void {
  const prototype = express.request as object;
  if (Object.hasOwn(prototype, 'auth')) return;
  Object.defineProperty(prototype, 'auth', {
    configurable: true,
    enumerable: true,
    get(this: object): AuthInfo | undefined {
      return states.get(this)?.auth;
    },
    set(this: object, auth: AuthInfo | undefined) {
      const state = states.get(this);
      if (state === undefined) states.set(this, { auth, settings: undefined });
      else state.auth = auth;
    },
  });
}

/** Records that `settings`' middleware runs on `req` (its guards read them); `req.auth` is kept. */
export function enterMiddleware(req: object, settings: ResolvedAdapterOptions): void {
  const state = states.get(req);
  if (state === undefined) states.set(req, { auth: undefined, settings });
  else state.settings = settings;
}

/** The settings of the last `tokenguard()` that ran on `req`, if any did. */
export function middlewareSettings(req: object): ResolvedAdapterOptions | undefined {
  return states.get(req)?.settings;
}
