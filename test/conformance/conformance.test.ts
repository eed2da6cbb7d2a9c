/**
 * The HTTP conformance table, run against Express (5 and 4), Fastify and Hono (its middleware and
 * auth.protect()) over real HTTP on 127.0.0.1, with tokens from real oidc-provider dev issuers.
 * Every adapter must give every row the same status, `WWW-Authenticate` parameters, headers and body. The rows that send a body also run
 * against Express apps that parse bodies themselves before `tokenguard()`.
 */
import { createValidator, type Validator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExpressApp, startExpressAppAfter } from './apps/express.js';
import { startExpress4App, startExpress4AppAfter } from './apps/express4.js';
import { startFastifyApp } from './apps/fastify.js';
import { startHonoApp, startHonoProtectApp } from './apps/hono.js';
import type { RunningApp, StartApp } from './apps/types.js';
import { parseChallenge } from './challenge.js';
import { type RawResponse, send, sendPipelined } from './http.js';
import { type AppKind, CONFORMANCE_TABLE, type ConformanceRow, sendsBody, type Tokens } from './table.js';

const REALM = 'conformance';
const ADAPTERS: Record<string, StartApp> = {
  express: startExpressApp,
  // The same adapter in an app built with Express 4 (a supported peer).
  express4: startExpress4App,
  fastify: startFastifyApp,
  hono: startHonoApp,
  // The same routes, each auth.protect(...guards, handler): the route's one handler.
  'hono protect()': startHonoProtectApp,
};
/**
 * Express apps with body parsers of their own before `tokenguard()`, for the rows that send a body.
 * Express 4's `json()` sets `req.body = {}` on a form request and leaves the form unread: with no
 * `urlencoded()` after it, `tokenguard()` must still read the form.
 */
const WITH_BODY_PARSERS: Record<string, StartApp> = {
  'express + json()': startExpressAppAfter('json'),
  'express4 + json()': startExpress4AppAfter('json'),
  'express4 + json(), urlencoded()': startExpress4AppAfter('json', 'urlencoded'),
};
const BODY_ROWS = CONFORMANCE_TABLE.filter((row) => sendsBody(row) && (row.app ?? 'main') === 'main');
// A form token, header and form, access_token twice, a form on a GET, a JSON body.
if (BODY_ROWS.length < 5) throw new Error(`only ${BODY_ROWS.length} rows send a body`);

let issuer: DevIssuer;
let foreign: DevIssuer;
let tokens: Tokens;
/** Tokens no validator has seen before the concurrency test: full scopes, and `read` only. */
let unseen: { full: string[]; read: string[] };
const validators: Validator[] = [];
const apps: RunningApp[] = [];
const urls = new Map<string, string>();

function validatorFor(kind: AppKind): Validator {
  const base = { issuer: issuer.issuer, realm: REALM, tenantClaim: 'tid' } as const;
  const validator =
    kind === 'expired'
      ? createValidator({ ...base, audience: 'https://short.test', now: () => Date.now() + 120_000 })
      : createValidator({
          ...base,
          audience: ['https://api.test', 'https://opaque.test'],
          introspection: { clientId: issuer.introspector.id, clientSecret: issuer.introspector.secret },
        });
  validators.push(validator);
  return validator;
}

function tamper(token: string): string {
  const signatureStart = token.lastIndexOf('.') + 1;
  const at = signatureStart + 10;
  const replacement = token[at] === 'A' ? 'B' : 'A';
  return `${token.slice(0, at)}${replacement}${token.slice(at + 1)}`;
}

/** `token` with these members changed in its header; the signature no longer matches it. */
function withHeader(token: string, changes: Record<string, unknown>): string {
  const [header, ...rest] = token.split('.');
  const decoded = JSON.parse(Buffer.from(header as string, 'base64url').toString('utf8')) as object;
  const changed = Buffer.from(JSON.stringify({ ...decoded, ...changes })).toString('base64url');
  return [changed, ...rest].join('.');
}

/** RFC 6750 §3: `error`, `error_description` and `scope` values hold only %x20-21 / %x23-5B / %x5D-7E. */
const CHALLENGE_TEXT = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

beforeAll(async () => {
  [issuer, foreign] = await Promise.all([
    startDevIssuer({ extraClaims: { tid: 'tenant-a' } }),
    startDevIssuer(),
  ]);
  const full = await issuer.getToken({ resource: 'https://api.test' });
  tokens = {
    full,
    read: await issuer.getToken({ resource: 'https://api.test', scope: 'read' }),
    tampered: tamper(full),
    short: await issuer.getToken({ resource: 'https://short.test' }),
    otherAudience: await issuer.getToken({ resource: 'https://other.test' }),
    foreignIssuer: await foreign.getToken({ resource: 'https://api.test' }),
    opaque: await issuer.getToken({ resource: 'https://opaque.test', scope: 'read write' }),
    listTyp: withHeader(full, { typ: ['at+jwt'] }),
  };
  const issue = (count: number, scope?: string) =>
    Promise.all(
      Array.from({ length: count }, () =>
        issuer.getToken({ resource: 'https://api.test', ...(scope === undefined ? {} : { scope }) }),
      ),
    );
  unseen = { full: await issue(6), read: await issue(6, 'read') };
  for (const [adapter, start] of Object.entries(ADAPTERS)) {
    for (const kind of ['main', 'expired', 'keysDown', 'query'] as const) {
      const app = await start({
        validator: validatorFor(kind),
        transport: { body: true, query: kind === 'query' },
      });
      apps.push(app);
      urls.set(`${adapter}:${kind}`, app.url);
    }
  }
  for (const [target, start] of Object.entries(WITH_BODY_PARSERS)) {
    const app = await start({ validator: validatorFor('main'), transport: { body: true } });
    apps.push(app);
    urls.set(`${target}:main`, app.url);
  }
});

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await Promise.all(validators.map((validator) => validator.close()));
  await Promise.all([issuer?.close(), foreign?.close()]);
});

async function run(adapter: string, row: ConformanceRow): Promise<RawResponse> {
  const kind = row.app ?? 'main';
  const url = urls.get(`${adapter}:${kind}`) as string;
  if (kind !== 'keysDown') return send(url, row.request(tokens));
  issuer.jwks.setDown(true);
  try {
    return await send(url, row.request(tokens));
  } finally {
    issuer.jwks.setDown(false);
  }
}

function assertRow(row: ConformanceRow, response: RawResponse): void {
  const { expect: expected } = row;
  expect(response.status, response.text).toBe(expected.status);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(response.text) as Record<string, unknown>;
  expect(body).toMatchObject(expected.body);

  const header = response.headers['www-authenticate'];
  if (expected.challenge === null) {
    expect(header).toBeUndefined();
  } else {
    expect(typeof header).toBe('string');
    const { scheme, params } = parseChallenge(header as string);
    expect(scheme.toLowerCase()).toBe('bearer');
    const wanted: Record<string, string> = { realm: REALM, ...expected.challenge };
    if (expected.challenge.error !== undefined) {
      // RFC 6750 §3: the description is for developers; it must match the body and be present.
      expect(typeof params.error_description).toBe('string');
      expect(params.error_description).toBe(body.error_description);
      wanted.error_description = params.error_description as string;
    }
    expect(params).toEqual(wanted);
    for (const name of ['error', 'error_description', 'scope']) {
      if (params[name] !== undefined) expect(params[name], name).toMatch(CHALLENGE_TEXT);
    }
  }
  if (expected.status >= 400) {
    expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
  }
  if (expected.retryAfter === true) expect(response.headers['retry-after']).toMatch(/^[1-9]\d*$/);
  else expect(response.headers['retry-after']).toBeUndefined();
  for (const [name, value] of Object.entries(expected.headers ?? {})) {
    expect(response.headers[name] ?? null).toBe(value);
  }
  // No answer ever echoes a credential.
  for (const token of Object.values(tokens)) {
    expect(response.text).not.toContain(token);
    expect(JSON.stringify(response.headers)).not.toContain(token);
  }
}

describe.each(Object.keys(ADAPTERS))('HTTP conformance: %s', (adapter) => {
  it.each(CONFORMANCE_TABLE.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    assertRow(row, await run(adapter, row));
  });
});

describe.each(Object.keys(WITH_BODY_PARSERS))('HTTP conformance, rows with a body: %s', (target) => {
  it.each(BODY_ROWS.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    assertRow(row, await run(target, row));
  });
});

describe('HTTP conformance: all adapters agree', () => {
  it('answers every row with the same status, challenge and body across adapters', async () => {
    for (const row of CONFORMANCE_TABLE) {
      if (row.app === 'keysDown') continue; // each keysDown validator is single-use; checked above
      const answers = await Promise.all(
        Object.keys(ADAPTERS).map(async (adapter) => {
          const response = await run(adapter, row);
          return {
            status: response.status,
            challenge: response.headers['www-authenticate'] ?? null,
            body: JSON.parse(response.text) as unknown,
          };
        }),
      );
      for (const answer of answers.slice(1)) expect(answer, row.name).toEqual(answers[0]);
    }
  });
});

describe.each(Object.keys(ADAPTERS))('requests that arrive together: %s', (adapter) => {
  it('each is answered for its own token (fresh tokens are verified together, at the end of the phase)', async () => {
    // Pipelined on one connection in one write: the server reads them in one phase, so their fresh
    // tokens wait in one batch of verifications, mixed: a full token (twice: both copies miss the
    // cache), a read-only one, a tampered one.
    const cases = unseen.full.flatMap((full, i) => [
      { token: full, status: 200 },
      { token: unseen.read[i] as string, status: 403 },
      { token: tamper(full), status: 401 },
      { token: full, status: 200 },
    ]);
    const url = urls.get(`${adapter}:main`) as string;
    // Keys at hand first: a verification that had to wait for them runs at once, not in a batch.
    expect((await send(url, { path: '/me', authorization: `Bearer ${tokens.full}` })).status).toBe(200);
    const responses = await sendPipelined(
      url,
      cases.map(({ token }) => ({ path: '/orders', authorization: `Bearer ${token}` })),
    );
    responses.forEach((response, i) => {
      const expected = cases[i] as { token: string; status: number };
      expect(response.status, response.text).toBe(expected.status);
      const body = JSON.parse(response.text) as Record<string, unknown>;
      if (expected.status === 200) expect(body.scopes).toContain('orders:read');
      else expect(body.error).toBe(expected.status === 401 ? 'invalid_token' : 'insufficient_scope');
      expect(response.text).not.toContain(expected.token);
    });
  });
});
