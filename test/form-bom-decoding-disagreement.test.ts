/**
 * WAS A DEFECT (failed until fixed): the adapters still drop a form's byte order mark differently.
 *
 * 8c8af96 says every adapter "drops a leading BOM", as Express's `urlencoded()` does when it decodes a
 * UTF-8 body (one BOM). Two ways the adapters still differ:
 * - Hono reads the form with `c.req.text()`, whose UTF-8 decoding already drops one BOM, then
 *   `parseFormBody` drops another: a form starting with two BOMs is read on Hono (200) where Express
 *   and Fastify find the name `\uFEFFaccess_token` (401 "No bearer token").
 * - With `charset=iso-8859-1`, Express decodes the body as ISO-8859-1 (the BOM's bytes are three
 *   letters, `ï»¿`, and the first name is not `access_token`: 401), while Fastify (`parseAs: 'string'`)
 *   and Hono decode every form as UTF-8 and drop the BOM (200).
 * Raw HTTP on 127.0.0.1 to Express 5, Express 4, Fastify and Hono; a real oidc-provider dev issuer.
 */
import { createValidator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdapterName, asExpress, type FourApps, startFourAdapters } from './support/four-adapters.js';
import { postRaw, sendRaw } from './support/raw-http.js';

const FORM = 'application/x-www-form-urlencoded';
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

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

describe('a byte order mark before a form (transport.body)', () => {
  it('one BOM, UTF-8: 200 everywhere (the control)', async () => {
    expect(await statuses(FORM, Buffer.concat([BOM, Buffer.from(`access_token=${token}`)]))).toEqual({
      express: 200,
      express4: 200,
      fastify: 200,
      hono: 200,
    });
  });

  it('two BOMs, UTF-8: the same status from every adapter (was a defect: Hono 200, the others 401)', async () => {
    const found = await statuses(FORM, Buffer.concat([BOM, BOM, Buffer.from(`access_token=${token}`)]));
    expect(found, 'status by adapter').toEqual(asExpress(found));
  });

  it('one BOM, charset=iso-8859-1: the same status from every adapter (was a defect: Express 401, Fastify and Hono 200)', async () => {
    const found = await statuses(
      `${FORM}; charset=iso-8859-1`,
      Buffer.concat([BOM, Buffer.from(`access_token=${token}`)]),
    );
    expect(found, 'status by adapter').toEqual(asExpress(found));
  });
});
