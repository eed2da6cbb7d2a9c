/**
 * WAS A DEFECT (failed until fixed): core reads the charset of a form's Content-Type by splitting
 * it on every `;`, so a quoted-string parameter (RFC 9110 §5.6.4, §5.6.6) is misread: Fastify and Hono
 * refuse (415) or decode in another charset than Express a form Express reads.
 *
 * 727ad85's readFormBody judges "a charset other than UTF-8/ISO-8859-1" and decodes "in the charset
 * named", as Express's urlencoded() does. Express reads the Content-Type with the `content-type`
 * package, which parses quoted strings: `x="a;charset=iso-8859-1;"` is one parameter `x` (no charset:
 * UTF-8), and `charset="utf\-8"` is UTF-8 (a quoted-pair). Core's charsetOf splits on `;` inside the
 * quotes (finding `charset=iso-8859-1`) and does not unescape quoted-pairs (`utf\-8`, refused). With a
 * UTF-8 BOM before `access_token=<token>` the charset decides the name (Express drops one BOM from
 * UTF-8, keeps it as `ï»¿` in ISO-8859-1): the token is read on one adapter and not on another.
 * Raw HTTP on 127.0.0.1 to Express 5, Express 4, Fastify and Hono; a real oidc-provider dev issuer.
 */
import { createValidator, readFormBody } from '@tokenguard/core';
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

async function statuses(contentType: string, bom: boolean) {
  const found = {} as Record<AdapterName, number>;
  for (const [adapter, port] of Object.entries(apps.ports) as [AdapterName, number][]) {
    const body = Buffer.concat([bom ? BOM : Buffer.alloc(0), Buffer.from(`access_token=${token}`)]);
    const request = postRaw('/orders', `127.0.0.1:${port}`, contentType, body);
    found[adapter] = (await sendRaw(port, request.head, { body: request.body })).status;
  }
  return found;
}

describe('a form whose Content-Type has a quoted-string parameter (transport.body)', () => {
  it('controls: a BOM is dropped from UTF-8 (200) and kept in ISO-8859-1 (401) on every adapter', async () => {
    expect(await statuses(`${FORM}; charset=utf-8`, true)).toEqual({
      express: 200,
      express4: 200,
      fastify: 200,
      hono: 200,
    });
    expect(await statuses(`${FORM}; charset=iso-8859-1`, true)).toEqual({
      express: 401,
      express4: 401,
      fastify: 401,
      hono: 401,
    });
  });

  it.each([
    ['x="a;charset=iso-8859-1" (no charset: UTF-8)', `${FORM}; x="a;charset=iso-8859-1"`, false, 200],
    ['x="a;charset=iso-8859-1;" (no charset: UTF-8), a BOM', `${FORM}; x="a;charset=iso-8859-1;"`, true, 200],
    [
      'x="a;charset=utf-8;"; charset=iso-8859-1 (ISO-8859-1), a BOM',
      `${FORM}; x="a;charset=utf-8;"; charset=iso-8859-1`,
      true,
      401,
    ],
    ['charset="utf\\-8" (a quoted-pair: UTF-8)', `${FORM}; charset="utf\\-8"`, false, 200],
  ])('%s: the same status from every adapter', async (_name, contentType, bom, express) => {
    const found = await statuses(contentType, bom);
    expect(found.express, 'Express (the content-type package)').toBe(express);
    expect(found, 'status by adapter').toEqual(asExpress(found));
  });

  it('core readFormBody: a charset named only inside a quoted parameter is no charset', () => {
    const reading = readFormBody(new TextEncoder().encode('a=1'), {
      'content-type': `${FORM}; x="a;charset=iso-8859-1"`,
    });
    expect(reading).toEqual({ parameters: { a: '1' } });
  });
});
