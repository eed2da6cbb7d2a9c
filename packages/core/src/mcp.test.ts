import { format, inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { accessTokenClaims, secretSigningKey, signToken } from '../../../test/support/keys.js';
import { type AuthInfo, type AuthInfoFields, createAuthInfo } from './auth-info.js';
import { mcpAuthInfo } from './mcp.js';
import { createValidator } from './validator.js';

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.secret-token-value.sig';

function authWith(fields: Partial<AuthInfoFields> = {}): AuthInfo {
  return createAuthInfo(TOKEN, {
    claims: { sub: 'user-1', client_id: 'client-1', scope: 'tools:read tools:call' },
    subject: 'user-1',
    clientId: 'client-1',
    issuer: 'https://id.example',
    audience: ['https://mcp.example/mcp'],
    scopes: new Set(['tools:read', 'tools:call']),
    expiresAt: new Date(1_700_000_300_000),
    tenant: undefined,
    source: 'jwt',
    ...fields,
  });
}

describe('mcpAuthInfo', () => {
  it("gives the MCP SDK's AuthInfo shape: scopes an array in the token's order, expiresAt in seconds", () => {
    const auth = authWith({ tenant: 'acme' });
    const mcpAuth = mcpAuthInfo(auth);
    expect(mcpAuth.token).toBe(TOKEN);
    expect(mcpAuth.clientId).toBe('client-1');
    expect(mcpAuth.scopes).toEqual(['tools:read', 'tools:call']);
    expect(Array.isArray(mcpAuth.scopes)).toBe(true);
    expect(mcpAuth.scopes.includes('tools:call')).toBe(true);
    expect(mcpAuth.expiresAt).toBe(1_700_000_300);
    expect(mcpAuth.extra).toEqual({
      subject: 'user-1',
      issuer: 'https://id.example',
      tenant: 'acme',
      audience: ['https://mcp.example/mcp'],
      claims: auth.claims,
    });
    expect('resource' in mcpAuth).toBe(false);
  });

  it('rounds a fractional expiry down to whole seconds', () => {
    expect(mcpAuthInfo(authWith({ expiresAt: new Date(1_700_000_300_999) })).expiresAt).toBe(1_700_000_300);
  });

  it('leaves expiresAt out for a token without exp, and makes a missing client id an empty string', () => {
    const mcpAuth = mcpAuthInfo(authWith({ expiresAt: undefined, clientId: undefined }));
    expect('expiresAt' in mcpAuth).toBe(false);
    expect(mcpAuth.clientId).toBe('');
  });

  it('gives resource as a URL when one is passed, and throws a TypeError for a relative one', () => {
    const mcpAuth = mcpAuthInfo(authWith(), { resource: 'https://mcp.example/mcp' });
    expect(mcpAuth.resource).toBeInstanceOf(URL);
    expect(mcpAuth.resource?.href).toBe('https://mcp.example/mcp');
    expect(() => mcpAuthInfo(authWith(), { resource: '/mcp' })).toThrow(TypeError);
    expect(() => mcpAuthInfo(authWith(), { resource: '/mcp' })).toThrow(/resource must be an absolute URL/);
    // A URL object (the SDK's own type for it) is named as what it is, not printed as if it were wrong.
    const notString = { resource: new URL('https://mcp.example/mcp') as unknown as string };
    expect(() => mcpAuthInfo(authWith(), notString)).toThrow(/absolute URL string, not object$/);
  });

  it("leaves resource out when the token's audience does not name it: the SDK reads it as valid here", () => {
    // A validator accepting both audiences (or none: audience null) accepted a token for the other MCP server.
    const forOther = authWith({ audience: ['https://other.example/mcp'] });
    expect('resource' in mcpAuthInfo(forOther, { resource: 'https://mcp.example/mcp' })).toBe(false);
    const withoutAud = authWith({ audience: [] });
    expect('resource' in mcpAuthInfo(withoutAud, { resource: 'https://mcp.example/mcp' })).toBe(false);
    // Named among several, or written in another form of the same URL: present.
    const several = authWith({ audience: ['https://other.example/mcp', 'https://MCP.example:443/mcp'] });
    expect(mcpAuthInfo(several, { resource: 'https://mcp.example/mcp' }).resource?.href).toBe(
      'https://mcp.example/mcp',
    );
  });

  it('a copy of its arrays changes nothing in the AuthInfo, and each call gives a new object', () => {
    const auth = authWith();
    const first = mcpAuthInfo(auth);
    first.scopes.push('admin');
    expect([...auth.scopes]).toEqual(['tools:read', 'tools:call']);
    expect(mcpAuthInfo(auth)).not.toBe(first);
    expect(mcpAuthInfo(auth).scopes).toEqual(['tools:read', 'tools:call']);
  });

  it('shows the token only as `token`: not in JSON, inspect, keys or a spread', () => {
    const mcpAuth = mcpAuthInfo(authWith(), { resource: 'https://mcp.example/mcp' });
    expect(JSON.stringify(mcpAuth)).not.toContain('secret-token-value');
    expect(inspect(mcpAuth, { depth: 10 })).not.toContain('secret-token-value');
    expect(Object.keys(mcpAuth)).not.toContain('token');
    expect({ ...mcpAuth }).not.toHaveProperty('token');
    // showHidden lists non-enumerable properties, and util.format's %o (console.log('%o', x)) uses it.
    expect(inspect(mcpAuth, { showHidden: true, depth: 10 })).not.toContain('secret-token-value');
    expect(format('%o', mcpAuth)).not.toContain('secret-token-value');
    expect(structuredClone(mcpAuth)).not.toHaveProperty('token');
    expect(mcpAuth.token).toBe(TOKEN);
    // The SDK reads the field; a handler may also replace it, as with a plain object.
    mcpAuth.token = 'other';
    expect(mcpAuth.token).toBe('other');
  });

  describe('with an AuthInfo from a validator', () => {
    const ISS = 'https://id.example';
    const AUD = 'https://mcp.example/mcp';
    const SECRET = 'a-shared-secret-of-at-least-32-bytes!';
    const NOW_SEC = 1_700_000_000;
    const validator = createValidator({
      issuer: ISS,
      audience: AUD,
      secret: SECRET,
      now: () => NOW_SEC * 1000,
    });
    afterAll(() => validator.close());

    it('carries the claims across: client_id, scope, exp', async () => {
      const claims = accessTokenClaims({ iss: ISS, aud: AUD, nowSec: NOW_SEC }, { scope: 'b a' });
      const token = await signToken(secretSigningKey(SECRET), claims, { kid: undefined });
      const mcpAuth = mcpAuthInfo(await validator.validate(token), { resource: AUD });
      expect(mcpAuth).toMatchObject({
        clientId: 'client-1',
        scopes: ['b', 'a'],
        expiresAt: NOW_SEC + 300,
        resource: new URL(AUD),
        extra: { subject: 'user-1', issuer: ISS, audience: [AUD], claims },
      });
      expect(mcpAuth.token).toBe(token);
    });

    it('refuses a spread or clone of the AuthInfo (its token is gone) and a missing caller, instead of a token of undefined', async () => {
      const claims = accessTokenClaims({ iss: ISS, aud: AUD, nowSec: NOW_SEC });
      const auth = await validator.validate(
        await signToken(secretSigningKey(SECRET), claims, { kid: undefined }),
      );
      // The types accept both (a spread is typed with `token: string`); the SDK would forward `Bearer undefined`.
      expect(() => mcpAuthInfo({ ...auth })).toThrow(/has no token: pass the validator's AuthInfo itself/);
      expect(() => mcpAuthInfo(structuredClone(auth))).toThrow(TypeError);
      expect(() => mcpAuthInfo(null as unknown as AuthInfo)).toThrow(
        /needs the AuthInfo of a validated request, not null/,
      );
      expect(mcpAuthInfo(auth).token).toBe(auth.token);
    });
  });
});
