import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createValidator } from '@tokenguard/core';
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessTokenClaims, secretSigningKey, signToken } from '../../../test/support/keys.js';
import { tokenguard } from './index.js';

// RFC 6750 §2.3: a response to a request whose token came in the query string carries
// Cache-Control: private. An app that already forbids storing its answers (no-store, set by an
// earlier middleware) must not find that weakened to private, which lets a browser cache keep them.

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://api.test';
const NOW_SEC = 1_700_000_000;
const SECRET = 'q'.repeat(32);
const validator = createValidator({
  issuer: ISSUER,
  audience: AUDIENCE,
  secret: SECRET,
  now: () => NOW_SEC * 1000,
});

let server: Server;
let base: string;
let token: string;

const setCacheControl =
  (value: string) =>
  (_req: Request, res: Response, next: NextFunction): void => {
    res.set('cache-control', value);
    next();
  };

beforeAll(async () => {
  token = await signToken(
    secretSigningKey(SECRET),
    accessTokenClaims({ iss: ISSUER, aud: AUDIENCE, nowSec: NOW_SEC }, { scope: 'read' }),
  );
  const app = express();
  const query = tokenguard(validator, { transport: { query: true } });
  const ok = (_req: Request, res: Response) => res.json({ ok: true });
  app.get('/plain', query, ok);
  app.get('/no-store', setCacheControl('no-store'), query, ok);
  app.get('/no-store-max-age', setCacheControl('max-age=0, No-Store'), query, ok);
  app.get('/private', setCacheControl('private, max-age=60'), query, ok);
  app.get('/private-field', setCacheControl('private="set-cookie", max-age=60'), query, ok);
  app.get('/public', setCacheControl('public, max-age=60'), query, ok);
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await validator.close();
});

const cacheControl = async (path: string): Promise<string | null> => {
  const res = await fetch(`${base}${path}?access_token=${token}`);
  expect(res.status).toBe(200);
  return res.headers.get('cache-control');
};

describe('Cache-Control on a query-token response (express)', () => {
  it('is private when the app set none', async () => {
    expect(await cacheControl('/plain')).toBe('private');
  });

  it('keeps a no-store set before tokenguard(), never weakened to private', async () => {
    expect(await cacheControl('/no-store')).toBe('no-store');
    expect(await cacheControl('/no-store-max-age')).toBe('max-age=0, No-Store');
  });

  it('keeps a private set before tokenguard()', async () => {
    expect(await cacheControl('/private')).toBe('private, max-age=60');
  });

  it('replaces one that lets shared caches store the response', async () => {
    // private="set-cookie" keeps only that field out of shared caches (RFC 9111 §5.2.2.7).
    expect(await cacheControl('/private-field')).toBe('private');
    expect(await cacheControl('/public')).toBe('private');
  });
});
