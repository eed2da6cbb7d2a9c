import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { accessTokenClaims, generateSigningKey, jwksOf, signToken } from '../../../test/support/keys.js';
import { mcpAuthInfo } from './mcp.js';
import type { ValidatorOptions } from './options.js';
import type { ClaimRequirement } from './requirements.js';
import { createValidator } from './validator.js';

// Defect (c9856bd): an auth is frozen and the cache hands every request with a token frozen copies of
// its claims and audience, "so nothing one request writes can reach the next" (auth-info.ts). But
// `auth.expiresAt` is a Date, which Object.freeze does not stop from changing (setTime and the other
// setters write its internal slot), and it is one object shared by every request with the token: the
// stored auth of the verified-token cache (cachedAuthInfo passes `auth.expiresAt` on), and every auth
// introspection.ts makes from a cached answer (`entry.fields.expiresAt`). A handler that changes it
// (e.g. to work out a refresh deadline) changes what a later request's claim predicate, or
// mcpAuthInfo's `expiresAt`, sees.

const ISS = 'https://id.example';
const AUD = 'https://api.example';
const NOW_SEC = 1_700_000_000;
const EXP_MS = (NOW_SEC + 300) * 1000;

const notExpiringSoon: ClaimRequirement = {
  test: (auth) => auth.expiresAt !== undefined && auth.expiresAt.getTime() - NOW_SEC * 1000 > 60_000,
  description: 'a token good for another minute',
};

describe('cached auth expiresAt writes', () => {
  it('a handler changing the cached auth expiresAt does not change what later requests with the token see', async () => {
    const key = generateSigningKey('ES256');
    const validator = createValidator({
      issuer: ISS,
      audience: AUD,
      jwks: jwksOf(key),
      now: () => NOW_SEC * 1000,
    } as ValidatorOptions);
    const jwt = await signToken(key, accessTokenClaims({ iss: ISS, aud: AUD, nowSec: NOW_SEC }));
    await validator.validate(jwt);
    const cached = await validator.validate(jwt); // stored: every later request gets this auth
    expect(validator.state().tokenCache.entries).toBe(1);
    expect(Object.isFrozen(cached)).toBe(true);
    // One request's handler works out a deadline from the auth it was given.
    const deadline = cached.expiresAt as Date;
    expect(() => deadline.setTime(deadline.getTime() - 290_000)).toThrow(TypeError);

    const later = await validator.validate(jwt);
    expect(later.expiresAt?.getTime()).toBe(EXP_MS);
    expect(mcpAuthInfo(later).expiresAt).toBe(NOW_SEC + 300);
    await expect(validator.validate(jwt, { claims: [notExpiringSoon] })).resolves.toBeDefined();
    await validator.close();
  });

  it('a handler changing an introspected auth expiresAt does not change what later requests with the token see', async () => {
    // A real introspection endpoint on 127.0.0.1, answering every token as active.
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ active: true, iss: ISS, aud: AUD, scope: 'read', exp: NOW_SEC + 300 }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/introspect`;
    const validator = createValidator({
      issuer: ISS,
      audience: AUD,
      now: () => NOW_SEC * 1000,
      introspection: { endpoint, clientId: 'api', clientSecret: 'a-client-secret' },
      http: { timeoutMs: 2000 },
    } as ValidatorOptions);
    try {
      const first = await validator.validate('an-opaque-token');
      expect(first.source).toBe('introspection');
      expect(Object.isFrozen(first)).toBe(true);
      expect(() => (first.expiresAt as Date).setTime(0)).toThrow(TypeError);

      const later = await validator.validate('an-opaque-token');
      expect(later).not.toBe(first);
      expect(later.expiresAt?.getTime()).toBe(EXP_MS);
      await expect(
        validator.validate('an-opaque-token', { claims: [notExpiringSoon] }),
      ).resolves.toBeDefined();
    } finally {
      await validator.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
