/**
 * WAS A DEFECT (failed until fixed): an ISO-8859-1 form whose first byte is 0xFF loses that byte
 * on Fastify and Hono (Node 20), so `\xFFaccess_token=<token>` is a token there and no token on
 * Express.
 *
 * 727ad85's core readFormBody decodes a `charset=iso-8859-1` form with
 * `new TextDecoder('latin1', { ignoreBOM: true })`. On Node 20.20 that decoder drops a leading 0xFF
 * byte (`decode([0xff, 0x61])` is `"a"`; without `ignoreBOM` it is `"ÿa"`): the first character of the
 * form is lost. Express decodes with iconv-lite (`"ÿa"`), as ISO-8859-1 says, and reads the name
 * `ÿaccess_token` (no token: 401); Fastify and Hono read `access_token` (200). The commit promises
 * "decoded in the charset named", one reading of one form on every adapter (core README, RFC 6750
 * §2.2). (TextDecoder's 'latin1' is also windows-1252 by the Encoding Standard: 0x80-0x9F become
 * other characters on runtimes that follow it; that changes no token, as those bytes are outside the
 * token grammar either way.) Raw HTTP on 127.0.0.1 to Express 5, Express 4, Fastify and Hono; a
 * real oidc-provider dev issuer.
 */
import { createValidator, readFormBody } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdapterName, asExpress, type FourApps, startFourAdapters } from './support/four-adapters.js';
import { postRaw, sendRaw } from './support/raw-http.js';

const FORM = 'application/x-www-form-urlencoded';
const LATIN1 = `${FORM}; charset=iso-8859-1`;

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

async function statuses(body: () => Buffer) {
  const found = {} as Record<AdapterName, number>;
  for (const [adapter, port] of Object.entries(apps.ports) as [AdapterName, number][]) {
    const request = postRaw('/orders', `127.0.0.1:${port}`, LATIN1, body());
    found[adapter] = (await sendRaw(port, request.head, { body: request.body })).status;
  }
  return found;
}

describe('an ISO-8859-1 form whose first byte is 0xFF (transport.body)', () => {
  it('control: a first byte 0xFE or 0xE9 makes another name on every adapter (401)', async () => {
    for (const first of [0xfe, 0xe9]) {
      const found = await statuses(() =>
        Buffer.concat([Buffer.from([first]), Buffer.from(`access_token=${token}`)]),
      );
      expect(found, first.toString(16)).toEqual({ express: 401, express4: 401, fastify: 401, hono: 401 });
    }
  });

  it('"\\xFFaccess_token=<token>": the same status from every adapter (was a defect: Express 401, Fastify and Hono 200)', async () => {
    const found = await statuses(() =>
      Buffer.concat([Buffer.from([0xff]), Buffer.from(`access_token=${token}`)]),
    );
    expect(found.express, 'Express reads the name "ÿaccess_token"').toBe(401);
    expect(found, 'status by adapter').toEqual(asExpress(found));
  });

  it('core readFormBody keeps the first byte of an ISO-8859-1 form: 0xFF is "ÿ"', () => {
    const reading = readFormBody(Uint8Array.from([0xff, 0x61, 0x3d, 0x31]), { 'content-type': LATIN1 });
    expect('parameters' in reading && Object.keys(reading.parameters)).toEqual(['\u00ffa']);
  });
});
