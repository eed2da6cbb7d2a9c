import type { ResolvedAdapterOptions } from '@tokenguard/core';
import type { FastifyRequest } from 'fastify';

/**
 * The plugin settings that authenticated a request, for the guards that run after: a request
 * decorator keyed by a symbol (declared by the plugin, so every request has the same shape), which
 * costs less per request than a `WeakMap` entry.
 */
export const SETTINGS: unique symbol = Symbol.for('@tokenguard/fastify.settings');
type WithSettings = FastifyRequest & { [SETTINGS]?: ResolvedAdapterOptions | null };

export function setContext(request: FastifyRequest, settings: ResolvedAdapterOptions): void {
  (request as WithSettings)[SETTINGS] = settings;
}

export function getContext(request: FastifyRequest): ResolvedAdapterOptions | undefined {
  return (request as WithSettings)[SETTINGS] ?? undefined;
}
