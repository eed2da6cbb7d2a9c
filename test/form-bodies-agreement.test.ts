/**
 * A form-body token (RFC 6750 §2.2, `transport.body`) is read the same way by every adapter: Express
 * (5 and 4) with `express.urlencoded()`, Fastify and Hono with core's `readFormBody`, which reads a
 * form "as Express's urlencoded() does". The same raw bytes go to all four apps and get one status.
 * Each block below was a file of its own, and each was a defect (failed until fixed):
 * - size limit: a 150 kB form was 413 on Express and Hono, 200 on Fastify (its 1 MiB bodyLimit);
 *   forms are now read up to 100 KiB everywhere.
 * - parameter limit: past 1000 parameters Express said 413, Fastify silently dropped the rest (a
 *   token there was unseen, a repeat admitted), Hono read them all.
 * - charset and BOM: `charset=utf-16` was 415 on Express only; a UTF-8 BOM was dropped by Express only.
 * - BOM decoding: two BOMs were read on Hono only (two drops); a BOM under `charset=iso-8859-1` was
 *   dropped by Fastify and Hono where Express decodes it as `ï»¿`.
 * - empty or malformed charset: `charset=""`, `charset=`, an unterminated quote were UTF-8 on Express
 *   (the content-type package parses no charset) and 415 on Fastify and Hono.
 * - quoted-string charset: core split the Content-Type on every `;`, inside quotes too, and kept
 *   quoted-pairs (RFC 9110 §5.6.4, §5.6.6), so it found another charset than Express.
 * - Content-Encoding: a gzip form was 200 on Express and 401 elsewhere, an unknown coding the reverse
 *   (RFC 9110 §8.4); now Express and Hono answer 415 to any coding but identity and Fastify leaves
 *   codings to its own preParsing hooks (test/fastify-form-decompressed-by-app.test.ts).
 * - identity listed twice: `identity, identity` was 415 on Express and 200 on Hono.
 * - latin1 0xFF: Node 20's `TextDecoder('latin1', { ignoreBOM })` dropped a leading 0xFF, so
 *   `\xFFaccess_token=` was a token on Fastify and Hono, not on Express.
 * - leading `?`: `URLSearchParams` drops one leading `?` of a string, so `?access_token=` was a token
 *   on Fastify and Hono, none on Express (qs and node:querystring read the name `?access_token`).
 * - two Content-Type lines: Hono's fetch Headers joined them (not a form), core read Node's first
 *   one (a form): Hono said 401 where the others read the token.
 * Raw HTTP on 127.0.0.1 to Express 5, Express 4, Fastify and Hono (and Hono's fetch path); one real
 * oidc-provider dev issuer.
 */
import { deflateSync, gzipSync } from 'node:zlib';
import { createValidator, readFormBody, type Validator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { tokenguard as honoTokenguard } from '@tokenguard/hono';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdapterName, asExpress, type FourApps, startFourAdapters } from './support/four-adapters.js';
import { head11, type RawAnswer, sendRaw } from './support/raw-http.js';

const FORM = 'application/x-www-form-urlencoded';
const LATIN1 = `${FORM}; charset=iso-8859-1`;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

let issuer: DevIssuer;
let token: string;
let apps: FourApps;

const makeValidator = () =>
  createValidator({ issuer: issuer.issuer, audience: 'https://api.test', realm: 'conformance' });

beforeAll(async () => {
  issuer = await startDevIssuer({ extraClaims: { tid: 'tenant-a' } });
  token = await issuer.getToken({ resource: 'https://api.test' });
  apps = await startFourAdapters(makeValidator, { body: true });
});

afterAll(async () => {
  await apps?.close();
  await issuer?.close();
});

interface PostOptions {
  /** One `Content-Type` line per entry, in order, before `Content-Length`. */
  contentType?: string | readonly string[];
  /** Further field lines after `Content-Length` (`Authorization`, `Content-Encoding`, ...). */
  lines?: readonly string[];
}

/** POSTs `body` (a string as latin1, one byte per character) to /orders on each adapter. */
async function answers(
  body: string | Buffer,
  { contentType = FORM, lines = [] }: PostOptions = {},
): Promise<Record<AdapterName, RawAnswer>> {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  const types = typeof contentType === 'string' ? [contentType] : contentType;
  const found = {} as Record<AdapterName, RawAnswer>;
  for (const [adapter, port] of Object.entries(apps.ports) as [AdapterName, number][]) {
    const head = head11('POST', '/orders', `127.0.0.1:${port}`, [
      ...types.map((type) => `Content-Type: ${type}`),
      `Content-Length: ${bytes.length}`,
      ...lines,
    ]);
    found[adapter] = await sendRaw(port, head, { body: [bytes] });
  }
  return found;
}

const statusesOf = (found: Record<AdapterName, RawAnswer>) =>
  Object.fromEntries(Object.entries(found).map(([adapter, answer]) => [adapter, answer.status])) as Record<
    AdapterName,
    number
  >;

/** The status each adapter answers to `body` (see `answers`). */
async function statuses(
  body: string | Buffer,
  options: PostOptions = {},
): Promise<Record<AdapterName, number>> {
  return statusesOf(await answers(body, options));
}

describe('a 150 kB form body (transport.body)', () => {
  const PADDING = `p=${'x'.repeat(150 * 1024)}`;

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
    const found = await statuses(PADDING, { lines: [`Authorization: Bearer ${token}`] });
    expect(found, 'status by adapter').toEqual(asExpress(found));
    // The answer the adapters agree on since the fix.
    expect(found.express).toBe(413);
  });
});

describe('a form of more than 1000 parameters (transport.body)', () => {
  const params = (count: number) => Array.from({ length: count }, (_, i) => `p${i}=1`).join('&');

  it('999 parameters then access_token: every adapter reads it (the control: under every limit)', async () => {
    const found = await answers(`${params(999)}&access_token=${token}`);
    expect(statusesOf(found)).toEqual({ express: 200, express4: 200, fastify: 200, hono: 200 });
  });

  it('1000 parameters then access_token: the same status from every adapter (was a defect: Express 413, Fastify 401, Hono 200)', async () => {
    const found = statusesOf(await answers(`${params(1000)}&access_token=${token}`));
    expect(found, 'status by adapter').toEqual(asExpress(found));
    // The answer the adapters agree on since the fix.
    expect(found.express).toBe(413);
  });

  it('no adapter answers "No bearer token in the request" to a form that carries one (was a defect: Fastify drops it past key 1000)', async () => {
    const found = await answers(`${params(1000)}&access_token=${token}`);
    for (const [adapter, answer] of Object.entries(found)) {
      expect(answer.body, adapter).not.toContain('No bearer token in the request');
    }
  });

  it('access_token twice, 1000 parameters apart: no adapter admits it (was a defect: Fastify 200; Express 413, Hono 400)', async () => {
    const found = await answers(`access_token=${token}&${params(1000)}&access_token=${token}`);
    const admitted = Object.entries(found)
      .filter(([, answer]) => answer.status === 200)
      .map(([adapter]) => adapter);
    expect(admitted, 'adapters that answered 200 to two access_token parameters').toEqual([]);
  });
});

describe('the charset of a form body, and a BOM (transport.body)', () => {
  it('charset=utf-8 and charset=iso-8859-1: 200 everywhere (the control)', async () => {
    for (const charset of ['utf-8', 'iso-8859-1']) {
      expect(
        await statuses(Buffer.from(`access_token=${token}`), { contentType: `${FORM}; charset=${charset}` }),
        charset,
      ).toEqual({
        express: 200,
        express4: 200,
        fastify: 200,
        hono: 200,
      });
    }
  });

  it('charset=utf-16: the same status from every adapter (was a defect: Express 415, Fastify and Hono 200)', async () => {
    const found = await statuses(Buffer.from(`access_token=${token}`), {
      contentType: `${FORM}; charset=utf-16`,
    });
    expect(found, 'status by adapter').toEqual(asExpress(found));
    // The answer the adapters agree on since the fix.
    expect(found.express).toBe(415);
  });

  it('a UTF-8 BOM before access_token: the same status from every adapter (was a defect: Express 200, Fastify and Hono 401)', async () => {
    const found = await statuses(Buffer.from(`\uFEFFaccess_token=${token}`, 'utf8'));
    expect(found, 'status by adapter').toEqual(asExpress(found));
    // The answer the adapters agree on since the fix.
    expect(found.express).toBe(200);
  });
});

describe('a byte order mark before a form (transport.body)', () => {
  it('one BOM, UTF-8: 200 everywhere (the control)', async () => {
    expect(await statuses(Buffer.concat([BOM, Buffer.from(`access_token=${token}`)]))).toEqual({
      express: 200,
      express4: 200,
      fastify: 200,
      hono: 200,
    });
  });

  it('two BOMs, UTF-8: the same status from every adapter (was a defect: Hono 200, the others 401)', async () => {
    const found = await statuses(Buffer.concat([BOM, BOM, Buffer.from(`access_token=${token}`)]));
    expect(found, 'status by adapter').toEqual(asExpress(found));
  });

  it('one BOM, charset=iso-8859-1: the same status from every adapter (was a defect: Express 401, Fastify and Hono 200)', async () => {
    const found = await statuses(Buffer.concat([BOM, Buffer.from(`access_token=${token}`)]), {
      contentType: LATIN1,
    });
    expect(found, 'status by adapter').toEqual(asExpress(found));
  });
});

describe('a form whose charset parameter is empty or malformed (transport.body)', () => {
  const withType = (contentType: string) => statuses(`access_token=${token}`, { contentType });

  it('charset=utf-8 and charset=utf8: 200 and 415 everywhere (the controls)', async () => {
    expect(await withType(`${FORM}; charset=utf-8`)).toEqual({
      express: 200,
      express4: 200,
      fastify: 200,
      hono: 200,
    });
    expect(await withType(`${FORM}; charset=utf8`)).toEqual({
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
      const found = await withType(contentType);
      expect(found, 'status by adapter').toEqual(asExpress(found));
    },
  );
});

describe('a form whose Content-Type has a quoted-string parameter (transport.body)', () => {
  const withBom = (contentType: string, bom: boolean) =>
    statuses(Buffer.concat([bom ? BOM : Buffer.alloc(0), Buffer.from(`access_token=${token}`)]), {
      contentType,
    });

  it('controls: a BOM is dropped from UTF-8 (200) and kept in ISO-8859-1 (401) on every adapter', async () => {
    expect(await withBom(`${FORM}; charset=utf-8`, true)).toEqual({
      express: 200,
      express4: 200,
      fastify: 200,
      hono: 200,
    });
    expect(await withBom(`${FORM}; charset=iso-8859-1`, true)).toEqual({
      express: 401,
      express4: 401,
      fastify: 401,
      hono: 401,
    });
  });

  it.each([
    ['x="a;charset=iso-8859-1" (no charset: UTF-8)', `${FORM}; x="a;charset=iso-8859-1"`, false, 200],
    ['x="a;charset=iso-8859-1;" (no charset: UTF-8), a BOM', `${FORM}; x="a;charset=iso-8859-1;"`, true, 200],
    [
      'x="a;charset=utf-8;"; charset=iso-8859-1 (ISO-8859-1), a BOM',
      `${FORM}; x="a;charset=utf-8;"; charset=iso-8859-1`,
      true,
      401,
    ],
    ['charset="utf\\-8" (a quoted-pair: UTF-8)', `${FORM}; charset="utf\\-8"`, false, 200],
  ])('%s: the same status from every adapter', async (_name, contentType, bom, express) => {
    const found = await withBom(contentType, bom);
    expect(found.express, 'Express (the content-type package)').toBe(express);
    expect(found, 'status by adapter').toEqual(asExpress(found));
  });

  it('core readFormBody: a charset named only inside a quoted parameter is no charset', () => {
    const reading = readFormBody(new TextEncoder().encode('a=1'), {
      'content-type': `${FORM}; x="a;charset=iso-8859-1"`,
    });
    expect(reading).toEqual({ parameters: { a: '1' } });
  });
});

describe('a form body with a Content-Encoding (transport.body)', () => {
  const coded = (body: Buffer, coding: string) => statuses(body, { lines: [`Content-Encoding: ${coding}`] });

  it('Content-Encoding: identity: 200 everywhere (the control)', async () => {
    expect(await coded(Buffer.from(`access_token=${token}`), 'identity')).toEqual({
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
      const found = await coded(encode(Buffer.from(`access_token=${token}`)), coding);
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
    const found = await coded(Buffer.from(`access_token=${token}`), 'x-unknown');
    expect(found).toEqual({ express: 415, express4: 415, fastify: 200, hono: 415 });
  });
});

describe('a form whose Content-Encoding lists identity more than once (transport.body)', () => {
  const withLines = (lines: string[]) => statuses(`access_token=${token}`, { lines });

  it('one Content-Encoding: identity, and one empty: 200 everywhere (the control)', async () => {
    const all200 = { express: 200, express4: 200, fastify: 200, hono: 200 };
    expect(await withLines(['Content-Encoding: identity'])).toEqual(all200);
    expect(await withLines(['Content-Encoding: '])).toEqual(all200);
  });

  it.each([
    ['two Content-Encoding: identity lines', ['Content-Encoding: identity', 'Content-Encoding: identity']],
    ['Content-Encoding: identity, identity', ['Content-Encoding: identity, identity']],
    ['Content-Encoding: , identity', ['Content-Encoding: , identity']],
    ['Content-Encoding: identity, and an empty line', ['Content-Encoding: identity', 'Content-Encoding: ']],
  ])(
    '%s: 415 from Express and Hono; Fastify reads the plain body (was a defect: Hono 200)',
    async (_name, lines) => {
      expect(await withLines(lines)).toEqual({ express: 415, express4: 415, fastify: 200, hono: 415 });
    },
  );
});

describe('an ISO-8859-1 form whose first byte is 0xFF (transport.body)', () => {
  const latin1 = (body: Buffer) => statuses(body, { contentType: LATIN1 });

  it('control: a first byte 0xFE or 0xE9 makes another name on every adapter (401)', async () => {
    for (const first of [0xfe, 0xe9]) {
      const found = await latin1(Buffer.concat([Buffer.from([first]), Buffer.from(`access_token=${token}`)]));
      expect(found, first.toString(16)).toEqual({ express: 401, express4: 401, fastify: 401, hono: 401 });
    }
  });

  it('"\\xFFaccess_token=<token>": the same status from every adapter (was a defect: Express 401, Fastify and Hono 200)', async () => {
    const found = await latin1(Buffer.concat([Buffer.from([0xff]), Buffer.from(`access_token=${token}`)]));
    expect(found.express, 'Express reads the name "ÿaccess_token"').toBe(401);
    expect(found, 'status by adapter').toEqual(asExpress(found));
  });

  it('core readFormBody keeps the first byte of an ISO-8859-1 form: 0xFF is "ÿ"', () => {
    const reading = readFormBody(Uint8Array.from([0xff, 0x61, 0x3d, 0x31]), { 'content-type': LATIN1 });
    expect('parameters' in reading && Object.keys(reading.parameters)).toEqual(['\u00ffa']);
  });
});

describe('a form body that starts with "?" (transport.body)', () => {
  // Hono's fetch path (app.request, no Node server) gets a validator of its own.
  let validator: Validator;

  beforeAll(() => {
    validator = makeValidator();
  });

  afterAll(async () => {
    await validator?.close();
  });

  it('control: "access_token=<token>" is 200 everywhere', async () => {
    expect(await statuses(`access_token=${token}`)).toEqual({
      express: 200,
      express4: 200,
      fastify: 200,
      hono: 200,
    });
  });

  it('"?access_token=<token>": the same status from every adapter (was a defect: Express 401, Fastify and Hono 200)', async () => {
    const found = await statuses(`?access_token=${token}`);
    expect(found.express, 'Express reads the name "?access_token"').toBe(401);
    expect(found, 'status by adapter').toEqual(asExpress(found));
  });

  it('"?access_token=<token>" with a header token: the same status from every adapter (was a defect: Express 200, Fastify and Hono 400)', async () => {
    const found = await statuses(`?access_token=${token}`, { lines: [`Authorization: Bearer ${token}`] });
    expect(found, 'status by adapter').toEqual(asExpress(found));
  });

  it('Hono on the fetch path (app.request): "?access_token=<token>" is no token, as on Express', async () => {
    const app = new Hono();
    app.use('*', honoTokenguard(validator, { transport: { body: true } }));
    app.post('/orders', (c) => c.json({ subject: c.get('auth')?.subject ?? null }));
    const answer = await app.request(
      new Request('http://api.test/orders', {
        method: 'POST',
        headers: new Headers({ 'content-type': FORM }),
        body: `?access_token=${token}`,
      }),
    );
    expect(answer.status).toBe(401);
  });

  it('core readFormBody: the name is "?access_token", as qs and node:querystring read it', () => {
    const reading = readFormBody(new TextEncoder().encode('?access_token=abc'), { 'content-type': FORM });
    expect('parameters' in reading && Object.keys(reading.parameters)).toEqual(['?access_token']);
  });
});

describe('a form token with two Content-Type headers (transport.body)', () => {
  const withTypes = (contentType: string[]) => statuses(`access_token=${token}`, { contentType });

  it('one Content-Type: 200 everywhere (the control)', async () => {
    expect(await withTypes([FORM])).toEqual({ express: 200, express4: 200, fastify: 200, hono: 200 });
  });

  it('text/plain first: 401 bare everywhere (the first one counts; the control)', async () => {
    expect(await withTypes(['text/plain', FORM])).toEqual({
      express: 401,
      express4: 401,
      fastify: 401,
      hono: 401,
    });
  });

  it('the form type, then text/plain: the same status from every adapter (was a defect: Hono 401, the others 200)', async () => {
    const found = await withTypes([FORM, 'text/plain']);
    expect(found, 'status by adapter').toEqual(asExpress(found));
    // The answer the adapters agree on since the fix.
    expect(found.express).toBe(200);
  });

  it('the form type twice: the same status from every adapter (was a defect: Hono 401, the others 200)', async () => {
    const found = await withTypes([FORM, FORM]);
    expect(found, 'status by adapter').toEqual(asExpress(found));
    // The answer the adapters agree on since the fix.
    expect(found.express).toBe(200);
  });
});
