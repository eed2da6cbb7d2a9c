/**
 * WAS A DEFECT (failed until fixed): a form whose Content-Encoding names only `identity`, but more than once
 * (two header lines, `identity, identity`, or a list with an empty member), is a 415 on Express and
 * a 200 on Fastify and Hono.
 *
 * 8c8af96 made every adapter answer 415 to "a Content-Encoding other than identity", as Express's
 * `urlencoded()` does. Express (body-parser, `inflate: false`) compares the whole field value, as Node
 * joins repeated lines (`identity, identity`), with `identity`: anything else is a 415. Core's
 * `formBodyRefusal` splits the list and skips empty and `identity` members, so Fastify and Hono read
 * the form. RFC 9110 §8.4: Content-Encoding is a list of the codings applied, in order; the adapters
 * should judge the same list the same way (which answer is right is for the fix to decide: the test
 * asks for agreement).
 *
 * Fixed: core's readFormBody judges the joined value as Express does (anything but one `identity`
 * is a 415), so Express and Hono agree. Fastify leaves codings to its own preParsing hooks (a hook
 * may have decoded the body and kept the header: test/fastify-form-decompressed-by-app.test.ts) and
 * reads these plain bodies (200), as its README says.
 * Raw HTTP on 127.0.0.1 to Express 5, Express 4, Fastify and Hono; a real oidc-provider dev issuer.
 */
import { createValidator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdapterName, type FourApps, startFourAdapters } from './support/four-adapters.js';
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

async function statuses(codingLines: string[]): Promise<Record<AdapterName, number>> {
  const found = {} as Record<AdapterName, number>;
  for (const [adapter, port] of Object.entries(apps.ports) as [AdapterName, number][]) {
    const request = postRaw('/orders', `127.0.0.1:${port}`, FORM, `access_token=${token}`, codingLines);
    found[adapter] = (await sendRaw(port, request.head, { body: request.body })).status;
  }
  return found;
}

describe('a form whose Content-Encoding lists identity more than once (transport.body)', () => {
  it('one Content-Encoding: identity, and one empty: 200 everywhere (the control)', async () => {
    const all200 = { express: 200, express4: 200, fastify: 200, hono: 200 };
    expect(await statuses(['Content-Encoding: identity'])).toEqual(all200);
    expect(await statuses(['Content-Encoding: '])).toEqual(all200);
  });

  it.each([
    ['two Content-Encoding: identity lines', ['Content-Encoding: identity', 'Content-Encoding: identity']],
    ['Content-Encoding: identity, identity', ['Content-Encoding: identity, identity']],
    ['Content-Encoding: , identity', ['Content-Encoding: , identity']],
    ['Content-Encoding: identity, and an empty line', ['Content-Encoding: identity', 'Content-Encoding: ']],
  ])(
    '%s: 415 from Express and Hono; Fastify reads the plain body (was a defect: Hono 200)',
    async (_name, lines) => {
      expect(await statuses(lines)).toEqual({ express: 415, express4: 415, fastify: 200, hono: 415 });
    },
  );
});
