/**
 * WAS A DEFECT (failed until fixed): a form body with more than 1000 parameters.
 *
 * With `transport.body`, each adapter parses the form itself, with a different limit on parameters:
 * - Express (5 and 4): `express.urlencoded()`'s `parameterLimit` of 1000: a 413 (HTML error page);
 * - Fastify: the plugin's parser is `querystring.parse` with its default `maxKeys` of 1000, which
 *   silently drops every parameter after the 1000th: an `access_token` there is not seen (401
 *   "No bearer token in the request" to a request that carries one), and a second `access_token`
 *   there is not seen either, so a form carrying two tokens is admitted (200) where core's rule
 *   (transport.ts `readParameter`: a repeated `access_token` is a 400 `invalid_request`) refuses it;
 * - Hono: `c.req.parseBody()` has no limit on parameters: the token is read (200), the repeat refused (400).
 *
 * The same bytes get three answers. Raw HTTP on 127.0.0.1, a real oidc-provider dev issuer.
 */
import { createValidator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdapterName, asExpress, type FourApps, startFourAdapters } from './support/four-adapters.js';
import { postRaw, type RawAnswer, sendRaw } from './support/raw-http.js';

const FORM = 'application/x-www-form-urlencoded';
const params = (count: number) => Array.from({ length: count }, (_, i) => `p${i}=1`).join('&');

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

async function postForm(text: string): Promise<Record<AdapterName, RawAnswer>> {
  const answers = {} as Record<AdapterName, RawAnswer>;
  for (const [adapter, port] of Object.entries(apps.ports) as [AdapterName, number][]) {
    const request = postRaw('/orders', `127.0.0.1:${port}`, FORM, text);
    answers[adapter] = await sendRaw(port, request.head, { body: request.body });
  }
  return answers;
}

const statuses = (answers: Record<AdapterName, RawAnswer>) =>
  Object.fromEntries(Object.entries(answers).map(([adapter, answer]) => [adapter, answer.status])) as Record<
    AdapterName,
    number
  >;

describe('a form of more than 1000 parameters (transport.body)', () => {
  it('999 parameters then access_token: every adapter reads it (the control: under every limit)', async () => {
    const answers = await postForm(`${params(999)}&access_token=${token}`);
    expect(statuses(answers)).toEqual({ express: 200, express4: 200, fastify: 200, hono: 200 });
  });

  it('1000 parameters then access_token: the same status from every adapter (was a defect: Express 413, Fastify 401, Hono 200)', async () => {
    const answers = await postForm(`${params(1000)}&access_token=${token}`);
    const found = statuses(answers);
    expect(found, 'status by adapter').toEqual(asExpress(found));
    // The answer the adapters agree on since the fix.
    expect(found.express).toBe(413);
  });

  it('no adapter answers "No bearer token in the request" to a form that carries one (was a defect: Fastify drops it past key 1000)', async () => {
    const answers = await postForm(`${params(1000)}&access_token=${token}`);
    for (const [adapter, answer] of Object.entries(answers)) {
      expect(answer.body, adapter).not.toContain('No bearer token in the request');
    }
  });

  it('access_token twice, 1000 parameters apart: no adapter admits it (was a defect: Fastify 200; Express 413, Hono 400)', async () => {
    const answers = await postForm(`access_token=${token}&${params(1000)}&access_token=${token}`);
    const admitted = Object.entries(answers)
      .filter(([, answer]) => answer.status === 200)
      .map(([adapter]) => adapter);
    expect(admitted, 'adapters that answered 200 to two access_token parameters').toEqual([]);
  });
});
