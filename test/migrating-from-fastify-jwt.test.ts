/**
 * MIGRATING.md, "@fastify/jwt and get-jwks", run as written: the "Before" block (@fastify/jwt with
 * get-jwks, as their READMEs set it up for a JWKS) and the "After" block (@tokenguard/fastify), each a
 * real Fastify server on 127.0.0.1, against the same tokens of a real oidc-provider (the dev issuer), and
 * tokens of a second issuer for what the dev issuer does not issue (test/support/migrating.ts). One test
 * per row of the section's table, and one that the table has no other rows.
 */
import * as fastifyJwt from '@fastify/jwt';
import { createValidator, isTokenGuardError, type ValidatorOptions } from '@tokenguard/core';
import type { DevIssuer } from '@tokenguard/dev-issuer';
import * as tgFastify from '@tokenguard/fastify';
import type { FastifyInstance } from 'fastify';
import * as fastifyNs from 'fastify';
import * as getJwks from 'get-jwks';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  type GuideUrls,
  type MiniIssuer,
  migratingBlocks,
  migratingTable,
  runBlock,
  SHORT_LIVED,
  startMigrationIssuers,
} from './support/migrating.js';

const API = 'https://api.test';
const HEADING = '@fastify/jwt and get-jwks';
const MODULES = {
  fastify: fastifyNs,
  '@fastify/jwt': fastifyJwt,
  'get-jwks': getJwks,
  '@tokenguard/fastify': tgFastify,
};

const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
});

let dev: DevIssuer;
let mini: MiniIssuer;
const tokens = { full: '', noScope: '', otherAudience: '', short: '' };
let shortExpired: Promise<void>;

/** A block of the section as a Fastify server on 127.0.0.1 (closed after the file). */
async function start(index: 0 | 1, urls: GuideUrls): Promise<{ url: string; app: FastifyInstance }> {
  const code = migratingBlocks(HEADING)[index] ?? '';
  const { app } = (await runBlock(code, MODULES, urls, ['app'])) as { app: FastifyInstance };
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  closers.push(() => app.close());
  return { url, app };
}

const nowSec = () => Math.floor(Date.now() / 1000);

let before: string;
let after: string;
let miniBefore: string;
let miniAfter: { url: string; app: FastifyInstance };

beforeAll(async () => {
  const issuers = await startMigrationIssuers(closers);
  ({ dev, mini, shortExpired } = issuers);
  Object.assign(tokens, issuers.tokens);
  const devUrls = { issuer: dev.issuer, audience: API };
  const miniUrls = { issuer: mini.issuer, audience: API };
  const started = await Promise.all([
    start(0, devUrls),
    start(1, devUrls),
    start(0, miniUrls),
    start(1, miniUrls),
  ]);
  before = started[0].url;
  after = started[1].url;
  miniBefore = started[2].url;
  miniAfter = started[3];
});

/** The code a validator with the After block's options (and `extra`) gives a token of the second issuer. */
async function afterCode(token: string, extra: Partial<ValidatorOptions> = {}): Promise<string> {
  const validator = createValidator({ issuer: mini.issuer, audience: API, ...extra });
  closers.push(() => validator.close());
  return validator.validate(token).then(
    () => 'accepted',
    (error: unknown) => (isTokenGuardError(error) ? error.code : String(error)),
  );
}

describe('MIGRATING.md: @fastify/jwt and get-jwks', () => {
  it('has two blocks and exactly the rows tested here', () => {
    expect(migratingBlocks(HEADING)).toHaveLength(2);
    expect(migratingTable(HEADING, 'What changes:').map((cells) => cells[0])).toEqual([
      'the claims',
      'no token',
      'scope missing',
      'expired',
      'another audience',
      'a token of an issuer not on the list',
      'key set unreachable',
      'a `typ: JWT` token',
      'a token without `exp`',
      'expired 2 s ago',
    ]);
  });

  it('the claims: request.user → request.auth.claims, request.auth.subject', async () => {
    const [was, now] = await Promise.all([
      call(`${before}/orders`, tokens.full),
      call(`${after}/orders`, tokens.full),
    ]);
    expect([was.status, now.status]).toEqual([200, 200]);
    expect(was.json).toEqual({ subject: decodeJwt(tokens.full).sub, claims: decodeJwt(tokens.full) });
    expect(now.json).toEqual(was.json);
  });

  it('no token: 401 FST_JWT_NO_AUTHORIZATION_IN_HEADER, no challenge → 401 Bearer, JSON unauthorized', async () => {
    const [was, now] = await Promise.all([call(`${before}/orders`), call(`${after}/orders`)]);
    expect([was.status, was.wwwAuthenticate, was.json?.code]).toEqual([
      401,
      null,
      'FST_JWT_NO_AUTHORIZATION_IN_HEADER',
    ]);
    expect(Object.keys(was.json ?? {}).sort()).toEqual(['code', 'error', 'message', 'statusCode']);
    expect([now.status, now.wwwAuthenticate, now.json?.error]).toEqual([401, 'Bearer', 'unauthorized']);
  });

  it('scope missing: 403 (your check) → 403 insufficient_scope scope="orders:read", JSON', async () => {
    const [was, now] = await Promise.all([
      call(`${before}/orders`, tokens.noScope),
      call(`${after}/orders`, tokens.noScope),
    ]);
    expect([was.status, was.json]).toEqual([403, { message: 'Forbidden' }]);
    expect([now.status, now.json?.error]).toEqual([403, 'insufficient_scope']);
    expect(now.wwwAuthenticate).toContain('error="insufficient_scope"');
    expect(now.wwwAuthenticate).toContain('scope="orders:read"');
  });

  it('expired: 401 FST_JWT_AUTHORIZATION_TOKEN_EXPIRED, no challenge → 401 invalid_token', async () => {
    await shortExpired;
    const urls = { issuer: dev.issuer, audience: SHORT_LIVED };
    const [shortBefore, shortAfter] = await Promise.all([start(0, urls), start(1, urls)]);
    const [was, now] = await Promise.all([
      call(`${shortBefore.url}/orders`, tokens.short),
      call(`${shortAfter.url}/orders`, tokens.short),
    ]);
    expect([was.status, was.wwwAuthenticate, was.json?.code]).toEqual([
      401,
      null,
      'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED',
    ]);
    expect([now.status, now.json?.error]).toEqual([401, 'invalid_token']);
    expect(now.wwwAuthenticate).toContain('error="invalid_token"');
  });

  it('another audience: 401 FST_JWT_AUTHORIZATION_TOKEN_INVALID, no challenge → 401 invalid_token', async () => {
    const [was, now] = await Promise.all([
      call(`${before}/orders`, tokens.otherAudience),
      call(`${after}/orders`, tokens.otherAudience),
    ]);
    expect([was.status, was.wwwAuthenticate, was.json?.code]).toEqual([
      401,
      null,
      'FST_JWT_AUTHORIZATION_TOKEN_INVALID',
    ]);
    expect([now.status, now.json?.error]).toEqual([401, 'invalid_token']);
  });

  it('a token of an issuer not on the list: 500 → 401 invalid_token, no request made', async () => {
    const token = await mini.token(API);
    const requests = mini.requests;
    const [was, now] = await Promise.all([call(`${before}/orders`, token), call(`${after}/orders`, token)]);
    expect(was.status).toBe(500);
    expect([now.status, now.json?.error]).toEqual([401, 'invalid_token']);
    expect(mini.requests).toBe(requests);
  });

  it('key set unreachable: 500 → 503 with Retry-After', async () => {
    const urls = { issuer: mini.issuer, audience: API };
    const [downBefore, downAfter] = await Promise.all([start(0, urls), start(1, urls)]);
    const token = await mini.token(API);
    mini.down = true;
    try {
      const [was, now] = await Promise.all([
        call(`${downBefore.url}/orders`, token),
        call(`${downAfter.url}/orders`, token),
      ]);
      expect(was.status).toBe(500);
      expect([now.status, now.retryAfter !== null]).toEqual([503, true]);
    } finally {
      mini.down = false;
    }
  });

  it('a typ: JWT token: accepted → 401; typ: [at+jwt, JWT] accepts it', async () => {
    const token = await mini.token(API, {}, { typ: 'JWT' });
    const [was, now] = await Promise.all([
      call(`${miniBefore}/orders`, token),
      call(`${miniAfter.url}/orders`, token),
    ]);
    expect([was.status, now.status]).toEqual([200, 401]);
    expect(await afterCode(token)).toBe('ERR_TYPE_MISMATCH');
    expect(await afterCode(token, { typ: ['at+jwt', 'JWT'] })).toBe('accepted');
  });

  it('a token without exp: accepted → 401 ERR_CLAIM_MISSING', async () => {
    const token = await mini.token(API, { exp: undefined });
    const [was, now] = await Promise.all([
      call(`${miniBefore}/orders`, token),
      call(`${miniAfter.url}/orders`, token),
    ]);
    expect([was.status, now.status]).toEqual([200, 401]);
    expect(await afterCode(token)).toBe('ERR_CLAIM_MISSING');
  });

  it('expired 2 s ago: refused → accepted', async () => {
    const token = await mini.token(API, { exp: nowSec() - 2 });
    const [was, now] = await Promise.all([
      call(`${miniBefore}/orders`, token),
      call(`${miniAfter.url}/orders`, token),
    ]);
    expect([was.status, now.status]).toEqual([401, 200]);
    expect(await afterCode(token, { clockToleranceSec: 0 })).toBe('ERR_TOKEN_EXPIRED');
  });
});
