import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createValidator } from '@tokenguard/core';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireAuthentication, requireClaims, requireScopes, requireTenant, tokenguard } from './index.js';

const validator = createValidator({
  issuer: 'https://issuer.test',
  audience: 'https://api.test',
  secret: 'g'.repeat(32),
  realm: 'orders',
});

let server: Server;
let base: string;

beforeAll(async () => {
  const app = express();
  app.use('/optional', tokenguard(validator, { optional: true }));
  const guards = {
    scopes: requireScopes('orders:read'),
    claims: requireClaims({ claim: 'roles', includes: 'admin' }),
    tenant: requireTenant('acme'),
    'step-up': requireAuthentication({ acrValues: ['urn:example:mfa'], maxAgeSec: 300 }),
  };
  for (const [name, guard] of Object.entries(guards)) {
    app.get(`/optional/${name}`, guard, (_req, res) => {
      res.json({ passed: true });
    });
  }
  server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
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
