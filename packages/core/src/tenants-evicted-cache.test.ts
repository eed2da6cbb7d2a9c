/**
 * A tenant of an issuer template whose concrete issuer was evicted (LRU, `maxTenants`) comes back
 * with a new context and a freshly fetched key set. A token verified (and cached) before the
 * eviction with a key the tenant has since removed must not be answered from the cache of verified
 * tokens: the new key set never held that key, so no `key_removed` event flushes the cache, and
 * the cache must not take the new context's fresh key set as a reason to trust the old answer.
 *
 * Before the fix, validator.ts's `cachedEntry` asked the registry for the issuer's context now
 * (`contexts.get(iss)?.keys.touch()`), not whether it was the context that verified the entry, so
 * the old token was answered until its `exp`; each cache entry now keeps the context that verified
 * it, and only that one will do.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accessTokenClaims,
  generateSigningKey,
  jwksOf,
  type SigningKey,
  signToken,
} from '../../../test/support/keys.js';
import { failure } from '../../../test/support/rejections.js';
import { createValidator, type Validator } from './validator.js';

const NOW_SEC = 1_800_000_000;
const AUD = 'https://api.example';

/** A real issuer on 127.0.0.1 serving, per tenant, discovery and the keys currently set for it. */
const keysOf = new Map<string, SigningKey[]>();
let server: Server;
let base = '';
let validator: Validator | undefined;

beforeAll(async () => {
  server = createServer((req, res) => {
    const match = /^\/t\/([^/]+)\/(\.well-known\/openid-configuration|jwks)$/.exec(req.url ?? '');
    const keys = match === null ? undefined : keysOf.get(match[1] as string);
    if (match === null || keys === undefined) {
      res.writeHead(404).end();
      return;
    }
    const issuer = `${base}/t/${match[1]}`;
    const body = match[2] === 'jwks' ? jwksOf(...keys) : { issuer, jwks_uri: `${issuer}/jwks` };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await validator?.close();
  await new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
});

describe('the cache of verified tokens across a tenant evicted and brought back', () => {
  it('does not answer a token whose key the tenant removed while it was evicted', async () => {
    const oldKey = generateSigningKey('ES256', { kid: 'old' });
    const newKey = generateSigningKey('ES256', { kid: 'new' });
    const otherKey = generateSigningKey('ES256', { kid: 'other' });
    keysOf.set('a', [oldKey]);
    keysOf.set('b', [otherKey]);
    validator = createValidator({
      issuers: [{ issuer: `${base}/t/{tenant}`, audience: AUD, tenants: ['a', 'b'], maxTenants: 1 }],
      now: () => NOW_SEC * 1000,
    });
    const token = (key: SigningKey, tenant: string) =>
      signToken(key, accessTokenClaims({ iss: `${base}/t/${tenant}`, aud: AUD, nowSec: NOW_SEC }));

    const old = await token(oldKey, 'a');
    // Twice: the cache of verified tokens keeps a token from its second verification on.
    await validator.validate(old, { tenant: 'a' });
    await validator.validate(old, { tenant: 'a' });
    expect(validator.state().tokenCache.entries).toBe(1);

    // b's context evicts a's (maxTenants 1); meanwhile a's issuer rotates its old key out.
    await validator.validate(await token(otherKey, 'b'), { tenant: 'b' });
    keysOf.set('a', [newKey]);
    // a comes back: a new context, whose first fetch sees only the new key.
    await validator.validate(await token(newKey, 'a'), { tenant: 'a' });
    expect(validator.state().issuers.map((entry) => entry.keySet.kids)).toEqual([['new']]);

    // The old key is gone from a's key set: its token must be verified again, and fail.
    expect((await failure(validator.validate(old, { tenant: 'a' }))).code).toBe('ERR_KEY_NOT_FOUND');
  });
});
