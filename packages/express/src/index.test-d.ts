import type { AuthInfo, Validator } from '@tokenguard/core';
import express, { type Request } from 'express';
import { describe, expectTypeOf, it } from 'vitest';
import {
  type AuthenticationRequirement,
  type ClientCertificateReader,
  requireAuthentication,
  requireScopes,
  requireTenant,
  tokenguard,
} from './index.js';

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

  it('types requireAuthentication with acrValues and maxAgeSec', () => {
    const app = express();
    app.post(
      '/x',
      requireScopes('a'),
      requireAuthentication({ acrValues: ['mfa'], maxAgeSec: 300 }),
      () => {},
    );
    expectTypeOf(requireAuthentication).parameter(0).toEqualTypeOf<AuthenticationRequirement>();
    // @ts-expect-error acrValues is a list
    requireAuthentication({ acrValues: 'mfa' });
    // @ts-expect-error maxAgeSec is a number of seconds
    requireAuthentication({ maxAgeSec: '300' });
    // @ts-expect-error at least one of acrValues and maxAgeSec
    requireAuthentication({});
    requireAuthentication({ maxAgeSec: 60 });
  });

  it('types the clientCertificate option as a function of the express request', () => {
    const fromHeader: ClientCertificateReader = (req) => {
      expectTypeOf(req).toEqualTypeOf<Request>();
      return req.get('x-client-cert');
    };
    expectTypeOf(tokenguard).toBeCallableWith({} as Validator, { clientCertificate: fromHeader });
    expectTypeOf(tokenguard).toBeCallableWith({ validator: {} as Validator, clientCertificate: fromHeader });
    expectTypeOf(tokenguard).toBeCallableWith({ issuer: 'https://i', audience: null, mtls: true });
    // @ts-expect-error a function, not a header name
    tokenguard({} as Validator, { clientCertificate: 'x-client-cert' });
    // @ts-expect-error DER bytes or PEM text, not a number
    tokenguard({} as Validator, { clientCertificate: () => 42 });
  });

  it('gives requireTenant the express request', () => {
    requireTenant((req) => {
      expectTypeOf(req).toEqualTypeOf<Request>();
      return req.params.tenant;
    });
  });
});
