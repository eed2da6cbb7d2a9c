import type { ResolvedAdapterOptions } from '@tokenguard/core';
import type { FastifyRequest } from 'fastify';

/** The plugin settings that authenticated a request, for the guards that run after. */
const contexts = new WeakMap<FastifyRequest, ResolvedAdapterOptions>();

export function setContext(request: FastifyRequest, settings: ResolvedAdapterOptions): void {
  contexts.set(request, settings);
}

export function getContext(request: FastifyRequest): ResolvedAdapterOptions | undefined {
  return contexts.get(request);
}
