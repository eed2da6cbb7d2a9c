/**
 * Found by a review (fixed: the resolver's answers are kept apart from the concrete issuers, tenants.ts).
 * SCOPES-AND-TENANTS.md, "Issuer templates": "The resolver is called at most once per tenant per
 * `tenantTtlSec` (concurrent calls share one call; refusals are remembered too)", and `maxTenants` bounds
 * the "concrete issuers (and key sets) kept". The resolver's answer was kept on the concrete issuer, so
 * a tenant evicted by `maxTenants` lost it: with more active tenants than `maxTenants`, every request of
 * an evicted tenant calls `resolveTenant` again (the docs' example: a database query) well within
 * `tenantTtlSec`, and fetches discovery and the key set again, so a user sizing `maxTenants` for memory
 * turns each request into a resolver call plus two requests to the identity provider.
 *
 * The template is the docs' Entra ID one, discovered over real HTTP at Microsoft's paths
 * (test/support/vendor-hosts.ts, through the documented `http.fetch` option); a 127.0.0.1 Express server.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createValidator, type Validator } from '@tokenguard/core';
import { requireScopes, tokenguard } from '@tokenguard/express';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessTokenClaims, generateSigningKey, type SigningKey, signToken } from './support/keys.js';
import { startVendorHosts, type VendorHosts } from './support/vendor-hosts.js';

const TENANTS = [
  '72f988bf-86f1-41af-91ab-2d7cd011db47',
  'c0ffee00-0000-4000-8000-000000000001',
  'aaaaaaaa-0000-4000-8000-000000000002',
];
const AUDIENCE = 'YOUR_API_CLIENT_ID';
const issuerOf = (tenant: string) => `https://login.microsoftonline.com/${tenant}/v2.0`;

let hosts: VendorHosts;
let validator: Validator;
let server: Server;
let url: string;
const keys = new Map<string, SigningKey>();
const resolverCalls: string[] = [];

beforeAll(async () => {
  hosts = await startVendorHosts();
  for (const tenant of TENANTS) {
    const key = generateSigningKey('RS256');
    keys.set(tenant, key);
    hosts.serve(`${issuerOf(tenant)}/.well-known/openid-configuration`, {
      issuer: issuerOf(tenant),
      jwks_uri: `https://login.microsoftonline.com/${tenant}/discovery/v2.0/keys`,
    });
    hosts.serve(`https://login.microsoftonline.com/${tenant}/discovery/v2.0/keys`, { keys: [key.publicJwk] });
  }
  validator = createValidator({
    http: { fetch: hosts.fetch },
    issuers: [
      {
        issuer: 'https://login.microsoftonline.com/{tenant}/v2.0',
        audience: AUDIENCE,
        typ: ['JWT'],
        resolveTenant: async (tenant) => {
          resolverCalls.push(tenant);
          return TENANTS.includes(tenant);
        },
        tenantTtlSec: 300,
        maxTenants: 2,
      },
    ],
  });
  const app = express();
  app.use(tokenguard(validator));
  app.get('/orders', requireScopes('Orders.Read'), (_req, res) => {
    res.json({ ok: true });
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await validator?.close();
  await hosts?.close();
});

describe('resolveTenant with more active tenants than maxTenants', () => {
  it('is called at most once per tenant within tenantTtlSec', async () => {
    const now = Math.floor(Date.now() / 1000);
    const tokens = await Promise.all(
      TENANTS.map((tenant) =>
        signToken(
          keys.get(tenant) as SigningKey,
          accessTokenClaims(
            { iss: issuerOf(tenant), aud: AUDIENCE, nowSec: now },
            { scp: 'Orders.Read', tid: tenant },
          ),
          { typ: 'JWT' },
        ),
      ),
    );
    // Three rounds over the three tenants, all within seconds of each other (tenantTtlSec is 300).
    for (let round = 0; round < 3; round++) {
      for (const token of tokens) {
        const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
        await response.arrayBuffer();
        expect(response.status).toBe(200);
      }
    }
    // The memory bound held (two concrete issuers kept) ...
    expect(validator.state().issuers).toHaveLength(2);
    // ... but each tenant's yes was asked for once per request, not once per tenantTtlSec.
    expect(
      resolverCalls.length,
      `resolver calls: ${resolverCalls.length}, requests to the IdP: ${hosts.requests.length}`,
    ).toBe(TENANTS.length);
  });
});
