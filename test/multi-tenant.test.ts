/**
 * Two real authorization servers (oidc-provider, via the dev issuer) on different ports act as two
 * tenants of one API; a third is not trusted. One validator trusts the first two through `issuers`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createValidator,
  isTokenGuardError,
  readRequestTenant,
  TokenGuardError,
  type Validator,
} from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const API = 'https://api.test';

let tenantA: DevIssuer;
let tenantB: DevIssuer;
let untrusted: DevIssuer;
let validator: Validator;
let api: Server;
let apiUrl: string;

async function rejectionOf(promise: Promise<unknown>): Promise<TokenGuardError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TokenGuardError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  [tenantA, tenantB, untrusted] = await Promise.all([
    startDevIssuer({ extraClaims: { tid: 'tenant-a' } }),
    startDevIssuer({ extraClaims: { tid: 'tenant-b' } }),
    // An issuer we do not trust, claiming to speak for tenant A.
    startDevIssuer({ extraClaims: { tid: 'tenant-a' } }),
  ]);
  validator = createValidator({
    realm: 'orders',
    issuers: [
      // Tenant from the claim.
      { issuer: tenantA.issuer, audience: API, tenantClaim: 'tid' },
      // Tenant fixed for the issuer; the claim must agree.
      { issuer: tenantB.issuer, audience: API, tenant: 'tenant-b', tenantClaim: 'tid' },
    ],
  });

  // A small API: GET /tenants/:tenant/orders needs the route's tenant and orders:read.
  api = createServer((req, res) => {
    const match = /^\/tenants\/([^/]+)\/orders$/.exec(req.url ?? '');
    if (match === null) {
      res.writeHead(404).end();
      return;
    }
    const tenant = readRequestTenant({ param: 'tenant' }, { params: { tenant: match[1] } });
    validator.validate(req.headers.authorization, { tenant, scopes: ['orders:read'] }).then(
      (auth) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ tenant: auth.tenant, subject: auth.subject }));
      },
      (error: unknown) => {
        if (!isTokenGuardError(error)) {
          res.writeHead(500).end();
          return;
        }
        res.writeHead(error.status, { ...error.headers, 'content-type': 'application/json' });
        res.end(JSON.stringify(error.toJSON()));
      },
    );
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => {
    api?.closeAllConnections();
    api?.close(() => resolve());
  });
  await validator?.close();
  await Promise.all([tenantA?.close(), tenantB?.close(), untrusted?.close()]);
});

describe('one validator trusting two issuers as two tenants', () => {
  it("accepts each tenant's token on its own tenant requirement", async () => {
    const tokenA = await tenantA.getToken({ resource: API, scope: 'orders:read' });
    const tokenB = await tenantB.getToken({ resource: API, scope: 'orders:read' });
    const authA = await validator.validate(`Bearer ${tokenA}`, {
      tenant: 'tenant-a',
      scopes: ['orders:read'],
    });
    const authB = await validator.validate(`Bearer ${tokenB}`, {
      tenant: 'tenant-b',
      scopes: ['orders:read'],
    });
    expect(authA).toMatchObject({ tenant: 'tenant-a', issuer: tenantA.issuer });
    expect(authB).toMatchObject({ tenant: 'tenant-b', issuer: tenantB.issuer });
  });

  it("rejects each tenant's token on the other's tenant requirement with 403 ERR_TENANT_MISMATCH", async () => {
    const tokenA = await tenantA.getToken({ resource: API, scope: 'orders:read' });
    const tokenB = await tenantB.getToken({ resource: API, scope: 'orders:read' });
    for (const [token, other] of [
      [tokenA, 'tenant-b'],
      [tokenB, 'tenant-a'],
    ] as const) {
      const error = await rejectionOf(validator.validate(token, { tenant: other, scopes: ['orders:read'] }));
      expect(error.code).toBe('ERR_TENANT_MISMATCH');
      expect(error.status).toBe(403);
      expect(error.wwwAuthenticate).toBe(
        'Bearer realm="orders", error="insufficient_scope", error_description="The token belongs to another tenant than this route"',
      );
    }
  });

  it("fetched each trusted issuer's own key set", () => {
    expect(tenantA.jwks.fetchCount).toBeGreaterThan(0);
    expect(tenantB.jwks.fetchCount).toBeGreaterThan(0);
    const kids = validator.state().issuers.map((entry) => [entry.issuer, entry.keySet.kids]);
    expect(kids).toEqual([
      [tenantA.issuer, [tenantA.currentKid]],
      [tenantB.issuer, [tenantB.currentKid]],
    ]);
  });

  it('rejects an untrusted issuer with ERR_ISSUER_MISMATCH and never contacts it', async () => {
    const token = await untrusted.getToken({ resource: API, scope: 'orders:read' });
    const error = await rejectionOf(validator.validate(token, { tenant: 'tenant-a' }));
    expect(error.code).toBe('ERR_ISSUER_MISMATCH');
    expect(error.status).toBe(401);
    expect(untrusted.jwks.fetchCount).toBe(0);
    expect(validator.state().issuers.map((entry) => entry.issuer)).not.toContain(untrusted.issuer);
  });

  it('answers 403 insufficient_scope with the scope parameter naming what would satisfy the route', async () => {
    const token = await tenantA.getToken({ resource: API, scope: 'orders:read' });
    const error = await rejectionOf(
      validator.validate(token, {
        tenant: 'tenant-a',
        scopes: { allOf: ['orders:read', { anyOf: ['orders:write', 'admin'] }] },
      }),
    );
    expect(error.code).toBe('ERR_INSUFFICIENT_SCOPE');
    expect(error.scope).toBe('orders:read orders:write');
    expect(error.wwwAuthenticate).toBe(
      'Bearer realm="orders", error="insufficient_scope", error_description="The token lacks the scopes this route requires: orders:read and (orders:write or admin)", scope="orders:read orders:write"',
    );
    const admin = await tenantA.getToken({ resource: API, scope: 'orders:read admin' });
    const auth = await validator.validate(admin, {
      tenant: 'tenant-a',
      scopes: { allOf: ['orders:read', { anyOf: ['orders:write', 'admin'] }] },
    });
    expect([...auth.scopes].sort()).toEqual(['admin', 'orders:read']);
  });
});

describe('over HTTP: /tenants/:tenant/orders', () => {
  const get = (path: string, token?: string) =>
    fetch(`${apiUrl}${path}`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });

  it("lets each tenant's token reach its own tenant's route", async () => {
    const tokenA = await tenantA.getToken({ resource: API, scope: 'orders:read' });
    const tokenB = await tenantB.getToken({ resource: API, scope: 'orders:read' });
    const a = await get('/tenants/tenant-a/orders', tokenA);
    expect(a.status).toBe(200);
    expect(await a.json()).toMatchObject({ tenant: 'tenant-a' });
    const b = await get('/tenants/tenant-b/orders', tokenB);
    expect(b.status).toBe(200);
    expect(await b.json()).toMatchObject({ tenant: 'tenant-b' });
  });

  it("keeps each tenant's token out of the other tenant's route (403)", async () => {
    const tokenA = await tenantA.getToken({ resource: API, scope: 'orders:read' });
    const response = await get('/tenants/tenant-b/orders', tokenA);
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer realm="orders", error="insufficient_scope", error_description="The token belongs to another tenant than this route"',
    );
    expect(await response.json()).toEqual({
      error: 'insufficient_scope',
      error_description: 'The token belongs to another tenant than this route',
    });
    const tokenB = await tenantB.getToken({ resource: API, scope: 'orders:read' });
    expect((await get('/tenants/tenant-a/orders', tokenB)).status).toBe(403);
  });

  it("keeps the untrusted issuer's token out, even on the tenant it claims (401)", async () => {
    const token = await untrusted.getToken({ resource: API, scope: 'orders:read' });
    const response = await get('/tenants/tenant-a/orders', token);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="orders", error="invalid_token"/);
    expect(untrusted.jwks.fetchCount).toBe(0);
  });

  it('answers 403 when the token lacks the route scope', async () => {
    const token = await tenantA.getToken({ resource: API, scope: 'read' });
    const response = await get('/tenants/tenant-a/orders', token);
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer realm="orders", error="insufficient_scope", error_description="The token lacks the scopes this route requires: orders:read", scope="orders:read"',
    );
  });
});
