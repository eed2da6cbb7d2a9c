/**
 * WAS A DEFECT (failed until fixed): a DPoP proof on a request that names no host.
 *
 * RFC 9449 §4.3 (check 9): the proof's `htu` must be the URL of the request it came with. A request
 * without a `Host` (HTTP/1.0) or with an empty one names no URL a proof could match; core refuses it
 * (transport.ts `requestUrl`: 401 `invalid_dpop_proof`, "The request names no usable host ..."), and
 * the Express and Fastify adapters pass it no origin, so they answer that. Hono's adapter takes the
 * origin of `c.req.url`, which @hono/node-server builds, for a request without a Host, from the
 * `hostname` the server listens on and without its port: `http://127.0.0.1/me`. A proof made for
 * `http://127.0.0.1/me` (another origin: port 80) is then accepted on Hono (200) where Express (5, 4)
 * and Fastify answer 401, and a proof for the real `http://127.0.0.1:<port>/me` gets another
 * error_description on Hono ("The DPoP proof htu is not the request URL").
 * Raw HTTP on 127.0.0.1, a real oidc-provider dev issuer issuing DPoP-bound tokens.
 */
import { createValidator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdapterName, type FourApps, startFourAdapters } from './support/four-adapters.js';
import { comparedAnswer, sendRaw } from './support/raw-http.js';

const NO_HOST =
  'The request names no usable host, so no DPoP proof can name its URL (the API can set dpop.origin)';

let issuer: DevIssuer;
let bound: string;
let apps: FourApps;

beforeAll(async () => {
  issuer = await startDevIssuer({ extraClaims: { tid: 'tenant-a' }, dpop: true });
  bound = await issuer.getToken({ resource: 'https://api.test', dpop: true });
  apps = await startFourAdapters(
    () =>
      createValidator({
        issuer: issuer.issuer,
        audience: 'https://api.test',
        realm: 'conformance',
        dpop: true,
      }),
    {},
  );
});

afterAll(async () => {
  await apps?.close();
  await issuer?.close();
});

type Head = (port: number, proof: string) => string;
const http10: Head = (_port, proof) =>
  `GET /me HTTP/1.0\r\nAuthorization: DPoP ${bound}\r\nDPoP: ${proof}\r\n\r\n`;
const emptyHost: Head = (_port, proof) =>
  `GET /me HTTP/1.1\r\nHost: \r\nAuthorization: DPoP ${bound}\r\nDPoP: ${proof}\r\nConnection: close\r\n\r\n`;

/** Each adapter's status and body for a fresh proof of `htu(port)`. */
async function answers(head: Head, htu: (port: number) => string) {
  const found = {} as Record<AdapterName, { status: number; body: unknown }>;
  for (const [adapter, port] of Object.entries(apps.ports) as [AdapterName, number][]) {
    const proof = await issuer.dpopProof('GET', htu(port), bound);
    const answer = comparedAnswer(await sendRaw(port, head(port, proof)));
    found[adapter] = { status: answer.status, body: answer.body };
  }
  return found;
}

const REFUSED = { status: 401, body: { error: 'invalid_dpop_proof', error_description: NO_HOST } };
const ALL_REFUSED = { express: REFUSED, express4: REFUSED, fastify: REFUSED, hono: REFUSED };

describe('a DPoP proof on a request without a usable Host', () => {
  it('with a Host, the proof for its URL: 200 everywhere (the control)', async () => {
    const found = await answers(
      (port, proof) =>
        `GET /me HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: DPoP ${bound}\r\nDPoP: ${proof}\r\nConnection: close\r\n\r\n`,
      (port) => `http://127.0.0.1:${port}/me`,
    );
    expect(Object.values(found).map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
  });

  it('HTTP/1.0 without Host, a proof for http://127.0.0.1/me (port 80): refused by every adapter (was a defect: Hono admits it)', async () => {
    expect(await answers(http10, () => 'http://127.0.0.1/me')).toEqual(ALL_REFUSED);
  });

  it('HTTP/1.1 with an empty Host, a proof for http://127.0.0.1/me: refused by every adapter (was a defect: Hono admits it)', async () => {
    expect(await answers(emptyHost, () => 'http://127.0.0.1/me')).toEqual(ALL_REFUSED);
  });

  it('HTTP/1.0 without Host, a proof for the listening origin: the same 401 from every adapter (was a defect: Hono words it otherwise)', async () => {
    expect(await answers(http10, (port) => `http://127.0.0.1:${port}/me`)).toEqual(ALL_REFUSED);
  });
});
