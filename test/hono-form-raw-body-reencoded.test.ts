/**
 * WAS A DEFECT (failed until fixed): on Hono, after tokenguard read a form for its token, the body a handler
 * reads or forwards is no longer the bytes the client sent.
 *
 * Since 8c8af96 the Hono adapter reads the form with `c.req.text()` (was `c.req.parseBody()`, which
 * reads `c.req.arrayBuffer()`), then gives `c.req.raw` its body back from `c.req.arrayBuffer()`. With
 * only the text cached, Hono rebuilds that array buffer from the text: the bytes decoded as UTF-8
 * and encoded again. A body that is not UTF-8 comes back changed: an ISO-8859-1 form (a charset the
 * adapter accepts) has its `0xE9` replaced by `EF BF BD`, a leading UTF-8 BOM is dropped. The request's
 * `Content-Length` is left as sent, so a handler that forwards the request (`fetch(upstream, c.req.raw)`,
 * the use `restoreRawBody` exists for) fails (undici: "Request body length does not match
 * content-length header": a 500) or waits on the upstream. Before the change `c.req.raw`,
 * `c.req.arrayBuffer()` and the forwarded request carried the sent bytes.
 * Raw HTTP on 127.0.0.1 (@hono/node-server), a real upstream server, a real oidc-provider dev issuer.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createValidator, type Validator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { tokenguard } from '@tokenguard/hono';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postRaw, sendRaw } from './support/raw-http.js';

const FORM = 'application/x-www-form-urlencoded';
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

let issuer: DevIssuer;
let token: string;
let validator: Validator;
let upstream: Server;
let server: Server;
let port: number;

function close(target: Server): Promise<void> {
  target.closeAllConnections();
  return new Promise((resolve) => target.close(() => resolve()));
}

beforeAll(async () => {
  issuer = await startDevIssuer({ extraClaims: { tid: 'tenant-a' } });
  token = await issuer.getToken({ resource: 'https://api.test' });
  validator = createValidator({ issuer: issuer.issuer, audience: 'https://api.test' });
  // The upstream a handler forwards to: answers the bytes it received, in hex.
  upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => res.end(JSON.stringify({ hex: Buffer.concat(chunks).toString('hex') })));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`;

  const app = new Hono();
  app.use('*', tokenguard(validator, { transport: { body: true } }));
  app.post('/raw', async (c) => c.json({ hex: Buffer.from(await c.req.raw.arrayBuffer()).toString('hex') }));
  app.post('/bytes', async (c) => c.json({ hex: Buffer.from(await c.req.arrayBuffer()).toString('hex') }));
  app.post('/forward', async (c) => {
    const answer = await fetch(upstreamUrl, c.req.raw);
    return c.json(await answer.json());
  });
  server = await new Promise<Server>((resolve) => {
    const listening = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(listening as Server),
    );
  });
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  if (server !== undefined) await close(server);
  if (upstream !== undefined) await close(upstream);
  await validator?.close();
  await issuer?.close();
});

async function post(path: string, contentType: string, body: Buffer) {
  const request = postRaw(path, `127.0.0.1:${port}`, contentType, body);
  const answer = await sendRaw(port, request.head, { body: request.body, timeoutMs: 8000 });
  return {
    status: answer.status,
    body: answer.status === 200 ? (JSON.parse(answer.body) as unknown) : answer.body,
  };
}

describe('Hono: the body a handler sees after a form token was read (transport.body)', () => {
  it('an ISO-8859-1 form: c.req.raw and c.req.arrayBuffer() hold the bytes sent (was a defect: 0xE9 comes back as EF BF BD)', async () => {
    const body = Buffer.concat([Buffer.from(`access_token=${token}&name=Jos`), Buffer.from([0xe9])]);
    const contentType = `${FORM}; charset=iso-8859-1`;
    expect(await post('/raw', contentType, body)).toEqual({
      status: 200,
      body: { hex: body.toString('hex') },
    });
    expect(await post('/bytes', contentType, body)).toEqual({
      status: 200,
      body: { hex: body.toString('hex') },
    });
  });

  it('a form starting with a UTF-8 BOM: c.req.raw holds the bytes sent, and forwarding it works (was a defect: the BOM is gone and the forward is a 500)', async () => {
    const body = Buffer.concat([BOM, Buffer.from(`access_token=${token}&n=1`)]);
    expect(await post('/raw', FORM, body)).toEqual({ status: 200, body: { hex: body.toString('hex') } });
    expect(await post('/forward', FORM, body)).toEqual({ status: 200, body: { hex: body.toString('hex') } });
  });

  it('a plain ASCII form: the bytes sent, forwarded as sent (the control)', async () => {
    const body = Buffer.from(`access_token=${token}&n=1`);
    expect(await post('/raw', FORM, body)).toEqual({ status: 200, body: { hex: body.toString('hex') } });
    expect(await post('/forward', FORM, body)).toEqual({ status: 200, body: { hex: body.toString('hex') } });
  });
});
