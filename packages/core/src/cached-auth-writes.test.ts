import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { accessTokenClaims, secretSigningKey, signToken } from '../../../test/support/keys.js';
import type { ValidatorOptions } from './options.js';
import { createValidator, type Validator } from './validator.js';

// Defect: the cache of verified tokens hands the same auth object to every request with a token, and
// that object was writable: a handler that wrote `auth.tenant` or a claim changed what the tenant and
// claim requirements of every later request with the token saw.

const ISS = 'https://id.example';
const AUD = 'https://api.example';
const NOW_SEC = 1_700_000_000;
const SECRET = 'a-shared-secret-of-at-least-32-bytes!';

function validator(): Validator {
  return createValidator({
    issuer: ISS,
    audience: AUD,
    secret: SECRET,
    tenantClaim: 'tid',
    now: () => NOW_SEC * 1000,
  } as ValidatorOptions);
}

function token(): Promise<string> {
  return signToken(
    secretSigningKey(SECRET),
    accessTokenClaims(
      { iss: ISS, aud: AUD, nowSec: NOW_SEC },
      { scope: 'read', tid: 'tenant-a', roles: ['reader'], org: { id: 'o1' } },
    ),
  );
}

describe('an auth answered from the cache of verified tokens cannot be changed by a request', () => {
  it('refuses writes to every answer, and to the claims and audience of the answers the cache gives', async () => {
    const tokens = validator();
    const jwt = await token();
    const first = await tokens.validate(jwt);
    const second = await tokens.validate(jwt);
    expect(tokens.state().tokenCache.entries).toBe(1);
    const third = await tokens.validate(jwt);
    expect(third).toBe(second);
    type Writable = Record<string, unknown> & {
      claims: Record<string, unknown> & { roles: string[]; org: Record<string, unknown> };
      audience: string[];
    };
    for (const auth of [first, second, third] as unknown as Writable[]) {
      expect(() => {
        auth.tenant = 'tenant-b';
      }).toThrow(TypeError);
      expect(() => {
        auth.claims = {} as Writable['claims'];
      }).toThrow(TypeError);
    }
    for (const auth of [second, third] as unknown as Writable[]) {
      expect(() => {
        auth.claims.tid = 'tenant-b';
      }).toThrow(TypeError);
      expect(() => auth.claims.roles.push('admin')).toThrow(TypeError);
      expect(() => {
        auth.claims.org.id = 'o2';
      }).toThrow(TypeError);
      expect(() => auth.audience.push('https://other.example')).toThrow(TypeError);
      expect(() => {
        delete auth.claims.scope;
      }).toThrow(TypeError);
    }
    // The first answer's claims are its request's own: the cache keeps a copy, which its writes miss.
    (first as unknown as Writable).claims.tid = 'tenant-b';
    expect((await tokens.validate(jwt)).claims.tid).toBe('tenant-a');
  });

  it('freezes the claims of an introspected token at every request, the first one too', async () => {
    // A real HTTP introspection endpoint on 127.0.0.1, answering every token as active.
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          active: true,
          iss: ISS,
          aud: AUD,
          scope: 'read',
          tid: 'tenant-a',
          roles: ['reader'],
          exp: NOW_SEC + 300,
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/introspect`;
    const tokens = createValidator({
      issuer: ISS,
      audience: AUD,
      tenantClaim: 'tid',
      now: () => NOW_SEC * 1000,
      introspection: { endpoint, clientId: 'api', clientSecret: 'a-client-secret' },
      http: { timeoutMs: 2000 },
    } as ValidatorOptions);
    try {
      for (let i = 0; i < 2; i++) {
        const auth = (await tokens.validate('an-opaque-token')) as unknown as Record<string, unknown> & {
          claims: Record<string, unknown> & { roles: string[] };
        };
        expect(auth.source).toBe('introspection');
        expect(() => {
          auth.claims.tid = 'tenant-b';
        }).toThrow(TypeError);
        expect(() => auth.claims.roles.push('admin')).toThrow(TypeError);
        expect(() => {
          auth.tenant = 'tenant-b';
        }).toThrow(TypeError);
      }
      await expect(tokens.validate('an-opaque-token', { tenant: 'tenant-b' })).rejects.toMatchObject({
        code: 'ERR_TENANT_MISMATCH',
      });
    } finally {
      await tokens.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('keeps holding a later request to the tenant and claims the token carries', async () => {
    const tokens = validator();
    const jwt = await token();
    await tokens.validate(jwt);
    const cached = (await tokens.validate(jwt)) as unknown as Record<string, unknown> & {
      claims: Record<string, unknown>;
    };
    try {
      cached.tenant = 'tenant-b';
    } catch {}
    try {
      cached.claims.tid = 'tenant-b';
    } catch {}
    const later = await tokens.validate(jwt, {
      tenant: 'tenant-a',
      claims: [{ claim: 'tid', equals: 'tenant-a' }],
    });
    expect(later.tenant).toBe('tenant-a');
    expect(later.claims.tid).toBe('tenant-a');
    await expect(tokens.validate(jwt, { tenant: 'tenant-b' })).rejects.toMatchObject({
      code: 'ERR_TENANT_MISMATCH',
    });
    await expect(
      tokens.validate(jwt, { claims: [{ claim: 'tid', equals: 'tenant-b' }] }),
    ).rejects.toMatchObject({
      status: 403,
    });
  });

  it('still lets an app copy the auth and its claims to change them', async () => {
    const tokens = validator();
    const jwt = await token();
    await tokens.validate(jwt);
    const auth = await tokens.validate(jwt);
    const copy = { ...auth, tenant: 'tenant-b' };
    expect(copy.tenant).toBe('tenant-b');
    const claims = structuredClone(auth.claims) as Record<string, unknown> & { roles: string[] };
    claims.roles.push('admin');
    expect(claims.roles).toEqual(['reader', 'admin']);
    expect(auth.claims.roles).toEqual(['reader']);
  });
});
