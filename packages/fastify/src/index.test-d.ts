import type { AuthInfo } from '@tokenguard/core';
import Fastify, { type FastifyRequest } from 'fastify';
import { describe, expectTypeOf, it } from 'vitest';
import tokenguard, {
  type ClientCertificateReader,
  requireAuthentication,
  type TokenguardGuard,
  tokenguardPlugin,
} from './index.js';

describe('@tokenguard/fastify types', () => {
  it('types request.auth as AuthInfo or null', () => {
    expectTypeOf<FastifyRequest['auth']>().toEqualTypeOf<AuthInfo | null>();
    const app = Fastify();
    app.get('/x', async (request) => {
      expectTypeOf(request.auth).toEqualTypeOf<AuthInfo | null>();
      // @ts-expect-error auth is null on public and anonymous optional routes: it must be checked
      return request.auth.subject;
    });
  });

  it('types the route config and the guard decorators', () => {
    const app = Fastify();
    app.get('/a', { config: { auth: { scopes: ['a'], optional: true } } }, async () => 'a');
    app.get('/b', { config: { auth: false } }, async () => 'b');
    // @ts-expect-error scopes is a list
    app.get('/c', { config: { auth: { scopes: 'a' } } }, async () => 'c');
    app.get('/d', { preHandler: app.requireScopes('a') }, async () => 'd');
    app.get<{ Params: { tenant: string } }>(
      '/e/:tenant',
      { preHandler: app.requireTenant('acme') },
      async () => 'e',
    );
    expectTypeOf(app.requireAnyScope('a', 'b')).toEqualTypeOf<TokenguardGuard>();
    app.post(
      '/f',
      { config: { auth: { authentication: { acrValues: ['mfa'], maxAgeSec: 300 } } } },
      async () => 'f',
    );
    // @ts-expect-error maxAgeSec is a number of seconds
    app.post('/g', { config: { auth: { authentication: { maxAgeSec: '300' } } } }, async () => 'g');
    // @ts-expect-error at least one of acrValues and maxAgeSec
    app.post('/h', { config: { auth: { authentication: {} } } }, async () => 'h');
    expectTypeOf(app.requireAuthentication({ maxAgeSec: 60 })).toEqualTypeOf<TokenguardGuard>();
    expectTypeOf(requireAuthentication({ acrValues: ['mfa'] })).toEqualTypeOf<TokenguardGuard>();
  });

  it('accepts both option forms at register', () => {
    const app = Fastify();
    app.register(tokenguard, { issuer: 'https://i', audience: 'https://a', optional: true });
    app.register(tokenguardPlugin, { validator: {} as never, transport: { body: true } });
  });

  it('types the clientCertificate option as a function of the Fastify request', () => {
    const app = Fastify();
    const fromHeader: ClientCertificateReader = (request) => {
      expectTypeOf(request).toEqualTypeOf<FastifyRequest>();
      const value = request.headers['x-client-cert'];
      return typeof value === 'string' ? value : undefined;
    };
    app.register(tokenguard, { validator: {} as never, clientCertificate: fromHeader });
    app.register(tokenguard, { issuer: 'https://i', audience: 'https://a', mtls: true });
    // @ts-expect-error a function, not a header name
    app.register(tokenguard, { validator: {} as never, clientCertificate: 'x-client-cert' });
  });
});
