/**
 * Type-level checks of `c.var.auth` in @tokenguard/hono (README "Types" and "A route as one
 * handler") where packages/hono/src/index.test-d.ts does not look: sub-apps mounted with
 * `app.route()`, typed with `TokenguardVariables` / `OptionalTokenguardVariables` or not at all; guards
 * on a typed app; `auth.protect<Env, Path>()` with guards before the handler; what `c.set('auth')`
 * takes. Checked by `pnpm typecheck` (`@ts-expect-error` lines must stay errors); the handlers never
 * run. Where the types do not hold: types-hono-protect-app-env-hides-optional-auth.test.ts.
 */
import type { AuthInfo, Validator } from '@tokenguard/core';
import {
  type OptionalTokenguardVariables,
  requireScopes,
  requireTenant,
  type TokenguardVariables,
  tokenguard,
} from '@tokenguard/hono';
import { Hono } from 'hono';
import { describe, expect, expectTypeOf, it } from 'vitest';

describe('@tokenguard/hono: c.var.auth across sub-apps, guards and protect()', () => {
  it('types each sub-app by its own Variables, whatever the parent mounting it', () => {
    const build = (validator: Validator): Hono<{ Variables: TokenguardVariables }> => {
      const app = new Hono<{ Variables: TokenguardVariables }>();
      app.use('/api/*', tokenguard(validator));
      // A sub-app of its own type: it cannot see the parent's middleware, so auth may be absent.
      const plain = new Hono();
      plain.get('/me', (c) => {
        expectTypeOf(c.var.auth).toEqualTypeOf<AuthInfo | undefined>();
        // @ts-expect-error not known to run behind tokenguard()
        return c.text(c.var.auth.subject ?? '');
      });
      const guarded = new Hono<{ Variables: TokenguardVariables }>();
      guarded.get('/orders', requireScopes('orders:read'), (c) => c.text(c.var.auth.subject ?? ''));
      const open = new Hono<{ Variables: OptionalTokenguardVariables }>();
      open.get('/catalog', tokenguard(validator, { optional: true }), (c) => {
        expectTypeOf(c.var.auth).toEqualTypeOf<AuthInfo | undefined>();
        // @ts-expect-error anonymous requests have no auth
        return c.text(c.var.auth.subject ?? '');
      });
      app.route('/api', plain);
      app.route('/api', guarded);
      app.route('/', open);
      return app;
    };
    expect(typeof build).toBe('function');
  });

  it('keeps auth: AuthInfo on a typed app after a guard, and AuthInfo | undefined elsewhere', () => {
    const build = (): void => {
      new Hono<{ Variables: TokenguardVariables }>().get(
        '/a',
        requireScopes('a'),
        requireTenant('acme'),
        (c) => {
          expectTypeOf(c.var.auth).toEqualTypeOf<AuthInfo>();
          return c.text('a');
        },
      );
      new Hono().get('/b', requireScopes('a'), (c) => {
        expectTypeOf(c.var.auth).toEqualTypeOf<AuthInfo | undefined>();
        return c.text('b');
      });
      new Hono().get('/c', (c) => {
        // @ts-expect-error c.set('auth') takes an AuthInfo (or undefined), nothing else
        c.set('auth', { subject: 'forged' });
        c.set('auth', undefined);
        return c.text('c');
      });
    };
    expect(typeof build).toBe('function');
  });

  it('auth.protect<Env, Path>(...guards, handler): the app’s Env, the path’s params and the caller', () => {
    type AppEnv = { Bindings: { REGION: string }; Variables: { requestId: string } };
    const build = (validator: Validator): void => {
      const auth = tokenguard(validator);
      new Hono<AppEnv>().get(
        '/tenants/:tenant/orders',
        auth.protect<AppEnv, '/tenants/:tenant/orders'>(
          requireScopes('orders:read'),
          requireTenant((c) => c.req.param('tenant')),
          (c) => {
            expectTypeOf(c.req.param('tenant')).toEqualTypeOf<string>();
            expectTypeOf(c.env.REGION).toEqualTypeOf<string>();
            expectTypeOf(c.var.requestId).toEqualTypeOf<string>();
            expectTypeOf(c.var.auth).toEqualTypeOf<AuthInfo>();
            return c.text(c.var.auth.subject ?? '');
          },
        ),
      );
      // @ts-expect-error a guard after the handler: protect() takes the handler last
      auth.protect((c) => c.text('x'), requireScopes('a'));
      const maybe = tokenguard(validator, { optional: true });
      new Hono().get(
        '/catalog',
        maybe.protect(requireScopes('a'), (c) => {
          expectTypeOf(c.var.auth).toEqualTypeOf<AuthInfo | undefined>();
          return c.text('x');
        }),
      );
    };
    expect(typeof build).toBe('function');
  });
});
