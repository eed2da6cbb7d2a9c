import type { AddressInfo } from 'node:net';
import { createValidator } from '@tokenguard/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tokenguard, { requireAuthentication, requireClaims, requireScopes, requireTenant } from './index.js';

const validator = createValidator({
  issuer: 'https://issuer.test',
  audience: 'https://api.test',
  secret: 'g'.repeat(32),
  realm: 'orders',
});

let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  app = Fastify();
  await app.register(async (scope) => {
    await scope.register(tokenguard, { validator, optional: true });
    const guards = {
      scopes: requireScopes('orders:read'),
      claims: requireClaims({ claim: 'roles', includes: 'admin' }),
      tenant: requireTenant('acme'),
      'step-up': requireAuthentication({ acrValues: ['urn:example:mfa'], maxAgeSec: 300 }),
    };
    for (const [name, guard] of Object.entries(guards)) {
      scope.get(`/optional/${name}`, { preHandler: guard }, async () => ({ passed: true }));
    }
  });
  // A sibling context the plugin does not cover: its guard cannot have run after tokenguard.
  await app.register(async (scope) => {
    scope.get('/unprotected', { preHandler: requireScopes('orders:read') }, async () => ({ passed: true }));
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app.close();
  await validator.close();
});

describe('guards on an optional route, anonymous caller', () => {
  it.each(['scopes', 'claims', 'tenant', 'step-up'])(
    '%s: 401 with a bare challenge, never 403 or a pass',
    async (name) => {
      const res = await fetch(`${base}/optional/${name}`);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="orders"');
    },
  );
});

describe('a guard where the plugin does not run', () => {
  it('is a 500 naming the guard and the plugin, never a pass', async () => {
    const res = await fetch(`${base}/unprotected`, { headers: { authorization: 'Bearer x.y.z' } });
    expect(res.status).toBe(500);
    const body = (await res.json()) as { message: string };
    expect(body.message).toMatch(/requireScopes\(\).*@tokenguard\/fastify plugin/);
  });
});
