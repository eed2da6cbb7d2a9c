/**
 * packages/hono/README.md "A route as one handler": for a typed `c.env` or the app's variables, "name
 * the app's Env and the path: `auth.protect<AppEnv, '/api/tenants/:tenant'>((c) => ...)`. `c.var.auth`
 * is typed either way." `Protect<V>` typed the handler's Env as `E & { Variables: V }`: when the app's
 * Env carries `TokenguardVariables` (the type the README's complete app gives its app), the
 * intersection with an optional middleware's `{ auth: AuthInfo | undefined }` was `{ auth: AuthInfo }`,
 * so on an optional route `c.var.auth.subject` compiled and every anonymous request was a 500 (found
 * by a review). Now `ProtectedEnv` puts the middleware's own `auth` in place of the app's.
 *
 * Shown with the TypeScript API (the workspace tsconfig) and a real @hono/node-server on 127.0.0.1.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createValidator, type Validator } from '@tokenguard/core';
import { type TokenguardVariables, tokenguard } from '@tokenguard/hono';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, jwksOf } from './support/keys.js';
import { diagnosticsOf } from './support/type-diagnostics.js';

const ROUTE = `
import { createValidator } from '@tokenguard/core';
import { type TokenguardVariables, tokenguard } from '@tokenguard/hono';
import { Hono } from 'hono';

type AppEnv = { Bindings: { REGION: string }; Variables: TokenguardVariables & { requestId: string } };
const validator = createValidator({ issuer: 'https://id.example', audience: 'https://api.example' });
const maybe = tokenguard(validator, { optional: true });
const app = new Hono<AppEnv>();
app.get(
  '/catalog',
  maybe.protect<AppEnv, '/catalog'>((c) => c.json({ region: c.env.REGION, caller: c.var.auth.subject })),
);
`;

describe('@tokenguard/hono: auth.protect<AppEnv, Path>() of an optional middleware', () => {
  it('types c.var.auth as possibly undefined, as the middleware does', { timeout: 60_000 }, () => {
    // Without the type arguments the handler is refused (TS18048), as it should be.
    expect(
      diagnosticsOfProbe(ROUTE.replace("<AppEnv, '/catalog'>", '').replace('c.env.REGION', "'eu'")),
    ).toEqual([expect.stringMatching(/^TS18048: 'c\.var\.auth' is possibly 'undefined'/)]);
    // And with the app's Env named, as the README says to (it compiled before: ProtectedEnv).
    expect(diagnosticsOfProbe(ROUTE)).toContainEqual(
      expect.stringMatching(/^TS18048: 'c\.var\.auth' is possibly 'undefined'/),
    );
  });

  describe('at run time', () => {
    let validator: Validator;
    let server: Server;
    let base: string;

    beforeAll(async () => {
      validator = createValidator({
        issuer: 'https://id.example',
        audience: 'https://api.example',
        jwks: jwksOf(generateSigningKey('ES256')),
      });
      type AppEnv = { Variables: TokenguardVariables & { requestId: string } };
      const maybe = tokenguard(validator, { optional: true });
      const app = new Hono<AppEnv>();
      // The handler as the types now have it written: auth may be absent.
      app.get(
        '/catalog',
        maybe.protect<AppEnv, '/catalog'>((c) => c.json({ caller: c.var.auth?.subject ?? null })),
      );
      server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
      await new Promise((resolve) => server.once('listening', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
      await validator?.close();
    });

    it('an anonymous request is answered, with no caller', async () => {
      const response = await fetch(`${base}/catalog`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ caller: null });
    });
  });
});

function diagnosticsOfProbe(code: string): string[] {
  return diagnosticsOf(code, 'types_hono_protect_env');
}
