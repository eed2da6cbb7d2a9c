import type { AuthInfo, Validator } from '@tokenguard/core';
import express, { type Request } from 'express';
import { describe, expectTypeOf, it } from 'vitest';
import { requireScopes, requireTenant, tokenguard } from './index.js';

describe('@tokenguard/express types', () => {
  it('types req.auth as an optional AuthInfo', () => {
    expectTypeOf<Request['auth']>().toEqualTypeOf<AuthInfo | undefined>();
    const app = express();
    app.get('/x', requireScopes('a'), (req, res) => {
      expectTypeOf(req.auth).toEqualTypeOf<AuthInfo | undefined>();
      // @ts-expect-error auth may be undefined (optional-auth routes): it must be checked
      res.json(req.auth.subject);
    });
  });

  it('accepts both forms of options and rejects unknown ones', () => {
    expectTypeOf(tokenguard).toBeCallableWith({ issuer: 'https://i', audience: 'https://a' });
    expectTypeOf(tokenguard).toBeCallableWith({ issuer: 'https://i', audience: null, optional: true });
    expectTypeOf(tokenguard).toBeCallableWith({} as Validator, { onError: 'next' });
    expectTypeOf(tokenguard).toBeCallableWith({ validator: {} as Validator, transport: { body: true } });
    // @ts-expect-error onError is 'respond' or 'next'
    tokenguard({} as Validator, { onError: 'throw' });
    expectTypeOf(tokenguard({} as Validator).validator).toEqualTypeOf<Validator>();
  });

  it('gives requireTenant the express request', () => {
    requireTenant((req) => {
      expectTypeOf(req).toEqualTypeOf<Request>();
      return req.params.tenant;
    });
  });
});
