/**
 * Type-level checks of `AuthInfo` and `AccessTokenClaims` (packages/core/src/auth-info.ts) against the
 * core README ("The validator": frozen, "as its type says read-only"; `scopes` a read-only Set; treat
 * `claims` as read-only), on `auth` as each adapter hands it out. Checked by `pnpm typecheck` (the
 * `@ts-expect-error` lines must stay errors); the bodies never run. Where the type does not keep the
 * promise: types-authinfo-expires-at-setters-compile.test.ts, types-authinfo-spread-typed-with-token.test.ts.
 */
import type { AccessTokenClaims, AuthInfo } from '@tokenguard/core';
import type { Request } from 'express';
import type { FastifyRequest } from 'fastify';
import type { Context } from 'hono';
import { describe, expect, expectTypeOf, it } from 'vitest';
import '@tokenguard/express';
import '@tokenguard/fastify';
import '@tokenguard/hono';

describe('AuthInfo, read-only as the core README says', () => {
  it('refuses writes to its fields, scopes, audience and claims', () => {
    const writes = (auth: AuthInfo): void => {
      // @ts-expect-error frozen: a field is read-only
      auth.subject = 'someone-else';
      // @ts-expect-error frozen: the tenant guards compare is read-only
      auth.tenant = 'acme';
      // @ts-expect-error frozen
      auth.token = 'x';
      // @ts-expect-error a ReadonlySet: add, delete and clear throw on a shared set
      auth.scopes.add('admin');
      // @ts-expect-error a ReadonlySet
      auth.scopes.delete('orders:read');
      // @ts-expect-error a ReadonlySet
      auth.scopes.clear();
      // @ts-expect-error a readonly list
      auth.audience.push('https://evil.example');
      // @ts-expect-error claims are read-only (index signature)
      auth.claims.roles = ['admin'];
      // @ts-expect-error claims are read-only (a registered claim)
      auth.claims.sub = 'someone-else';
      // @ts-expect-error claims are read-only
      delete auth.claims.exp;
      // Copies are writable, as the README says to make them.
      const scopes = new Set(auth.scopes);
      scopes.add('admin');
      const claims = structuredClone(auth.claims) as Record<string, unknown>;
      claims.roles = ['admin'];
    };
    expect(typeof writes).toBe('function');
  });

  it('types the fields as documented', () => {
    expectTypeOf<AuthInfo['scopes']>().toEqualTypeOf<ReadonlySet<string>>();
    expectTypeOf<AuthInfo['audience']>().toEqualTypeOf<readonly string[]>();
    expectTypeOf<AuthInfo['subject']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<AuthInfo['clientId']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<AuthInfo['tenant']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<AuthInfo['source']>().toEqualTypeOf<'jwt' | 'introspection'>();
    expectTypeOf<AuthInfo['claims']>().toEqualTypeOf<AccessTokenClaims>();
    expectTypeOf<AccessTokenClaims['aud']>().toEqualTypeOf<string | readonly string[] | undefined>();
    expectTypeOf<AccessTokenClaims['scope']>().toEqualTypeOf<string | readonly string[] | undefined>();
    // Any other claim is unknown: read it with a check.
    expectTypeOf<AccessTokenClaims['tid']>().toEqualTypeOf<unknown>();
  });

  it('is the same read-only type on every adapter', () => {
    expectTypeOf<NonNullable<Request['auth']>>().toEqualTypeOf<AuthInfo>();
    expectTypeOf<NonNullable<FastifyRequest['auth']>>().toEqualTypeOf<AuthInfo>();
    const fromHono = (c: Context): void => {
      const auth = c.get('auth');
      expectTypeOf(auth).toEqualTypeOf<AuthInfo | undefined>();
      // @ts-expect-error read-only through c.get() too
      auth?.scopes.add('admin');
    };
    const fromExpress = (req: Request): void => {
      // @ts-expect-error read-only through req.auth too
      req.auth?.audience.push('https://evil.example');
      // Assigning req.auth itself is allowed (packages/express/README.md "Types").
      req.auth = undefined;
    };
    expect([typeof fromHono, typeof fromExpress]).toEqual(['function', 'function']);
  });
});
