/**
 * WAS A DEFECT (failed until fixed): a form body that starts with `?` gives Fastify and Hono a
 * token that Express never sees.
 *
 * 727ad85 makes every adapter read a form "as Express's urlencoded() does" through core's
 * readFormBody, which parses with `new URLSearchParams(text)`. The URLSearchParams constructor drops
 * one leading `?` from a string (URL Standard, "URLSearchParams constructor" step 1), so the body
 * `?access_token=<token>` names `access_token` on Fastify and Hono, while Express's qs (and Express 4's
 * node:querystring) read the name `?access_token`: no token (401). An
 * `application/x-www-form-urlencoded` body is not a query string (URL Standard, "application/x-www-
 * form-urlencoded parsing" has no `?` step), and the adapters promise one reading of one form (core
 * README, RFC 6750 §2.2). With a header token as well, Express answers 200 and Fastify/Hono 400 (two
 * ways). Raw HTTP on 127.0.0.1 to Express 5, Express 4, Fastify and Hono, and Hono's fetch path
 * (app.request, no Node server); a real oidc-provider dev issuer.
 */
import { createValidator, readFormBody, type Validator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { tokenguard as honoTokenguard } from '@tokenguard/hono';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdapterName, asExpress, type FourApps, startFourAdapters } from './support/four-adapters.js';
import { postRaw, sendRaw } from './support/raw-http.js';

const FORM = 'application/x-www-form-urlencoded';

let issuer: DevIssuer;
let token: string;
let apps: FourApps;
let validator: Validator;

const makeValidator = () =>
  createValidator({ issuer: issuer.issuer, audience: 'https://api.test', realm: 'conformance' });

beforeAll(async () => {
  issuer = await startDevIssuer({ extraClaims: { tid: 'tenant-a' } });
  token = await issuer.getToken({ resource: 'https://api.test' });
  apps = await startFourAdapters(makeValidator, { body: true });
  validator = makeValidator();
});

afterAll(async () => {
  await apps?.close();
  await validator?.close();
  await issuer?.close();
});

async function statuses(body: () => string, lines: () => string[] = () => []) {
  const found = {} as Record<AdapterName, number>;
  for (const [adapter, port] of Object.entries(apps.ports) as [AdapterName, number][]) {
    const request = postRaw('/orders', `127.0.0.1:${port}`, FORM, body(), lines());
    found[adapter] = (await sendRaw(port, request.head, { body: request.body })).status;
  }
  return found;
}

describe('a form body that starts with "?" (transport.body)', () => {
  it('control: "access_token=<token>" is 200 everywhere', async () => {
    expect(await statuses(() => `access_token=${token}`)).toEqual({
      express: 200,
      express4: 200,
      fastify: 200,
      hono: 200,
    });
  });

  it('"?access_token=<token>": the same status from every adapter (was a defect: Express 401, Fastify and Hono 200)', async () => {
    const found = await statuses(() => `?access_token=${token}`);
    expect(found.express, 'Express reads the name "?access_token"').toBe(401);
    expect(found, 'status by adapter').toEqual(asExpress(found));
  });

  it('"?access_token=<token>" with a header token: the same status from every adapter (was a defect: Express 200, Fastify and Hono 400)', async () => {
    const found = await statuses(
      () => `?access_token=${token}`,
      () => [`Authorization: Bearer ${token}`],
    );
    expect(found, 'status by adapter').toEqual(asExpress(found));
  });

  it('Hono on the fetch path (app.request): "?access_token=<token>" is no token, as on Express', async () => {
    const app = new Hono();
    app.use('*', honoTokenguard(validator, { transport: { body: true } }));
    app.post('/orders', (c) => c.json({ subject: c.get('auth')?.subject ?? null }));
    const answer = await app.request(
      new Request('http://api.test/orders', {
        method: 'POST',
        headers: new Headers({ 'content-type': FORM }),
        body: `?access_token=${token}`,
      }),
    );
    expect(answer.status).toBe(401);
  });

  it('core readFormBody: the name is "?access_token", as qs and node:querystring read it', () => {
    const reading = readFormBody(new TextEncoder().encode('?access_token=abc'), { 'content-type': FORM });
    expect('parameters' in reading && Object.keys(reading.parameters)).toEqual(['?access_token']);
  });
});
