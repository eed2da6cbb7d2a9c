/**
 * DEFECT (doc). README.md, "Recipes for common issuers", **Microsoft Entra ID**: the recipe
 *
 *     issuer: 'https://login.microsoftonline.com/{tenant}/v2.0', tenants: [...],
 *     audience: 'YOUR_API_CLIENT_ID', typ: ['JWT'],
 *
 * has nothing that tells an ID token from an access token, and with Entra nothing else does: both have
 * header `typ: JWT` ("String - always JWT" in Microsoft's access token and ID token claims references,
 * MicrosoftDocs/entra-docs docs/identity-platform/access-token-claims-reference.md and
 * id-token-claims-reference.md), the same v2.0 `iss`, and an `aud` that is an application (client) id:
 * "In v2.0 tokens, this value is always the client ID of the API" for access tokens, "your app's
 * Application ID" for ID tokens. So where one app registration is both the client and the API (a SPA or
 * web app exposing a scope for its own backend, a common set-up), the ID token Entra hands that app at
 * sign-in carries exactly the recipe's audience, and the recipe accepts it as an access token: 200, and
 * the README's own app-role check `requireClaims({ claim: 'roles', includes: 'Orders.Read' })` passes
 * too, since ID tokens carry the user's assigned app `roles` (id-token-claims-reference.md). Microsoft:
 * "You shouldn't use an ID token to call an API ... ID tokens shouldn't be used for authorization
 * purposes" (id-tokens.md). The other recipes keep ID tokens out (Auth0/Okta: the API's own audience;
 * Cognito: token_use; Keycloak: the typ claim); this one does not, and does not say so.
 *
 * Consequence: any ID token of the shared registration (a front end's, logged or held in browser
 * storage) authorizes API calls. A fix would make the recipe refuse it, e.g. `requiredClaims: ['azp']`
 * or a `validateClaims` on `azp` (v2.0 access tokens carry `azp`, "only present in v2.0 tokens"; Microsoft's
 * v2.0 sample ID token has none), or warn that client and API must be separate registrations; this test
 * then passes. It runs the recipe as README.md writes it, discovered over real HTTP at Microsoft's paths
 * (test/support/vendor-hosts.ts on 127.0.0.1), behind Express on 127.0.0.1.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { requireClaims, tokenguard } from '@tokenguard/express';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, type SigningKey, signToken } from './support/keys.js';
import { readmeValidatorOptions } from './support/readme-blocks.js';
import { startVendorHosts, type VendorHosts } from './support/vendor-hosts.js';

/** The tenant of Microsoft's v2.0 sample ID token (id-tokens.md). */
const TID = '9122040d-6c67-4c5b-b112-36a304b66dad';
const ISSUER = `https://login.microsoftonline.com/${TID}/v2.0`;
/** One app registration: the SPA signs users in with it and exposes the API scope it calls. */
const APP_CLIENT_ID = '6cb04018-a3f5-46a7-b995-940c78f5aef3';

let hosts: VendorHosts;
let key: SigningKey;
let server: Server;
let guard: ReturnType<typeof tokenguard>;
let base: string;

beforeAll(async () => {
  hosts = await startVendorHosts();
  key = generateSigningKey('RS256');
  const { alg: _alg, ...servedJwk } = key.publicJwk; // Entra's keys endpoint lists no alg
  hosts.serve(`${ISSUER}/.well-known/openid-configuration`, {
    issuer: ISSUER,
    jwks_uri: `https://login.microsoftonline.com/${TID}/discovery/v2.0/keys`,
  });
  hosts.serve(`https://login.microsoftonline.com/${TID}/discovery/v2.0/keys`, {
    keys: [{ ...servedJwk, x5t: key.kid, issuer: ISSUER }],
  });
  const options = readmeValidatorOptions({
    section: 'Recipes for common issuers',
    after: '**Microsoft Entra ID**',
    fill: { YOUR_TENANT_ID: TID, YOUR_API_CLIENT_ID: APP_CLIENT_ID },
  });
  guard = tokenguard({ ...options, http: { fetch: hosts.fetch } });
  const app = express();
  app.use(guard);
  app.get('/me', (req, res) => res.json({ subject: req.auth?.subject }));
  app.get('/orders', requireClaims({ claim: 'roles', includes: 'Orders.Read' }), (req, res) =>
    res.json({ subject: req.auth?.subject }),
  );
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await guard?.validator.close();
  await hosts?.close();
});

async function get(path: string, token: string) {
  const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  return { status: response.status, challenge: response.headers.get('www-authenticate') ?? '' };
}

describe('README Entra ID recipe: client and API in one app registration', () => {
  it("refuses the app's v2.0 ID token, which has the recipe's iss, aud and typ", async () => {
    const now = Math.floor(Date.now() / 1000);
    // An access token the SPA gets for its own API scope: still passes.
    const accessToken = await signToken(
      key,
      {
        aud: APP_CLIENT_ID,
        iss: ISSUER,
        iat: now,
        nbf: now,
        exp: now + 3600,
        aio: 'opaque',
        azp: APP_CLIENT_ID,
        azpacr: '0',
        name: 'Abe Lincoln',
        oid: '00000000-0000-0000-66f3-3332eca7ea81',
        preferred_username: 'AbeLi@microsoft.com',
        rh: 'opaque',
        roles: ['Orders.Read'],
        scp: 'access_as_user',
        sub: 'xJf6QmIu4yqxBHGk4Su1Tba4yFzgVpdi6Xv9DnAdv3g',
        tid: TID,
        uti: 'AbCdEf',
        ver: '2.0',
      },
      { typ: 'JWT' },
    );
    expect((await get('/orders', accessToken)).status).toBe(200);

    // Microsoft's v2.0 sample ID token (id-tokens.md), fresh times, plus the user's assigned app role.
    const idToken = await signToken(
      key,
      {
        ver: '2.0',
        iss: ISSUER,
        sub: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ',
        aud: APP_CLIENT_ID,
        exp: now + 3600,
        iat: now,
        nbf: now,
        name: 'Abe Lincoln',
        preferred_username: 'AbeLi@microsoft.com',
        oid: '00000000-0000-0000-66f3-3332eca7ea81',
        tid: TID,
        nonce: '123523',
        aio: 'Df2UVXL1ix!lMCWMSOJBcFatzcGfvFGhjKv8q5g0x732dR5MB5BisvGQO7YWByjd8iQDLq!eGbIDakyp5mnOrcdqHeYSnltepQmRp6AIZ8jY',
        roles: ['Orders.Read'],
      },
      { typ: 'JWT' },
    );
    const answers = { me: await get('/me', idToken), orders: await get('/orders', idToken) };
    expect({ me: answers.me.status, orders: answers.orders.status }).toEqual({ me: 401, orders: 401 });
    expect(answers.me.challenge).toContain('error="invalid_token"');
  });
});
