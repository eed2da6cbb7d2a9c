/**
 * Review of 727ad85 (one core readFormBody for every adapter's form): what held. Raw HTTP on
 * 127.0.0.1 to Express 5, Express 4, Fastify and Hono (test/support/four-adapters.ts), Fastify's
 * `app.inject`, Hono's `app.request()` with fetch `Request`/`Headers` (no Node server); a real
 * oidc-provider dev issuer. The defects it found, all fixed, are pinned in form-bodies-agreement
 * (a leading `?`, a leading 0xFF in ISO-8859-1, quoted charset parameters) and
 * fastify-form-route-body-limit-equal-to-server.
 */
import { createValidator, type Validator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import fastifyTokenguard from '@tokenguard/fastify';
import { tokenguard as honoTokenguard } from '@tokenguard/hono';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdapterName, type FourApps, startFourAdapters } from './support/four-adapters.js';
import { postRaw, sendRaw } from './support/raw-http.js';

const FORM = 'application/x-www-form-urlencoded';

let issuer: DevIssuer;
let token: string;
let validator: Validator;

const makeValidator = () =>
  createValidator({ issuer: issuer.issuer, audience: 'https://api.test', realm: 'conformance' });

beforeAll(async () => {
  issuer = await startDevIssuer({ extraClaims: { tid: 'tenant-a' } });
  token = await issuer.getToken({ resource: 'https://api.test' });
  validator = makeValidator();
});

afterAll(async () => {
  await validator?.close();
  await issuer?.close();
});

const all = (status: number) => ({ express: status, express4: status, fastify: status, hono: status });

describe('four adapters, the same bytes (transport.body)', () => {
  let apps: FourApps;
  beforeAll(async () => {
    apps = await startFourAdapters(makeValidator, { body: true });
  });
  afterAll(async () => {
    await apps?.close();
  });

  async function statuses(body: string | Buffer, contentType = FORM) {
    const found = {} as Record<AdapterName, number>;
    for (const [adapter, port] of Object.entries(apps.ports) as [AdapterName, number][]) {
      const request = postRaw('/orders', `127.0.0.1:${port}`, contentType, body);
      found[adapter] = (await sendRaw(port, request.head, { body: request.body })).status;
    }
    return found;
  }

  it('parameters counted as body-parser counts them: a trailing "&" is one, ";" and "+" are not separators, "=" alone is one', async () => {
    const names = (n: number) => Array.from({ length: n }, (_, i) => `p${i}=${i}`).join('&');
    // 999 parameters and a trailing "&": 1000 parts, read; one more "&": 1001, refused.
    expect(await statuses(`access_token=${token}&${names(998)}&`)).toEqual(all(200));
    expect(await statuses(`access_token=${token}&${names(998)}&&`)).toEqual(all(413));
    // 1500 pairs joined by ";" are one part each side of the token.
    const semicolons = Array.from({ length: 1500 }, (_, i) => `q${i}=${i}`).join(';');
    expect(await statuses(`${semicolons}&access_token=${token}&${semicolons}`)).toEqual(all(200));
    expect(await statuses(`a+b=c+d&access_token=${token}&+=+`)).toEqual(all(200));
    expect(await statuses('=')).toEqual(all(401));
    expect(await statuses(`=&access_token=${token}&=`)).toEqual(all(200));
    expect(await statuses(`${'&'.repeat(999)}access_token=${token}`)).toEqual(all(200));
    expect(await statuses(`${'&'.repeat(1000)}access_token=${token}`)).toEqual(all(413));
  });

  it('ISO-8859-1 bytes 0x80-0x9F and invalid UTF-8 in or around the token: the same status everywhere', async () => {
    const latin1 = `${FORM}; charset=iso-8859-1`;
    for (const byte of [0x80, 0x85, 0x8d, 0x9f, 0xa0]) {
      const around = Buffer.concat([
        Buffer.from([0x78, 0x3d, byte, 0x26]),
        Buffer.from(`access_token=${token}`),
      ]);
      expect(await statuses(around, latin1), `x=0x${byte.toString(16)}`).toEqual(all(200));
      const inside = Buffer.concat([Buffer.from(`access_token=${token}`), Buffer.from([byte])]);
      expect(await statuses(inside, latin1), `token+0x${byte.toString(16)}`).toEqual(all(400));
    }
    for (const bytes of [[0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xff]]) {
      const inside = Buffer.concat([Buffer.from(`access_token=${token}`), Buffer.from(bytes)]);
      expect(await statuses(inside), `token+${bytes}`).toEqual(all(400));
      const name = Buffer.concat([Buffer.from('access_token'), Buffer.from(bytes), Buffer.from(`=${token}`)]);
      expect(await statuses(name), `name+${bytes}`).toEqual(all(401));
    }
  });
});

describe('what apps see', () => {
  it('Fastify: POST forms through readFormBody, DELETE forms whole through node:querystring (no token read, no 413)', async () => {
    const app = Fastify();
    await app.register(fastifyTokenguard, { validator, transport: { body: true } });
    const echo = async (request: { body: unknown; method: string }) => {
      const body = request.body as Record<string, unknown>;
      return { prototype: Object.getPrototypeOf(body), count: Object.keys(body).length, a: body.a };
    };
    app.post('/form', echo);
    app.delete('/form', { config: { auth: { optional: true } } }, echo);
    try {
      const many = Array.from({ length: 1500 }, (_, i) => `p${i}=${i}`).join('&');
      const post = await app.inject({
        method: 'POST',
        url: '/form',
        headers: { 'content-type': FORM },
        payload: `access_token=${token}&a=1&a=2`,
      });
      expect(post.statusCode, post.body).toBe(200);
      expect(post.json()).toEqual({ prototype: null, count: 2, a: ['1', '2'] });
      const postMany = await app.inject({
        method: 'POST',
        url: '/form',
        headers: { 'content-type': FORM },
        payload: `access_token=${token}&${many}`,
      });
      expect(postMany.statusCode).toBe(413);
      const del = await app.inject({
        method: 'DELETE',
        url: '/form',
        headers: { 'content-type': FORM, authorization: `Bearer ${token}` },
        payload: `a=1&a=2&${many}`,
      });
      expect(del.statusCode, del.body).toBe(200);
      // node:querystring's default maxKeys (1000 pairs, "a" twice: 999 names) on a form never read for a token.
      expect(del.json()).toEqual({ prototype: null, count: 999, a: ['1', '2'] });
      const delToken = await app.inject({
        method: 'DELETE',
        url: '/form',
        headers: { 'content-type': FORM },
        payload: `access_token=${token}`,
      });
      expect(delToken.statusCode, 'a DELETE form carries no token (RFC 6750 §2.2)').toBe(200);
      expect(delToken.json()).toMatchObject({ count: 1 });
    } finally {
      await app.close();
    }
  });

  it('Fastify: a route bodyLimit below 100 KiB and one above both win (app.inject)', async () => {
    const app = Fastify();
    await app.register(fastifyTokenguard, { validator, transport: { body: true } });
    app.post('/small', { bodyLimit: 1000 }, async () => ({ ok: true }));
    app.post('/large', { bodyLimit: 300_000 }, async () => ({ ok: true }));
    try {
      const send = (url: string, length: number) =>
        app.inject({
          method: 'POST',
          url,
          headers: { 'content-type': FORM },
          payload: `access_token=${token}&x=`.padEnd(length, 'a'),
        });
      expect((await send('/small', 1000)).statusCode).toBe(200);
      expect((await send('/small', 1001)).statusCode).toBe(413);
      expect((await send('/large', 250_000)).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('Hono fetch-only (Request and Headers): an ISO-8859-1 form is read, then parseBody() and c.req.raw give the handler the same bytes', async () => {
    const app = new Hono();
    app.use('*', honoTokenguard(validator, { transport: { body: true } }));
    app.post('/orders', async (c) => {
      const parsed = await c.req.parseBody();
      const raw = new Uint8Array(await c.req.raw.arrayBuffer());
      return c.json({ subject: c.get('auth')?.subject ?? null, names: Object.keys(parsed), raw: [...raw] });
    });
    const bytes = Buffer.concat([Buffer.from(`access_token=${token}&x=`), Buffer.from([0xe9, 0x80, 0xff])]);
    const answer = await app.request(
      new Request('http://api.test/orders', {
        method: 'POST',
        headers: new Headers([
          ['content-type', `${FORM}; charset=ISO-8859-1`],
          ['content-encoding', 'identity'],
        ]),
        body: bytes,
      }),
    );
    expect(answer.status).toBe(200);
    const json = (await answer.json()) as { subject: string; names: string[]; raw: number[] };
    expect(json.subject).toBe('tokenguard-dev-client');
    expect(json.names).toEqual(['access_token', 'x']);
    expect(json.raw).toEqual([...bytes]);
  });

  it('Hono fetch-only: Content-Encoding gzip, or identity given twice (joined by Headers), is a 415 with no 500', async () => {
    const app = new Hono();
    app.use('*', honoTokenguard(validator, { transport: { body: true } }));
    app.post('/orders', (c) => c.text('ok'));
    for (const codings of [['gzip'], ['identity', 'identity']]) {
      const headers = new Headers({ 'content-type': FORM });
      for (const coding of codings) headers.append('content-encoding', coding);
      const answer = await app.request(
        new Request('http://api.test/orders', { method: 'POST', headers, body: `access_token=${token}` }),
      );
      expect(answer.status, codings.join()).toBe(415);
    }
  });
});
