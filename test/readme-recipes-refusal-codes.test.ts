/**
 * README.md, "Recipes for common issuers": what each recipe refuses, and with which documented error
 * code, for the tokens a vendor issues that are not this API's access tokens (its ID tokens, tokens for
 * another API, another tenant or authorization server, the older token version), and the recipes' scope
 * claims through the Fastify and Hono guards. test/readme-promises.test.ts checks the accepted tokens
 * and that refusals are 401 through Express; this file pins the codes (the README's Errors table) and
 * the two other adapters. Each recipe runs as README.md writes it (placeholders filled), discovered over
 * real HTTP at the vendor's own paths (test/support/vendor-hosts.ts, a node:http server on 127.0.0.1);
 * tokens have the header and claims the vendor documents:
 * - Auth0: "Access Token Profiles" samples; ID tokens: aud is the application's client id ("Validate ID
 *   Tokens"); custom domain: "tokens will have the iss claim set to your custom domain".
 * - Entra ID: MicrosoftDocs/entra-docs access-token-claims-reference.md (v1.0 iss
 *   https://sts.windows.net/{tid}/, appid, ver "1.0"; v2.0 ends in /v2.0, azp, ver "2.0").
 * - Cognito: "Understanding the access token" / ID token (header kid and alg only; token_use).
 * - Keycloak: access tokens typ claim "Bearer", ID tokens "ID" (keycloak/keycloak JsonWebToken, #2999).
 * - Okta: support.okta.com "The typ field is missing from the access token header" (custom AS: no typ;
 *   org AS: typ application/okta-internal-at+jwt); scp an array, cid the client id.
 * - oidc-provider: JWT access tokens typ at+jwt; ID tokens signed with no typ (lib/helpers/jwt.js).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createValidator, isTokenGuardError, type Validator, type ValidatorOptions } from '@tokenguard/core';
import fastifyPlugin from '@tokenguard/fastify';
import * as honoAdapter from '@tokenguard/hono';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, type SigningKey, secretSigningKey, signToken } from './support/keys.js';
import { readmeValidatorOptions } from './support/readme-blocks.js';
import { startVendorHosts, type VendorHosts } from './support/vendor-hosts.js';

const closers: Array<() => Promise<unknown>> = [];
let hosts: VendorHosts;
beforeAll(async () => {
  hosts = await startVendorHosts();
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await hosts?.close();
});

const nowSec = (): number => Math.floor(Date.now() / 1000);
const recipe = (after: string, fill: Record<string, string> = {}): ValidatorOptions =>
  readmeValidatorOptions({ section: 'Recipes for common issuers', after, fill });

/** Serves discovery and keys for `issuer` as the vendor does (`jwksPath` after the issuer). */
function host(issuer: string, key: SigningKey, jwksUri: string): void {
  const slash = issuer.endsWith('/') ? '' : '/';
  hosts.serve(`${issuer}${slash}.well-known/openid-configuration`, { issuer, jwks_uri: jwksUri });
  hosts.serve(jwksUri, { keys: [key.publicJwk] });
}

function validatorOf(options: ValidatorOptions): Validator {
  const validator = createValidator({ ...options, http: { fetch: hosts.fetch } });
  closers.push(() => validator.close());
  return validator;
}

/** The error code a token gets, or what the accepted token says. */
function outcome(validator: Validator, token: string) {
  return validator.validate(token).then(
    (auth) => ({
      subject: auth.subject,
      clientId: auth.clientId,
      tenant: auth.tenant,
      scopes: [...auth.scopes],
    }),
    (error: unknown) => (isTokenGuardError(error) ? error.code : `threw ${String(error)}`),
  );
}

async function listeningUrl(server: Server): Promise<string> {
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function status(url: string, token: string): Promise<number> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  return response.status;
}

describe('README recipes: what each refuses, and why', () => {
  it('Auth0: an ID token, a token for another API, a custom-domain token and a slash-less iss', async () => {
    const options = recipe('**Auth0**', { YOUR_TENANT: 'dev-tokenguard' });
    const iss = options.issuer as string; // https://dev-tokenguard.auth0.com/
    const key = generateSigningKey('RS256');
    host(iss, key, `${iss}.well-known/jwks.json`);
    const validator = validatorOf(options);
    const iat = nowSec();
    const common = { iss, sub: 'auth0|123456', iat, exp: iat + 300 };
    const api = options.audience as string;
    const idToken = await signToken(
      key,
      { ...common, aud: 'my_client_id', nonce: 'n', sid: 's', name: 'Jane', email: 'j@example.com' },
      { typ: 'JWT' },
    );
    const otherApi = await signToken(
      key,
      {
        ...common,
        aud: ['https://other-api.example.com', `${iss}userinfo`],
        azp: 'my_client_id',
        scope: 'openid',
      },
      { typ: 'JWT' },
    );
    const customDomain = await signToken(
      key,
      { ...common, iss: 'https://login.example.com/', aud: api, azp: 'my_client_id' },
      { typ: 'JWT' },
    );
    const noSlash = await signToken(key, { ...common, iss: iss.slice(0, -1), aud: api }, { typ: 'JWT' });
    expect({
      idToken: await outcome(validator, idToken),
      otherApi: await outcome(validator, otherApi),
      customDomain: await outcome(validator, customDomain),
      noSlash: await outcome(validator, noSlash),
    }).toEqual({
      idToken: 'ERR_AUDIENCE_MISMATCH',
      otherApi: 'ERR_AUDIENCE_MISMATCH',
      customDomain: 'ERR_ISSUER_MISMATCH',
      noSlash: 'ERR_ISSUER_MISMATCH',
    });
  });

  it('Entra ID: a v1.0 token is ERR_ISSUER_MISMATCH as written; another tenant, another API', async () => {
    const tid = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    const apiClientId = '2a9f7c1e-55d1-4c0b-8f5a-0d3e8b6f4c21';
    const options = recipe('**Microsoft Entra ID**', {
      YOUR_TENANT_ID: tid,
      YOUR_API_CLIENT_ID: apiClientId,
    });
    const iss = `https://login.microsoftonline.com/${tid}/v2.0`;
    const key = generateSigningKey('RS256');
    host(iss, key, `https://login.microsoftonline.com/${tid}/discovery/v2.0/keys`);
    const validator = validatorOf(options);
    const iat = nowSec();
    const v2 = {
      iss,
      iat,
      nbf: iat,
      exp: iat + 3600,
      azp: 'c7a1b6b3-0e1d-4f43-9b2e-2f7e3c3b1a90',
      azpacr: '1',
      oid: 'o',
      sub: 's',
      tid,
      ver: '2.0',
    };
    const v1 = await signToken(
      key,
      {
        aud: `api://${apiClientId}`,
        iss: `https://sts.windows.net/${tid}/`,
        iat,
        nbf: iat,
        exp: iat + 3600,
        appid: v2.azp,
        appidacr: '1',
        scp: 'Orders.Read',
        sub: 's',
        tid,
        unique_name: 'a@contoso.com',
        ver: '1.0',
      },
      { typ: 'JWT', x5t: key.kid },
    );
    const otherTenant = 'f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b';
    const foreign = await signToken(
      key,
      {
        ...v2,
        aud: apiClientId,
        iss: `https://login.microsoftonline.com/${otherTenant}/v2.0`,
        tid: otherTenant,
        scp: 'Orders.Read',
      },
      { typ: 'JWT' },
    );
    // Microsoft Graph's application id: a token the same client got for another API.
    const graph = await signToken(
      key,
      { ...v2, aud: '00000003-0000-0000-c000-000000000000', scp: 'User.Read' },
      { typ: 'JWT' },
    );
    const mine = await signToken(key, { ...v2, aud: apiClientId, scp: 'Orders.Read' }, { typ: 'JWT' });
    expect({
      v1: await outcome(validator, v1),
      otherTenant: await outcome(validator, foreign),
      otherApi: await outcome(validator, graph),
      mine: await outcome(validator, mine),
    }).toEqual({
      v1: 'ERR_ISSUER_MISMATCH',
      otherTenant: 'ERR_ISSUER_MISMATCH',
      otherApi: 'ERR_AUDIENCE_MISMATCH',
      mine: { subject: 's', clientId: v2.azp, tenant: tid, scopes: ['Orders.Read'] },
    });
    expect(hosts.requests.some((url) => url.includes(otherTenant) || url.includes('sts.windows.net'))).toBe(
      false,
    );
  });

  it('Cognito: an ID token and another app client fail validateClaims (ERR_CLAIM_INVALID); an M2M token passes', async () => {
    const poolId = 'us-east-1_AbCdEf123';
    const appClientId = '1example23456789';
    const options = recipe('**Amazon Cognito**', {
      REGION: 'us-east-1',
      USER_POOL_ID: poolId,
      YOUR_APP_CLIENT_ID: appClientId,
    });
    const iss = options.issuer as string;
    const key = generateSigningKey('RS256');
    host(iss, key, `${iss}/.well-known/jwks.json`);
    const validator = validatorOf(options);
    const iat = nowSec();
    const header = { typ: undefined };
    const access = { iss, version: 2, token_use: 'access', auth_time: iat, iat, exp: iat + 3600, jti: 'j' };
    const idToken = await signToken(
      key,
      {
        sub: 'u',
        aud: appClientId,
        iss,
        token_use: 'id',
        auth_time: iat,
        iat,
        exp: iat + 3600,
        'cognito:username': 'u',
        email_verified: true,
      },
      header,
    );
    const otherClient = await signToken(
      key,
      {
        ...access,
        sub: 'u',
        client_id: 'another-app-client',
        scope: 'aws.cognito.signin.user.admin',
        username: 'u',
      },
      header,
    );
    // Client credentials: sub is the app client, scope holds only the resource server's custom scopes.
    const m2m = await signToken(
      key,
      { ...access, sub: appClientId, client_id: appClientId, scope: 'orders/read orders/write' },
      header,
    );
    expect({
      idToken: await outcome(validator, idToken),
      otherClient: await outcome(validator, otherClient),
      m2m: await outcome(validator, m2m),
    }).toEqual({
      idToken: 'ERR_CLAIM_INVALID',
      otherClient: 'ERR_CLAIM_INVALID',
      m2m: {
        subject: appClientId,
        clientId: appClientId,
        tenant: undefined,
        scopes: ['orders/read', 'orders/write'],
      },
    });
  });

  it('Keycloak: ID token (typ "ID"), aud "account" alone, no aud at all, an HS512 refresh token', async () => {
    const options = recipe('**Keycloak**', { REALM: 'shop' });
    const iss = options.issuer as string;
    const key = generateSigningKey('RS256');
    host(iss, key, `${iss}/protocol/openid-connect/certs`);
    const validator = validatorOf(options);
    const iat = nowSec();
    const claims = {
      exp: iat + 300,
      iat,
      jti: 'j',
      iss,
      sub: 'f:2c1b:alice',
      azp: 'shop-frontend',
      sid: 's',
      scope: 'openid profile',
    };
    const idToken = await signToken(key, { ...claims, aud: options.audience, typ: 'ID' }, { typ: 'JWT' });
    const account = await signToken(key, { ...claims, aud: 'account', typ: 'Bearer' }, { typ: 'JWT' });
    const noAud = await signToken(key, { ...claims, typ: 'Bearer' }, { typ: 'JWT' });
    const refresh = await signToken(
      secretSigningKey('k'.repeat(64), 'HS512'),
      { ...claims, aud: iss, typ: 'Refresh' },
      { typ: 'JWT', kid: 'hmac-kid' },
    );
    expect({
      idToken: await outcome(validator, idToken),
      account: await outcome(validator, account),
      noAud: await outcome(validator, noAud),
      refresh: await outcome(validator, refresh),
    }).toEqual({
      idToken: 'ERR_CLAIM_INVALID',
      account: 'ERR_AUDIENCE_MISMATCH',
      noAud: 'ERR_CLAIM_MISSING',
      refresh: 'ERR_ALGORITHM_NOT_ALLOWED',
    });
  });

  it('Okta: an ID token of the custom AS (no typ, aud the client) and an org AS token', async () => {
    const options = recipe('**Okta**', { YOUR_ORG: 'dev-654321' });
    const iss = options.issuer as string;
    const key = generateSigningKey('RS256');
    host(iss, key, `${iss}/v1/keys`);
    const validator = validatorOf(options);
    const iat = nowSec();
    const idToken = await signToken(
      key,
      {
        sub: '00u1a2b3c4DeFgHi5d7',
        ver: 1,
        iss,
        aud: '0oa1x2y3z4AbCdEf5d7',
        iat,
        exp: iat + 3600,
        jti: 'ID.x',
        amr: ['pwd'],
        idp: '00o1',
        nonce: 'n',
        auth_time: iat,
        at_hash: 'h',
      },
      { typ: undefined },
    );
    const org = await signToken(
      key,
      {
        ver: 1,
        iss: 'https://dev-654321.okta.com',
        aud: 'https://dev-654321.okta.com',
        iat,
        exp: iat + 3600,
        cid: '0oa1',
        uid: '00u1',
        scp: ['openid'],
        sub: 'x',
      },
      { typ: 'application/okta-internal-at+jwt' },
    );
    expect({ idToken: await outcome(validator, idToken), org: await outcome(validator, org) }).toEqual({
      idToken: 'ERR_AUDIENCE_MISMATCH',
      org: 'ERR_ISSUER_MISMATCH',
    });
  });

  it('oidc-provider: its ID token (no typ) is ERR_TYPE_MISMATCH; its RFC 9068 access token passes', async () => {
    const options = recipe('**oidc-provider**');
    const iss = options.issuer as string;
    const key = generateSigningKey('ES256');
    host(iss, key, `${iss}/jwks`);
    const validator = validatorOf(options);
    const iat = nowSec();
    const idToken = await signToken(
      key,
      {
        sub: 'u',
        aud: options.audience,
        iss,
        iat,
        exp: iat + 3600,
        nonce: 'n',
        at_hash: 'h',
        auth_time: iat,
      },
      { typ: undefined },
    );
    const access = await signToken(key, {
      jti: 'j',
      sub: 'u',
      iat,
      exp: iat + 3600,
      scope: 'orders:read',
      client_id: 'app',
      iss,
      aud: options.audience,
    });
    expect({ idToken: await outcome(validator, idToken), access: await outcome(validator, access) }).toEqual({
      idToken: 'ERR_TYPE_MISMATCH',
      access: { subject: 'u', clientId: 'app', tenant: undefined, scopes: ['orders:read'] },
    });
  });
});

describe('README recipes: scope claims through the Fastify and Hono guards', () => {
  it('Auth0 permissions (scopeClaims) as Fastify route config; Okta scp array through Hono requireScopes', async () => {
    const iat = nowSec();
    // Auth0 with RBAC: the permission is only in permissions, not in scope.
    const auth0 = recipe('**Auth0**', { YOUR_TENANT: 'rbac-tenant' });
    const auth0Iss = auth0.issuer as string;
    const auth0Key = generateSigningKey('RS256');
    host(auth0Iss, auth0Key, `${auth0Iss}.well-known/jwks.json`);
    const fastify = Fastify();
    closers.push(() => fastify.close());
    await fastify.register(fastifyPlugin, { ...auth0, http: { fetch: hosts.fetch } });
    fastify.get('/orders', { config: { auth: { scopes: ['read:orders'] } } }, async (request) => ({
      clientId: request.auth?.clientId,
    }));
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const fastifyUrl = `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}/orders`;
    const auth0Token = (permissions: string[]) =>
      signToken(
        auth0Key,
        {
          iss: auth0Iss,
          sub: 'auth0|1',
          aud: auth0.audience,
          azp: 'spa',
          iat,
          exp: iat + 300,
          scope: 'openid profile',
          permissions,
        },
        { typ: 'JWT' },
      );

    // Okta custom AS: scp is an array, no typ header.
    const okta = recipe('**Okta**', { YOUR_ORG: 'dev-777777' });
    const oktaIss = okta.issuer as string;
    const oktaKey = generateSigningKey('RS256');
    host(oktaIss, oktaKey, `${oktaIss}/v1/keys`);
    const app = new Hono();
    app.use('*', honoAdapter.tokenguard({ ...okta, http: { fetch: hosts.fetch } }));
    app.get('/orders', honoAdapter.requireScopes('orders:read'), (c) =>
      c.json({ clientId: c.get('auth')?.clientId }),
    );
    const server = await new Promise<Server>((resolve) => {
      const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
        resolve(started as Server),
      );
    });
    closers.push(() => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    });
    const honoUrl = `${await listeningUrl(server)}/orders`;
    const oktaToken = (scp: string[]) =>
      signToken(
        oktaKey,
        {
          ver: 1,
          jti: 'AT.x',
          iss: oktaIss,
          aud: okta.audience,
          iat,
          exp: iat + 3600,
          cid: '0oa9',
          uid: '00u9',
          scp,
          sub: 'a@example.com',
        },
        { typ: undefined },
      );

    expect({
      auth0Granted: await status(fastifyUrl, await auth0Token(['read:orders'])),
      auth0Missing: await status(fastifyUrl, await auth0Token(['write:orders'])),
      oktaGranted: await status(honoUrl, await oktaToken(['openid', 'orders:read'])),
      oktaMissing: await status(honoUrl, await oktaToken(['openid'])),
    }).toEqual({ auth0Granted: 200, auth0Missing: 403, oktaGranted: 200, oktaMissing: 403 });
  });
});
