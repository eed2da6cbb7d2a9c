import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Validator } from '@tokenguard/core';
import { requireScopes, tokenguard } from '@tokenguard/express';
import express from 'express';
import type { RunningApi } from './api.js';

/**
 * The demo API with Express: every route needs a valid token, `/orders` needs `orders:read`,
 * `/admin` needs `admin`. Handlers answer with the `auth` they saw.
 *
 * @example
 * ```ts
 * const api = await startExpressApi(validator);
 * ```
 */
export async function startExpressApi(validator: Validator): Promise<RunningApi> {
  const app = express();
  app.use(tokenguard(validator));
  app.get('/orders', requireScopes('orders:read'), (req, res) => {
    res.json({ orders: ['#1001', '#1002'], auth: req.auth });
  });
  app.get('/me', (req, res) => {
    res.json({ auth: req.auth });
  });
  app.get('/admin', requireScopes('admin'), (req, res) => {
    res.json({ admin: true, auth: req.auth });
  });
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    framework: 'express',
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
