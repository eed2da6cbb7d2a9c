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

/** The `express` module an app is built with: Express 5 (`express`) or Express 4 (`express4`). */
export type ExpressModule = typeof express;

/** A body parser of the app's own, installed before `tokenguard()`. */
export type BodyParser = 'json' | 'urlencoded';

export interface ExpressAppOptions {
  /**
   * The app's own `express.json()` / `express.urlencoded({ extended: false })`, in this order,
   * before `tokenguard()`. On Express 4, `json()` sets `req.body = {}` on every request, a form one
   * included, without reading it.
   */
  bodyParsers?: readonly BodyParser[];
}

/**
 * Starts the conformance routes on an app made by this `express` module, declared the Express way.
 * The adapter is the same `@tokenguard/express` whichever Express builds the app.
 *
 * @example
 * ```ts
 * import express4 from 'express4';
 * const startExpress4App = expressAppStarter(express4, { bodyParsers: ['json'] });
 * const app = await startExpress4App({ validator, transport: { body: true } });
 * ```
 */
export function expressAppStarter(createExpress: ExpressModule, options: ExpressAppOptions = {}): StartApp {
  return async ({ validator, transport }) => {
    const app = createExpress();
    for (const parser of options.bodyParsers ?? []) {
      app.use(parser === 'json' ? createExpress.json() : createExpress.urlencoded({ extended: false }));
    }
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
}

/** The conformance routes on Express 5. */
export const startExpressApp: StartApp = expressAppStarter(express);

/** The conformance routes on Express 5 after the app's own body parsers. */
export const startExpressAppAfter = (...bodyParsers: BodyParser[]): StartApp =>
  expressAppStarter(express, { bodyParsers });
