import { describe, expect, it } from 'vitest';
import { isTokenGuardError, type TokenGuardError } from './errors.js';
import {
  assertScopeRule,
  assertScopes,
  DEFAULT_SCOPE_CLAIMS,
  describeScopeRule,
  isScopeToken,
  neededScopes,
  readScopes,
  type ScopeRule,
  satisfiesScopes,
} from './scopes.js';

/** The scopes read, in order (the set itself is a read-only Set subclass). */
const listScopes = (...args: Parameters<typeof readScopes>): string[] => [...readScopes(...args)];
const list = (...scopes: string[]): string[] => scopes;
const set = (...scopes: string[]) => new Set(scopes);

describe('readScopes', () => {
  it('reads a space-delimited scope string', () => {
    expect(listScopes({ scope: 'read write' }, DEFAULT_SCOPE_CLAIMS)).toEqual(list('read', 'write'));
  });

  it('ignores repeated, leading and trailing spaces', () => {
    expect(listScopes({ scope: '  read   write ' }, DEFAULT_SCOPE_CLAIMS)).toEqual(list('read', 'write'));
  });

  it('accepts an array-valued scope claim (aws-jwt-verify throws on it)', () => {
    expect(listScopes({ scope: ['read', 'orders:write'] }, DEFAULT_SCOPE_CLAIMS)).toEqual(
      list('read', 'orders:write'),
    );
  });

  it('reads scp as a string (Entra ID) and as an array (Okta)', () => {
    expect(listScopes({ scp: 'a b' }, DEFAULT_SCOPE_CLAIMS)).toEqual(list('a', 'b'));
    expect(listScopes({ scp: ['a', 'b'] }, DEFAULT_SCOPE_CLAIMS)).toEqual(list('a', 'b'));
  });

  it('merges scope and scp', () => {
    expect(listScopes({ scope: 'a', scp: ['b'] }, DEFAULT_SCOPE_CLAIMS)).toEqual(list('a', 'b'));
  });

  it('merges claims holding more scopes than a call can take as arguments (no RangeError)', () => {
    const many = Array.from({ length: 200_000 }, (_, index) => `s${index}`);
    const scopes = readScopes({ scope: many.join(' '), scp: ['extra'] }, DEFAULT_SCOPE_CLAIMS);
    expect(scopes.size).toBe(200_001);
    expect(scopes.has('s199999') && scopes.has('extra')).toBe(true);
  });

  it('does not read permissions by default', () => {
    expect(listScopes({ permissions: ['read:orders'] }, DEFAULT_SCOPE_CLAIMS)).toEqual(list());
  });

  it('reads Auth0 permissions when configured', () => {
    expect(
      listScopes({ scope: 'openid', permissions: ['read:orders', 'write:orders'] }, ['scope', 'permissions']),
    ).toEqual(list('openid', 'read:orders', 'write:orders'));
  });

  it('reads only the configured claims', () => {
    expect(listScopes({ scope: 'a', scp: 'b', roles: ['c'] }, ['roles'])).toEqual(list('c'));
  });

  it('does not split a comma list: "a,b" is one scope', () => {
    expect(listScopes({ scope: 'a,b c' }, DEFAULT_SCOPE_CLAIMS)).toEqual(list('a,b', 'c'));
    expect(listScopes({ scp: ['a,b'] }, DEFAULT_SCOPE_CLAIMS)).toEqual(list('a,b'));
  });

  it('keeps case: READ and read are different scopes', () => {
    expect(listScopes({ scope: 'READ read' }, DEFAULT_SCOPE_CLAIMS)).toEqual(list('READ', 'read'));
  });

  it('ignores list entries that are not scope-tokens instead of splitting them', () => {
    const claims = { scope: ['ok', 'two words', '', 42, null, { a: 1 }, ['nested'], 'tab\tx', 'q"uote'] };
    expect(listScopes(claims, DEFAULT_SCOPE_CLAIMS)).toEqual(list('ok'));
  });

  it('ignores string words with characters outside the scope-token grammar', () => {
    expect(listScopes({ scope: 'a\tb c\\d é e' }, DEFAULT_SCOPE_CLAIMS)).toEqual(list('e'));
  });

  it('yields no scopes for absent, null, numeric, boolean and object claims', () => {
    for (const scope of [undefined, null, 1, true, { read: true }]) {
      expect(listScopes({ scope }, DEFAULT_SCOPE_CLAIMS)).toEqual(list());
    }
  });

  it('does not read inherited properties', () => {
    const claims = Object.create({ scope: 'inherited' }) as Record<string, unknown>;
    expect(listScopes(claims, DEFAULT_SCOPE_CLAIMS)).toEqual(list());
  });
});

describe('readScopes: repeated scope strings', () => {
  it('is read-only: add, delete and clear throw, and no later answer changes', () => {
    const claims = { scope: 'orders:read orders:write' };
    const first = readScopes(claims, ['scope']) as Set<string>;
    expect(() => first.add('admin')).toThrow(/read-only/);
    expect(() => first.delete('orders:read')).toThrow(/read-only/);
    expect(() => first.clear()).toThrow(/read-only/);
    expect(readScopes(claims, ['scope'])).toBe(first);
    expect([...readScopes(claims, ['scope'])]).toEqual(['orders:read', 'orders:write']);
    const merged = readScopes({ scope: 'a', scp: ['b'] }, DEFAULT_SCOPE_CLAIMS) as Set<string>;
    expect(() => merged.add('admin')).toThrow(TypeError);
    expect(() => (readScopes({}, DEFAULT_SCOPE_CLAIMS) as Set<string>).add('admin')).toThrow(TypeError);
    expect(readScopes({}, DEFAULT_SCOPE_CLAIMS).size).toBe(0);
  });

  it('can be deep-cloned the way lodash does it: an empty set from its constructor, then add', () => {
    const scopes = readScopes({ scope: 'a b' }, ['scope']);
    const Ctor = scopes.constructor as new () => Set<string>;
    const copy = new Ctor();
    for (const scope of scopes) copy.add(scope);
    copy.add('c');
    copy.delete('a');
    expect([...copy]).toEqual(['b', 'c']);
    expect([...readScopes({ scope: 'a b' }, ['scope'])]).toEqual(['a', 'b']);
    expect(() => (scopes as Set<string>).add('c')).toThrow(/read-only/);
  });

  it('is still a Set: has, size, iteration, spread and structuredClone work', () => {
    const scopes = readScopes({ scope: 'a b' }, ['scope']);
    expect(scopes).toBeInstanceOf(Set);
    expect(scopes.has('a') && scopes.has('b') && !scopes.has('c')).toBe(true);
    expect(scopes.size).toBe(2);
    expect(new Set(scopes).add('c').size).toBe(3);
    expect([...structuredClone(scopes)]).toEqual(['a', 'b']);
  });

  it('merges a repeated string with other claims in claim order, without duplicates', () => {
    for (let i = 0; i < 3; i++) {
      expect([...readScopes({ scope: 'a b a', scp: ['c', 'a'] }, ['scope', 'scp'])]).toEqual(['a', 'b', 'c']);
      expect([...readScopes({ scp: ['c'], scope: 'a  b' }, ['scp', 'scope'])]).toEqual(['c', 'a', 'b']);
    }
  });

  it('still drops parts that are not scope-tokens, for long and for many distinct strings', () => {
    const long = `${'x'.repeat(2000)} ok bad"quote`;
    expect([...readScopes({ scope: long }, ['scope'])]).toEqual(['x'.repeat(2000), 'ok']);
    for (let i = 0; i < 600; i++) {
      expect([...readScopes({ scope: `s${i} \u0001bad` }, ['scope'])]).toEqual([`s${i}`]);
    }
  });
});

describe('isScopeToken', () => {
  it('accepts RFC 6749 scope-tokens', () => {
    for (const scope of ['read', 'orders:read', 'a,b', 'https://api.example/x.read', '!#[]~']) {
      expect(isScopeToken(scope)).toBe(true);
    }
  });

  it('rejects empty, spaced, quoted, backslashed, non-ASCII and non-string values', () => {
    for (const scope of ['', 'a b', 'a"b', 'a\\b', 'é', 'a\nb', 1, undefined]) {
      expect(isScopeToken(scope)).toBe(false);
    }
  });
});

describe('satisfiesScopes', () => {
  it('compares whole scopes, never by prefix or substring', () => {
    expect(satisfiesScopes('orders', set('orders:read'))).toBe(false);
    expect(satisfiesScopes('orders:read', set('orders'))).toBe(false);
    expect(satisfiesScopes('read', set('reader', 'unread'))).toBe(false);
    expect(satisfiesScopes('read', set('read'))).toBe(true);
  });

  it('is case-sensitive', () => {
    expect(satisfiesScopes('read', set('READ'))).toBe(false);
  });

  it('requires every part of an allOf', () => {
    expect(satisfiesScopes({ allOf: ['a', 'b'] }, set('a'))).toBe(false);
    expect(satisfiesScopes({ allOf: ['a', 'b'] }, set('a', 'b', 'c'))).toBe(true);
  });

  it('requires one part of an anyOf', () => {
    expect(satisfiesScopes({ anyOf: ['a', 'b'] }, set('c'))).toBe(false);
    expect(satisfiesScopes({ anyOf: ['a', 'b'] }, set('b'))).toBe(true);
  });

  it('evaluates nested combinations', () => {
    const rule: ScopeRule = { allOf: ['orders:read', { anyOf: ['orders:write', 'admin'] }] };
    expect(satisfiesScopes(rule, set('orders:read'))).toBe(false);
    expect(satisfiesScopes(rule, set('admin'))).toBe(false);
    expect(satisfiesScopes(rule, set('orders:read', 'admin'))).toBe(true);
    expect(satisfiesScopes(rule, set('orders:read', 'orders:write'))).toBe(true);
    const deep: ScopeRule = { anyOf: [{ allOf: ['x', 'y'] }, { allOf: ['z', { anyOf: ['p', 'q'] }] }] };
    expect(satisfiesScopes(deep, set('x', 'q'))).toBe(false);
    expect(satisfiesScopes(deep, set('z', 'q'))).toBe(true);
  });
});

describe('assertScopeRule', () => {
  it('accepts scopes and nested rules', () => {
    expect(() => assertScopeRule('a')).not.toThrow();
    expect(() => assertScopeRule({ allOf: ['a', { anyOf: ['b', { allOf: ['c'] }] }] })).not.toThrow();
  });

  it('rejects an empty allOf, which would grant everything', () => {
    expect(() => assertScopeRule({ allOf: [] })).toThrow(
      new TypeError('tokenguard: invalid requirement "scopes.allOf": must be a non-empty list'),
    );
  });

  it('rejects an empty anyOf, nested, naming its path', () => {
    expect(() => assertScopeRule({ allOf: ['a', { anyOf: [] }] })).toThrow(
      new TypeError('tokenguard: invalid requirement "scopes.allOf.1.anyOf": must be a non-empty list'),
    );
  });

  it('rejects a string holding several scopes', () => {
    expect(() => assertScopeRule('read write')).toThrow(
      /"read write" is not a scope \(several scopes go in a list/,
    );
  });

  it('rejects empty and quoted scopes', () => {
    expect(() => assertScopeRule('')).toThrow(TypeError);
    expect(() => assertScopeRule({ anyOf: ['a"b'] })).toThrow(/scopes\.anyOf\.0/);
  });

  it('rejects objects with both, neither or other keys', () => {
    expect(() => assertScopeRule({ allOf: ['a'], anyOf: ['b'] })).toThrow(/exactly one of allOf or anyOf/);
    expect(() => assertScopeRule({})).toThrow(/exactly one of allOf or anyOf/);
    expect(() => assertScopeRule({ oneOf: ['a'] })).toThrow(/exactly one of allOf or anyOf/);
  });

  it('rejects non-objects', () => {
    for (const rule of [null, 1, ['a'], true]) expect(() => assertScopeRule(rule)).toThrow(TypeError);
  });
});

describe('neededScopes', () => {
  it('lists every scope of an allOf, held ones included', () => {
    expect(neededScopes({ allOf: ['a', 'b'] }, set('a'))).toEqual(['a', 'b']);
  });

  it('picks the anyOf alternative the token already satisfies', () => {
    expect(neededScopes({ allOf: ['a', { anyOf: ['b', 'c'] }] }, set('c'))).toEqual(['a', 'c']);
  });

  it('picks the alternative needing the fewest missing scopes', () => {
    expect(neededScopes({ anyOf: [{ allOf: ['x', 'y'] }, 'z'] }, set())).toEqual(['z']);
    expect(neededScopes({ anyOf: ['z', { allOf: ['x', 'y'] }] }, set('x'))).toEqual(['z']);
    expect(
      neededScopes({ anyOf: [{ allOf: ['x', 'y', 'w'] }, { allOf: ['p', 'q'] }] }, set('x', 'y')),
    ).toEqual(['x', 'y', 'w']);
  });

  it('breaks ties by declaration order', () => {
    expect(neededScopes({ anyOf: ['b', 'a'] }, set())).toEqual(['b']);
  });

  it('deduplicates', () => {
    expect(neededScopes({ allOf: ['a', { anyOf: ['a', 'b'] }] }, set())).toEqual(['a']);
  });
});

describe('describeScopeRule', () => {
  it('words nested rules with parentheses', () => {
    expect(describeScopeRule({ allOf: ['a', { anyOf: ['b', 'c'] }] })).toBe('a and (b or c)');
    expect(describeScopeRule({ anyOf: [{ allOf: ['a', 'b'] }, 'c'] })).toBe('(a and b) or c');
    expect(describeScopeRule({ allOf: [{ anyOf: ['a'] }] })).toBe('a');
  });
});

describe('assertScopes', () => {
  it('returns when satisfied', () => {
    expect(() => assertScopes({ allOf: ['a'] }, set('a'))).not.toThrow();
  });

  it('throws ERR_INSUFFICIENT_SCOPE (403) with the scope parameter naming what would satisfy the route', () => {
    let caught: unknown;
    try {
      assertScopes({ allOf: ['orders:read', { anyOf: ['orders:write', 'admin'] }] }, set('orders:read'));
    } catch (error) {
      caught = error;
    }
    expect(isTokenGuardError(caught)).toBe(true);
    const error = caught as TokenGuardError;
    expect(error.code).toBe('ERR_INSUFFICIENT_SCOPE');
    expect(error.status).toBe(403);
    expect(error.oauthError).toBe('insufficient_scope');
    expect(error.scope).toBe('orders:read orders:write');
    expect(error.expected).toEqual(['orders:read', 'orders:write']);
    error.realm = 'api';
    expect(error.wwwAuthenticate).toBe(
      'Bearer realm="api", error="insufficient_scope", error_description="The token lacks the scopes this route requires: orders:read and (orders:write or admin)", scope="orders:read orders:write"',
    );
    expect(error.headers).toEqual({ 'www-authenticate': error.wwwAuthenticate });
  });

  it('names the held alternative of an anyOf in the scope parameter', () => {
    const error = (() => {
      try {
        assertScopes({ allOf: ['orders:read', { anyOf: ['orders:write', 'admin'] }] }, set('admin'));
      } catch (caught) {
        return caught as TokenGuardError;
      }
      throw new Error('expected a rejection');
    })();
    expect(error.scope).toBe('orders:read admin');
  });
});
