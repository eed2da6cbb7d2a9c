import type { Validator } from '@tokenguard/core';
import tokenguard from '@tokenguard/fastify';
import Fastify from 'fastify';
import type { RunningApi } from './api.js';

/**
 * The demo API with Fastify: the same routes as the Express one, requirements in route `config.auth`.
 *
 * @example
 * ```ts
 * const api = await startFastifyApi(validator);
 * ```
 */
export async function startFastifyApi(validator: Validator): Promise<RunningApi> {
  const app = Fastify();
  await app.register(tokenguard, { validator });
  app.get('/orders', { config: { auth: { scopes: ['orders:read'] } } }, async (request) => ({
    orders: ['#1001', '#1002'],
    auth: request.auth,
  }));
  app.get('/admin', { config: { auth: { scopes: ['admin'] } } }, async (request) => ({
    admin: true,
    auth: request.auth,
  }));
  app.get('/me', async (request) => ({ auth: request.auth }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { framework: 'fastify', url, close: () => app.close() };
}
