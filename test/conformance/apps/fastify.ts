import tokenguard from '@tokenguard/fastify';
import Fastify, { type FastifyRequest } from 'fastify';
import { ADMIN_CLAIM, describeCaller, type StartApp } from './types.js';

/** The conformance routes on Fastify: route `config.auth` and `preHandler` decorators, both used. */
export const startFastifyApp: StartApp = async ({ validator, transport }) => {
  const app = Fastify();
  await app.register(tokenguard, { validator, transport });
  const echo = async (request: FastifyRequest) => describeCaller(request.auth);
  app.get('/public', { config: { auth: { optional: true } } }, echo);
  app.get(
    '/public/orders',
    { config: { auth: { optional: true } }, preHandler: app.requireScopes('orders:read') },
    echo,
  );
  app.get('/me', echo);
  app.get('/orders', { config: { auth: { scopes: ['orders:read'] } } }, echo);
  app.post('/orders', { preHandler: app.requireScopes('orders:write') }, echo);
  app.get('/reports', { config: { auth: { anyScopes: ['admin', 'read'] } } }, echo);
  app.get(
    '/tenants/:tenant/orders',
    { preHandler: app.requireTenant((request) => (request.params as { tenant: string }).tenant) },
    echo,
  );
  app.get('/admin', { config: { auth: { claims: [ADMIN_CLAIM] } } }, echo);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
};
