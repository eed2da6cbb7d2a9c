import { describe, expect, it } from 'vitest';
import { thrownBy } from '../../../test/support/rejections.js';
import { type AuthInfo, createAuthInfo } from './auth-info.js';
import { TokenGuardError } from './errors.js';
import { assertRequirements, assertTenant, checkRequirements, type Requirements } from './requirements.js';

function authWith(fields: {
  scopes?: string[];
  tenant?: string;
  claims?: Record<string, unknown>;
}): AuthInfo {
  return createAuthInfo('token', {
    claims: fields.claims ?? {},
    subject: 'user-1',
    clientId: 'client-1',
    issuer: 'https://id.example',
    audience: ['https://api.example'],
    scopes: new Set(fields.scopes ?? []),
    expiresAt: undefined,
    tenant: fields.tenant,
    source: 'jwt',
  });
}

describe('checkRequirements', () => {
  it('accepts when there are no requirements', () => {
    expect(() => checkRequirements(authWith({}), undefined)).not.toThrow();
    expect(() => checkRequirements(authWith({}), {})).not.toThrow();
  });

  it('treats a scope list as all-of', () => {
    const requirements = { scopes: ['a', 'b'] };
    expect(() => checkRequirements(authWith({ scopes: ['a', 'b'] }), requirements)).not.toThrow();
    const error = thrownBy(() => checkRequirements(authWith({ scopes: ['a'] }), requirements));
    expect(error.code).toBe('ERR_INSUFFICIENT_SCOPE');
    expect(error.scope).toBe('a b');
  });

  it('accepts one scope as a string and a nested rule', () => {
    expect(() => checkRequirements(authWith({ scopes: ['a'] }), { scopes: 'a' })).not.toThrow();
    const rule = { scopes: { allOf: ['orders:read', { anyOf: ['orders:write', 'admin'] }] } };
    expect(() => checkRequirements(authWith({ scopes: ['orders:read', 'admin'] }), rule)).not.toThrow();
    expect(thrownBy(() => checkRequirements(authWith({ scopes: ['admin'] }), rule)).scope).toBe(
      'orders:read admin',
    );
  });

  it('grants nothing with a scope list emptied after its first check (the shape check is remembered)', () => {
    const scopes = ['admin'];
    const requirements = { scopes };
    expect(thrownBy(() => checkRequirements(authWith({}), requirements)).code).toBe('ERR_INSUFFICIENT_SCOPE');
    scopes.length = 0; // e.g. a route's list being reloaded in place
    expect(thrownBy(() => checkRequirements(authWith({}), requirements)).code).toBe('ERR_INSUFFICIENT_SCOPE');
    const nested = { scopes: { anyOf: [{ allOf: ['a'] }] } };
    expect(thrownBy(() => checkRequirements(authWith({}), nested)).code).toBe('ERR_INSUFFICIENT_SCOPE');
    nested.scopes.anyOf[0]?.allOf.pop();
    expect(thrownBy(() => checkRequirements(authWith({}), nested)).code).toBe('ERR_INSUFFICIENT_SCOPE');
  });

  it('grants nothing with a claim requirement whose operand was removed after its first check', () => {
    const requirement: Record<string, unknown> = { claim: 'role', equals: 'admin' };
    const requirements = { claims: [requirement] } as unknown as Requirements;
    const auth = authWith({ claims: { role: 'undefined' } });
    expect(thrownBy(() => checkRequirements(auth, requirements)).code).toBe('ERR_CLAIM_REQUIREMENT');
    delete requirement.equals; // read as includes: undefined, i.e. the word "undefined"
    expect(thrownBy(() => checkRequirements(auth, requirements)).code).toBe('ERR_CLAIM_REQUIREMENT');
  });

  it('checks the tenant before scopes, so a foreign token learns nothing about scopes', () => {
    const error = thrownBy(() =>
      checkRequirements(authWith({ tenant: 'b', scopes: [] }), { tenant: 'a', scopes: ['x'] }),
    );
    expect(error.code).toBe('ERR_TENANT_MISMATCH');
    expect(error.scope).toBeUndefined();
  });

  it('fails closed when the tenant key is present but the request named none', () => {
    for (const tenant of [undefined, null, '', []]) {
      const error = thrownBy(() => checkRequirements(authWith({ tenant: 'a' }), { tenant }));
      expect(error.code).toBe('ERR_TENANT_MISMATCH');
      expect(error.status).toBe(403);
      expect(error.message).toBe('The request names no tenant, and this route belongs to one');
    }
  });

  it('rejects a typo in a requirement key instead of skipping the check', () => {
    expect(() => checkRequirements(authWith({}), { scope: ['admin'] } as unknown as Requirements)).toThrow(
      new TypeError(
        'tokenguard: invalid requirement "scope": unknown (expected scopes, tenant, claims or authentication)',
      ),
    );
  });

  it('rejects an empty scope list', () => {
    expect(() => checkRequirements(authWith({ scopes: ['a'] }), { scopes: [] })).toThrow(
      /"scopes.allOf": must be a non-empty list/,
    );
  });
});

describe('assertRequirements', () => {
  it('rejects non-objects', () => {
    for (const value of [null, 'a', ['a'], 1]) expect(() => assertRequirements(value)).toThrow(TypeError);
  });

  it('rejects a tenant that is not a string or list of strings', () => {
    expect(() => assertRequirements({ tenant: 1 })).toThrow(/"tenant": must be a string/);
    expect(() => assertRequirements({ tenant: ['a', 2] })).toThrow(/"tenant": must be a string/);
  });

  it('rejects malformed claim requirements, naming them', () => {
    const cases: [unknown, RegExp][] = [
      [{ claims: 'x' }, /"claims": must be a list/],
      [{ claims: [null] }, /"claims.0": must be an object/],
      [{ claims: [{ claim: '', equals: 1 }] }, /"claims.0": claim must be a non-empty string/],
      [{ claims: [{ claim: 'a' }] }, /"claims.0": needs exactly one of equals or includes/],
      [{ claims: [{ claim: 'a', equals: 1, includes: 1 }] }, /needs exactly one of equals or includes/],
      [{ claims: [{ claim: 'a', equals: {} }] }, /equals must be a string or number or boolean/],
      [{ claims: [{ claim: 'a', includes: true }] }, /includes must be a string or number/],
      [{ claims: [{ test: 1, description: 'x' }] }, /test must be a function/],
      [{ claims: [{ test: () => true }] }, /a test needs a description/],
    ];
    for (const [value, message] of cases) expect(() => assertRequirements(value)).toThrow(message);
  });
});

describe('assertTenant', () => {
  it('accepts the same tenant, or one of a list', () => {
    expect(() => assertTenant(authWith({ tenant: 'a' }), 'a')).not.toThrow();
    expect(() => assertTenant(authWith({ tenant: 'b' }), ['a', 'b'])).not.toThrow();
  });

  it('rejects another tenant with ERR_TENANT_MISMATCH (403)', () => {
    const error = thrownBy(() => assertTenant(authWith({ tenant: 'a' }), 'b'));
    expect(error.code).toBe('ERR_TENANT_MISMATCH');
    expect(error.status).toBe(403);
    expect(error.message).toBe('The token belongs to another tenant than this route');
  });

  it('compares exactly: case and prefixes matter', () => {
    expect(() => assertTenant(authWith({ tenant: 'Acme' }), 'acme')).toThrow(TokenGuardError);
    expect(() => assertTenant(authWith({ tenant: 'acme' }), 'acme-eu')).toThrow(TokenGuardError);
  });

  it('rejects a token with no tenant on a tenant route', () => {
    const error = thrownBy(() => assertTenant(authWith({}), 'a'));
    expect(error.code).toBe('ERR_TENANT_MISMATCH');
    expect(error.message).toBe('The token names no tenant, and this route belongs to one');
  });

  it('never matches an empty expectation, even for a token without tenant', () => {
    expect(() => assertTenant(authWith({}), '')).toThrow(TokenGuardError);
    expect(() => assertTenant(authWith({}), [''])).toThrow(TokenGuardError);
  });
});

describe('claim requirements', () => {
  it('equals compares with ===', () => {
    const auth = authWith({ claims: { org: 'acme', level: 2, admin: true } });
    expect(() => checkRequirements(auth, { claims: [{ claim: 'org', equals: 'acme' }] })).not.toThrow();
    expect(() => checkRequirements(auth, { claims: [{ claim: 'level', equals: 2 }] })).not.toThrow();
    expect(() => checkRequirements(auth, { claims: [{ claim: 'admin', equals: true }] })).not.toThrow();
    const error = thrownBy(() => checkRequirements(auth, { claims: [{ claim: 'level', equals: '2' }] }));
    expect(error.code).toBe('ERR_CLAIM_REQUIREMENT');
    expect(error.status).toBe(403);
    expect(error.claim).toBe('level');
  });

  it('includes finds a list entry or a whole word of a string', () => {
    const auth = authWith({ claims: { roles: ['admin', 'user'], groups: 'staff ops', ids: [1, 2] } });
    expect(() => checkRequirements(auth, { claims: [{ claim: 'roles', includes: 'admin' }] })).not.toThrow();
    expect(() => checkRequirements(auth, { claims: [{ claim: 'groups', includes: 'ops' }] })).not.toThrow();
    expect(() => checkRequirements(auth, { claims: [{ claim: 'ids', includes: 2 }] })).not.toThrow();
    expect(() => checkRequirements(auth, { claims: [{ claim: 'roles', includes: 'adm' }] })).toThrow(
      TokenGuardError,
    );
    expect(() => checkRequirements(auth, { claims: [{ claim: 'groups', includes: 'staf' }] })).toThrow(
      TokenGuardError,
    );
  });

  it('fails, never skips, when the claim is absent', () => {
    const error = thrownBy(() =>
      checkRequirements(authWith({}), { claims: [{ claim: 'org', equals: 'acme' }] }),
    );
    expect(error.message).toBe('The token has no org claim, which this route requires');
  });

  it('does not read inherited properties as claims', () => {
    const error = thrownBy(() =>
      checkRequirements(authWith({ claims: {} }), { claims: [{ claim: 'constructor', includes: 'x' }] }),
    );
    expect(error.code).toBe('ERR_CLAIM_REQUIREMENT');
  });

  it('requires every claim requirement', () => {
    const auth = authWith({ claims: { org: 'acme', roles: ['user'] } });
    const claims = [
      { claim: 'org', equals: 'acme' },
      { claim: 'roles', includes: 'admin' },
    ] as const;
    expect(thrownBy(() => checkRequirements(auth, { claims })).claim).toBe('roles');
  });

  it('runs predicates: only true passes', () => {
    const auth = authWith({ claims: { amr: ['mfa'] } });
    const mfa = { test: (a: AuthInfo) => (a.claims.amr as string[]).includes('mfa'), description: 'MFA' };
    expect(() => checkRequirements(auth, { claims: [mfa] })).not.toThrow();
    const truthy = { test: () => 1 as unknown as boolean, description: 'truthy is not true' };
    expect(thrownBy(() => checkRequirements(auth, { claims: [truthy] })).message).toBe(
      'The token does not meet the requirement: truthy is not true',
    );
  });

  it('turns a throwing predicate into a 403 that keeps the cause', () => {
    const boom = new Error('boom');
    const error = thrownBy(() =>
      checkRequirements(authWith({}), {
        claims: [
          {
            test: () => {
              throw boom;
            },
            description: 'a working predicate',
          },
        ],
      }),
    );
    expect(error.code).toBe('ERR_CLAIM_REQUIREMENT');
    expect(error.cause).toBe(boom);
  });

  it('rejects an async predicate with a message that says so', () => {
    const error = thrownBy(() =>
      checkRequirements(authWith({}), {
        claims: [{ test: (async () => true) as unknown as () => boolean, description: 'async' }],
      }),
    );
    expect(error.message).toMatch(/returned a Promise; claim predicates must be synchronous/);
  });

  it("leaves no unhandled rejection when an async predicate rejects (Node's default would crash)", async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', record);
    try {
      const lookup = async (): Promise<boolean> => {
        throw new Error('the tenant database is down');
      };
      const error = thrownBy(() =>
        checkRequirements(authWith({}), {
          claims: [{ test: lookup as unknown as () => boolean, description: 'an active customer' }],
        }),
      );
      expect(error.code).toBe('ERR_CLAIM_REQUIREMENT');
      expect(error.status).toBe(403);
      // Node reports unhandled rejections once the microtask queue drains: a macrotask later.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', record);
    }
    expect(unhandled).toEqual([]);
  });
});
