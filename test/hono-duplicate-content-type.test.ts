/**
 * WAS A DEFECT (failed until fixed): two `Content-Type` headers on a form request.
 *
 * Node keeps the first `Content-Type` in `req.headers` (the record Express, Fastify and core read), but
 * @hono/node-server's fetch `Headers` join repeated fields: Hono's adapter asks `c.req.header()`
 * whether the request is a form (`application/x-www-form-urlencoded, text/plain`: no), so it leaves the
 * body unread, while core, reading Node's record, sees a form and finds no `access_token` in the
 * unread body. Express (5 and 4) and Fastify read the form and admit the token (200); Hono answers 401
 * "No bearer token in the request". Node and all three frameworks accept the request, so the
 * difference is tokenguard's (its two reads of one header disagree in the Hono adapter).
 * Raw HTTP on 127.0.0.1, a real oidc-provider dev issuer.
 */
import { createValidator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdapterName, asExpress, type FourApps, startFourAdapters } from './support/four-adapters.js';
import { head11, sendRaw } from './support/raw-http.js';

const FORM = 'application/x-www-form-urlencoded';

let issuer: DevIssuer;
let token: string;
let apps: FourApps;

beforeAll(async () => {
  issuer = await startDevIssuer({ extraClaims: { tid: 'tenant-a' } });
  token = await issuer.getToken({ resource: 'https://api.test' });
  apps = await startFourAdapters(
    () => createValidator({ issuer: issuer.issuer, audience: 'https://api.test', realm: 'conformance' }),
    { body: true },
  );
});

afterAll(async () => {
  await apps?.close();
  await issuer?.close();
});

async function statuses(contentTypes: string[]): Promise<Record<AdapterName, number>> {
  const text = `access_token=${token}`;
  const found = {} as Record<AdapterName, number>;
  for (const [adapter, port] of Object.entries(apps.ports) as [AdapterName, number][]) {
    const head = head11('POST', '/orders', `127.0.0.1:${port}`, [
      ...contentTypes.map((type) => `Content-Type: ${type}`),
      `Content-Length: ${text.length}`,
    ]);
    found[adapter] = (await sendRaw(port, head, { body: [text] })).status;
  }
  return found;
}

describe('a form token with two Content-Type headers (transport.body)', () => {
  it('one Content-Type: 200 everywhere (the control)', async () => {
    expect(await statuses([FORM])).toEqual({ express: 200, express4: 200, fastify: 200, hono: 200 });
  });

  it('text/plain first: 401 bare everywhere (the first one counts; the control)', async () => {
    expect(await statuses(['text/plain', FORM])).toEqual({
      express: 401,
      express4: 401,
      fastify: 401,
      hono: 401,
    });
  });

  it('the form type, then text/plain: the same status from every adapter (was a defect: Hono 401, the others 200)', async () => {
    const found = await statuses([FORM, 'text/plain']);
    expect(found, 'status by adapter').toEqual(asExpress(found));
    // The answer the adapters agree on since the fix.
    expect(found.express).toBe(200);
  });

  it('the form type twice: the same status from every adapter (was a defect: Hono 401, the others 200)', async () => {
    const found = await statuses([FORM, FORM]);
    expect(found, 'status by adapter').toEqual(asExpress(found));
    // The answer the adapters agree on since the fix.
    expect(found.express).toBe(200);
  });
});
