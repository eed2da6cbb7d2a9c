import type { Validator } from '@tokenguard/core';

/** The frameworks the demo can protect its API with. */
export type Framework = 'express' | 'fastify' | 'hono';

/** A demo API listening on 127.0.0.1. */
export interface RunningApi {
  readonly framework: Framework;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Starts the demo API with the chosen framework; each adapter is loaded only when picked.
 *
 * @example
 * ```ts
 * const api = await startApi('express', validator);
 * ```
 */
export async function startApi(framework: Framework, validator: Validator): Promise<RunningApi> {
  switch (framework) {
    case 'express':
      return (await import('./api-express.js')).startExpressApi(validator);
    case 'fastify':
      return (await import('./api-fastify.js')).startFastifyApi(validator);
    case 'hono':
      return (await import('./api-hono.js')).startHonoApi(validator);
  }
}
