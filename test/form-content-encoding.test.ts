/**
 * WAS A DEFECT (failed until fixed): a form body with a `Content-Encoding`.
 *
 * With `transport.body`, Express's adapter parses the form with `express.urlencoded()`, which inflates
 * `gzip` and `deflate` bodies and refuses an unknown coding (415, an HTML error page); Fastify's
 * plugin parser and Hono's `c.req.parseBody()` ignore `Content-Encoding` and read the coded bytes as
 * the form. So a gzipped form carrying a valid `access_token` is a 200 on Express and a 401 "No bearer
 * token in the request" on Fastify and Hono, and a plain form labelled with an unknown coding is a 415
 * on Express and a 200 on the others (RFC 9110 §8.4: the coding is part of the representation; a server
 * that cannot decode it may answer 415, not read the coded bytes as the form).
 *
 * Fixed: Express and Hono answer 415 to any coding but identity (core's readFormBody; Express with
 * `inflate: false`). Fastify leaves the coding to Fastify's own way, a `preParsing` hook
 * (@fastify/compress decodes the body and keeps the header; test/fastify-form-decompressed-by-app.test.ts):
 * with no such hook it reads the bytes as sent, so a coded form holds no token (401, never 200) and a
 * plain one labelled with a coding is read (its README says so).
 * Raw HTTP on 127.0.0.1, a real oidc-provider dev issuer.
 */
import { deflateSync, gzipSync } from 'node:zlib';
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

async function statuses(body: Buffer, coding: string): Promise<Record<AdapterName, number>> {
  const found = {} as Record<AdapterName, number>;
  for (const [adapter, port] of Object.entries(apps.ports) as [AdapterName, number][]) {
    const request = postRaw('/orders', `127.0.0.1:${port}`, FORM, body, [`Content-Encoding: ${coding}`]);
    found[adapter] = (await sendRaw(port, request.head, { body: request.body })).status;
  }
  return found;
}

describe('a form body with a Content-Encoding (transport.body)', () => {
  it('Content-Encoding: identity: 200 everywhere (the control)', async () => {
    expect(await statuses(Buffer.from(`access_token=${token}`), 'identity')).toEqual({
      express: 200,
      express4: 200,
      fastify: 200,
      hono: 200,
    });
  });

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
  ] as const)(
    'a %s-coded form with access_token: 415 from Express and Hono, never a 200 from Fastify (was a defect: Express 200, Fastify and Hono 401)',
    async (coding, encode) => {
      const found = await statuses(encode(Buffer.from(`access_token=${token}`)), coding);
      expect({ ...found, fastify: undefined }).toEqual({
        express: 415,
        express4: 415,
        fastify: undefined,
        hono: 415,
      });
      expect(found.fastify, 'Fastify reads the coded bytes: no token in them').toBe(401);
    },
  );

  it('an unknown coding on a plain form: 415 from Express and Hono; Fastify reads the bytes as sent (was a defect: Express 415, Fastify and Hono 200)', async () => {
    const found = await statuses(Buffer.from(`access_token=${token}`), 'x-unknown');
    expect(found).toEqual({ express: 415, express4: 415, fastify: 200, hono: 415 });
  });
});
