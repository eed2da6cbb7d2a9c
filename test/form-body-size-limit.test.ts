/**
 * WAS A DEFECT (failed until fixed): a form body between 100 KiB and 1 MiB.
 *
 * With `transport.body`, Express's adapter parses the form with `express.urlencoded()` (100 kB) and
 * Hono's reads at most 100 KiB (packages/hono README: "a larger body is a 413, as Express's and
 * Fastify's parsers answer"), but Fastify's plugin parser takes Fastify's `bodyLimit`, 1 MiB by
 * default: a 150 kB form with a valid `access_token` is a 413 on Express and Hono and a 200 on Fastify;
 * with the token in the `Authorization` header instead, Express and Hono still answer 413.
 * The same bytes, two answers. Raw HTTP on 127.0.0.1, a real oidc-provider dev issuer.
 */
import { createValidator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdapterName, asExpress, type FourApps, startFourAdapters } from './support/four-adapters.js';
import { postRaw, sendRaw } from './support/raw-http.js';

const FORM = 'application/x-www-form-urlencoded';
const PADDING = `p=${'x'.repeat(150 * 1024)}`;

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

async function statuses(text: string, lines: string[] = []): Promise<Record<AdapterName, number>> {
  const found = {} as Record<AdapterName, number>;
  for (const [adapter, port] of Object.entries(apps.ports) as [AdapterName, number][]) {
    const request = postRaw('/orders', `127.0.0.1:${port}`, FORM, text, lines);
    found[adapter] = (await sendRaw(port, request.head, { body: request.body })).status;
  }
  return found;
}

describe('a 150 kB form body (transport.body)', () => {
  it('a 99 kB form with access_token: 200 everywhere (the control: under every limit)', async () => {
    expect(await statuses(`p=${'x'.repeat(99_000)}&access_token=${token}`)).toEqual({
      express: 200,
      express4: 200,
      fastify: 200,
      hono: 200,
    });
  });

  it('150 kB with access_token: the same status from every adapter (was a defect: Express and Hono 413, Fastify 200)', async () => {
    const found = await statuses(`${PADDING}&access_token=${token}`);
    expect(found, 'status by adapter').toEqual(asExpress(found));
    // The answer the adapters agree on since the fix.
    expect(found.express).toBe(413);
  });

  it('150 kB with the token in the header: the same status from every adapter (was a defect: Express and Hono 413, Fastify 200)', async () => {
    const found = await statuses(PADDING, [`Authorization: Bearer ${token}`]);
    expect(found, 'status by adapter').toEqual(asExpress(found));
    // The answer the adapters agree on since the fix.
    expect(found.express).toBe(413);
  });
});
