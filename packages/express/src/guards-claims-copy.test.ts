import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createValidator } from '@tokenguard/core';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessTokenClaims, secretSigningKey, signToken } from '../../../test/support/keys.js';
import { requireClaims, tokenguard } from './index.js';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://api.test';
const SECRET = 'g'.repeat(32);
const NOW_SEC = 1_700_000_000;
const validator = createValidator({
  issuer: ISSUER,
  audience: AUDIENCE,
  secret: SECRET,
  now: () => NOW_SEC * 1000,
});
const token = (claims: Record<string, unknown>) =>
  signToken(
    secretSigningKey(SECRET),
    accessTokenClaims({ iss: ISSUER, aud: AUDIENCE, nowSec: NOW_SEC }, claims),
  );

let server: Server;
let base: string;

beforeAll(async () => {
  const app = express();
  app.use(tokenguard(validator));
  // One requirement object reused while declaring routes in a loop: each route keeps its own value.
  const sameOrg: { claim: string; equals: string } = { claim: 'org', equals: '' };
  for (const org of ['acme', 'globex']) {
    sameOrg.equals = org;
    app.get(`/${org}`, requireClaims(sameOrg), (_req, res) => {
      res.json({ org });
    });
  }
  const admin: { claim: string; includes: string } = { claim: 'roles', includes: 'admin' };
  app.get('/admin', requireClaims(admin), (_req, res) => {
    res.json({ admin: true });
  });
  admin.includes = 'user';
  server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await validator.close();
});

const get = async (path: string, claims: Record<string, unknown>) =>
  (await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${await token(claims)}` } })).status;

describe('requireClaims() copies its requirements', () => {
  it('keeps the value each route was declared with when the caller reuses the object', async () => {
    expect(await get('/acme', { org: 'acme' })).toBe(200);
    expect(await get('/globex', { org: 'acme' })).toBe(403);
    expect(await get('/globex', { org: 'globex' })).toBe(200);
  });

  it('is not widened by a change to the object after the route is declared', async () => {
    expect(await get('/admin', { roles: ['user'] })).toBe(403);
    expect(await get('/admin', { roles: ['admin'] })).toBe(200);
  });
});
