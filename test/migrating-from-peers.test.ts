/**
 * MIGRATING.md, run as written: its first table (what changes whatever the peer), and the sections for
 * express-oauth2-jwt-bearer, express-jwt + jwks-rsa and jose. (@fastify/jwt and Hono's jwk:
 * migrating-from-fastify-jwt.test.ts and migrating-from-hono-jwk.test.ts.)
 *
 * Each section's "Before" block (the peer) and "After" block (tokenguard) are read from the guide and run
 * with the example URLs replaced (test/support/migrating.ts), each app in a real Express server on
 * 127.0.0.1, against the same tokens of a real oidc-provider (the dev issuer: RFC 9068 `at+jwt`, RS256).
 * Tokens the dev issuer does not issue (`typ: JWT`, no `exp`, expired 2 s ago) and a key set that is down
 * come from a second issuer served here (discovery and a key set; tokens signed with test/support/keys.ts).
 * Every row of each "What changes" table has a test named after it, and a test checks that the table has
 * no other rows.
 */
import { createServer, type Server } from 'node:http';
import * as core from '@tokenguard/core';
import { createValidator, isTokenGuardError, type Validator } from '@tokenguard/core';
import type { DevIssuer } from '@tokenguard/dev-issuer';
import * as tgExpress from '@tokenguard/express';
import * as expressNs from 'express';
import * as expressJwt from 'express-jwt';
import * as auth0 from 'express-oauth2-jwt-bearer';
import * as jose from 'jose';
import * as jwksRsa from 'jwks-rsa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretSigningKey, signToken } from './support/keys.js';
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
const MODULES = {
  express: expressNs,
  'express-oauth2-jwt-bearer': auth0,
  'express-jwt': expressJwt,
  'jwks-rsa': jwksRsa,
  '@tokenguard/express': tgExpress,
  '@tokenguard/core': core,
  jose,
};

const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
});

let dev: DevIssuer;
let mini: MiniIssuer;
const tokens = { full: '', noScope: '', otherAudience: '', short: '', bound: '' };
/** Resolves once `tokens.short` is expired beyond every tolerance (its ttl is 1 s; tokenguard's 5 s). */
let shortExpired: Promise<void>;

beforeAll(async () => {
  const issuers = await startMigrationIssuers(closers, { dpop: true });
  ({ dev, mini, shortExpired } = issuers);
  Object.assign(tokens, issuers.tokens);
});

/** A block of the guide's section as an Express app on 127.0.0.1; the block's other names too. */
async function startBlock(code: string, urls: GuideUrls, names: string[] = []) {
  const values = await runBlock(code, MODULES, urls, ['app', ...names]);
  const server: Server = createServer(values.app as expressNs.Express);
  const url = await listen(server);
  closers.push(() => closeServer(server));
  for (const name of names) {
    const validator = (values[name] as { validator?: Validator } | undefined)?.validator;
    if (validator !== undefined) closers.push(() => validator.close());
  }
  return { url, values };
}

/** The error code a validator gives a token, or 'accepted'. */
async function outcome(validator: Validator, token: string): Promise<string> {
  try {
    await validator.validate(token);
    return 'accepted';
  } catch (error) {
    if (isTokenGuardError(error)) return error.code;
    throw error;
  }
}

/** The first column of a "What changes" table, to compare with the rows the tests cover. */
const rowNames = (heading: string, marker = 'What changes:') =>
  migratingTable(heading, marker).map((cells) => cells[0]);

const nowSec = () => Math.floor(Date.now() / 1000);

describe('MIGRATING.md: what changes whatever you used', () => {
  const heading = 'What changes whatever you used';
  const validators: Validator[] = [];
  const make = (options: core.ValidatorOptions) => {
    const validator = createValidator(options);
    validators.push(validator);
    return validator;
  };
  afterAll(async () => {
    for (const validator of validators) await validator.close();
  });

  it('has exactly the rows tested here', () => {
    expect(rowNames(heading, '| what')).toEqual([
      '`audience`',
      '`typ` header',
      '`exp`',
      'HS256/384/512',
      'clock tolerance',
      'issuer or key set down',
      'error answers',
      'claims',
    ]);
  });

  it('`audience`: required (a TypeError without it); null turns the check off', async () => {
    expect(() => createValidator({ issuer: mini.issuer } as core.ValidatorOptions)).toThrow(TypeError);
    const open = make({ issuer: mini.issuer, audience: null });
    expect(await outcome(open, await mini.token('https://anything.test'))).toBe('accepted');
  });

  it('`typ` header: at+jwt by default; typ JWT refused unless typ lists it', async () => {
    const jwtTyp = await mini.token(API, {}, { typ: 'JWT' });
    expect(await outcome(make({ issuer: mini.issuer, audience: API }), jwtTyp)).toBe('ERR_TYPE_MISMATCH');
    expect(await outcome(make({ issuer: mini.issuer, audience: API }), await mini.token(API))).toBe(
      'accepted',
    );
    const both = make({ issuer: mini.issuer, audience: API, typ: ['at+jwt', 'JWT'] });
    expect(await outcome(both, jwtTyp)).toBe('accepted');
  });

  it('`exp`: required, ERR_CLAIM_MISSING', async () => {
    const noExp = await mini.token(API, { exp: undefined });
    expect(await outcome(make({ issuer: mini.issuer, audience: API }), noExp)).toBe('ERR_CLAIM_MISSING');
  });

  it('HS256/384/512: only with a secret of 32 bytes or more, and then nothing else', async () => {
    const hs = await signToken(secretSigningKey('s'.repeat(32)), {
      iss: mini.issuer,
      aud: API,
      exp: nowSec() + 60,
    });
    expect(await outcome(make({ issuer: mini.issuer, audience: API }), hs)).toBe('ERR_ALGORITHM_NOT_ALLOWED');
    expect(() => createValidator({ issuer: mini.issuer, audience: API, secret: 's'.repeat(31) })).toThrow(
      TypeError,
    );
    const withSecret = make({ issuer: mini.issuer, audience: API, secret: 's'.repeat(32) });
    expect(await outcome(withSecret, hs)).toBe('accepted');
    expect(await outcome(withSecret, await mini.token(API))).toBe('ERR_ALGORITHM_NOT_ALLOWED');
  });

  it('clock tolerance: 5 s by default, clockToleranceSec 0 to 600', async () => {
    const justExpired = await mini.token(API, { exp: nowSec() - 2 });
    expect(await outcome(make({ issuer: mini.issuer, audience: API }), justExpired)).toBe('accepted');
    const strict = make({ issuer: mini.issuer, audience: API, clockToleranceSec: 0 });
    expect(await outcome(strict, justExpired)).toBe('ERR_TOKEN_EXPIRED');
    expect(() => createValidator({ issuer: mini.issuer, audience: API, clockToleranceSec: 601 })).toThrow(
      TypeError,
    );
  });

  it('issuer or key set down: 503 with Retry-After, never a 401', async () => {
    const token = await mini.token(API);
    mini.down = true;
    try {
      const fresh = make({ issuer: mini.issuer, audience: API });
      const error = await fresh.validate(token).catch((e: unknown) => e);
      expect(isTokenGuardError(error) && [error.status, error.code]).toEqual([503, 'ERR_KEYS_UNAVAILABLE']);
      expect(isTokenGuardError(error) && error.headers['retry-after']).toMatch(/^\d+$/);
      expect(isTokenGuardError(error) && error.toJSON().error).toBe('temporarily_unavailable');
    } finally {
      mini.down = false;
    }
  });

  it('error answers: JSON { error, error_description } and a challenge on 400, 401 and 403', async () => {
    const [, after] = migratingBlocks('express-oauth2-jwt-bearer (Auth0)');
    const { url } = await startBlock(after ?? '', { issuer: dev.issuer, audience: API });
    const answers = [
      await call(`${url}/orders`, undefined, { authorization: 'Bearer a b' }),
      await call(`${url}/orders`),
      await call(`${url}/orders`, tokens.noScope),
    ];
    expect(answers.map((a) => a.status)).toEqual([400, 401, 403]);
    for (const answer of answers) {
      expect(answer.wwwAuthenticate).toMatch(/^Bearer\b/);
      expect(Object.keys(answer.json ?? {}).sort()).toEqual(['error', 'error_description']);
    }
  });

  it('claims: read-only claims (a write throws once cached), subject, clientId, scopes, expiresAt', async () => {
    const token = await mini.token(API, { scope: 'orders:read', scp: ['orders:write'] });
    const validator = make({ issuer: mini.issuer, audience: API });
    await validator.validate(token);
    const auth = await validator.validate(token); // the second verification: from the cache
    expect(() => {
      (auth.claims as Record<string, unknown>).role = 'admin';
    }).toThrow(TypeError);
    expect([auth.subject, auth.clientId]).toEqual([auth.claims.sub, auth.claims.client_id]);
    expect(auth.scopes).toBeInstanceOf(Set);
    expect([...auth.scopes].sort()).toEqual(['orders:read', 'orders:write']);
    expect(auth.expiresAt?.getTime()).toBe((auth.claims.exp as number) * 1000);
  });
});

describe('MIGRATING.md: express-oauth2-jwt-bearer (Auth0)', () => {
  const heading = 'express-oauth2-jwt-bearer (Auth0)';
  const blocks = () => migratingBlocks(heading);
  let before: string;
  let after: string;
  let afterValues: Record<string, unknown>;
  beforeAll(async () => {
    const [b, a] = blocks();
    const urls = { issuer: dev.issuer, audience: API };
    const started = await Promise.all([startBlock(b ?? '', urls), startBlock(a ?? '', urls, ['checkJwt'])]);
    before = started[0].url;
    after = started[1].url;
    afterValues = started[1].values;
  });

  it('has two blocks and exactly the rows tested here', () => {
    expect(blocks()).toHaveLength(2);
    expect(rowNames(heading)).toEqual([
      'the claims',
      'no token',
      'scope missing',
      'expired, or another audience',
      'key set unreachable',
      'an invalid token on an optional route',
      'a DPoP-bound token with its proof',
      'the issuer URL',
    ]);
  });

  it('the claims: req.auth.payload (scope a string) → req.auth.claims, subject, scopes (a Set)', async () => {
    const [was, now] = await Promise.all([
      call(`${before}/orders`, tokens.full),
      call(`${after}/orders`, tokens.full),
    ]);
    expect([was.status, now.status]).toEqual([200, 200]);
    const claims = was.json?.claims as Record<string, unknown>;
    expect(claims.scope).toBe('read orders:read');
    expect(was.json?.subject).toBe(claims.sub);
    expect(now.json).toEqual({ subject: claims.sub, scopes: ['read', 'orders:read'], claims });
    expect(afterValues.checkJwt).toHaveProperty('validator');
  });

  it('no token: 401 Bearer realm="api", DPoP algs, HTML → 401 Bearer, JSON unauthorized', async () => {
    const [was, now] = await Promise.all([call(`${before}/orders`), call(`${after}/orders`)]);
    expect(was.status).toBe(401);
    expect(was.wwwAuthenticate).toMatch(/^Bearer realm="api", DPoP algs="[^"]+"$/);
    expect(was.contentType).toMatch(/^text\/html/);
    expect(now.status).toBe(401);
    expect(now.wwwAuthenticate).toBe('Bearer');
    expect(now.json?.error).toBe('unauthorized');
  });

  it('scope missing: 403 insufficient_scope scope="orders:read", HTML → the same, JSON', async () => {
    const [was, now] = await Promise.all([
      call(`${before}/orders`, tokens.noScope),
      call(`${after}/orders`, tokens.noScope),
    ]);
    for (const answer of [was, now]) {
      expect(answer.status).toBe(403);
      expect(answer.wwwAuthenticate).toContain('error="insufficient_scope"');
      expect(answer.wwwAuthenticate).toContain('scope="orders:read"');
    }
    expect(was.contentType).toMatch(/^text\/html/);
    expect(now.json?.error).toBe('insufficient_scope');
  });

  it('expired, or another audience: 401 invalid_token, HTML → 401 invalid_token, JSON', async () => {
    await shortExpired;
    const urls = { issuer: dev.issuer, audience: SHORT_LIVED };
    const [b, a] = blocks();
    const [shortBefore, shortAfter] = await Promise.all([
      startBlock(b ?? '', urls),
      startBlock(a ?? '', urls, ['checkJwt']),
    ]);
    const answers = await Promise.all([
      call(`${shortBefore.url}/orders`, tokens.short),
      call(`${before}/orders`, tokens.otherAudience),
      call(`${shortAfter.url}/orders`, tokens.short),
      call(`${after}/orders`, tokens.otherAudience),
    ]);
    for (const [i, answer] of answers.entries()) {
      expect(answer.status).toBe(401);
      expect(answer.wwwAuthenticate).toContain('error="invalid_token"');
      if (i < 2) expect(answer.contentType).toMatch(/^text\/html/);
      else expect(answer.json?.error).toBe('invalid_token');
    }
  });

  it('key set unreachable: 401 invalid_token → 503 with Retry-After', async () => {
    const urls = { issuer: mini.issuer, audience: API };
    const [b, a] = blocks();
    const [down1, down2] = await Promise.all([
      startBlock(b ?? '', urls),
      startBlock(a ?? '', urls, ['checkJwt']),
    ]);
    const token = await mini.token(API, {}, { typ: 'JWT' });
    mini.down = true;
    try {
      const [was, now] = await Promise.all([
        call(`${down1.url}/orders`, token),
        call(`${down2.url}/orders`, token),
      ]);
      expect(was.status).toBe(401);
      expect(was.wwwAuthenticate).toContain('error="invalid_token"');
      expect(now.status).toBe(503);
      expect(now.retryAfter).toMatch(/^\d+$/);
    } finally {
      mini.down = false;
    }
  });

  it('an invalid token on an optional route: authRequired false passes it as anonymous → optional 401', async () => {
    const [was, now] = await Promise.all([
      call(`${before}/catalog`, tokens.otherAudience),
      call(`${after}/catalog`, tokens.otherAudience),
    ]);
    expect([was.status, was.json]).toEqual([200, { personalised: false }]);
    expect(now.status).toBe(401);
    const [anonymous, signedIn] = await Promise.all([
      call(`${after}/catalog`),
      call(`${after}/catalog`, tokens.full),
    ]);
    expect([anonymous.json, signedIn.json]).toEqual([{ personalised: false }, { personalised: true }]);
  });

  it('a DPoP-bound token with its proof: accepted → 401 without dpop: true', async () => {
    const dpopCall = async (base: string) => {
      const url = `${base}/orders`;
      const res = await fetch(url, {
        headers: {
          authorization: `DPoP ${tokens.bound}`,
          dpop: await dev.dpopProof('GET', url, tokens.bound),
        },
      });
      await res.text();
      return res.status;
    };
    expect(await dpopCall(before)).toBe(200);
    expect(await dpopCall(after)).toBe(401);
    const app = expressNs.default();
    app.get(
      '/orders',
      tgExpress.tokenguard({ issuer: dev.issuer, audience: API, dpop: true }),
      (_req, res) => {
        res.sendStatus(200);
      },
    );
    const server = createServer(app);
    const withDpop = await listen(server);
    closers.push(() => closeServer(server));
    expect(await dpopCall(withDpop)).toBe(200);
  });

  it('the issuer URL: issuerBaseURL with a trailing slash still works; tokenguard compares iss as written', async () => {
    const urls = { issuer: `${dev.issuer}/`, audience: API };
    const [b, a] = blocks();
    const [slashBefore, slashAfter] = await Promise.all([
      startBlock(b ?? '', urls),
      startBlock(a ?? '', urls, ['checkJwt']),
    ]);
    const [was, now] = await Promise.all([
      call(`${slashBefore.url}/orders`, tokens.full),
      call(`${slashAfter.url}/orders`, tokens.full),
    ]);
    expect(was.status).toBe(200);
    expect(now.status).toBe(401);
    const validator = (slashAfter.values.checkJwt as { validator: Validator }).validator;
    expect(await outcome(validator, tokens.full)).toBe('ERR_ISSUER_MISMATCH');
  });
  it('(also) claimEquals answers 401 invalid_token; requireClaims answers 403 insufficient_scope', async () => {
    const app = expressNs.default();
    const options = { issuerBaseURL: dev.issuer, audience: API };
    app.get('/peer', auth0.auth(options), auth0.claimEquals('client_id', 'another-client'), (_req, res) => {
      res.sendStatus(200);
    });
    const checkJwt = tgExpress.tokenguard({ issuer: dev.issuer, audience: API });
    closers.push(() => checkJwt.validator.close());
    app.get(
      '/ours',
      checkJwt,
      tgExpress.requireClaims({ claim: 'client_id', equals: 'another-client' }),
      (_req, res) => {
        res.sendStatus(200);
      },
    );
    const server = createServer(app);
    const url = await listen(server);
    closers.push(() => closeServer(server));
    const [was, now] = await Promise.all([
      call(`${url}/peer`, tokens.full),
      call(`${url}/ours`, tokens.full),
    ]);
    expect([was.status, now.status]).toEqual([401, 403]);
    expect(was.wwwAuthenticate).toContain('error="invalid_token"');
    expect(now.wwwAuthenticate).toContain('error="insufficient_scope"');
  });
});

describe('MIGRATING.md: express-jwt and jwks-rsa', () => {
  const heading = 'express-jwt and jwks-rsa';
  const blocks = () => migratingBlocks(heading);
  let before: { url: string; values: Record<string, unknown> };
  let after: { url: string; values: Record<string, unknown> };
  let miniBefore: string;
  let miniAfter: { url: string; values: Record<string, unknown> };
  beforeAll(async () => {
    const [b, a] = blocks();
    const devUrls = { issuer: dev.issuer, audience: API };
    const miniUrls = { issuer: mini.issuer, audience: API };
    const started = await Promise.all([
      startBlock(b ?? '', devUrls, ['revokedTokenIds']),
      startBlock(a ?? '', devUrls, ['revokedTokenIds', 'checkJwt']),
      startBlock(b ?? '', miniUrls),
      startBlock(a ?? '', miniUrls, ['checkJwt']),
    ]);
    [before, after] = started;
    miniBefore = started[2].url;
    miniAfter = started[3];
  });
  const afterValidator = () => (after.values.checkJwt as { validator: Validator }).validator;

  it('has two blocks and exactly the rows tested here', () => {
    expect(blocks()).toHaveLength(2);
    expect(rowNames(heading)).toEqual([
      'the claims',
      'no token',
      'scope missing',
      'expired, or another audience',
      'key set unreachable',
      'a revoked `jti`',
      'the token in `?token=`',
      'a `typ: JWT` token',
      'a token without `exp`',
      'expired 2 s ago',
      "`secret: 'shhhhhhared-secret'`",
    ]);
  });

  it('the claims: req.auth is the payload → req.auth.claims, req.auth.subject', async () => {
    const [was, now] = await Promise.all([
      call(`${before.url}/orders`, tokens.full),
      call(`${after.url}/orders`, tokens.full),
    ]);
    expect([was.status, now.status]).toEqual([200, 200]);
    expect(was.json).toEqual({
      subject: jose.decodeJwt(tokens.full).sub,
      claims: jose.decodeJwt(tokens.full),
    });
    expect(now.json).toEqual(was.json);
  });

  it('no token: 401 "invalid token..." without a challenge → 401 Bearer, JSON unauthorized', async () => {
    const [was, now] = await Promise.all([call(`${before.url}/orders`), call(`${after.url}/orders`)]);
    expect([was.status, was.text, was.wwwAuthenticate]).toEqual([401, 'invalid token...', null]);
    expect([now.status, now.wwwAuthenticate, now.json?.error]).toEqual([401, 'Bearer', 'unauthorized']);
  });

  it('scope missing: 403 Forbidden (your check) → 403 insufficient_scope, JSON', async () => {
    const [was, now] = await Promise.all([
      call(`${before.url}/orders`, tokens.noScope),
      call(`${after.url}/orders`, tokens.noScope),
    ]);
    expect([was.status, was.text, was.wwwAuthenticate]).toEqual([403, 'Forbidden', null]);
    expect(now.status).toBe(403);
    expect(now.wwwAuthenticate).toContain('error="insufficient_scope"');
    expect(now.wwwAuthenticate).toContain('scope="orders:read"');
    expect(now.json?.error).toBe('insufficient_scope');
  });

  it('expired, or another audience: 401 "invalid token..." → 401 invalid_token, JSON', async () => {
    await shortExpired;
    const urls = { issuer: dev.issuer, audience: SHORT_LIVED };
    const [b, a] = blocks();
    const [shortBefore, shortAfter] = await Promise.all([
      startBlock(b ?? '', urls),
      startBlock(a ?? '', urls),
    ]);
    const [wasExpired, wasOther, nowExpired, nowOther] = await Promise.all([
      call(`${shortBefore.url}/orders`, tokens.short),
      call(`${before.url}/orders`, tokens.otherAudience),
      call(`${shortAfter.url}/orders`, tokens.short),
      call(`${after.url}/orders`, tokens.otherAudience),
    ]);
    for (const was of [wasExpired, wasOther]) {
      expect([was.status, was.text, was.wwwAuthenticate]).toEqual([401, 'invalid token...', null]);
    }
    for (const now of [nowExpired, nowOther]) {
      expect([now.status, now.json?.error]).toEqual([401, 'invalid_token']);
      expect(now.wwwAuthenticate).toContain('error="invalid_token"');
    }
  });

  it('key set unreachable: 500 → 503 with Retry-After', async () => {
    const urls = { issuer: mini.issuer, audience: API };
    const [b, a] = blocks();
    const [down1, down2] = await Promise.all([
      startBlock(b ?? '', urls),
      startBlock(a ?? '', urls, ['checkJwt']),
    ]);
    const token = await mini.token(API);
    mini.down = true;
    try {
      const [was, now] = await Promise.all([
        call(`${down1.url}/orders`, token),
        call(`${down2.url}/orders`, token),
      ]);
      expect(was.status).toBe(500);
      expect([now.status, now.retryAfter !== null]).toEqual([503, true]);
    } finally {
      mini.down = false;
    }
  });

  it('a revoked jti: isRevoked 401 → the middleware after tokenguard() 401', async () => {
    const token = await dev.getToken({ resource: API, scope: 'orders:read' });
    const jti = String(jose.decodeJwt(token).jti);
    const first = await Promise.all([
      call(`${before.url}/orders`, token),
      call(`${after.url}/orders`, token),
    ]);
    expect(first.map((a) => a.status)).toEqual([200, 200]);
    // A second request, so that tokenguard's cache of verified tokens holds it.
    expect((await call(`${after.url}/orders`, token)).status).toBe(200);
    (before.values.revokedTokenIds as Set<string>).add(jti);
    (after.values.revokedTokenIds as Set<string>).add(jti);
    const [was, now] = await Promise.all([
      call(`${before.url}/orders`, token),
      call(`${after.url}/orders`, token),
    ]);
    expect([was.status, was.text]).toEqual([401, 'invalid token...']);
    expect([now.status, now.json?.error]).toEqual([401, 'invalid_token']);
    expect(now.wwwAuthenticate).toContain('error="invalid_token"');
  });

  it('the token in ?token=: read by getToken → not read; transport.query reads access_token', async () => {
    const [was, now, nowAccessToken] = await Promise.all([
      call(`${before.url}/catalog?token=${tokens.full}`),
      call(`${after.url}/catalog?token=${tokens.full}`),
      call(`${after.url}/catalog?access_token=${tokens.full}`),
    ]);
    expect(was.json).toEqual({ personalised: true });
    expect(now.json).toEqual({ personalised: false });
    expect(nowAccessToken.json).toEqual({ personalised: true });
  });

  it('a typ: JWT token: accepted → 401 ERR_TYPE_MISMATCH (typ lists JWT: accepted)', async () => {
    const token = await mini.token(API, {}, { typ: 'JWT' });
    const [was, now] = await Promise.all([
      call(`${miniBefore}/orders`, token),
      call(`${miniAfter.url}/orders`, token),
    ]);
    expect([was.status, now.status]).toEqual([200, 401]);
    const validator = (miniAfter.values.checkJwt as { validator: Validator }).validator;
    expect(await outcome(validator, token)).toBe('ERR_TYPE_MISMATCH');
  });

  it('a token without exp: accepted → 401 ERR_CLAIM_MISSING', async () => {
    const token = await mini.token(API, { exp: undefined });
    const [was, now] = await Promise.all([
      call(`${miniBefore}/orders`, token),
      call(`${miniAfter.url}/orders`, token),
    ]);
    expect([was.status, now.status]).toEqual([200, 401]);
    const validator = (miniAfter.values.checkJwt as { validator: Validator }).validator;
    expect(await outcome(validator, token)).toBe('ERR_CLAIM_MISSING');
  });

  it('expired 2 s ago: refused → accepted (clockToleranceSec: 0 refuses it)', async () => {
    const token = await mini.token(API, { exp: nowSec() - 2 });
    const [was, now] = await Promise.all([
      call(`${miniBefore}/orders`, token),
      call(`${miniAfter.url}/orders`, token),
    ]);
    expect([was.status, now.status]).toEqual([401, 200]);
    const strict = createValidator({ issuer: mini.issuer, audience: API, clockToleranceSec: 0 });
    closers.push(() => strict.close());
    expect(await outcome(strict, token)).toBe('ERR_TOKEN_EXPIRED');
  });

  it("secret: 'shhhhhhared-secret': verifies HS256 tokens → a TypeError at start-up", async () => {
    const secret = 'shhhhhhared-secret';
    const app = expressNs.default();
    app.get('/protected', expressJwt.expressjwt({ secret, algorithms: ['HS256'] }), (_req, res) => {
      res.sendStatus(200);
    });
    const server = createServer(app);
    const url = await listen(server);
    closers.push(() => closeServer(server));
    const hs = await signToken(
      secretSigningKey(secret),
      { sub: 'user-1', exp: nowSec() + 60 },
      { typ: 'JWT' },
    );
    expect((await call(`${url}/protected`, hs)).status).toBe(200);
    expect(() => createValidator({ issuer: dev.issuer, audience: API, secret })).toThrow(TypeError);
  });

  it('(also) credentialsRequired: false and optional: true both refuse an invalid token', async () => {
    const [was, now] = await Promise.all([
      call(`${before.url}/catalog`, tokens.otherAudience),
      call(`${after.url}/catalog`, tokens.otherAudience),
    ]);
    expect([was.status, now.status]).toEqual([401, 401]);
    expect(afterValidator()).toBeDefined();
  });
});

describe('MIGRATING.md: jose in a worker', () => {
  const heading = 'jose in a worker';
  const blocks = () => migratingBlocks(heading);
  type Authenticate = (authorization: string) => Promise<Record<string, unknown>>;
  const start = async (urls: GuideUrls) => {
    const [b, a] = blocks();
    const was = await runBlock(b ?? '', MODULES, urls, ['authenticate']);
    const now = await runBlock(a ?? '', MODULES, urls, ['authenticate', 'validator']);
    closers.push(() => (now.validator as Validator).close());
    return { was: was.authenticate as Authenticate, now: now.authenticate as Authenticate };
  };
  /** What a call gives: the result, or the error's name/code (jose) or status/code (tokenguard). */
  interface Settled {
    value?: unknown;
    name?: string | undefined;
    code?: string | undefined;
    status?: number | undefined;
    retryAfterSec?: number | undefined;
  }
  const settle = (promise: Promise<unknown>): Promise<Settled> =>
    promise.then(
      (value) => ({ value }),
      (error: { name?: string; code?: string; status?: number; retryAfterSec?: number }) => ({
        name: error.name,
        code: error.code,
        status: error.status,
        retryAfterSec: error.retryAfterSec,
      }),
    );
  let dev1: { was: Authenticate; now: Authenticate };
  let mini1: { was: Authenticate; now: Authenticate };
  beforeAll(async () => {
    [dev1, mini1] = await Promise.all([
      start({ issuer: dev.issuer, audience: API }),
      start({ issuer: mini.issuer, audience: API }),
    ]);
  });

  it('has two blocks and exactly the rows tested here', () => {
    expect(blocks()).toHaveLength(2);
    expect(rowNames(heading)).toEqual([
      'the result',
      'scope missing',
      'expired',
      'another audience',
      'key set unreachable',
      'a `typ: JWT` token',
      'a token without `exp`',
    ]);
  });

  it('the result: payload → auth.claims, auth.subject, auth.scopes; a raw token or "Bearer ..."', async () => {
    const payload = await dev1.was(`Bearer ${tokens.full}`);
    const auth = (await dev1.now(`Bearer ${tokens.full}`)) as unknown as core.AuthInfo;
    expect(auth.claims).toEqual(payload);
    expect(auth.subject).toBe(payload.sub);
    expect([...auth.scopes]).toEqual(['read', 'orders:read']);
    expect(((await dev1.now(tokens.full)) as unknown as core.AuthInfo).subject).toBe(payload.sub);
  });

  it('scope missing: your check → 403 ERR_INSUFFICIENT_SCOPE', async () => {
    expect(await settle(dev1.was(tokens.noScope))).toMatchObject({ name: 'Error', code: undefined });
    expect(await settle(dev1.now(tokens.noScope))).toMatchObject({
      name: 'TokenGuardError',
      status: 403,
      code: 'ERR_INSUFFICIENT_SCOPE',
    });
  });

  it('expired: JWTExpired ERR_JWT_EXPIRED → 401 ERR_TOKEN_EXPIRED', async () => {
    await shortExpired;
    const short = await start({ issuer: dev.issuer, audience: SHORT_LIVED });
    expect(await settle(short.was(tokens.short))).toMatchObject({
      name: 'JWTExpired',
      code: 'ERR_JWT_EXPIRED',
    });
    expect(await settle(short.now(tokens.short))).toMatchObject({ status: 401, code: 'ERR_TOKEN_EXPIRED' });
  });

  it('another audience: ERR_JWT_CLAIM_VALIDATION_FAILED → 401 ERR_AUDIENCE_MISMATCH', async () => {
    expect(await settle(dev1.was(tokens.otherAudience))).toMatchObject({
      name: 'JWTClaimValidationFailed',
      code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
    });
    expect(await settle(dev1.now(tokens.otherAudience))).toMatchObject({
      status: 401,
      code: 'ERR_AUDIENCE_MISMATCH',
    });
  });

  it('key set unreachable: JOSEError ERR_JOSE_GENERIC → 503 ERR_KEYS_UNAVAILABLE, retryAfterSec', async () => {
    const fresh = await start({ issuer: mini.issuer, audience: API });
    const token = await mini.token(API);
    mini.down = true;
    try {
      const was = await settle(fresh.was(token));
      expect(was).toMatchObject({ name: 'JOSEError', code: 'ERR_JOSE_GENERIC' });
      const now = await settle(fresh.now(token));
      expect(now).toMatchObject({ status: 503, code: 'ERR_KEYS_UNAVAILABLE' });
      expect(now.retryAfterSec).toBeGreaterThan(0);
    } finally {
      mini.down = false;
    }
  });

  it('a typ: JWT token: accepted → ERR_TYPE_MISMATCH', async () => {
    const token = await mini.token(API, {}, { typ: 'JWT' });
    expect(await settle(mini1.was(token))).toHaveProperty('value');
    expect(await settle(mini1.now(token))).toMatchObject({ code: 'ERR_TYPE_MISMATCH' });
  });

  it('a token without exp: accepted → ERR_CLAIM_MISSING', async () => {
    const token = await mini.token(API, { exp: undefined });
    expect(await settle(mini1.was(token))).toHaveProperty('value');
    expect(await settle(mini1.now(token))).toMatchObject({ code: 'ERR_CLAIM_MISSING' });
  });
});
