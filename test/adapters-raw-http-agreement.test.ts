/**
 * Differential testing over raw HTTP: the same bytes, written on a `node:net` socket, to the
 * conformance app of every adapter (Express 5, Express 4, Fastify, Hono on @hono/node-server as
 * middleware and as auth.protect()), each with its own validator of the same options and a real
 * oidc-provider dev issuer. Every row must get the same answer from all of them (status, 1xx, every
 * `WWW-Authenticate` challenge parsed, `Cache-Control`, `Retry-After`, media type, JSON body) and the
 * answer RFC 6750 / RFC 9449 call for.
 *
 * This pins where the adapters agree, beyond test/conformance's table: header spellings, form and
 * query variants, HEAD, HTTP/1.0 without Host, absolute-form targets, `Expect: 100-continue`,
 * chunked bodies and trailers, DPoP, 503s. Where they differ, a test of its own fails (see the
 * report); differences of the framework itself (Node refusing obs-fold, Fastify's 404 for a method
 * no route has) are not tokenguard's and are left out.
 */
import { createValidator, type Validator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExpressApp } from './conformance/apps/express.js';
import { startExpress4App } from './conformance/apps/express4.js';
import { startFastifyApp } from './conformance/apps/fastify.js';
import { startHonoApp, startHonoProtectApp } from './conformance/apps/hono.js';
import type { RunningApp, StartApp } from './conformance/apps/types.js';
import { type ComparedAnswer, comparedAnswer, head11, postRaw, sendRaw } from './support/raw-http.js';

const REALM = 'conformance';
const ADAPTERS: Record<string, StartApp> = {
  express: startExpressApp,
  express4: startExpress4App,
  fastify: startFastifyApp,
  hono: startHonoApp,
  // The same routes, each auth.protect(...guards, handler): the route's one handler.
  'hono protect()': startHonoProtectApp,
};
const FORM = 'application/x-www-form-urlencoded';

/**
 * - `main`: form-body tokens on, query off; `query`: both on; `headerOnly`: neither;
 * - `dpop`: header only, the validator takes DPoP (`dpop: true`);
 * - `expired`: audience https://short.test, the validator's clock 2 minutes ahead;
 * - `keysDown`: a fresh validator (never fetched keys) per adapter and row, the JWKS endpoint down.
 */
type AppKind = 'main' | 'query' | 'headerOnly' | 'dpop' | 'expired' | 'keysDown';
const STARTED_KINDS = ['main', 'query', 'headerOnly', 'dpop', 'expired'] as const;

interface Tokens {
  full: string;
  read: string;
  short: string;
  /** DPoP-bound (`cnf.jkt` of the dev issuer's client key). */
  bound: string;
}

interface Context {
  /** `127.0.0.1:<port>` of the app the request goes to. */
  host: string;
  t: Tokens;
  /** A fresh DPoP proof of the dev issuer's client key for the bound token. */
  proof(htm: string, htu: string): Promise<string>;
}

interface RawRequest {
  head: string;
  body?: (string | Buffer)[];
  afterContinue?: boolean;
}

interface Row {
  name: string;
  app?: AppKind;
  request: (ctx: Context) => RawRequest | Promise<RawRequest>;
  expect: {
    status: number;
    /**
     * The challenges by scheme, in order, each with the parameters besides `realm` (always REALM)
     * and `error_description` (checked against the body's, present exactly when `error` is);
     * `algs` is not compared. `null`: no `WWW-Authenticate`.
     */
    challenges: Record<string, Record<string, string>> | null;
    /** A subset of the JSON body; omitted for HEAD. */
    body?: Record<string, unknown>;
    cacheControl?: string;
    retryAfter?: boolean;
    interim?: number[];
  };
}

const CALLER = {
  subject: 'tokenguard-dev-client',
  clientId: 'tokenguard-dev-client',
  tenant: 'tenant-a',
  source: 'jwt',
};
const OK = { status: 200, challenges: null, body: CALLER } as const;
const BARE = {
  status: 401,
  challenges: { Bearer: {} },
  body: { error: 'unauthorized', error_description: 'No bearer token in the request' },
} as const;
const NOT_BEARER = {
  status: 401,
  challenges: { Bearer: {} },
  body: {
    error: 'unauthorized',
    error_description: 'The Authorization header does not use the Bearer scheme',
  },
} as const;
const invalidRequest = (description: string) =>
  ({
    status: 400,
    challenges: { Bearer: { error: 'invalid_request' } },
    body: { error: 'invalid_request', error_description: description },
  }) as const;
const invalidToken = (description?: string) =>
  ({
    status: 401,
    challenges: { Bearer: { error: 'invalid_token' } },
    body: {
      error: 'invalid_token',
      ...(description === undefined ? {} : { error_description: description }),
    },
  }) as const;
const insufficient = (scope: string) =>
  ({
    status: 403,
    challenges: { Bearer: { error: 'insufficient_scope', scope } },
    body: { error: 'insufficient_scope' },
  }) as const;
const UNAVAILABLE = {
  status: 503,
  challenges: null,
  body: { error: 'temporarily_unavailable' },
  retryAfter: true,
} as const;
const SYNTAX = 'The Bearer credentials do not match the RFC 6750 token syntax';
const TWO_HEADERS = 'More than one Authorization header was sent';
const FORM_SYNTAX = 'The access_token in the form body does not match the RFC 6750 token syntax';
const QUERY_SYNTAX = 'The access_token in the query string does not match the RFC 6750 token syntax';
const BOUND_AS_BEARER = 'The token is bound to a key (cnf jkt) and was presented as a bearer token';

const get =
  (target: string, lines: string[] = []) =>
  (ctx: Context) => ({
    head: head11('GET', target, ctx.host, lines),
  });
const bearer =
  (value: (t: Tokens) => string, target = '/me') =>
  (ctx: Context) => ({
    head: head11('GET', target, ctx.host, [`Authorization: ${value(ctx.t)}`]),
  });
const form =
  (text: (t: Tokens) => string, contentType = FORM, lines: string[] = []) =>
  (ctx: Context) =>
    postRaw('/orders', ctx.host, contentType, text(ctx.t), lines);
const params = (count: number) => Array.from({ length: count }, (_, i) => `p${i}=1`).join('&');
/** A request with a DPoP proof of `htm` for `htu` (default: this request's own URL). */
const withProof =
  (
    method: string,
    target: string,
    options: { htu?: (ctx: Context) => string; scheme?: string; proofs?: number } = {},
  ) =>
  async (ctx: Context) => {
    const htu = options.htu?.(ctx) ?? `http://${ctx.host}${target.split('?')[0]}`;
    const proofs = await Promise.all(
      Array.from({ length: options.proofs ?? 1 }, () => ctx.proof(method, htu)),
    );
    return {
      head: head11(method, target, ctx.host, [
        `Authorization: ${options.scheme ?? 'DPoP'} ${ctx.t.bound}`,
        ...proofs.map((proof) => `DPoP: ${proof}`),
      ]),
    };
  };

const ROWS: Row[] = [
  // --- The Authorization header, spelled every way ---------------------------------------------
  { name: 'scheme in lower case: bearer', request: bearer((t) => `bearer ${t.full}`), expect: OK },
  { name: 'scheme in upper case: BEARER', request: bearer((t) => `BEARER ${t.full}`), expect: OK },
  { name: 'scheme in mixed case: bEaReR', request: bearer((t) => `bEaReR ${t.full}`), expect: OK },
  {
    name: 'several spaces after the scheme (1*SP)',
    request: bearer((t) => `Bearer   ${t.full}`),
    expect: OK,
  },
  {
    name: 'a tab after the scheme: 400',
    request: bearer((t) => `Bearer\t${t.full}`),
    expect: invalidRequest('The Bearer scheme is not followed by a space and the token'),
  },
  {
    name: 'a space then a tab after the scheme: 400',
    request: bearer((t) => `Bearer \t${t.full}`),
    expect: invalidRequest(SYNTAX),
  },
  {
    name: 'trailing spaces (OWS, trimmed by Node)',
    request: bearer((t) => `Bearer ${t.full}   `),
    expect: OK,
  },
  { name: 'a trailing tab (OWS)', request: bearer((t) => `Bearer ${t.full}\t`), expect: OK },
  { name: 'leading spaces (OWS)', request: bearer((t) => `   Bearer ${t.full}`), expect: OK },
  {
    name: 'field name in capitals: AUTHORIZATION',
    request: (ctx) => ({ head: head11('GET', '/me', ctx.host, [`AUTHORIZATION: Bearer ${ctx.t.full}`]) }),
    expect: OK,
  },
  {
    name: 'two Authorization headers',
    request: (ctx) => ({
      head: head11('GET', '/me', ctx.host, [
        `Authorization: Bearer ${ctx.t.full}`,
        `Authorization: Bearer ${ctx.t.full}`,
      ]),
    }),
    expect: invalidRequest(TWO_HEADERS),
  },
  {
    name: 'two Authorization headers spelled in different case',
    request: (ctx) => ({
      head: head11('GET', '/me', ctx.host, [
        `authorization: Bearer ${ctx.t.full}`,
        `AUTHORIZATION: Bearer ${ctx.t.full}`,
      ]),
    }),
    expect: invalidRequest(TWO_HEADERS),
  },
  {
    name: 'two Authorization headers, the second empty',
    request: (ctx) => ({
      head: head11('GET', '/me', ctx.host, [`Authorization: Bearer ${ctx.t.full}`, 'Authorization: ']),
    }),
    expect: invalidRequest(TWO_HEADERS),
  },
  {
    name: 'two empty Authorization headers on the optional route',
    request: (ctx) => ({ head: head11('GET', '/public', ctx.host, ['Authorization: ', 'Authorization: ']) }),
    expect: invalidRequest(TWO_HEADERS),
  },
  {
    name: 'Basic and Bearer in two Authorization headers on the optional route',
    request: (ctx) => ({
      head: head11('GET', '/public', ctx.host, [
        'Authorization: Basic dXNlcjpwYXNz',
        `Authorization: Bearer ${ctx.t.read}`,
      ]),
    }),
    expect: invalidRequest(TWO_HEADERS),
  },
  {
    name: 'comma-joined value: Bearer a, Bearer b',
    request: bearer((t) => `Bearer ${t.full}, Bearer ${t.full}`),
    expect: invalidRequest(SYNTAX),
  },
  {
    name: 'comma-joined value: Basic x, Bearer y',
    request: bearer((t) => `Basic dXNlcjpwYXNz, Bearer ${t.full}`),
    expect: invalidRequest(TWO_HEADERS),
  },
  { name: 'an empty value', request: bearer(() => ''), expect: BARE },
  { name: 'spaces only', request: bearer(() => '    '), expect: BARE },
  {
    name: 'Bearer alone',
    request: bearer(() => 'Bearer'),
    expect: invalidRequest('The Bearer credentials are empty'),
  },
  {
    name: 'Bearer and a space',
    request: bearer(() => 'Bearer '),
    expect: invalidRequest('The Bearer credentials are empty'),
  },
  {
    name: 'Bearer: (a colon after the scheme)',
    request: bearer(() => 'Bearer: abc'),
    expect: invalidRequest('The Bearer scheme is not followed by a space and the token'),
  },
  {
    name: 'Bearerabc (no separator): another scheme',
    request: bearer(() => 'Bearerabc'),
    expect: NOT_BEARER,
  },
  {
    name: 'a 9000-character token',
    request: bearer(() => `Bearer ${'a'.repeat(9000)}`),
    expect: invalidToken('The token is longer than 8192 characters'),
  },
  {
    name: 'a 9000-character token on the optional route',
    request: bearer(() => `Bearer ${'a'.repeat(9000)}`, '/public'),
    expect: invalidToken('The token is longer than 8192 characters'),
  },
  {
    name: 'a byte >= 0x80 after the token',
    request: bearer((t) => `Bearer ${t.full}\xe9`),
    expect: invalidRequest(SYNTAX),
  },
  {
    name: 'only bytes >= 0x80 on the optional route',
    request: bearer(() => 'Bearer \xff\xfe', '/public'),
    expect: invalidRequest(SYNTAX),
  },
  {
    name: 'a token with = padding (b64token allows it; not canonical base64url)',
    request: bearer((t) => `Bearer ${t.full}==`),
    expect: invalidToken('The token signature is missing or not canonical base64url'),
  },
  { name: 'a quote in the token', request: bearer(() => 'Bearer a"b'), expect: invalidRequest(SYNTAX) },
  { name: 'Basic', request: bearer(() => 'Basic dXNlcjpwYXNz'), expect: NOT_BEARER },
  {
    name: 'Basic on the optional route: anonymous',
    request: bearer(() => 'Basic dXNlcjpwYXNz', '/public'),
    expect: { status: 200, challenges: null, body: { anonymous: true } },
  },
  { name: 'no Authorization at all', request: get('/me'), expect: BARE },

  // --- Scopes, expiry --------------------------------------------------------------------------
  {
    name: 'a valid token without the needed scope',
    request: bearer((t) => `Bearer ${t.read}`, '/orders'),
    expect: insufficient('orders:read'),
  },
  {
    name: 'a valid token without the needed scope on the optional route',
    request: bearer((t) => `Bearer ${t.read}`, '/public/orders'),
    expect: insufficient('orders:read'),
  },
  {
    name: 'an expired token',
    app: 'expired',
    request: bearer((t) => `Bearer ${t.short}`),
    expect: invalidToken('The token has expired'),
  },

  // --- Form body ---------------------------------------------------------------------------------
  { name: 'form token, form option on', request: form((t) => `access_token=${t.full}`), expect: OK },
  {
    name: 'form token, form option off: ignored',
    app: 'headerOnly',
    request: form((t) => `access_token=${t.full}`),
    expect: BARE,
  },
  {
    name: 'form token on a GET: never read (RFC 6750 §2.2)',
    request: (ctx) => {
      const text = `access_token=${ctx.t.full}`;
      return {
        head: head11('GET', '/me', ctx.host, [`Content-Type: ${FORM}`, `Content-Length: ${text.length}`]),
        body: [text],
      };
    },
    expect: BARE,
  },
  {
    name: 'form token, charset=utf-8',
    request: form((t) => `access_token=${t.full}`, `${FORM}; charset=utf-8`),
    expect: OK,
  },
  {
    name: 'form token, ;charset=UTF-8 without a space',
    request: form((t) => `access_token=${t.full}`, `${FORM};charset=UTF-8`),
    expect: OK,
  },
  {
    name: 'form token, charset="utf-8" quoted',
    request: form((t) => `access_token=${t.full}`, `${FORM}; charset="utf-8"`),
    expect: OK,
  },
  {
    name: 'form token, charset=iso-8859-1',
    request: form((t) => `access_token=${t.full}`, `${FORM}; charset=iso-8859-1`),
    expect: OK,
  },
  {
    name: 'form token, media type in capitals',
    request: form((t) => `access_token=${t.full}`, FORM.toUpperCase()),
    expect: OK,
  },
  {
    name: 'form token, Content-Encoding: identity',
    request: form((t) => `access_token=${t.full}`, FORM, ['Content-Encoding: identity']),
    expect: OK,
  },
  {
    name: 'access_token in a multipart body: not a form (RFC 6750 §2.2 single-part), ignored',
    request: (ctx) =>
      postRaw(
        '/orders',
        ctx.host,
        'multipart/form-data; boundary=XX',
        `--XX\r\nContent-Disposition: form-data; name="access_token"\r\n\r\n${ctx.t.full}\r\n--XX--\r\n`,
      ),
    expect: BARE,
  },
  {
    name: 'form token in a chunked body, split mid-token',
    request: (ctx) => {
      const text = `access_token=${ctx.t.full}`;
      const [a, b] = [text.slice(0, 30), text.slice(30)];
      return {
        head: head11('POST', '/orders', ctx.host, [`Content-Type: ${FORM}`, 'Transfer-Encoding: chunked']),
        body: [`${a.length.toString(16)}\r\n${a}\r\n`, `${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`],
      };
    },
    expect: OK,
  },
  {
    name: 'Authorization in a chunked trailer: never read',
    request: (ctx) => ({
      head: head11('POST', '/orders', ctx.host, [
        `Content-Type: ${FORM}`,
        'Transfer-Encoding: chunked',
        'Trailer: Authorization',
      ]),
      body: [`3\r\na=1\r\n0\r\nAuthorization: Bearer ${ctx.t.full}\r\n\r\n`],
    }),
    expect: BARE,
  },
  {
    name: 'form token after Expect: 100-continue (the body sent after the 100)',
    request: (ctx) => {
      const text = `access_token=${ctx.t.full}`;
      return {
        head: head11('POST', '/orders', ctx.host, [
          `Content-Type: ${FORM}`,
          `Content-Length: ${text.length}`,
          'Expect: 100-continue',
        ]),
        body: [text],
        afterContinue: true,
      };
    },
    expect: { ...OK, interim: [100] },
  },
  {
    name: 'Expect: 100-continue, no token: 100 then 401',
    request: (ctx) => ({
      head: head11('POST', '/orders', ctx.host, [
        'Content-Type: application/json',
        'Content-Length: 2',
        'Expect: 100-continue',
      ]),
      body: ['{}'],
      afterContinue: true,
    }),
    expect: { ...BARE, interim: [100] },
  },
  {
    name: 'header token with Expect: 100-continue on a GET: 100 then 200',
    request: get('/me', ['Authorization: Bearer {full}', 'Expect: 100-continue']),
    expect: { ...OK, interim: [100] },
  },
  {
    name: 'access_token twice in the form',
    request: form((t) => `access_token=${t.full}&access_token=${t.full}`),
    expect: invalidRequest('The form body carries access_token more than once'),
  },
  {
    name: 'an empty access_token in the form',
    request: form(() => 'access_token='),
    expect: invalidRequest(FORM_SYNTAX),
  },
  {
    name: 'access_token without = in the form',
    request: form(() => 'access_token'),
    expect: invalidRequest(FORM_SYNTAX),
  },
  {
    name: 'access_token[] in the form: another name',
    request: form((t) => `access_token[]=${t.full}`),
    expect: BARE,
  },
  {
    name: 'access%5Ftoken in the form: the same name',
    request: form((t) => `access%5Ftoken=${t.full}`),
    expect: OK,
  },
  {
    name: 'a ; between form fields is no separator',
    request: form((t) => `a=1;access_token=${t.full}`),
    expect: BARE,
  },
  {
    name: 'bytes >= 0x80 in the form token',
    request: form(() => 'access_token=\xff\xfe'),
    expect: invalidRequest(FORM_SYNTAX),
  },
  {
    name: '%ff in the form token',
    request: form(() => 'access_token=%ff'),
    expect: invalidRequest(FORM_SYNTAX),
  },
  {
    name: '+ (a space) in the form token',
    request: form(() => 'access_token=a+b'),
    expect: invalidRequest(FORM_SYNTAX),
  },
  {
    name: 'form token with = padding',
    request: form((t) => `access_token=${t.full}==`),
    expect: invalidToken('The token signature is missing or not canonical base64url'),
  },
  { name: 'an empty form body', request: form(() => ''), expect: BARE },
  {
    name: 'form token after 999 other parameters (under every parser limit)',
    request: form((t) => `${params(999)}&access_token=${t.full}`),
    expect: OK,
  },
  {
    name: 'form token in a 99 kB body (under every size limit)',
    request: form((t) => `p=${'x'.repeat(99_000)}&access_token=${t.full}`),
    expect: OK,
  },
  {
    name: 'a token in the header and in the form',
    request: form((t) => `access_token=${t.full}`, FORM, ['Authorization: Bearer {full}']),
    expect: invalidRequest('The access token was sent more than one way (header and body)'),
  },
  {
    name: 'a form token without the route scope (POST /orders needs orders:write)',
    request: form((t) => `access_token=${t.read}`),
    expect: insufficient('orders:write'),
  },

  // --- Query string ------------------------------------------------------------------------------
  { name: 'query token, option off: ignored', request: get('/me?access_token={full}'), expect: BARE },
  {
    name: 'query token, option on: Cache-Control: private',
    app: 'query',
    request: get('/me?access_token={full}'),
    expect: { ...OK, cacheControl: 'private' },
  },
  {
    name: 'access_token twice in the query, option on',
    app: 'query',
    request: get('/me?access_token={full}&access_token={full}'),
    expect: invalidRequest('The query string carries access_token more than once'),
  },
  {
    name: 'access_token twice in the query, option off: ignored',
    request: get('/me?access_token={full}&access_token={full}'),
    expect: BARE,
  },
  {
    name: 'a token in the header and in the query',
    app: 'query',
    request: get('/me?access_token={full}', ['Authorization: Bearer {full}']),
    expect: invalidRequest('The access token was sent more than one way (header and query)'),
  },
  {
    name: 'a token in the form and in the query',
    app: 'query',
    request: (ctx) =>
      postRaw(`/orders?access_token=${ctx.t.full}`, ctx.host, FORM, `access_token=${ctx.t.full}`),
    expect: invalidRequest('The access token was sent more than one way (body and query)'),
  },
  {
    name: 'a query token without the route scope: 403, Cache-Control: private',
    app: 'query',
    request: get('/orders?access_token={read}'),
    expect: { ...insufficient('orders:read'), cacheControl: 'private' },
  },
  {
    name: 'an invalid query token: 401, no Cache-Control',
    app: 'query',
    request: get('/me?access_token=abc'),
    expect: invalidToken('The token is not a JWT and no introspection endpoint is configured'),
  },
  {
    name: 'a fragment after the query token',
    app: 'query',
    request: get('/me?access_token={full}#frag'),
    expect: invalidRequest(QUERY_SYNTAX),
  },
  {
    name: 'an empty query token',
    app: 'query',
    request: get('/me?access_token='),
    expect: invalidRequest(QUERY_SYNTAX),
  },
  {
    name: '%ff as the query token',
    app: 'query',
    request: get('/me?access_token=%ff'),
    expect: invalidRequest(QUERY_SYNTAX),
  },
  {
    name: 'access%5Ftoken in the query: the same name',
    app: 'query',
    request: get('/me?access%5Ftoken={full}'),
    expect: { ...OK, cacheControl: 'private' },
  },
  {
    name: 'access_token[] in the query: another name',
    app: 'query',
    request: get('/me?access_token[]={full}'),
    expect: BARE,
  },
  {
    name: 'query token on the optional route',
    app: 'query',
    request: get('/public?access_token={full}'),
    expect: { ...OK, cacheControl: 'private' },
  },
  {
    name: 'query token on a HEAD',
    app: 'query',
    request: (ctx) => ({ head: head11('HEAD', `/me?access_token=${ctx.t.full}`, ctx.host) }),
    expect: { status: 200, challenges: null, cacheControl: 'private' },
  },

  // --- Methods, request lines, Host ------------------------------------------------------------
  {
    name: 'HEAD, no token',
    request: (ctx) => ({ head: head11('HEAD', '/me', ctx.host) }),
    expect: { status: 401, challenges: { Bearer: {} } },
  },
  {
    name: 'HEAD, valid token',
    request: (ctx) => ({ head: head11('HEAD', '/me', ctx.host, [`Authorization: Bearer ${ctx.t.full}`]) }),
    expect: { status: 200, challenges: null },
  },
  {
    name: 'HEAD, scope missing',
    request: (ctx) => ({
      head: head11('HEAD', '/orders', ctx.host, [`Authorization: Bearer ${ctx.t.read}`]),
    }),
    expect: { status: 403, challenges: { Bearer: { error: 'insufficient_scope', scope: 'orders:read' } } },
  },
  {
    name: 'HTTP/1.0 without Host, no token',
    request: () => ({ head: 'GET /me HTTP/1.0\r\n\r\n' }),
    expect: BARE,
  },
  {
    name: 'HTTP/1.0 without Host, valid token',
    request: (ctx) => ({ head: `GET /me HTTP/1.0\r\nAuthorization: Bearer ${ctx.t.full}\r\n\r\n` }),
    expect: OK,
  },
  {
    name: 'HTTP/1.0 without Host, query token',
    app: 'query',
    request: (ctx) => ({ head: `GET /me?access_token=${ctx.t.full} HTTP/1.0\r\n\r\n` }),
    expect: { ...OK, cacheControl: 'private' },
  },
  {
    name: 'HTTP/1.0 without Host, form token',
    request: (ctx) => {
      const text = `access_token=${ctx.t.full}`;
      return {
        head: `POST /orders HTTP/1.0\r\nContent-Type: ${FORM}\r\nContent-Length: ${text.length}\r\n\r\n`,
        body: [text],
      };
    },
    expect: OK,
  },
  {
    name: 'HTTP/1.1 with an empty Host, valid token',
    request: (ctx) => ({
      head: `GET /me HTTP/1.1\r\nHost: \r\nAuthorization: Bearer ${ctx.t.full}\r\nConnection: close\r\n\r\n`,
    }),
    expect: OK,
  },
  {
    name: 'absolute-form target, no token',
    request: (ctx) => ({ head: head11('GET', `http://${ctx.host}/me`, ctx.host) }),
    expect: BARE,
  },
  {
    name: 'absolute-form target, valid token',
    request: (ctx) => ({
      head: head11('GET', `http://${ctx.host}/me`, ctx.host, [`Authorization: Bearer ${ctx.t.full}`]),
    }),
    expect: OK,
  },
  {
    name: 'absolute-form target naming another host, valid token',
    request: (ctx) => ({
      head: head11('GET', 'http://other.example/me', ctx.host, [`Authorization: Bearer ${ctx.t.full}`]),
    }),
    expect: OK,
  },
  {
    name: 'absolute-form target, scope missing',
    request: (ctx) => ({
      head: head11('GET', `http://${ctx.host}/orders`, ctx.host, [`Authorization: Bearer ${ctx.t.read}`]),
    }),
    expect: insufficient('orders:read'),
  },
  {
    name: 'absolute-form target, query token',
    app: 'query',
    request: (ctx) => ({ head: head11('GET', `http://${ctx.host}/me?access_token=${ctx.t.full}`, ctx.host) }),
    expect: { ...OK, cacheControl: 'private' },
  },
  {
    name: 'absolute-form target, form token',
    request: (ctx) => postRaw(`http://${ctx.host}/orders`, ctx.host, FORM, `access_token=${ctx.t.full}`),
    expect: OK,
  },

  // --- DPoP-bound tokens ---------------------------------------------------------------------------
  {
    name: 'a DPoP-bound token sent as Bearer, validator without dpop',
    request: bearer((t) => `Bearer ${t.bound}`),
    expect: invalidToken(BOUND_AS_BEARER),
  },
  {
    name: 'the DPoP scheme, validator without dpop: another scheme',
    request: bearer((t) => `DPoP ${t.bound}`),
    expect: NOT_BEARER,
  },
  {
    name: 'the DPoP scheme on the optional route, validator without dpop: anonymous',
    request: bearer((t) => `DPoP ${t.bound}`, '/public'),
    expect: { status: 200, challenges: null, body: { anonymous: true } },
  },
  {
    name: 'dpop validator: a DPoP-bound token sent as Bearer',
    app: 'dpop',
    request: bearer((t) => `Bearer ${t.bound}`),
    expect: {
      status: 401,
      challenges: { Bearer: { error: 'invalid_token' }, DPoP: {} },
      body: { error: 'invalid_token', error_description: BOUND_AS_BEARER },
    },
  },
  {
    name: 'dpop validator: a DPoP-bound token sent as Bearer with a valid proof',
    app: 'dpop',
    request: withProof('GET', '/me', { scheme: 'Bearer' }),
    expect: {
      status: 401,
      challenges: { Bearer: { error: 'invalid_token' }, DPoP: {} },
      body: { error: 'invalid_token', error_description: BOUND_AS_BEARER },
    },
  },
  {
    name: 'dpop validator: a plain bearer token',
    app: 'dpop',
    request: bearer((t) => `Bearer ${t.full}`),
    expect: OK,
  },
  {
    name: 'dpop validator: no token',
    app: 'dpop',
    request: get('/me'),
    expect: { ...BARE, challenges: { Bearer: {}, DPoP: {} } },
  },
  {
    name: 'dpop validator: two Authorization headers',
    app: 'dpop',
    request: (ctx) => ({
      head: head11('GET', '/me', ctx.host, [
        `Authorization: Bearer ${ctx.t.full}`,
        `Authorization: Bearer ${ctx.t.full}`,
      ]),
    }),
    expect: {
      ...invalidRequest(TWO_HEADERS),
      challenges: { Bearer: { error: 'invalid_request' }, DPoP: {} },
    },
  },
  {
    name: 'dpop validator: scope missing',
    app: 'dpop',
    request: bearer((t) => `Bearer ${t.read}`, '/orders'),
    expect: {
      ...insufficient('orders:read'),
      challenges: { Bearer: { error: 'insufficient_scope', scope: 'orders:read' }, DPoP: {} },
    },
  },
  {
    name: 'dpop validator: DPoP scheme without a proof',
    app: 'dpop',
    request: bearer((t) => `DPoP ${t.bound}`),
    expect: {
      status: 401,
      challenges: { Bearer: {}, DPoP: { error: 'invalid_dpop_proof' } },
      body: {
        error: 'invalid_dpop_proof',
        error_description: 'The request has no DPoP header with the DPoP-bound token',
      },
    },
  },
  {
    name: 'dpop validator: DPoP scheme with two proofs',
    app: 'dpop',
    request: withProof('GET', '/me', { proofs: 2 }),
    expect: {
      status: 401,
      challenges: { Bearer: {}, DPoP: { error: 'invalid_dpop_proof' } },
      body: { error: 'invalid_dpop_proof', error_description: 'The request has more than one DPoP header' },
    },
  },
  {
    name: 'dpop validator: DPoP scheme with a proof',
    app: 'dpop',
    request: withProof('GET', '/me'),
    expect: OK,
  },
  {
    name: 'dpop validator: DPoP proof on a HEAD',
    app: 'dpop',
    request: withProof('HEAD', '/me'),
    expect: { status: 200, challenges: null },
  },
  {
    name: 'dpop validator: a query string the htu leaves out',
    app: 'dpop',
    request: withProof('GET', '/me?x=1'),
    expect: OK,
  },
  {
    name: 'dpop validator: an absolute-form target',
    app: 'dpop',
    request: withProof('GET', 'http://HOST/me', { htu: (ctx) => `http://${ctx.host}/me` }),
    expect: OK,
  },
  {
    name: 'dpop validator: absolute-form target of another host, proof for the Host header',
    app: 'dpop',
    request: withProof('GET', 'http://other.example/me', { htu: (ctx) => `http://${ctx.host}/me` }),
    expect: {
      status: 401,
      challenges: { Bearer: {}, DPoP: { error: 'invalid_dpop_proof' } },
      body: { error: 'invalid_dpop_proof', error_description: 'The DPoP proof htu is not the request URL' },
    },
  },
  {
    name: 'dpop validator: Host in capitals, proof in lower case',
    app: 'dpop',
    request: async (ctx) => {
      const port = ctx.host.split(':')[1] as string;
      const proof = await ctx.proof('GET', `http://localhost:${port}/me`);
      return {
        head: head11('GET', '/me', `LOCALHOST:${port}`, [
          `Authorization: DPoP ${ctx.t.bound}`,
          `DPoP: ${proof}`,
        ]),
      };
    },
    expect: OK,
  },

  // --- Key set unavailable -----------------------------------------------------------------------
  {
    name: '503: header token',
    app: 'keysDown',
    request: bearer((t) => `Bearer ${t.full}`),
    expect: UNAVAILABLE,
  },
  {
    name: '503: form token',
    app: 'keysDown',
    request: form((t) => `access_token=${t.full}`),
    expect: UNAVAILABLE,
  },
  {
    name: '503: query token (no Cache-Control)',
    app: 'keysDown',
    request: get('/me?access_token={full}'),
    expect: UNAVAILABLE,
  },
  {
    name: '503: HEAD',
    app: 'keysDown',
    request: (ctx) => ({ head: head11('HEAD', '/me', ctx.host, [`Authorization: Bearer ${ctx.t.full}`]) }),
    expect: { status: 503, challenges: null, retryAfter: true },
  },
  {
    name: '503: on the optional route',
    app: 'keysDown',
    request: bearer((t) => `Bearer ${t.full}`, '/public'),
    expect: UNAVAILABLE,
  },
];

let issuer: DevIssuer;
let tokens: Tokens;
const validators: Validator[] = [];
const apps: RunningApp[] = [];
const ports = new Map<string, number>();

function validatorFor(kind: AppKind): Validator {
  const base = { issuer: issuer.issuer, realm: REALM, tenantClaim: 'tid' } as const;
  const validator =
    kind === 'expired'
      ? createValidator({ ...base, audience: 'https://short.test', now: () => Date.now() + 120_000 })
      : createValidator({
          ...base,
          audience: 'https://api.test',
          ...(kind === 'dpop' ? { dpop: true } : {}),
        });
  validators.push(validator);
  return validator;
}

function transportFor(kind: AppKind) {
  return {
    body: kind === 'main' || kind === 'query' || kind === 'keysDown',
    query: kind === 'query' || kind === 'keysDown',
  };
}

const portOf = (app: RunningApp): number => Number(new URL(app.url).port);

beforeAll(async () => {
  issuer = await startDevIssuer({ extraClaims: { tid: 'tenant-a' }, dpop: true });
  tokens = {
    full: await issuer.getToken({ resource: 'https://api.test' }),
    read: await issuer.getToken({ resource: 'https://api.test', scope: 'read' }),
    short: await issuer.getToken({ resource: 'https://short.test' }),
    bound: await issuer.getToken({ resource: 'https://api.test', dpop: true }),
  };
  for (const [adapter, start] of Object.entries(ADAPTERS)) {
    for (const kind of STARTED_KINDS) {
      const app = await start({ validator: validatorFor(kind), transport: transportFor(kind) });
      apps.push(app);
      ports.set(`${adapter}:${kind}`, portOf(app));
    }
  }
});

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await Promise.all(validators.map((validator) => validator.close()));
  await issuer?.close();
});

/** The row's request to one adapter; `{full}` and `{read}` in its head stand for those tokens. */
async function ask(adapter: string, row: Row): Promise<ComparedAnswer> {
  const kind = row.app ?? 'main';
  let port = ports.get(`${adapter}:${kind}`);
  let fresh: RunningApp | undefined;
  if (kind === 'keysDown') {
    fresh = await (ADAPTERS[adapter] as StartApp)({
      validator: validatorFor(kind),
      transport: transportFor(kind),
    });
    port = portOf(fresh);
  }
  const ctx: Context = {
    host: `127.0.0.1:${port}`,
    t: tokens,
    proof: (htm, htu) => issuer.dpopProof(htm, htu, tokens.bound),
  };
  const built = await row.request(ctx);
  const request = {
    ...built,
    head: built.head
      .replaceAll('{full}', tokens.full)
      .replaceAll('{read}', tokens.read)
      .replaceAll('http://HOST', `http://${ctx.host}`),
  };
  if (kind === 'keysDown') issuer.jwks.setDown(true);
  try {
    return comparedAnswer(
      await sendRaw(port as number, request.head, {
        body: request.body,
        afterContinue: request.afterContinue,
      }),
    );
  } finally {
    if (kind === 'keysDown') issuer.jwks.setDown(false);
    await fresh?.close();
  }
}

function assertExpected(row: Row, answer: ComparedAnswer): void {
  const { expect: expected } = row;
  expect(answer.status).toBe(expected.status);
  expect(answer.interim).toEqual(expected.interim ?? []);
  expect(answer.mediaType).toBe('application/json');
  const body = answer.body as Record<string, unknown> | '';
  if (expected.body !== undefined) expect(body).toMatchObject(expected.body);
  if (expected.status >= 400 && body !== '')
    expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
  if (expected.challenges === null) {
    expect(answer.challenges).toBeNull();
  } else {
    const challenges = answer.challenges ?? [];
    expect(challenges.map((c) => c.scheme)).toEqual(Object.keys(expected.challenges));
    for (const challenge of challenges) {
      const { algs: _algs, error_description: description, ...params } = challenge.params;
      expect(params, challenge.scheme).toEqual({ realm: REALM, ...expected.challenges[challenge.scheme] });
      if (params.error !== undefined) {
        expect(typeof description).toBe('string');
        if (body !== '') expect(description).toBe(body.error_description);
      } else expect(description).toBeUndefined();
    }
  }
  expect(answer.cacheControl).toEqual(expected.cacheControl === undefined ? null : [expected.cacheControl]);
  if (expected.retryAfter === true) {
    expect(answer.retryAfter).toHaveLength(1);
    expect(answer.retryAfter?.[0]).toMatch(/^[1-9]\d*$/);
  } else expect(answer.retryAfter).toBeNull();
  for (const token of Object.values(tokens)) expect(JSON.stringify(answer)).not.toContain(token);
}

describe('raw HTTP: Express 5, Express 4, Fastify and Hono give the same bytes the same answer', () => {
  it('covers what the brief lists, over a real issuer', () => {
    expect(ROWS.length).toBeGreaterThan(100);
    expect(new Set(ROWS.map((row) => row.name)).size).toBe(ROWS.length);
  });

  it.each(ROWS.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    const answers: Record<string, ComparedAnswer> = {};
    for (const adapter of Object.keys(ADAPTERS)) answers[adapter] = await ask(adapter, row);
    for (const [adapter, answer] of Object.entries(answers)) {
      // Retry-After is compared by form (above), not value: each 503 is a validator's own backoff.
      const comparable = { ...answer, retryAfter: answer.retryAfter === null ? null : 'present' };
      const first = answers.express as ComparedAnswer;
      expect(comparable, `${adapter} against express`).toEqual({
        ...first,
        retryAfter: first.retryAfter === null ? null : 'present',
      });
    }
    for (const [adapter, answer] of Object.entries(answers)) {
      try {
        assertExpected(row, answer);
      } catch (error) {
        throw new Error(`${adapter}: ${(error as Error).message}`);
      }
    }
  });
});
