import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  requireAnyScope,
  requireClaims,
  requireScopes,
  requireTenant,
  tokenguard,
} from '@tokenguard/express';
import express, { type Request, type Response } from 'express';
import { ADMIN_CLAIM, describeCaller, type StartApp } from './types.js';

/** The conformance routes on Express, declared the Express way. */
export const startExpressApp: StartApp = async ({ validator, transport }) => {
  const app = express();
  const echo = (req: Request, res: Response) => {
    res.json(describeCaller(req.auth));
  };
  const optional = tokenguard(validator, { optional: true, transport });
  app.get('/public', optional, echo);
  app.get('/public/orders', optional, requireScopes('orders:read'), echo);
  app.use(tokenguard(validator, { transport }));
  app.get('/me', echo);
  app.get('/orders', requireScopes('orders:read'), echo);
  app.post('/orders', requireScopes('orders:write'), echo);
  app.get('/reports', requireAnyScope('admin', 'read'), echo);
  app.get(
    '/tenants/:tenant/orders',
    requireTenant((req) => req.params.tenant),
    echo,
  );
  app.get('/admin', requireClaims(ADMIN_CLAIM), echo);
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};
