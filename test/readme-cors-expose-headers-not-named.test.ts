/**
 * A browser SPA on another origin reads a response header only if the API's CORS
 * answer lists it in `Access-Control-Expose-Headers` (`WWW-Authenticate`, `DPoP-Nonce` and
 * `Retry-After` are not CORS-safelisted). What an SPA must act on is only there: the `scope` a 403
 * asks for, step-up's `acr_values` and `max_age` (the body says neither), the nonce a DPoP client
 * must retry with, and when to retry a 503. Each adapter README's "Browsers and CORS" names
 * them (a review found none did: a user configuring `cors` / `@fastify/cors` / `hono/cors` from them
 * exposed nothing, and the SPA got `null` for each). The first test shows the values are in the
 * header alone; the others check that each adapter README names the headers to expose.
 *
 * Real parts: oidc-provider (packages/dev-issuer), Express 5 with `cors` on 127.0.0.1 port 0.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createValidator, type Validator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { requireAuthentication, tokenguard } from '@tokenguard/express';
import cors from 'cors';
import express from 'express';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SPA = 'https://spa.example';

let issuer: DevIssuer;
let validator: Validator;
let server: Server;
let base: string;

beforeAll(async () => {
  issuer = await startDevIssuer();
  validator = createValidator({ issuer: issuer.issuer, audience: 'https://api.test' });
  const app = express();
  // What a user writes from the README and cors's own: nothing says which headers to expose.
  app.use(cors({ origin: [SPA], credentials: true, allowedHeaders: ['Authorization', 'Content-Type'] }));
  app.use(tokenguard(validator));
  app.post(
    '/orders/:id/refund',
    requireAuthentication({ acrValues: ['urn:example:mfa'], maxAgeSec: 300 }),
    (_req, res) => {
      res.json({ refunded: true });
    },
  );
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await validator?.close();
  await issuer?.close();
});

describe('what a cross-origin SPA can read of a refusal', () => {
  it("(held) step-up's acr_values and max_age are in WWW-Authenticate only, which is not exposed", async () => {
    const token = await issuer.getToken({ resource: 'https://api.test' });
    const response = await request(`${base}/orders/1/refund`, {
      method: 'POST',
      headers: { origin: SPA, authorization: `Bearer ${token}` },
    });
    const body = await response.body.text();
    expect(response.statusCode).toBe(401);
    expect(response.headers['access-control-allow-origin']).toBe(SPA);
    expect(response.headers['www-authenticate']).toMatch(/acr_values="urn:example:mfa".*max_age="?300/);
    expect(body).not.toContain('urn:example:mfa');
    expect(response.headers['access-control-expose-headers']).toBeUndefined();
  });
});

describe.each(['express', 'fastify', 'hono'])('packages/%s/README.md', (framework) => {
  it('names the headers a browser client must be allowed to read (Access-Control-Expose-Headers)', () => {
    const text = readFileSync(path.join(ROOT, 'packages', framework, 'README.md'), 'utf8');
    // Around a mention of the CORS header or of the framework's CORS option for it.
    const windows = [...text.matchAll(/Expose-Headers|exposedHeaders|exposeHeaders/gi)].map((m) =>
      text.slice(Math.max(0, m.index - 300), m.index + 600),
    );
    const named = (header: string): boolean => windows.some((window) => window.includes(header));
    expect(
      ['WWW-Authenticate', 'DPoP-Nonce', 'Retry-After'].filter((header) => !named(header)),
      'headers the README does not say to expose',
    ).toEqual([]);
  });
});
