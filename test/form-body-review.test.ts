/**
 * Review of 8c8af96 (adapters read a form body the same way; Hono's DPoP URL without a Host): what
 * held. Raw HTTP on 127.0.0.1 to Express 5, Express 4, Fastify and Hono (test/support/four-adapters.ts),
 * a real oidc-provider dev issuer; Hono also through `app.request()` (no Node server, as on a
 * fetch-only runtime). The defects it found, all fixed, are pinned in express-form-repeated-names-quadratic,
 * hono-form-raw-body-reencoded, fastify-form-decompressed-by-app, fastify-form-parser-non-token-methods
 * and form-bodies-agreement (Content-Encoding lists, empty or malformed charsets, BOM decoding).
 */
import { connect } from 'node:net';
import { createValidator, FORM_BODY_MAX_BYTES, type Validator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import fastifyTokenguard from '@tokenguard/fastify';
import { tokenguard as honoTokenguard } from '@tokenguard/hono';
import express4 from 'express4';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdapterName, asExpress, type FourApps, startFourAdapters } from './support/four-adapters.js';
import { comparedAnswer, gzipped, head11, postRaw, sendRaw } from './support/raw-http.js';

const FORM = 'application/x-www-form-urlencoded';

let issuer: DevIssuer;
let token: string;
let bound: string;

beforeAll(async () => {
  issuer = await startDevIssuer({ extraClaims: { tid: 'tenant-a' }, dpop: true });
  token = await issuer.getToken({ resource: 'https://api.test' });
  bound = await issuer.getToken({ resource: 'https://api.test', dpop: true });
});

afterAll(async () => {
  await issuer?.close();
});

const makeValidator =
  (extra: Record<string, unknown> = {}) =>
  () =>
    createValidator({ issuer: issuer.issuer, audience: 'https://api.test', realm: 'conformance', ...extra });

/** Each adapter's status for the same bytes (a POST /orders form unless `head` is given). */
async function statuses(
  apps: FourApps,
  request: (port: number) => { head: string; body: Buffer[] },
): Promise<Record<AdapterName, number>> {
  const found = {} as Record<AdapterName, number>;
  for (const [adapter, port] of Object.entries(apps.ports) as [AdapterName, number][]) {
    const { head, body } = request(port);
    found[adapter] = (await sendRaw(port, head, { body })).status;
  }
  return found;
}

const all = (status: number) => ({ express: status, express4: status, fastify: status, hono: status });

describe('form bodies over raw HTTP (transport.body)', () => {
  let apps: FourApps;
  beforeAll(async () => {
    apps = await startFourAdapters(makeValidator(), { body: true });
  });
  afterAll(async () => {
    await apps?.close();
  });

  const form =
    (body: string | Buffer, lines: string[] = [], contentType = FORM) =>
    (port: number) =>
      postRaw('/orders', `127.0.0.1:${port}`, contentType, body, lines);

  it('names and values: percent-escaped name read, bracketed or upper-case names not, escapes decoded once', async () => {
    const cases: [string, () => string | Buffer, number][] = [
      ['access%5Ftoken', () => `access%5Ftoken=${token}`, 200],
      ['dots escaped (%2E)', () => `access_token=${token.replace(/\./g, '%2E')}`, 200],
      ['access_token[]', () => `access_token[]=${token}`, 401],
      ['access_token%5B%5D', () => `access_token%5B%5D=${token}`, 401],
      ['ACCESS_TOKEN', () => `ACCESS_TOKEN=${token}`, 401],
      ['%2B decoded into the token', () => `access_token=${token}%2B`, 401],
      ['%3D%3D decoded into the token', () => `access_token=${token}%3D%3D`, 401],
      ['a literal +', () => `access_token=${token}+`, 400],
      ['an invalid escape in the token', () => `access_token=${token}%zz`, 400],
      ['%00 in the token', () => `access_token=${token}%00`, 400],
      ['sent twice', () => `access_token=${token}&access_token=${token}`, 400],
      ['an invalid escape elsewhere', () => `x=%zz&access_token=${token}`, 200],
      ['invalid UTF-8 escaped elsewhere', () => `x=%FF&access_token=${token}`, 200],
      [
        'invalid UTF-8 bytes elsewhere',
        () =>
          Buffer.concat([Buffer.from([0x78, 0x3d, 0xff, 0xfe, 0x26]), Buffer.from(`access_token=${token}`)]),
        200,
      ],
      ['a NUL byte elsewhere', () => `x=\0&access_token=${token}`, 200],
    ];
    for (const [name, body, status] of cases) {
      expect(await statuses(apps, form(body())), name).toEqual(all(status));
    }
  });

  it('header spellings: empty or Identity coding read, identity;q=1 refused (Fastify leaves codings to its hooks), charset quoted or spaced read, utf8 refused as Express does', async () => {
    const body = () => `access_token=${token}`;
    // Fastify reads a body with a Content-Encoding as its preParsing hooks hand it over (none here):
    // the plain one is read, the gzipped one holds no token (test/form-bodies-agreement.test.ts).
    const cases: [string, string[], string, number, number?][] = [
      ['Content-Encoding empty', ['Content-Encoding: '], FORM, 200],
      ['Content-Encoding: Identity', ['Content-Encoding: Identity'], FORM, 200],
      ['Content-Encoding: identity;q=1', ['Content-Encoding: identity;q=1'], FORM, 415, 200],
      ['Content-Encoding: gzip (gzipped)', ['Content-Encoding: gzip'], FORM, 415, 401],
      ['charset="utf-8"', [], `${FORM}; charset="utf-8"`, 200],
      ['charset with spaces', [], `${FORM} ; charset = UTF-8 `, 200],
      ['charset=utf8', [], `${FORM}; charset=utf8`, 415],
      ['charset=latin1', [], `${FORM}; charset=latin1`, 415],
      ['Content-Type upper case', [], 'APPLICATION/X-WWW-FORM-URLENCODED', 200],
      ['Content-Type mixed case', [], 'Application/X-Www-Form-Urlencoded; Charset=UTF-8', 200],
    ];
    for (const [name, lines, contentType, status, fastify = status] of cases) {
      const bytes = name.includes('gzipped') ? gzipped(body()) : body();
      expect(await statuses(apps, form(bytes, lines, contentType)), name).toEqual({
        ...all(status),
        fastify,
      });
    }
  });

  it('lengths: exactly 100 KiB read, one byte more 413, with Content-Length or chunked', async () => {
    const exact = `access_token=${token}&x=`.padEnd(FORM_BODY_MAX_BYTES, 'a');
    expect(await statuses(apps, form(exact))).toEqual(all(200));
    expect(await statuses(apps, form(`${exact}a`))).toEqual(all(413));
    const chunked = (text: string) => (port: number) => ({
      head: head11('POST', '/orders', `127.0.0.1:${port}`, [
        `Content-Type: ${FORM}`,
        'Transfer-Encoding: chunked',
      ]),
      body: [
        Buffer.from(`${(40_000).toString(16)}\r\n${text.slice(0, 40_000)}\r\n`),
        Buffer.from(`${(text.length - 40_000).toString(16)}\r\n${text.slice(40_000)}\r\n0\r\n\r\n`),
      ],
    });
    expect(await statuses(apps, chunked(exact))).toEqual(all(200));
    expect(await statuses(apps, chunked(`${exact}`.padEnd(150_000, 'a')))).toEqual(all(413));
  });

  it('a client that stops mid-body: no answer is owed, and the server answers the next request', async () => {
    for (const [adapter, port] of Object.entries(apps.ports) as [AdapterName, number][]) {
      await new Promise<void>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.write(
            `${head11('POST', '/orders', `127.0.0.1:${port}`, [`Content-Type: ${FORM}`, 'Content-Length: 5000'])}access_token=`,
          );
          socket.destroy();
          resolve();
        });
        socket.on('error', () => resolve());
      });
      const next = form(`access_token=${token}`)(port);
      expect((await sendRaw(port, next.head, { body: next.body })).status, adapter).toBe(200);
    }
  });

  it('a form on GET is never read: no token from it, and a header token passes whatever the form', async () => {
    const get = (lines: string[], body: string) => (port: number) => ({
      head: head11('GET', '/me', `127.0.0.1:${port}`, [...lines, `Content-Length: ${body.length}`]),
      body: [Buffer.from(body)],
    });
    expect(await statuses(apps, get([`Content-Type: ${FORM}`], `access_token=${token}`))).toEqual(all(401));
    expect(
      await statuses(
        apps,
        get([`Authorization: Bearer ${token}`, `Content-Type: ${FORM}`, 'Content-Encoding: gzip'], 'x=1'),
      ),
    ).toEqual(all(200));
  });

  it('hostile forms without a token: 100 KiB of "&" and 50,000 names are over 1000 parameters (413 everywhere, at once); 100 KiB of "=" is one (401)', async () => {
    const bodies = [
      '&'.repeat(FORM_BODY_MAX_BYTES),
      '='.repeat(FORM_BODY_MAX_BYTES),
      Array.from({ length: 50_000 }, (_, i) => i.toString(36))
        .join('&')
        .slice(0, FORM_BODY_MAX_BYTES),
    ];
    for (const body of bodies) {
      for (const [adapter, port] of Object.entries(apps.ports) as [AdapterName, number][]) {
        const request = form(body)(port);
        const answer = comparedAnswer(await sendRaw(port, request.head, { body: request.body }));
        expect(answer.status, `${adapter} ${body.slice(0, 8)}`).toBe(body.startsWith('=') ? 401 : 413);
      }
    }
  });
});

describe('DPoP and the Host of the request (Hono dpopUrl)', () => {
  let withOrigin: FourApps;
  let withoutOrigin: FourApps;
  beforeAll(async () => {
    withOrigin = await startFourAdapters(makeValidator({ dpop: { origin: 'https://api.example' } }), {});
    withoutOrigin = await startFourAdapters(makeValidator({ dpop: true }), {});
  });
  afterAll(async () => {
    await withOrigin?.close();
    await withoutOrigin?.close();
  });

  async function dpopStatuses(
    apps: FourApps,
    hostLine: (port: number) => string | undefined,
    htu: (port: number) => string,
  ) {
    const found = {} as Record<AdapterName, number>;
    for (const [adapter, port] of Object.entries(apps.ports) as [AdapterName, number][]) {
      const proof = await issuer.dpopProof('GET', htu(port), bound);
      const host = hostLine(port);
      const head =
        host === undefined
          ? `GET /me HTTP/1.0\r\nAuthorization: DPoP ${bound}\r\nDPoP: ${proof}\r\n\r\n`
          : `GET /me HTTP/1.1\r\n${host}\r\nAuthorization: DPoP ${bound}\r\nDPoP: ${proof}\r\nConnection: close\r\n\r\n`;
      found[adapter] = (await sendRaw(port, head)).status;
    }
    return found;
  }

  it('with dpop.origin: a request without a Host, or with an empty one, is accepted for the configured origin', async () => {
    const htu = () => 'https://api.example/me';
    expect(await dpopStatuses(withOrigin, () => undefined, htu)).toEqual(all(200));
    expect(await dpopStatuses(withOrigin, () => 'Host: ', htu)).toEqual(all(200));
    expect(await dpopStatuses(withOrigin, (port) => `Host: 127.0.0.1:${port}`, htu)).toEqual(all(200));
  });

  it('without dpop.origin: a Host in odd case or with a port names the origin the proof is checked against', async () => {
    expect(
      await dpopStatuses(
        withoutOrigin,
        (port) => `Host: LocalHost:${port}`,
        (port) => `http://localhost:${port}/me`,
      ),
    ).toEqual(all(200));
    expect(
      await dpopStatuses(
        withoutOrigin,
        () => 'Host: api.example:80',
        () => 'http://api.example/me',
      ),
    ).toEqual(all(200));
    const found = await dpopStatuses(
      withoutOrigin,
      () => undefined,
      () => 'http://127.0.0.1/me',
    );
    expect(found).toEqual(asExpress(found));
    expect(found.express).toBe(401);
  });
});

describe('what apps see afterwards', () => {
  let validator: Validator;
  beforeAll(() => {
    validator = makeValidator()();
  });
  afterAll(async () => {
    await validator?.close();
  });

  it('Hono: a handler still reads c.req.parseBody() and c.req.text() of an ASCII form after tokenguard read it', async () => {
    const app = new Hono();
    app.use('*', honoTokenguard(validator, { transport: { body: true } }));
    app.post('/parse', async (c) => c.json(await c.req.parseBody({ all: true })));
    app.post('/text', async (c) => c.text(await c.req.text()));
    const body = `access_token=${token}&n=1&n=2`;
    const init = () => ({ method: 'POST', headers: { 'content-type': FORM }, body });
    const parsed = await app.request('/parse', init());
    expect(parsed.status).toBe(200);
    expect(await parsed.json()).toEqual({ access_token: token, n: ['1', '2'] });
    const text = await app.request('/text', init());
    expect(await text.text()).toBe(body);
  });

  it('Hono without a Node server (fetch-only): a streamed form over 100 KiB without Content-Length is a 413, a small one is read', async () => {
    const app = new Hono();
    app.use('*', honoTokenguard(validator, { transport: { body: true } }));
    app.post('/orders', (c) => c.json({ subject: c.get('auth')?.subject ?? null }));
    const streamOf = (text: string) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          const bytes = new TextEncoder().encode(text);
          for (let at = 0; at < bytes.length; at += 16_384)
            controller.enqueue(bytes.subarray(at, at + 16_384));
          controller.close();
        },
      });
    const post = (text: string) =>
      app.request('/orders', {
        method: 'POST',
        headers: { 'content-type': FORM },
        body: streamOf(text),
        duplex: 'half',
      } as RequestInit);
    expect((await post(`access_token=${token}&x=`.padEnd(150_000, 'a'))).status).toBe(413);
    const small = await post(`access_token=${token}`);
    expect(small.status).toBe(200);
    expect(await small.json()).toEqual({ subject: 'tokenguard-dev-client' });
  });

  it('Fastify: request.body holds every parameter (up to 1000) without a prototype, a repeated name as a list; a route bodyLimit wins over 100 KiB', async () => {
    const app = Fastify();
    await app.register(fastifyTokenguard, { validator, transport: { body: true } });
    app.post('/orders', async (request) => {
      const body = request.body as Record<string, unknown>;
      return {
        prototype: Object.getPrototypeOf(body),
        count: Object.keys(body).length,
        n: body.n,
        last: body.p996,
      };
    });
    app.post('/big', { bodyLimit: 200_000 }, async (request) => ({ subject: request.auth?.subject ?? null }));
    try {
      // 1000 parameters: the most a form read for its token may hold.
      const payload = `access_token=${token}&n=1&n=2&${Array.from({ length: 997 }, (_, i) => `p${i}=${i}`).join('&')}`;
      const answer = await app.inject({
        method: 'POST',
        url: '/orders',
        headers: { 'content-type': FORM },
        payload,
      });
      expect(answer.statusCode, answer.body).toBe(200);
      expect(answer.json()).toEqual({ prototype: null, count: 999, n: ['1', '2'], last: '996' });
      const big = await app.inject({
        method: 'POST',
        url: '/big',
        headers: { 'content-type': FORM },
        payload: `access_token=${token}&x=`.padEnd(150_000, 'a'),
      });
      expect(big.statusCode, big.body).toBe(200);
    } finally {
      await app.close();
    }
  });

  it("Express 4's own body-parser (1.x, what a real Express 4 peer runs) takes the adapter's options: 1000 parameters, no inflating, UTF-8 only", async () => {
    const app = express4();
    app.use(express4.urlencoded({ extended: false, limit: FORM_BODY_MAX_BYTES, inflate: false }));
    app.post('/form', (req, res) => {
      res.json({ count: Object.keys(req.body as object).length });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const send = async (body: string | Buffer, lines: string[] = [], contentType = FORM) => {
        const request = postRaw('/form', `127.0.0.1:${port}`, contentType, body, lines);
        return sendRaw(port, request.head, { body: request.body });
      };
      const thousand = Array.from({ length: 1000 }, (_, i) => `p${i}=${i}`).join('&');
      const many = await send(thousand);
      expect(many.status).toBe(200);
      expect(JSON.parse(many.body)).toEqual({ count: 1000 });
      expect((await send(`${thousand}&p1000=1`)).status).toBe(413);
      expect((await send('&'.repeat(FORM_BODY_MAX_BYTES))).status).toBe(413);
      expect((await send(gzipped('a=1'), ['Content-Encoding: gzip'])).status).toBe(415);
      expect((await send('a=1', [], `${FORM}; charset=iso-8859-1`)).status).toBe(415);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
