/**
 * WAS A DEFECT (failed until fixed): on Fastify, a gzipped form the app itself decompresses is refused 415.
 *
 * Since 8c8af96 the plugin's form parser calls `formBodyRefusal(request.headers)`: any
 * `Content-Encoding` but `identity` is a 415 "unsupported content encoding". Fastify's body parsers
 * read the stream a `preParsing` hook returns, and request decompression is done exactly there:
 * `@fastify/compress` (its default, global `requestEncodings` hook) pipes the payload through
 * `zlib.createGunzip()` and leaves the headers as sent. The parser then gets the form as text, but
 * judges the header and refuses it. Before the change the same app read the decompressed form and
 * found its token (200). The plugin's concern (never read compressed bytes as a form, RFC 9110 §8.4)
 * does not hold here: what reaches the parser is already decoded.
 * Raw HTTP on 127.0.0.1, a `preParsing` hook written as `@fastify/compress` does it, a real
 * oidc-provider dev issuer.
 */
import type { Readable } from 'node:stream';
import { createGunzip, gzipSync } from 'node:zlib';
import { createValidator, type Validator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import tokenguard from '@tokenguard/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postRaw, sendRaw } from './support/raw-http.js';

const FORM = 'application/x-www-form-urlencoded';

let issuer: DevIssuer;
let token: string;
let validator: Validator;
let app: FastifyInstance;
let port: number;

beforeAll(async () => {
  issuer = await startDevIssuer({ extraClaims: { tid: 'tenant-a' } });
  token = await issuer.getToken({ resource: 'https://api.test' });
  validator = createValidator({ issuer: issuer.issuer, audience: 'https://api.test' });
  app = Fastify();
  // Request decompression as @fastify/compress does it: the payload through gunzip, headers as sent,
  // the encoded length tracked for Fastify's bodyLimit.
  app.addHook('preParsing', async (request, _reply, payload) => {
    if (request.headers['content-encoding'] !== 'gzip') return payload;
    const gunzip = Object.assign(createGunzip(), { receivedEncodedLength: 0 });
    payload.on('data', (chunk: Buffer) => {
      gunzip.receivedEncodedLength += chunk.length;
    });
    return payload.pipe(gunzip) as unknown as Readable;
  });
  await app.register(tokenguard, { validator, transport: { body: true } });
  app.post('/orders', async (request) => ({ subject: request.auth?.subject ?? null, body: request.body }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as { port: number }).port;
});

afterAll(async () => {
  await app?.close();
  await validator?.close();
  await issuer?.close();
});

describe('Fastify: a form the app decompresses in preParsing (transport.body)', () => {
  it('a gzipped form with access_token, gunzipped by the app: the token is read (200; was a defect: 415)', async () => {
    const request = postRaw('/orders', `127.0.0.1:${port}`, FORM, gzipSync(`access_token=${token}&n=1`), [
      'Content-Encoding: gzip',
    ]);
    const answer = await sendRaw(port, request.head, { body: request.body });
    expect(answer.status, answer.body).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ subject: 'tokenguard-dev-client', body: { n: '1' } });
  });

  it('the same form sent uncompressed: 200 (the control)', async () => {
    const request = postRaw('/orders', `127.0.0.1:${port}`, FORM, `access_token=${token}&n=1`);
    const answer = await sendRaw(port, request.head, { body: request.body });
    expect(answer.status, answer.body).toBe(200);
  });
});
