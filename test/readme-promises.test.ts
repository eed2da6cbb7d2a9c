/**
 * Behavioural promises of README.md ("Use", "Scopes per route, and many tenants", "Recipes for common
 * issuers") and of the Express, Fastify and Hono READMEs that hold and that no other test pinned, one
 * test per promise, grouped by README section. Each quotes the line it checks.
 *
 * Real parts only: a real oidc-provider (packages/dev-issuer), keys from test/support/keys.ts, apps on
 * 127.0.0.1 port 0 and real HTTP requests. The recipes run as README.md writes them (each
 * `createValidator({ ... })` block evaluated from the file, placeholders filled), with one addition,
 * `http: { fetch }`, which sends the discovery and key set requests for the provider's https URLs to a
 * local HTTP server serving documents shaped as each provider publishes them (test/support/vendor-hosts.ts).
 * Tokens have the header and claims each provider documents.
 *
 * A promise found not to hold has a failing test of its own: readme-entra-v2-audience.test.ts.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createValidator, type ValidatorOptions } from '@tokenguard/core';
import { startDevIssuer } from '@tokenguard/dev-issuer';
import * as expressAdapter from '@tokenguard/express';
import fastifyPlugin from '@tokenguard/fastify';
import * as honoAdapter from '@tokenguard/hono';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, type SigningKey, signToken } from './support/keys.js';
import { readmeValidatorOptions } from './support/readme-blocks.js';
import { startVendorHosts, type VendorHosts } from './support/vendor-hosts.js';

const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

let hosts: VendorHosts;
beforeAll(async () => {
  hosts = await startVendorHosts();
  closers.push(() => hosts.close());
});

const nowSec = (): number => Math.floor(Date.now() / 1000);

function listening(server: Server): Promise<string> {
  return new Promise((resolve) => {
    const done = () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    if (server.listening) done();
    else server.once('listening', done);
  });
}

function closing(server: Server): () => Promise<void> {
  return () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  };
}

/** An Express app set up by `setup`, on 127.0.0.1 port 0, closed after the file. */
async function startExpress(setup: (app: express.Express) => void): Promise<string> {
  const app = express();
  setup(app);
  const server = app.listen(0, '127.0.0.1');
  closers.push(closing(server));
  return listening(server);
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  challenge: string | null;
}

async function get(url: string, token?: string): Promise<Answer> {
  const response = await fetch(
    url,
    token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } },
  );
  const text = await response.text();
  return {
    status: response.status,
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
    challenge: response.headers.get('www-authenticate'),
  };
}

/** A public JWK as a provider serves it, with `extra` members and `drop`ped ones. */
function served(key: SigningKey, extra: Record<string, unknown> = {}, drop: string[] = []) {
  const jwk: Record<string, unknown> = { ...key.publicJwk, ...extra };
  for (const name of drop) delete jwk[name];
  return jwk;
}

/** The caller as a route sees it. */
const whoami: express.RequestHandler = (req, res) => {
  res.json({
    subject: req.auth?.subject,
    clientId: req.auth?.clientId,
    tenant: req.auth?.tenant ?? null,
    scopes: [...(req.auth?.scopes ?? [])],
  });
};

/** A README recipe behind `tokenguard(options)` (Express), its issuer reached through `hosts`. */
async function startRecipe(
  options: ValidatorOptions,
  routes: (app: express.Express) => void = () => {},
): Promise<string> {
  const guard = expressAdapter.tokenguard({ ...options, http: { fetch: hosts.fetch } });
  closers.push(() => guard.validator.close());
  return startExpress((app) => {
    app.use(guard);
    app.get('/me', whoami);
    routes(app);
  });
}

const recipe = (after: string, fill: Record<string, string>): ValidatorOptions =>
  readmeValidatorOptions({ section: 'Recipes for common issuers', after, fill });

describe('README "Use"', () => {
  it('"await validator.warm(); // fetch discovery and keys now, not on the first message"', async () => {
    const issuer = await startDevIssuer();
    closers.push(() => issuer.close());
    const validator = createValidator({ issuer: issuer.issuer, audience: 'https://api.test' });
    closers.push(() => validator.close());
    const token = await issuer.getToken({ resource: 'https://api.test', scope: 'orders:write' });
    expect(issuer.jwks.fetchCount).toBe(0);
    await validator.warm();
    expect(issuer.jwks.fetchCount).toBe(1);
    const auth = await validator.validate(token, { scopes: ['orders:write'] });
    expect(auth.scopes.has('orders:write')).toBe(true);
    expect(issuer.jwks.fetchCount).toBe(1);
  });
});

describe('README "Scopes per route, and many tenants"', () => {
  // "auth.tenant is 'acme', or the tenant in the Entra ID issuer; requireTenant(...) compares it with the
  // route's." The README's configuration, with the Entra ID entry's audience a client id (what v2.0 tokens
  // carry; see readme-entra-v2-audience.test.ts for the example's App ID URI).
  it("one validator: an issuer with tenant 'acme' and Entra ID's {tenant} template with resolveTenant; requireTenant compares", async () => {
    const acmeKey = generateSigningKey('RS256');
    const entraKey = generateSigningKey('RS256');
    const auth0 = 'https://acme.eu.auth0.com/';
    const active = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    const lapsed = '0a1b2c3d-0000-4000-8000-000000000001';
    const apiClientId = '6e74172b-be56-4843-9ff4-e66a39bb12e3';
    hosts.serve(`${auth0}.well-known/openid-configuration`, {
      issuer: auth0,
      jwks_uri: `${auth0}.well-known/jwks.json`,
    });
    hosts.serve(`${auth0}.well-known/jwks.json`, { keys: [served(acmeKey)] });
    for (const tid of [active, lapsed]) {
      const entra = `https://login.microsoftonline.com/${tid}/v2.0`;
      hosts.serve(`${entra}/.well-known/openid-configuration`, {
        issuer: entra,
        jwks_uri: `https://login.microsoftonline.com/${tid}/discovery/v2.0/keys`,
      });
      hosts.serve(`https://login.microsoftonline.com/${tid}/discovery/v2.0/keys`, {
        keys: [served(entraKey, { issuer: entra }, ['alg'])],
      });
    }
    const customers = { byTenant: async (tenant: string) => ({ active: tenant === active }) };
    const validator = createValidator({
      issuers: [
        { issuer: auth0, audience: 'https://api.example', typ: ['JWT'], tenant: 'acme' },
        {
          issuer: 'https://login.microsoftonline.com/{tenant}/v2.0',
          audience: apiClientId,
          typ: ['JWT'],
          resolveTenant: async (tenant) => (await customers.byTenant(tenant))?.active === true,
        },
      ],
      http: { fetch: hosts.fetch },
    });
    closers.push(() => validator.close());
    const base = await startExpress((app) => {
      app.use(expressAdapter.tokenguard(validator));
      app.get(
        '/tenants/:tenant/orders',
        expressAdapter.requireTenant((req) => req.params.tenant as string),
        whoami,
      );
    });
    const iat = nowSec();
    const acmeToken = await signToken(
      acmeKey,
      { iss: auth0, sub: 'auth0|1', aud: 'https://api.example', azp: 'spa', iat, exp: iat + 300 },
      { typ: 'JWT' },
    );
    const entraToken = (tid: string) =>
      signToken(
        entraKey,
        {
          iss: `https://login.microsoftonline.com/${tid}/v2.0`,
          aud: apiClientId,
          sub: 's',
          tid,
          ver: '2.0',
          iat,
          nbf: iat,
          exp: iat + 300,
        },
        { typ: 'JWT' },
      );

    expect(await get(`${base}/tenants/acme/orders`, acmeToken)).toMatchObject({
      status: 200,
      body: { tenant: 'acme' },
    });
    expect(await get(`${base}/tenants/${active}/orders`, await entraToken(active))).toMatchObject({
      status: 200,
      body: { tenant: active },
    });
    for (const [path, token] of [
      [`/tenants/${active}/orders`, acmeToken],
      ['/tenants/acme/orders', await entraToken(active)],
    ] as const) {
      const answer = await get(`${base}${path}`, token);
      expect(answer.status).toBe(403);
      expect(answer.challenge).toContain('error="insufficient_scope"');
    }
    // A tenant the resolver does not trust: its issuer is not one of this API's.
    const refused = await get(`${base}/tenants/${lapsed}/orders`, await entraToken(lapsed));
    expect(refused.status).toBe(401);
    expect(refused.challenge).toContain('error="invalid_token"');
    expect(hosts.requests.some((url) => url.includes(lapsed))).toBe(false);
  });
});

describe('README "Recipes for common issuers"', () => {
  it('Auth0: tokens of the default "Auth0" profile (typ JWT, azp, permissions) and of the "RFC 9068" profile pass', async () => {
    const options = recipe('**Auth0**', { YOUR_TENANT: 'dev-tokenguard' });
    const iss = options.issuer as string;
    const api = options.audience as string;
    const key = generateSigningKey('RS256');
    hosts.serve(`${iss}.well-known/openid-configuration`, {
      issuer: iss,
      jwks_uri: `${iss}.well-known/jwks.json`,
    });
    hosts.serve(`${iss}.well-known/jwks.json`, { keys: [served(key, { x5t: 'x5t-of-the-cert' })] });
    const base = await startRecipe(options, (app) =>
      app.get('/orders', expressAdapter.requireScopes('orders:read'), whoami),
    );
    const iat = nowSec();
    // Auth0's "Access Token Profiles" samples; RBAC "Add Permissions in the Access Token" adds permissions.
    const auth0Profile = await signToken(
      key,
      {
        iss,
        sub: 'auth0|123456',
        aud: [api, `${iss}userinfo`],
        azp: 'my_client_id',
        exp: iat + 300,
        iat,
        scope: 'openid profile read:patients',
        permissions: ['orders:read'],
      },
      { typ: 'JWT' },
    );
    const rfc9068Profile = await signToken(key, {
      iss,
      sub: 'auth0|123456',
      aud: [api, `${iss}userinfo`],
      client_id: 'my_client_id',
      exp: iat + 300,
      iat,
      jti: '73WakrfVbNJBaAmhQtEeDv',
      scope: 'openid profile orders:read',
    });
    for (const token of [auth0Profile, rfc9068Profile]) {
      expect(await get(`${base}/orders`, token)).toMatchObject({
        status: 200,
        body: { subject: 'auth0|123456', clientId: 'my_client_id' },
      });
    }
  });

  it('Entra ID: delegated scp and app-only roles (requireClaims), tenant from the v2.0 issuer, keys served without alg', async () => {
    const tid = '9b2f1c5e-3d4a-4e8b-9c7d-1a2b3c4d5e6f';
    const otherTid = 'f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b';
    const apiClientId = '2a9f7c1e-55d1-4c0b-8f5a-0d3e8b6f4c21';
    const options = recipe('**Microsoft Entra ID**', {
      YOUR_TENANT_ID: tid,
      YOUR_API_CLIENT_ID: apiClientId,
    });
    const iss = `https://login.microsoftonline.com/${tid}/v2.0`;
    const key = generateSigningKey('RS256');
    hosts.serve(`${iss}/.well-known/openid-configuration`, {
      issuer: iss,
      jwks_uri: `https://login.microsoftonline.com/${tid}/discovery/v2.0/keys`,
    });
    // Entra's keys endpoint: kty, use, kid, x5t, n, e, x5c, issuer; no alg.
    hosts.serve(`https://login.microsoftonline.com/${tid}/discovery/v2.0/keys`, {
      keys: [served(key, { x5t: key.kid, issuer: iss, cloud_instance_name: 'microsoftonline.com' }, ['alg'])],
    });
    const base = await startRecipe(options, (app) => {
      app.get('/orders', expressAdapter.requireScopes('Orders.Read'), whoami);
      app.get('/app-only', expressAdapter.requireClaims({ claim: 'roles', includes: 'Orders.Read' }), whoami);
    });
    const iat = nowSec();
    const common = {
      aud: apiClientId,
      iss,
      iat,
      nbf: iat,
      exp: iat + 3600,
      azp: 'c7a1b6b3-0e1d-4f43-9b2e-2f7e3c3b1a90',
      azpacr: '1',
      oid: '00000000-0000-0000-66f3-3332eca7ea81',
      tid,
      ver: '2.0',
    };
    const delegated = await signToken(
      key,
      { ...common, scp: 'Orders.Read User.Read', sub: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ' },
      { typ: 'JWT' },
    );
    const appOnly = await signToken(
      key,
      { ...common, roles: ['Orders.Read'], sub: common.oid, idtyp: 'app' },
      { typ: 'JWT' },
    );
    expect(await get(`${base}/orders`, delegated)).toMatchObject({
      status: 200,
      body: { tenant: tid, clientId: common.azp, scopes: ['Orders.Read', 'User.Read'] },
    });
    expect(await get(`${base}/app-only`, appOnly)).toMatchObject({ status: 200, body: { tenant: tid } });
    // "App-only tokens ... carry application permissions in roles (an array) and no scp".
    expect((await get(`${base}/orders`, appOnly)).status).toBe(403);
    // tenants: ['YOUR_TENANT_ID'] trusts that tenant only, without asking Microsoft about another.
    const foreign = await signToken(
      key,
      {
        ...common,
        iss: `https://login.microsoftonline.com/${otherTid}/v2.0`,
        tid: otherTid,
        scp: 'Orders.Read',
      },
      { typ: 'JWT' },
    );
    expect((await get(`${base}/orders`, foreign)).status).toBe(401);
    expect(hosts.requests.some((url) => url.includes(otherTid))).toBe(false);
  });

  it('Amazon Cognito: an access token (kid and alg only, no aud) passes; an ID token and another app client do not', async () => {
    const poolId = 'eu-west-1_AbCdEf123';
    const appClientId = '1example23456789';
    const options = recipe('**Amazon Cognito**', {
      REGION: 'eu-west-1',
      USER_POOL_ID: poolId,
      YOUR_APP_CLIENT_ID: appClientId,
    });
    const iss = options.issuer as string;
    expect(iss).toBe(`https://cognito-idp.eu-west-1.amazonaws.com/${poolId}`);
    const key = generateSigningKey('RS256');
    hosts.serve(`${iss}/.well-known/openid-configuration`, {
      issuer: iss,
      jwks_uri: `${iss}/.well-known/jwks.json`,
    });
    hosts.serve(`${iss}/.well-known/jwks.json`, { keys: [served(key)] });
    const base = await startRecipe(options, (app) =>
      app.get('/orders', expressAdapter.requireScopes('orders/read'), whoami),
    );
    const iat = nowSec();
    const header = { typ: undefined }; // "The header contains two pieces of information: kid and alg"
    const access = (clientId: string) =>
      signToken(
        key,
        {
          sub: 'aaaaaaaa-bbbb-cccc-dddd-example',
          'cognito:groups': ['admin'],
          iss,
          version: 2,
          client_id: clientId,
          origin_jti: 'o',
          event_id: 'e',
          token_use: 'access',
          scope: 'orders/read openid',
          auth_time: iat,
          exp: iat + 3600,
          iat,
          jti: 'j',
          username: 'my-user',
        },
        header,
      );
    const idToken = await signToken(
      key,
      {
        sub: 'aaaaaaaa-bbbb-cccc-dddd-example',
        aud: appClientId,
        iss,
        token_use: 'id',
        auth_time: iat,
        exp: iat + 3600,
        iat,
        'cognito:username': 'my-user',
        email: 'user@example.com',
      },
      header,
    );
    expect(await get(`${base}/orders`, await access(appClientId))).toMatchObject({
      status: 200,
      body: { clientId: appClientId, scopes: ['orders/read', 'openid'] },
    });
    for (const token of [idToken, await access('another-app-client')]) {
      const answer = await get(`${base}/me`, token);
      expect(answer.status).toBe(401);
      expect(answer.challenge).toContain('error="invalid_token"');
    }
  });

  it('Keycloak: access tokens (typ JWT or at+jwt, typ claim Bearer) pass with an enc key in the set; ID tokens and aud "account" alone do not', async () => {
    const options = recipe('**Keycloak**', { REALM: 'shop' });
    const iss = options.issuer as string;
    const api = options.audience as string;
    const key = generateSigningKey('RS256');
    const encryption = generateSigningKey('RS256');
    hosts.serve(`${iss}/.well-known/openid-configuration`, {
      issuer: iss,
      jwks_uri: `${iss}/protocol/openid-connect/certs`,
    });
    // Keycloak's certs endpoint also lists the realm's encryption key.
    hosts.serve(`${iss}/protocol/openid-connect/certs`, {
      keys: [served(encryption, { alg: 'RSA-OAEP', use: 'enc' }), served(key, { 'x5t#S256': 'thumbprint' })],
    });
    const base = await startRecipe(options);
    const iat = nowSec();
    const claims = {
      exp: iat + 300,
      iat,
      jti: 'onrtac:0b5f',
      iss,
      aud: [api, 'account'],
      sub: 'f:2c1b:alice',
      typ: 'Bearer',
      azp: 'shop-frontend',
      sid: 's',
      acr: '1',
      realm_access: { roles: ['offline_access', 'orders-admin'] },
      resource_access: { account: { roles: ['manage-account'] } },
      scope: 'openid profile email',
      preferred_username: 'alice',
    };
    for (const typ of ['JWT', 'at+jwt']) {
      expect(await get(`${base}/me`, await signToken(key, claims, { typ }))).toMatchObject({
        status: 200,
        body: { subject: 'f:2c1b:alice', clientId: 'shop-frontend' },
      });
    }
    const idToken = await signToken(key, { ...claims, typ: 'ID', aud: api }, { typ: 'JWT' });
    const noMapper = await signToken(key, { ...claims, aud: 'account' }, { typ: 'JWT' });
    for (const token of [idToken, noMapper]) expect((await get(`${base}/me`, token)).status).toBe(401);
  });

  it('Okta: a custom authorization server token (no typ, scp list, cid) passes; an org authorization server token does not', async () => {
    const options = recipe('**Okta**', { YOUR_ORG: 'dev-123456' });
    const iss = options.issuer as string;
    const key = generateSigningKey('RS256');
    hosts.serve(`${iss}/.well-known/openid-configuration`, { issuer: iss, jwks_uri: `${iss}/v1/keys` });
    hosts.serve(`${iss}/v1/keys`, { keys: [served(key)] });
    const base = await startRecipe(options, (app) =>
      app.get('/orders', expressAdapter.requireScopes('orders:read'), whoami),
    );
    const iat = nowSec();
    const custom = await signToken(
      key,
      {
        ver: 1,
        jti: 'AT.0mP4JKAZX1iACIT4vbEDF7LpvDVjxypPMf0D7uX39RE',
        iss,
        aud: options.audience,
        iat,
        exp: iat + 3600,
        cid: '0oa1x2y3z4AbCdEf5d7',
        uid: '00u1a2b3c4DeFgHi5d7',
        scp: ['orders:read', 'openid'],
        auth_time: iat,
        sub: 'alice@example.com',
      },
      { typ: undefined },
    );
    expect(await get(`${base}/orders`, custom)).toMatchObject({
      status: 200,
      body: { subject: 'alice@example.com', clientId: '0oa1x2y3z4AbCdEf5d7' },
    });
    const orgServer = 'https://dev-123456.okta.com';
    const org = await signToken(
      key,
      {
        ver: 1,
        iss: orgServer,
        aud: orgServer,
        iat,
        exp: iat + 3600,
        cid: '0oa1',
        scp: ['openid'],
        sub: 'x',
      },
      { typ: 'application/okta-internal-at+jwt' },
    );
    expect((await get(`${base}/orders`, org)).status).toBe(401);
  });
});

describe('packages/express/README.md', () => {
  // "it is just not an own property of req (Object.keys(req) does not list it, and delete req.auth does
  // not clear it: assign undefined)".
  it('req.auth: not listed by Object.keys(req), not cleared by delete, cleared by assigning undefined', async () => {
    const issuer = await startDevIssuer();
    closers.push(() => issuer.close());
    const validator = createValidator({ issuer: issuer.issuer, audience: 'https://api.test' });
    closers.push(() => validator.close());
    const base = await startExpress((app) => {
      app.use(expressAdapter.tokenguard(validator));
      app.get('/me', (req, res) => {
        const listed = Object.keys(req).includes('auth');
        delete (req as { auth?: unknown }).auth;
        const afterDelete = req.auth?.subject ?? null;
        req.auth = undefined;
        res.json({ listed, afterDelete, afterAssign: req.auth ?? null });
      });
    });
    const token = await issuer.getToken({ resource: 'https://api.test', scope: 'read' });
    expect((await get(`${base}/me`, token)).body).toEqual({
      listed: false,
      afterDelete: issuer.client.id,
      afterAssign: null,
    });
  });
});

describe('packages/fastify/README.md', () => {
  const key = generateSigningKey('ES256');
  const iss = 'https://id.example.com';
  const aud = 'https://orders.example.com';
  const tokenWith = (scope: string) => {
    const iat = nowSec();
    return signToken(key, { iss, aud, sub: 'user-1', scope, iat, exp: iat + 300 });
  };
  const startFastify = async (setup: (app: ReturnType<typeof Fastify>) => Promise<void>) => {
    const app = Fastify();
    await setup(app);
    await app.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => app.close());
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  };

  // Options table: "`optional` | `false` | default for routes without `config.auth.optional`".
  it('the optional plugin option is the default of routes; a route with config.auth.optional false still needs a token', async () => {
    const base = await startFastify(async (app) => {
      await app.register(fastifyPlugin, {
        issuer: iss,
        audience: aud,
        jwks: { keys: [key.publicJwk] },
        optional: true,
      });
      const echo = async (request: { auth: { subject?: string } | null }) => ({
        subject: request.auth?.subject ?? null,
      });
      app.get('/catalog', echo);
      app.get('/orders', { config: { auth: { optional: false } } }, echo);
    });
    expect(await get(`${base}/catalog`)).toMatchObject({ status: 200, body: { subject: null } });
    expect(await get(`${base}/catalog`, await tokenWith('read'))).toMatchObject({
      status: 200,
      body: { subject: 'user-1' },
    });
    expect(await get(`${base}/catalog`, 'not-a-token')).toMatchObject({ status: 401 });
    const anonymous = await get(`${base}/orders`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.challenge).toBe('Bearer');
  });

  // "the config.auth of a route declared earlier is read and checked on the route's first request (an
  // invalid one is then a 500 on every request, and a change made to its lists before that request counts)".
  it('a route declared before the plugin: an invalid config.auth is a 500 on every request; its lists as they are at the first request count', async () => {
    const scopes = ['orders:read'];
    const base = await startFastify(async (app) => {
      app.get('/invalid', { config: { auth: { scopes: 'orders:read' } } } as never, async () => ({
        ok: true,
      }));
      app.get('/orders', { config: { auth: { scopes } } }, async () => ({ ok: true }));
      await app.register(fastifyPlugin, { issuer: iss, audience: aud, jwks: { keys: [key.publicJwk] } });
    });
    const token = await tokenWith('orders:read');
    for (let i = 0; i < 2; i++) {
      const answer = await get(`${base}/invalid`, token);
      expect(answer.status).toBe(500);
      expect(String(answer.body.message)).toContain('/invalid');
    }
    scopes.push('admin');
    const first = await get(`${base}/orders`, token);
    expect(first.status).toBe(403);
    expect(first.challenge).toContain('scope="orders:read admin"');
    scopes.length = 0;
    expect((await get(`${base}/orders`, token)).status).toBe(403);
  });
});

describe('packages/hono/README.md', () => {
  // "With transport.body, the handler still has the whole form body: ... and c.req.raw (a request passed
  // on with fetch(upstream, c.req.raw)) read the bytes tokenguard read."
  it('transport.body: a request passed on with fetch(upstream, c.req.raw) carries the form tokenguard read', async () => {
    const key = generateSigningKey('ES256');
    const iss = 'https://id.example.com';
    const aud = 'https://orders.example.com';
    const upstream = await startExpress((app) =>
      app.post('/echo', express.text({ type: '*/*' }), (req, res) => {
        res.json({ method: req.method, contentType: req.get('content-type'), body: req.body });
      }),
    );
    const validator = createValidator({ issuer: iss, audience: aud, jwks: { keys: [key.publicJwk] } });
    closers.push(() => validator.close());
    const app = new Hono();
    app.use('*', honoAdapter.tokenguard(validator, { transport: { body: true } }));
    app.post('/orders', async (c) => {
      const answer = await fetch(`${upstream}/echo`, c.req.raw);
      return c.json({ subject: c.get('auth')?.subject, upstream: await answer.json() });
    });
    const server = await new Promise<Server>((resolve) => {
      const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
        resolve(started as Server),
      );
    });
    closers.push(closing(server));
    const iat = nowSec();
    const token = await signToken(key, { iss, aud, sub: 'user-1', iat, exp: iat + 300 });
    const form = `item=42&access_token=${token}&note=a%20b`;
    const response = await fetch(`${await listening(server)}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      subject: 'user-1',
      upstream: { method: 'POST', contentType: 'application/x-www-form-urlencoded', body: form },
    });
  });
});
