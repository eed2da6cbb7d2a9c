/**
 * MIGRATING.md, "Hono's jwk middleware", run as written: the "Before" block (`hono/jwk`) and the "After"
 * block (@tokenguard/hono), each a real @hono/node-server server on 127.0.0.1, against the same tokens
 * of a real oidc-provider (the dev issuer), and tokens of a second issuer for what the dev issuer does not
 * issue (test/support/migrating.ts). One test per row of the section's table, and one that the table has
 * no other rows.
 */
import { createServer } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { createValidator, isTokenGuardError, type ValidatorOptions } from '@tokenguard/core';
import type { DevIssuer } from '@tokenguard/dev-issuer';
import * as tgHono from '@tokenguard/hono';
import type { Hono } from 'hono';
import * as honoNs from 'hono';
import * as honoJwk from 'hono/jwk';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  closeServer,
  type GuideUrls,
  listen,
  type MiniIssuer,
  migratingBlocks,
  migratingTable,
  runBlock,
  SHORT_LIVED,
  startMigrationIssuers,
} from './support/migrating.js';

const API = 'https://api.test';
const HEADING = "Hono's jwk middleware";
const MODULES = { hono: honoNs, 'hono/jwk': honoJwk, '@tokenguard/hono': tgHono };

const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
});

let dev: DevIssuer;
let mini: MiniIssuer;
const tokens = { full: '', noScope: '', otherAudience: '', short: '' };
let shortExpired: Promise<void>;

/** A block of the section as a server on 127.0.0.1 (closed after the file). */
async function start(index: 0 | 1, urls: GuideUrls): Promise<string> {
  const code = migratingBlocks(HEADING)[index] ?? '';
  const { app } = (await runBlock(code, MODULES, urls, ['app'])) as { app: Hono };
  const server = createServer(getRequestListener(app.fetch));
  const url = await listen(server);
  closers.push(() => closeServer(server));
  return url;
}

const nowSec = () => Math.floor(Date.now() / 1000);

/** The code a validator with the After block's options (and `extra`) gives a token of the second issuer. */
async function afterCode(token: string, extra: Partial<ValidatorOptions> = {}): Promise<string> {
  const validator = createValidator({ issuer: mini.issuer, audience: API, ...extra });
  closers.push(() => validator.close());
  return validator.validate(token).then(
    () => 'accepted',
    (error: unknown) => (isTokenGuardError(error) ? error.code : String(error)),
  );
}

let before: string;
let after: string;
let miniBefore: string;
let miniAfter: string;

beforeAll(async () => {
  const issuers = await startMigrationIssuers(closers);
  ({ dev, mini, shortExpired } = issuers);
  Object.assign(tokens, issuers.tokens);
  const devUrls = { issuer: dev.issuer, audience: API };
  const miniUrls = { issuer: mini.issuer, audience: API };
  [before, after, miniBefore, miniAfter] = await Promise.all([
    start(0, devUrls),
    start(1, devUrls),
    start(0, miniUrls),
    start(1, miniUrls),
  ]);
});

describe("MIGRATING.md: Hono's jwk middleware", () => {
  it('has two blocks and exactly the rows tested here', () => {
    expect(migratingBlocks(HEADING)).toHaveLength(2);
    expect(migratingTable(HEADING, 'What changes:').map((cells) => cells[0])).toEqual([
      'the claims',
      'no token',
      'scope missing',
      'expired, or another audience',
      'the key set',
      'key set unreachable',
      'a token without `exp`',
      'expired 2 s ago',
    ]);
  });

  it("the claims: c.get('jwtPayload') → c.var.auth.claims, c.var.auth.subject", async () => {
    const [was, now] = await Promise.all([
      call(`${before}/api/orders`, tokens.full),
      call(`${after}/api/orders`, tokens.full),
    ]);
    expect([was.status, now.status]).toEqual([200, 200]);
    expect(was.json).toEqual({ subject: decodeJwt(tokens.full).sub, claims: decodeJwt(tokens.full) });
    expect(now.json).toEqual(was.json);
  });

  it('no token: 401 text, realm = the request URL, error="invalid_request" → 401 Bearer, JSON', async () => {
    const [was, now] = await Promise.all([call(`${before}/api/orders`), call(`${after}/api/orders`)]);
    expect([was.status, was.text]).toEqual([401, 'Unauthorized']);
    expect(was.wwwAuthenticate).toMatch(
      new RegExp(`^Bearer realm="${before}/api/orders",error="invalid_request",error_description="[^"]+"$`),
    );
    expect([now.status, now.wwwAuthenticate, now.json?.error]).toEqual([401, 'Bearer', 'unauthorized']);
  });

  it('scope missing: 403 (your check) → 403 insufficient_scope scope="orders:read", JSON', async () => {
    const [was, now] = await Promise.all([
      call(`${before}/api/orders`, tokens.noScope),
      call(`${after}/api/orders`, tokens.noScope),
    ]);
    expect([was.status, was.json]).toEqual([403, { message: 'Forbidden' }]);
    expect([now.status, now.json?.error]).toEqual([403, 'insufficient_scope']);
    expect(now.wwwAuthenticate).toContain('error="insufficient_scope"');
    expect(now.wwwAuthenticate).toContain('scope="orders:read"');
  });

  it('expired, or another audience: 401 "token verification failure" → 401 invalid_token saying which', async () => {
    await shortExpired;
    const urls = { issuer: dev.issuer, audience: SHORT_LIVED };
    const [shortBefore, shortAfter] = await Promise.all([start(0, urls), start(1, urls)]);
    const [wasExpired, wasOther, nowExpired, nowOther] = await Promise.all([
      call(`${shortBefore}/api/orders`, tokens.short),
      call(`${before}/api/orders`, tokens.otherAudience),
      call(`${shortAfter}/api/orders`, tokens.short),
      call(`${after}/api/orders`, tokens.otherAudience),
    ]);
    for (const was of [wasExpired, wasOther]) {
      expect([was.status, was.text]).toEqual([401, 'Unauthorized']);
      expect(was.wwwAuthenticate).toContain(
        'error="invalid_token",error_description="token verification failure"',
      );
    }
    for (const now of [nowExpired, nowOther]) {
      expect([now.status, now.json?.error]).toEqual([401, 'invalid_token']);
    }
    expect(nowExpired.json?.error_description).not.toBe(nowOther.json?.error_description);
  });

  it('the key set: fetched on every request → cached', async () => {
    const count = async (url: string) => {
      const first = dev.jwks.fetchCount;
      for (let i = 0; i < 3; i++) expect((await call(`${url}/api/orders`, tokens.full)).status).toBe(200);
      return dev.jwks.fetchCount - first;
    };
    expect(await count(before)).toBe(3);
    expect(await count(after)).toBe(0);
  });

  it('key set unreachable: 500 → 503 with Retry-After', async () => {
    const urls = { issuer: mini.issuer, audience: API };
    const [downBefore, downAfter] = await Promise.all([start(0, urls), start(1, urls)]);
    const token = await mini.token(API);
    mini.down = true;
    try {
      const [was, now] = await Promise.all([
        call(`${downBefore}/api/orders`, token),
        call(`${downAfter}/api/orders`, token),
      ]);
      expect(was.status).toBe(500);
      expect([now.status, now.retryAfter !== null]).toEqual([503, true]);
    } finally {
      mini.down = false;
    }
  });

  it('a token without exp: accepted → 401 ERR_CLAIM_MISSING', async () => {
    const token = await mini.token(API, { exp: undefined });
    const [was, now] = await Promise.all([
      call(`${miniBefore}/api/orders`, token),
      call(`${miniAfter}/api/orders`, token),
    ]);
    expect([was.status, now.status]).toEqual([200, 401]);
    expect(await afterCode(token)).toBe('ERR_CLAIM_MISSING');
  });

  it('expired 2 s ago: refused (no tolerance) → accepted (clockToleranceSec: 0 refuses it)', async () => {
    const token = await mini.token(API, { exp: nowSec() - 2 });
    const [was, now] = await Promise.all([
      call(`${miniBefore}/api/orders`, token),
      call(`${miniAfter}/api/orders`, token),
    ]);
    expect([was.status, now.status]).toEqual([401, 200]);
    expect(await afterCode(token, { clockToleranceSec: 0 })).toBe('ERR_TOKEN_EXPIRED');
  });

  it('(also) without verification.typ, hono/jwk refuses at+jwt; typ [at+jwt, JWT] takes both here', async () => {
    const [blockBefore] = migratingBlocks(HEADING);
    const withoutTyp = (blockBefore ?? '').replace(", typ: 'at+jwt'", '');
    expect(withoutTyp).not.toBe(blockBefore);
    const { app } = (await runBlock(withoutTyp, MODULES, { issuer: mini.issuer, audience: API }, [
      'app',
    ])) as {
      app: Hono;
    };
    const server = createServer(getRequestListener(app.fetch));
    const url = await listen(server);
    closers.push(() => closeServer(server));
    const [atJwt, jwt] = await Promise.all([mini.token(API), mini.token(API, {}, { typ: 'JWT' })]);
    expect((await call(`${url}/api/orders`, atJwt)).status).toBe(401);
    expect((await call(`${url}/api/orders`, jwt)).status).toBe(200);
    expect(await afterCode(jwt, { typ: ['at+jwt', 'JWT'] })).toBe('accepted');
    expect(await afterCode(atJwt, { typ: ['at+jwt', 'JWT'] })).toBe('accepted');
  });
});
