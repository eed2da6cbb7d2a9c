import type { AuthInfo, Validator } from '@tokenguard/core';
import { Hono } from 'hono';
import { describe, expectTypeOf, it } from 'vitest';
import {
  type AdapterOptions,
  type AuthenticationRequirement,
  type ClientCertificateReader,
  requireAuthentication,
  requireScopes,
  type TokenguardGuard,
  type TokenguardVariables,
  tokenguard,
} from './index.js';

declare const validator: Validator;

describe('@tokenguard/hono types', () => {
  it('types c.var.auth as AuthInfo after tokenguard()', () => {
    new Hono().get('/x', tokenguard(validator), (c) => {
      expectTypeOf(c.var.auth).toEqualTypeOf<AuthInfo>();
      return c.text(c.var.auth.subject ?? '');
    });
    new Hono<{ Variables: TokenguardVariables }>().get('/y', (c) => {
      expectTypeOf(c.var.auth).toEqualTypeOf<AuthInfo>();
      return c.text('y');
    });
  });

  it('types c.var.auth in a handler given to auth.protect() as the middleware types it', () => {
    const auth = tokenguard(validator);
    new Hono().get(
      '/x',
      auth.protect((c) => {
        expectTypeOf(c.var.auth).toEqualTypeOf<AuthInfo>();
        return c.text(c.var.auth.subject ?? '');
      }),
    );
    new Hono().get(
      '/y',
      auth.protect(requireScopes('a'), requireScopes('b'), (c) => c.text(c.var.auth.subject ?? '')),
    );
    tokenguard(validator, { optional: true }).protect((c) => {
      expectTypeOf(c.var.auth).toEqualTypeOf<AuthInfo | undefined>();
      return c.text('z');
    });
    // @ts-expect-error a guard alone: protect() needs the handler last
    auth.protect(requireScopes('a'));
  });

  it("types the app's Env and the route's params in auth.protect() when given, and the route's output", () => {
    type AppEnv = { Bindings: { DB: string }; Variables: { requestId: string } };
    const auth = tokenguard(validator);
    new Hono<AppEnv>().get(
      '/tenants/:tenant',
      auth.protect<AppEnv, '/tenants/:tenant'>((c) => {
        expectTypeOf(c.env.DB).toEqualTypeOf<string>();
        expectTypeOf(c.var.requestId).toEqualTypeOf<string>();
        expectTypeOf(c.req.param('tenant')).toEqualTypeOf<string>();
        expectTypeOf(c.var.auth).toEqualTypeOf<AuthInfo>();
        return c.text('ok');
      }),
    );
    // The schema an hc / RPC client reads: the same as the middleware form's.
    const chain = new Hono().get('/x', auth, (c) => c.json({ a: 1 }));
    const guarded = new Hono().get(
      '/x',
      auth.protect((c) => c.json({ a: 1 })),
    );
    type SchemaOf<T> = T extends Hono<infer _E, infer S> ? S : never;
    expectTypeOf<SchemaOf<typeof guarded>>().toEqualTypeOf<SchemaOf<typeof chain>>();
    // Like a handler given to app.get(), one given to protect() returns a Response.
    // @ts-expect-error no Response returned
    auth.protect(() => undefined);
  });

  it('types c.var.auth as possibly undefined on optional routes and elsewhere', () => {
    new Hono().get('/x', tokenguard(validator, { optional: true }), (c) => {
      expectTypeOf(c.var.auth).toEqualTypeOf<AuthInfo | undefined>();
      // @ts-expect-error anonymous requests have no auth: it must be checked
      return c.text(c.var.auth.subject);
    });
    new Hono().get('/z', requireScopes('a'), (c) => {
      expectTypeOf(c.get('auth')).toEqualTypeOf<AuthInfo | undefined>();
      return c.text('z');
    });
  });

  it('types c.var.auth as possibly undefined when optional is a boolean known only at run time', () => {
    const flag = process.env.AUTH_OPTIONAL === '1';
    new Hono().get('/x', tokenguard(validator, { optional: flag }), (c) => {
      expectTypeOf(c.var.auth).toEqualTypeOf<AuthInfo | undefined>();
      return c.text('x');
    });
    new Hono().get('/y', tokenguard({ validator, optional: flag }), (c) => {
      expectTypeOf(c.var.auth).toEqualTypeOf<AuthInfo | undefined>();
      return c.text('y');
    });
    const options: AdapterOptions = { optional: flag };
    new Hono().get('/z', tokenguard(validator, options), (c) => {
      expectTypeOf(c.var.auth).toEqualTypeOf<AuthInfo | undefined>();
      return c.text('z');
    });
    // Known not optional: the caller is there.
    new Hono().get('/w', tokenguard(validator, { optional: false, transport: { body: true } }), (c) => {
      expectTypeOf(c.var.auth).toEqualTypeOf<AuthInfo>();
      return c.text('w');
    });
    new Hono().get('/v', tokenguard({ issuer: 'https://i', audience: 'https://a', onError: 'next' }), (c) => {
      expectTypeOf(c.var.auth).toEqualTypeOf<AuthInfo>();
      return c.text('v');
    });
  });

  it('types requireAuthentication as a guard taking acrValues and maxAgeSec', () => {
    expectTypeOf(
      requireAuthentication({ acrValues: ['mfa'], maxAgeSec: 300 }),
    ).toEqualTypeOf<TokenguardGuard>();
    expectTypeOf(requireAuthentication).parameter(0).toEqualTypeOf<AuthenticationRequirement>();
    // @ts-expect-error acrValues is a list
    requireAuthentication({ acrValues: 'mfa' });
    // @ts-expect-error at least one of acrValues and maxAgeSec
    requireAuthentication({});
    requireAuthentication({ maxAgeSec: 60 });
  });

  it('accepts both option forms', () => {
    expectTypeOf(tokenguard).toBeCallableWith({ issuer: 'https://i', audience: 'https://a' });
    expectTypeOf(tokenguard).toBeCallableWith({ validator, optional: true, transport: { body: true } });
    // @ts-expect-error onError is 'respond' or 'next'
    tokenguard(validator, { onError: 'throw' });
  });

  it('types the clientCertificate option as a function of the context', () => {
    const fromHeader: ClientCertificateReader = (c) => c.req.header('x-client-cert');
    expectTypeOf(tokenguard).toBeCallableWith(validator, { clientCertificate: fromHeader });
    expectTypeOf(tokenguard).toBeCallableWith({ validator, clientCertificate: fromHeader, optional: true });
    expectTypeOf(tokenguard).toBeCallableWith({ issuer: 'https://i', audience: 'https://a', mtls: true });
    const options: AdapterOptions = { clientCertificate: fromHeader };
    expectTypeOf(tokenguard).toBeCallableWith(validator, options);
    // @ts-expect-error a function, not a header name
    tokenguard(validator, { clientCertificate: 'x-client-cert' });
  });
});
