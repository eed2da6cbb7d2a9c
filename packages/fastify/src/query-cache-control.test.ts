import { createValidator } from '@tokenguard/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessTokenClaims, secretSigningKey, signToken } from '../../../test/support/keys.js';
import { tokenguard } from './index.js';

// RFC 6750 §2.3: a response to a request whose token came in the query string carries
// Cache-Control: private. A stricter one an earlier hook set (no-store, for every answer of the app)
// is kept: replaced with private, it would let a browser cache keep what must not be stored.

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

let app: FastifyInstance;
let base: string;
let token: string;

/** What an app-wide hook registered before tokenguard sets, by path. */
const SET_BEFORE: Record<string, string> = {
  '/no-store': 'no-store',
  '/no-store-max-age': 'max-age=0, No-Store',
  '/private': 'private, max-age=60',
  '/private-field': 'private="set-cookie", max-age=60',
  '/public': 'public, max-age=60',
};

beforeAll(async () => {
  token = await signToken(
    secretSigningKey(SECRET),
    accessTokenClaims({ iss: ISSUER, aud: AUDIENCE, nowSec: NOW_SEC }, { scope: 'read' }),
  );
  app = Fastify();
  app.addHook('onRequest', async (request, reply) => {
    const value = SET_BEFORE[request.url.split('?')[0] as string];
    if (value !== undefined) reply.header('cache-control', value);
  });
  await app.register(tokenguard, { validator, transport: { query: true } });
  for (const path of ['/plain', ...Object.keys(SET_BEFORE)]) app.get(path, async () => ({ ok: true }));
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await app.close();
  await validator.close();
});

const cacheControl = async (path: string): Promise<string | null> => {
  const res = await fetch(`${base}${path}?access_token=${token}`);
  expect(res.status).toBe(200);
  return res.headers.get('cache-control');
};

describe('Cache-Control on a query-token response (fastify)', () => {
  it('is private when the app set none', async () => {
    expect(await cacheControl('/plain')).toBe('private');
  });

  it('keeps a no-store or an unqualified private set before tokenguard', async () => {
    expect(await cacheControl('/no-store')).toBe('no-store');
    expect(await cacheControl('/no-store-max-age')).toBe('max-age=0, No-Store');
    expect(await cacheControl('/private')).toBe('private, max-age=60');
  });

  it('replaces one that lets shared caches store the response', async () => {
    expect(await cacheControl('/public')).toBe('private');
    expect(await cacheControl('/private-field')).toBe('private');
  });
});
