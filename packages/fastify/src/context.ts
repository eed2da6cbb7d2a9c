import type { ResolvedAdapterOptions } from '@tokenguard/core';
import type { FastifyRequest } from 'fastify';

/**
 * The plugin settings that authenticated a request, for the guards that run after (the last of the
 * plugin's hooks to authenticate it): a property under a symbol, set by the hook on the requests it
 * authenticates. Not a request decorator: a second decorated field makes the store in Fastify's
 * request constructor megamorphic, a cost to every request of the app, its public routes included.
 */
const SETTINGS: unique symbol = Symbol.for('@tokenguard/fastify.settings');
type WithSettings = FastifyRequest & { [SETTINGS]?: ResolvedAdapterOptions };

export function setContext(request: FastifyRequest, settings: ResolvedAdapterOptions): void {
  (request as WithSettings)[SETTINGS] = settings;
}

export function getContext(request: FastifyRequest): ResolvedAdapterOptions | undefined {
  return (request as WithSettings)[SETTINGS];
}
