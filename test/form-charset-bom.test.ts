/**
 * WAS A DEFECT (failed until fixed): a form body's charset, and a UTF-8 byte order mark.
 *
 * With `transport.body`, Express's adapter parses the form with `express.urlencoded()`, which refuses
 * a charset other than UTF-8 and ISO-8859-1 (415, an HTML error page) and drops a leading UTF-8 BOM;
 * Fastify's plugin parser (`querystring.parse` of the text) and Hono's `c.req.parseBody()` do neither.
 * So `Content-Type: application/x-www-form-urlencoded; charset=utf-16` with a valid `access_token` is a
 * 415 on Express and a 200 on Fastify and Hono, and a form starting with a BOM is a 200 on Express and
 * a 401 "No bearer token in the request" on the others (the first name read as `\uFEFFaccess_token`).
 * Raw HTTP on 127.0.0.1, a real oidc-provider dev issuer.
 */
import { createValidator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdapterName, asExpress, type FourApps, startFourAdapters } from './support/four-adapters.js';
import { postRaw, sendRaw } from './support/raw-http.js';

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

async function statuses(contentType: string, body: Buffer): Promise<Record<AdapterName, number>> {
  const found = {} as Record<AdapterName, number>;
  for (const [adapter, port] of Object.entries(apps.ports) as [AdapterName, number][]) {
    const request = postRaw('/orders', `127.0.0.1:${port}`, contentType, body);
    found[adapter] = (await sendRaw(port, request.head, { body: request.body })).status;
  }
  return found;
}

describe('the charset of a form body, and a BOM (transport.body)', () => {
  it('charset=utf-8 and charset=iso-8859-1: 200 everywhere (the control)', async () => {
    for (const charset of ['utf-8', 'iso-8859-1']) {
      expect(
        await statuses(`${FORM}; charset=${charset}`, Buffer.from(`access_token=${token}`)),
        charset,
      ).toEqual({
        express: 200,
        express4: 200,
        fastify: 200,
        hono: 200,
      });
    }
  });

  it('charset=utf-16: the same status from every adapter (was a defect: Express 415, Fastify and Hono 200)', async () => {
    const found = await statuses(`${FORM}; charset=utf-16`, Buffer.from(`access_token=${token}`));
    expect(found, 'status by adapter').toEqual(asExpress(found));
    // The answer the adapters agree on since the fix.
    expect(found.express).toBe(415);
  });

  it('a UTF-8 BOM before access_token: the same status from every adapter (was a defect: Express 200, Fastify and Hono 401)', async () => {
    const found = await statuses(FORM, Buffer.from(`\uFEFFaccess_token=${token}`, 'utf8'));
    expect(found, 'status by adapter').toEqual(asExpress(found));
    // The answer the adapters agree on since the fix.
    expect(found.express).toBe(200);
  });
});
