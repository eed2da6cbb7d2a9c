/**
 * A representative subset of the adversarial tokens, plus fuzzed header values, pushed through each
 * adapter (Express, Fastify, Hono on @hono/node-server) over real HTTP on 127.0.0.1. Requests are
 * written on a raw socket so that any header byte (except CR/LF) reaches the server as sent. Every
 * answer must be 400 or 401 (403 for the scope case), with a Bearer challenge: never 2xx, never 5xx.
 */
import { createPublicKey } from 'node:crypto';
import { connect } from 'node:net';
import { serve } from '@hono/node-server';
import { createValidator, type Validator } from '@tokenguard/core';
import * as expressAdapter from '@tokenguard/express';
import fastifyAdapter from '@tokenguard/fastify';
import * as honoAdapter from '@tokenguard/hono';
import express from 'express';
import fc from 'fast-check';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jwksOf } from '../support/keys.js';
import { AUDIENCE, b64u, claims, forge, ISSUER, NOW_MS, NOW_SEC, OTHER_ISSUER } from './forge.js';
import { createKeyring } from './keyring.js';

const ring = createKeyring();
const validator: Validator = createValidator({
  issuer: ISSUER,
  audience: AUDIENCE,
  jwks: jwksOf(ring.rs256, ring.es256),
  now: () => NOW_MS,
  tokenCache: false,
});
const servers: { name: string; port: number; close: () => Promise<void> }[] = [];

beforeAll(async () => {
  const ok = { ok: true };
  // Express
  const expressApp = express();
  expressApp.use(expressAdapter.tokenguard(validator));
  expressApp.get('/orders', expressAdapter.requireScopes('orders:read'), (_req, res) => {
    res.json(ok);
  });
  const expressServer = expressApp.listen(0, '127.0.0.1');
  await new Promise((resolve) => expressServer.once('listening', resolve));
  servers.push({
    name: 'express',
    port: (expressServer.address() as { port: number }).port,
    close: () => new Promise((resolve) => expressServer.close(() => resolve())),
  });
  // Fastify
  const fastifyApp = Fastify();
  await fastifyApp.register(fastifyAdapter, { validator });
  fastifyApp.get('/orders', { config: { auth: { scopes: ['orders:read'] } } }, async () => ok);
  await fastifyApp.listen({ port: 0, host: '127.0.0.1' });
  servers.push({
    name: 'fastify',
    port: (fastifyApp.server.address() as { port: number }).port,
    close: () => fastifyApp.close(),
  });
  // Hono
  const honoApp = new Hono();
  honoApp.use('/*', honoAdapter.tokenguard(validator));
  honoApp.get('/orders', honoAdapter.requireScopes('orders:read'), (c) => c.json(ok));
  const honoServer = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const server = serve({ fetch: honoApp.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(server));
  });
  servers.push({
    name: 'hono',
    port: (honoServer.address() as { port: number }).port,
    close: () => new Promise((resolve) => honoServer.close(() => resolve())),
  });
});
afterAll(async () => {
  for (const server of servers) await server.close();
  await validator.close();
});

interface RawResponse {
  status: number;
  head: string;
}
/** Sends GET /orders with the given Authorization value(s), byte for byte, and reads the status. */
function rawGet(port: number, authorization: string | string[] | undefined): Promise<RawResponse> {
  const values =
    authorization === undefined ? [] : Array.isArray(authorization) ? authorization : [authorization];
  const lines = [
    'GET /orders HTTP/1.1',
    'Host: 127.0.0.1',
    'Connection: close',
    ...values.map((v) => `Authorization: ${v}`),
  ];
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(5_000, () => socket.destroy(new Error('no answer within 5 s')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (match === null) reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 80))}`));
      else resolve({ status: Number(match[1]), head: text.split('\r\n\r\n')[0] as string });
    });
    socket.end(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'));
  });
}

const header = { alg: 'RS256', typ: 'at+jwt', kid: ring.rs256.kid };
const sign = (overrides: Record<string, unknown> = {}, h: Record<string, unknown> = header) =>
  forge(h, claims(overrides), ring.rs256.privateKey, 'RS256');
const good = sign();
const [h, p, s] = good.split('.') as [string, string, string];
/** The issuer's public key as an HMAC secret (here: its SPKI PEM). */
const publicKeyPem = Buffer.from(
  createPublicKey(ring.rs256.privateKey).export({ type: 'spki', format: 'pem' }) as string,
);

/** [name, token, expected status] for tokens every adapter must refuse. */
const adversarial: [string, string, 400 | 401][] = [
  ['alg none, no signature', `${b64u(JSON.stringify({ ...header, alg: 'none' }))}.${p}.`, 401],
  ['alg none with a signature', sign({}, { ...header, alg: 'none' }), 401],
  ['HS256 keyed with the public key', forge({ ...header, alg: 'HS256' }, claims(), publicKeyPem), 401],
  [
    'embedded jwk of the attacker',
    forge({ ...header, kid: 'attacker', jwk: ring.attacker.publicJwk }, claims(), ring.attacker.privateKey),
    401,
  ],
  [
    'jku of the attacker',
    forge({ ...header, jku: 'http://127.0.0.1:9/jwks' }, claims(), ring.attacker.privateKey),
    401,
  ],
  ['kid path traversal', sign({}, { ...header, kid: '../../etc/passwd' }), 401],
  ['kid object', sign({}, { ...header, kid: { $ne: null } }), 401],
  ['crit unknown', sign({}, { ...header, crit: ['x'], x: 1 }), 401],
  ['b64 false', sign({}, { ...header, b64: false, crit: ['b64'] }), 401],
  [
    'ECDSA r = s = 0',
    `${b64u(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: ring.es256.kid }))}.${p}.${b64u(Buffer.alloc(64))}`,
    401,
  ],
  ['swapped signature', `${h}.${sign({ sub: 'mallory' }).split('.')[1]}.${s}`, 401],
  ['truncated signature', `${h}.${p}.${s.slice(0, -8)}`, 401],
  ['stripped signature', `${h}.${p}.`, 401],
  ['JWE shape', `${h}.${p}.${s}.${s}.${s}`, 401],
  ['nested JWT', forge({ ...header, cty: 'JWT' }, `"${good}"`, ring.rs256.privateKey), 401],
  ['padding', `${h}.${p}.${s}=`, 401],
  [
    'duplicate alg, none last',
    `${b64u(`${JSON.stringify(header).slice(0, -1)},"alg":"none"}`)}.${p}.${s}`,
    401,
  ],
  [
    '__proto__ claim',
    forge(
      header,
      `${JSON.stringify(claims()).slice(0, -1)},"__proto__":{"admin":true}}`,
      ring.rs256.privateKey,
    ),
    401,
  ],
  ['exp as a string', sign({ exp: String(NOW_SEC + 300) }), 401],
  [
    'exp 1e400',
    forge(
      header,
      `${JSON.stringify(claims({ exp: undefined })).slice(0, -1)},"exp":1e400}`,
      ring.rs256.privateKey,
    ),
    401,
  ],
  ['expired', sign({ exp: NOW_SEC - 3600 }), 401],
  ['aud lookalike', sign({ aud: 'https://api.test.evil' }), 401],
  ['another tenant', sign({ iss: OTHER_ISSUER }), 401],
  ['iss trailing slash', sign({ iss: `${ISSUER}/` }), 401],
  ['ID token (typ JWT, aud = client)', sign({ aud: 'client-1', nonce: 'n' }, { ...header, typ: 'JWT' }), 401],
  ['typ missing', sign({}, { alg: 'RS256', kid: ring.rs256.kid }), 401],
  ['many dots', '.'.repeat(64), 401],
  ['JSON serialization', JSON.stringify({ payload: p, protected: h, signature: s }), 400],
  ['a token with inner whitespace', `${h}.${p} .${s}`, 400],
];

describe.each(['express', 'fastify', 'hono'])('%s adapter over HTTP', (name) => {
  const port = () => servers.find((server) => server.name === name)?.port as number;

  it('control: a good token passes (200) and one lacking the scope is 403', async () => {
    expect((await rawGet(port(), `Bearer ${good}`)).status).toBe(200);
    const response = await rawGet(port(), `Bearer ${sign({ scope: 'orders:read-all ORDERS:READ' })}`);
    expect(response.status).toBe(403);
    expect(response.head).toMatch(/www-authenticate: Bearer .*error="insufficient_scope"/i);
  });
  it('answers a bare 401 challenge without credentials and 400 for two Authorization headers', async () => {
    const bare = await rawGet(port(), undefined);
    expect(bare.status).toBe(401);
    expect(bare.head).toMatch(/www-authenticate: Bearer/i);
    expect(bare.head).not.toMatch(/error=/i);
    expect((await rawGet(port(), [`Bearer ${good}`, `Bearer ${good}`])).status).toBe(400);
  });
  for (const [label, token, status] of adversarial) {
    it(`refuses ${label} with ${status}`, async () => {
      const response = await rawGet(port(), `Bearer ${token}`);
      expect(response.status).toBe(status);
      expect(response.head).toMatch(/www-authenticate: Bearer/i);
      expect(response.head).not.toContain(token.slice(0, 40));
    });
  }
  it('answers Bearer followed by a tab, a colon or a no-break space with 400, never as another scheme', async () => {
    // rawGet writes the value as latin1: U+00A0 is the byte 0xA0 on the wire.
    for (const separator of ['\t', ':', '\u00a0']) {
      const response = await rawGet(port(), `Bearer${separator}${good}`);
      expect(response.status).toBe(400);
      expect(response.head).toMatch(/www-authenticate: Bearer .*error="invalid_request"/i);
    }
  });
  it('refuses a Bearer Authorization value longer than maxTokenLength + 256 before reading it, as validate() does', async () => {
    // SECURITY.md item 1: a good token after 8500 spaces is too large.
    const response = await rawGet(port(), `Bearer ${' '.repeat(8500)}${good}`);
    expect(response.status).toBe(401);
    expect(response.head).toMatch(
      /www-authenticate: Bearer .*error="invalid_token".*error_description="The Authorization value is longer than 8448 characters \(a token of at most 8192, its scheme and spaces\)"/i,
    );
    // Within the limit the header is read: 200 spaces before the token are only spacing.
    expect((await rawGet(port(), `Bearer ${' '.repeat(200)}${good}`)).status).toBe(200);
    // Another scheme's long value (a Kerberos ticket) is no bearer token: the bare challenge, no error.
    const negotiate = await rawGet(port(), `Negotiate ${'Y'.repeat(12_000)}`);
    expect(negotiate.status).toBe(401);
    expect(negotiate.head).toMatch(/www-authenticate: Bearer/i);
    expect(negotiate.head).not.toMatch(/error=/i);
  });
  it('refuses a 1 MB Authorization header (Node answers 431 before the adapter runs)', async () => {
    const response = await rawGet(port(), `Bearer ${'a'.repeat(1 << 20)}`);
    expect(response.status).toBe(431);
  });
  it('answers fuzzed Authorization values and mutated tokens with 400/401, never 2xx or 5xx', async () => {
    const printable = fc
      .string({ unit: 'binary-ascii', maxLength: 200 })
      .map((value) => value.replace(/[\r\n]/g, ''));
    const mutated = fc
      .record({ at: fc.nat(good.length - 1), c: fc.constantFrom(...'A_-.=+/ \t\u00ff'.split('')) })
      .map(({ at, c }) => `Bearer ${good.slice(0, at)}${c}${good.slice(at + 1)}`);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          printable,
          printable.map((value) => `Bearer ${value}`),
          mutated,
        ),
        async (value) => {
          fc.pre(value.trim() !== `Bearer ${good}`);
          const { status } = await rawGet(port(), value);
          expect([400, 401]).toContain(status);
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 60) > 60 ? 300 : 60 },
    );
  });
});
