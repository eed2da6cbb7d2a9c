/**
 * WAS A DEFECT (failed until fixed): a form whose charset parameter is empty or malformed is read on Express
 * (200) and refused 415 on Fastify and Hono.
 *
 * 8c8af96 made every adapter answer 415 to "a charset other than UTF-8 or ISO-8859-1", as Express's
 * `urlencoded()` does. Express reads the charset with the `content-type` package: `charset=""` is the
 * empty string and a malformed parameter list (`charset=`, an unterminated quote) does not parse; both
 * give no charset, so the default, UTF-8, and the form is read. Core's `formBodyRefusal` takes the
 * text after `charset=` as it stands (`''`, `"utf-16`) and refuses it. The adapters should judge the
 * same Content-Type the same way (RFC 9110 §8.3.1; the test asks for agreement, the fix chooses).
 * Raw HTTP on 127.0.0.1 to Express 5, Express 4, Fastify and Hono; a real oidc-provider dev issuer.
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

async function statuses(contentType: string): Promise<Record<AdapterName, number>> {
  const found = {} as Record<AdapterName, number>;
  for (const [adapter, port] of Object.entries(apps.ports) as [AdapterName, number][]) {
    const request = postRaw('/orders', `127.0.0.1:${port}`, contentType, `access_token=${token}`);
    found[adapter] = (await sendRaw(port, request.head, { body: request.body })).status;
  }
  return found;
}

describe('a form whose charset parameter is empty or malformed (transport.body)', () => {
  it('charset=utf-8 and charset=utf8: 200 and 415 everywhere (the controls)', async () => {
    expect(await statuses(`${FORM}; charset=utf-8`)).toEqual({
      express: 200,
      express4: 200,
      fastify: 200,
      hono: 200,
    });
    expect(await statuses(`${FORM}; charset=utf8`)).toEqual({
      express: 415,
      express4: 415,
      fastify: 415,
      hono: 415,
    });
  });

  it.each([
    ['charset=""', `${FORM}; charset=""`],
    ['charset= (no value)', `${FORM}; charset=`],
    ['charset="utf-16 (unterminated quote)', `${FORM}; charset="utf-16`],
  ])(
    '%s: the same status from every adapter (was a defect: Express 200, Fastify and Hono 415)',
    async (_name, contentType) => {
      const found = await statuses(contentType);
      expect(found, 'status by adapter').toEqual(asExpress(found));
    },
  );
});
