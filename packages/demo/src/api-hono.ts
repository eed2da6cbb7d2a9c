import { serve } from '@hono/node-server';
import type { Validator } from '@tokenguard/core';
import { requireScopes, tokenguard } from '@tokenguard/hono';
import { Hono } from 'hono';
import type { RunningApi } from './api.js';

/**
 * The demo API with Hono on `@hono/node-server`: the same routes, `auth` read from `c.var.auth`.
 *
 * @example
 * ```ts
 * const api = await startHonoApi(validator);
 * ```
 */
export async function startHonoApi(validator: Validator): Promise<RunningApi> {
  const app = new Hono();
  app.use('*', tokenguard(validator));
  app.get('/orders', requireScopes('orders:read'), (c) =>
    c.json({ orders: ['#1001', '#1002'], auth: c.var.auth }),
  );
  app.get('/admin', requireScopes('admin'), (c) => c.json({ admin: true, auth: c.var.auth }));
  app.get('/me', (c) => c.json({ auth: c.var.auth }));
  let closeServer: () => Promise<void> = async () => {};
  const port = await new Promise<number>((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
      server.off('error', reject);
      resolve(info.port);
    });
    server.once('error', reject);
    closeServer = () =>
      new Promise<void>((done) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => done());
      });
  });
  return { framework: 'hono', url: `http://127.0.0.1:${port}`, close: () => closeServer() };
}
