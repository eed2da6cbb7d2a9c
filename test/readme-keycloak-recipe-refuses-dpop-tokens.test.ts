/**
 * DEFECT (doc). README.md, "Recipes for common issuers", **Keycloak**, keeps ID tokens out with
 *
 *     validateClaims: (claims) => claims.typ === 'Bearer', // Keycloak's own claim: "Bearer" | "ID" | "Refresh"
 *
 * but Keycloak writes `typ: "DPoP"` into every DPoP-bound access token: its DPoP protocol mapper sets
 * `cnf.jkt` and then `token.type(DPOP_TOKEN_TYPE)` with DPOP_TOKEN_TYPE = "DPoP" ("make sure that the
 * token-type is set to DPoP"), and its own resource-side check accepts `tokenType(List.of(Bearer, DPoP))`
 * (keycloak/keycloak, services/src/main/java/org/keycloak/services/util/DPoPUtil.java). tokenguard
 * supports DPoP (`dpop` option, README "Options"), so a Keycloak user who turns DPoP on for a client and
 * adds `dpop: true` to this recipe gets 401 `invalid_token` ("The token failed the custom claims check",
 * ERR_CLAIM_INVALID) for every DPoP request with a valid proof and a correctly bound token: the recipe
 * refuses exactly the sender-constrained tokens DPoP exists for. The fix is the recipe's check (e.g.
 * `['Bearer', 'DPoP'].includes(claims.typ)`: a DPoP-typed token presented as Bearer is still refused by
 * tokenguard itself, ERR_TOKEN_BOUND) and its comment; this test then passes.
 *
 * The recipe runs as README.md writes it (placeholders filled), plus `dpop: true`, discovered over real
 * HTTP at Keycloak's paths (test/support/vendor-hosts.ts), behind Express on 127.0.0.1; the token is
 * shaped as Keycloak makes it (header typ JWT; claims as in Keycloak's access tokens, with `cnf.jkt`).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tokenguard } from '@tokenguard/express';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dpopClient } from './support/dpop.js';
import { generateSigningKey, type SigningKey, signToken } from './support/keys.js';
import { readmeValidatorOptions } from './support/readme-blocks.js';
import { startVendorHosts, type VendorHosts } from './support/vendor-hosts.js';

let hosts: VendorHosts;
let key: SigningKey;
let server: Server;
let guard: ReturnType<typeof tokenguard>;
let base: string;
let issuer: string;
let audience: string;

beforeAll(async () => {
  hosts = await startVendorHosts();
  key = generateSigningKey('RS256');
  const options = readmeValidatorOptions({
    section: 'Recipes for common issuers',
    after: '**Keycloak**',
    fill: { REALM: 'shop' },
  });
  issuer = options.issuer as string;
  audience = options.audience as string;
  hosts.serve(`${issuer}/.well-known/openid-configuration`, {
    issuer,
    jwks_uri: `${issuer}/protocol/openid-connect/certs`,
  });
  hosts.serve(`${issuer}/protocol/openid-connect/certs`, { keys: [key.publicJwk] });
  guard = tokenguard({ ...options, dpop: true, http: { fetch: hosts.fetch } });
  const app = express();
  app.use(guard);
  app.get('/me', (req, res) => res.json({ subject: req.auth?.subject, clientId: req.auth?.clientId }));
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

describe('README Keycloak recipe with DPoP turned on', () => {
  it('accepts a DPoP-bound Keycloak access token (typ claim "DPoP") sent with a valid proof', async () => {
    const client = dpopClient();
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      exp: now + 300,
      iat: now,
      jti: 'onrtac:5d4c0f1e-2b0a-4a7e-9d43-1f1b0c2a3e4f',
      iss: issuer,
      aud: [audience, 'account'],
      sub: 'f:2c1b:alice',
      typ: 'DPoP',
      azp: 'shop-frontend',
      sid: '1a2b3c4d',
      acr: '1',
      realm_access: { roles: ['offline_access', 'uma_authorization'] },
      resource_access: { account: { roles: ['manage-account'] } },
      scope: 'openid profile email',
      cnf: { jkt: client.jkt },
      preferred_username: 'alice',
    };
    const token = await signToken(key, claims, { typ: 'JWT' });
    const proof = await client.proof({ htm: 'GET', htu: `${base}/me`, token });
    const response = await fetch(`${base}/me`, { headers: { authorization: `DPoP ${token}`, dpop: proof } });
    const body = (await response.json()) as Record<string, unknown>;
    expect({ status: response.status, body }).toEqual({
      status: 200,
      body: { subject: 'f:2c1b:alice', clientId: 'shop-frontend' },
    });
  });
});
