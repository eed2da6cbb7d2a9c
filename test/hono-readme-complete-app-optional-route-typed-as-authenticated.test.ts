/**
 * packages/hono/README.md "A complete app" serves an optional route (`tokenguard(validator, { optional:
 * true })`, "anonymous requests pass with c.var.auth undefined") beside routes that all need a token. The
 * app is typed `new Hono<{ Variables: TokenguardVariables }>()` (`auth: AuthInfo`), so the optional route
 * sits on a router of its own typed `OptionalTokenguardVariables`, where `c.var.auth` is
 * `AuthInfo | undefined`, as the README's "Types" section says. The README once put /catalog on `app`
 * itself: there `c.var.auth.subject` compiled and threw (a 500) for every anonymous request (review
 * helper-122, session 23).
 *
 * The README block is compiled as written (TypeScript API, the workspace tsconfig) with one user line on
 * /catalog that reads the caller; a real dev issuer and @hono/node-server show that anonymous requests
 * there do have no auth.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createValidator, type Validator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { type OptionalTokenguardVariables, type TokenguardVariables, tokenguard } from '@tokenguard/hono';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeBlockAfter, readmeSection } from './support/readme-blocks.js';
import { diagnosticsOf } from './support/type-diagnostics.js';

const CATALOG_LINE = "  c.json({ personalised: c.get('auth') !== undefined }),";
const PROBE_LINE = "  c.json({ personalised: c.get('auth') !== undefined, caller: c.var.auth.subject }),";

describe('packages/hono/README.md "A complete app": the optional /catalog route', () => {
  it('types c.var.auth as possibly undefined there, as the Types section says', { timeout: 60_000 }, () => {
    const block = codeBlockAfter(
      readmeSection('A complete app', 'packages/hono/README.md'),
      'const app = new Hono',
    );
    expect(block).toContain('new Hono<{ Variables: TokenguardVariables }>()');
    expect(block).toContain(CATALOG_LINE);
    const diagnostics = diagnosticsOfProbe(block.replace(CATALOG_LINE, PROBE_LINE));
    expect(diagnostics).toContainEqual(
      expect.stringMatching(/^TS18048: 'c\.var\.auth' is possibly 'undefined'/),
    );
  });

  describe('at run time', () => {
    let issuer: DevIssuer;
    let validator: Validator;
    let server: Server;
    let base: string;

    beforeAll(async () => {
      issuer = await startDevIssuer();
      validator = createValidator({ issuer: issuer.issuer, audience: 'https://api.test' });
      // As the README builds it.
      const app = new Hono<{ Variables: TokenguardVariables }>();
      const open = new Hono<{ Variables: OptionalTokenguardVariables }>();
      open.get('/catalog', tokenguard(validator, { optional: true }), (c) =>
        c.json({ personalised: c.get('auth') !== undefined }),
      );
      app.route('/', open);
      server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
      await new Promise((resolve) => server.once('listening', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
      await validator?.close();
      await issuer?.close();
    });

    it('an anonymous request on /catalog has no auth, a signed-in one has', async () => {
      const anonymous = await fetch(`${base}/catalog`);
      expect(await anonymous.json()).toEqual({ personalised: false });
      const token = await issuer.getToken({ resource: 'https://api.test', scope: 'read' });
      const signedIn = await fetch(`${base}/catalog`, { headers: { authorization: `Bearer ${token}` } });
      expect(await signedIn.json()).toEqual({ personalised: true });
    });
  });
});

function diagnosticsOfProbe(code: string): string[] {
  return diagnosticsOf(code, 'hono_readme_complete_app');
}
