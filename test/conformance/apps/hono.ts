import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { requireAnyScope, requireClaims, requireScopes, requireTenant, tokenguard } from '@tokenguard/hono';
import { type Context, Hono } from 'hono';
import { ADMIN_CLAIM, describeCaller, type RunningApp, type StartApp } from './types.js';

/** The conformance routes on Hono, served by @hono/node-server. */
export const startHonoApp: StartApp = async ({ validator, transport }) => {
  const app = new Hono();
  const echo = (c: Context) => c.json(describeCaller(c.get('auth')));
  const optional = tokenguard(validator, { optional: true, transport });
  app.get('/public', optional, echo);
  app.get('/public/orders', optional, requireScopes('orders:read'), echo);
  app.use('*', tokenguard(validator, { transport }));
  app.get('/me', echo);
  app.get('/orders', requireScopes('orders:read'), echo);
  app.post('/orders', requireScopes('orders:write'), echo);
  app.get('/reports', requireAnyScope('admin', 'read'), echo);
  app.get(
    '/tenants/:tenant/orders',
    requireTenant((c) => c.req.param('tenant')),
    echo,
  );
  app.get('/admin', requireClaims(ADMIN_CLAIM), echo);
  return serveOnLoopback(app);
};

/**
 * The same routes, each the route's one handler: `auth.protect(...guards, handler)`. (A path no
 * route has is a 404 here, with or without a token; the app above checks the token first. No row
 * sends one.)
 */
export const startHonoProtectApp: StartApp = async ({ validator, transport }) => {
  const app = new Hono();
  const echo = (c: Context) => c.json(describeCaller(c.get('auth')));
  const optional = tokenguard(validator, { optional: true, transport });
  const auth = tokenguard(validator, { transport });
  app.get('/public', optional.protect(echo));
  app.get('/public/orders', optional.protect(requireScopes('orders:read'), echo));
  app.get('/me', auth.protect(echo));
  app.get('/orders', auth.protect(requireScopes('orders:read'), echo));
  app.post('/orders', auth.protect(requireScopes('orders:write'), echo));
  app.get('/reports', auth.protect(requireAnyScope('admin', 'read'), echo));
  app.get(
    '/tenants/:tenant/orders',
    auth.protect(
      requireTenant((c) => c.req.param('tenant')),
      echo,
    ),
  );
  app.get('/admin', auth.protect(requireClaims(ADMIN_CLAIM), echo));
  return serveOnLoopback(app);
};

async function serveOnLoopback(app: Hono): Promise<RunningApp> {
  const { server, port } = await new Promise<{ server: Server; port: number }>((resolve) => {
    const listening = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve({ server: listening as Server, port: info.port }),
    );
  });
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
