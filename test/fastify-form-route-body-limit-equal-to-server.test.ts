/**
 * WAS A DEFECT (failed until fixed): on Fastify, a route whose own `bodyLimit` equals the
 * server's gets 100 KiB for a form, not its own limit.
 *
 * 727ad85's Fastify form parser picks its limit as "the route's own bodyLimit, or min(server
 * bodyLimit, 100 KiB)", telling the two apart by `request.routeOptions.bodyLimit !== serverLimit`.
 * Fastify reports a route without a limit of its own as the server's limit, so a route that sets
 * `bodyLimit` to exactly the server's value (explicitly, or through an encapsulated plugin's
 * `onRoute` hook) is taken for one without: a 200 KB form is a 413 there, while the same route with
 * one byte less is read. The README promises "a route's own `bodyLimit` wins". Fastify's
 * `app.inject` (same parser path as HTTP); a real oidc-provider dev issuer.
 */
import { createValidator, type Validator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import fastifyTokenguard from '@tokenguard/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const FORM = 'application/x-www-form-urlencoded';

let issuer: DevIssuer;
let token: string;
let validator: Validator;

beforeAll(async () => {
  issuer = await startDevIssuer({ extraClaims: { tid: 'tenant-a' } });
  token = await issuer.getToken({ resource: 'https://api.test' });
  validator = createValidator({ issuer: issuer.issuer, audience: 'https://api.test', realm: 'conformance' });
});

afterAll(async () => {
  await validator?.close();
  await issuer?.close();
});

async function post(app: FastifyInstance, url: string): Promise<number> {
  const answer = await app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': FORM },
    payload: `access_token=${token}&x=`.padEnd(200_000, 'a'),
  });
  return answer.statusCode;
}

describe("Fastify: a route's own bodyLimit equal to the server's (transport.body)", () => {
  it('default server (1 MiB): a route with bodyLimit 1 MiB reads a 200 KB form as the one with 1 MiB - 1 does', async () => {
    const app = Fastify();
    await app.register(fastifyTokenguard, { validator, transport: { body: true } });
    const ok = async () => ({ ok: true });
    app.post('/one-less', { bodyLimit: 1024 * 1024 - 1 }, ok);
    app.post('/equal', { bodyLimit: 1024 * 1024 }, ok);
    app.post('/none', ok);
    try {
      expect(await post(app, '/none'), 'no route limit: 100 KiB').toBe(413);
      expect(await post(app, '/one-less'), 'route limit 1 MiB - 1').toBe(200);
      expect(await post(app, '/equal'), 'route limit 1 MiB (= the server)').toBe(200);
    } finally {
      await app.close();
    }
  });

  it("an encapsulated plugin's onRoute hook giving its routes the server's bodyLimit (500 KB)", async () => {
    const app = Fastify({ bodyLimit: 500_000 });
    await app.register(fastifyTokenguard, { validator, transport: { body: true } });
    await app.register(async (child) => {
      child.addHook('onRoute', (route) => {
        route.bodyLimit = 500_000;
      });
      child.post('/uploads', async () => ({ ok: true }));
    });
    app.post('/plain', async () => ({ ok: true }));
    try {
      expect(await post(app, '/plain'), 'no route limit: 100 KiB').toBe(413);
      expect(await post(app, '/uploads'), 'route limit 500 KB').toBe(200);
    } finally {
      await app.close();
    }
  });
});
