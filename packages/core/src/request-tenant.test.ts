import { describe, expect, it } from 'vitest';
import { readRequestTenant } from './request-tenant.js';

describe('readRequestTenant', () => {
  describe('param', () => {
    it('reads a route parameter', () => {
      expect(readRequestTenant({ param: 'tenant' }, { params: { tenant: 'acme' } })).toBe('acme');
    });

    it('returns undefined for an absent, empty or non-string parameter', () => {
      for (const params of [undefined, {}, { tenant: '' }, { tenant: ['a'] }, { tenant: 1 }]) {
        expect(readRequestTenant({ param: 'tenant' }, { params })).toBeUndefined();
      }
    });

    it('does not read inherited properties', () => {
      expect(readRequestTenant({ param: 'toString' }, { params: {} })).toBeUndefined();
    });
  });

  describe('header', () => {
    it('reads a header from a plain record, case-insensitively, trimmed', () => {
      expect(readRequestTenant({ header: 'X-Tenant-Id' }, { headers: { 'x-tenant-id': ' acme ' } })).toBe(
        'acme',
      );
    });

    it('reads a header from fetch Headers', () => {
      expect(
        readRequestTenant({ header: 'x-tenant-id' }, { headers: new Headers({ 'X-Tenant-Id': 'acme' }) }),
      ).toBe('acme');
    });

    it('returns undefined for a repeated header or a comma list', () => {
      const headers = new Headers();
      headers.append('x-tenant-id', 'a');
      headers.append('x-tenant-id', 'b');
      expect(readRequestTenant({ header: 'x-tenant-id' }, { headers })).toBeUndefined();
      expect(
        readRequestTenant({ header: 'x-tenant-id' }, { headers: { 'x-tenant-id': ['a', 'b'] } }),
      ).toBeUndefined();
      expect(
        readRequestTenant({ header: 'x-tenant-id' }, { headers: { 'x-tenant-id': 'a,b' } }),
      ).toBeUndefined();
      expect(
        readRequestTenant({ header: 'x-tenant-id' }, { headers: { 'x-tenant-id': 'a', 'X-Tenant-Id': 'b' } }),
      ).toBeUndefined();
    });

    it('returns undefined for an absent or blank header', () => {
      expect(readRequestTenant({ header: 'x-tenant-id' }, { headers: {} })).toBeUndefined();
      expect(
        readRequestTenant({ header: 'x-tenant-id' }, { headers: { 'x-tenant-id': '  ' } }),
      ).toBeUndefined();
      expect(readRequestTenant({ header: 'x-tenant-id' }, {})).toBeUndefined();
    });
  });

  describe('subdomainOf', () => {
    const source = { subdomainOf: 'api.example.com' };

    it('reads the label below the base domain, lower-cased, ignoring the port', () => {
      expect(readRequestTenant(source, { host: 'Acme.API.example.com:8443' })).toBe('acme');
      expect(readRequestTenant(source, { headers: { host: 'acme.api.example.com' } })).toBe('acme');
      expect(readRequestTenant(source, { host: 'acme.api.example.com.' })).toBe('acme');
    });

    it('returns undefined for the base itself, deeper names and other domains', () => {
      for (const host of [
        'api.example.com',
        'a.b.api.example.com',
        'acme.api.example.com.evil.net',
        'acmeapi.example.com',
        'acme-.api.example.com',
        '',
      ]) {
        expect(readRequestTenant(source, { host })).toBeUndefined();
      }
      expect(readRequestTenant(source, {})).toBeUndefined();
    });
  });

  it('rejects a base domain or header name that no request could match, instead of a 403 for all', () => {
    const request = { headers: { host: 'acme.api.example.com', 'x-tenant-id': 'acme' } };
    for (const source of [
      { subdomainOf: 'https://api.example.com' },
      { subdomainOf: 'api.example.com:443' },
      { subdomainOf: 'api.example.com/' },
      { subdomainOf: '*.api.example.com' },
      { subdomainOf: 'api..example.com' },
      { subdomainOf: '.' },
      { header: 'x-tenant-id:' },
      { header: 'x tenant id' },
      { header: 'x-tenant-id\r\n' },
    ]) {
      expect(() => readRequestTenant(source as never, request), JSON.stringify(source)).toThrow(
        /^tokenguard: invalid tenant source: /,
      );
    }
    // Still fine: case, a leading or trailing dot, a one-label base, any RFC 9110 token as a name.
    expect(readRequestTenant({ subdomainOf: '.API.example.com.' }, request)).toBe('acme');
    expect(readRequestTenant({ subdomainOf: 'localhost' }, { host: 'acme.localhost:3000' })).toBe('acme');
    expect(readRequestTenant({ header: 'X-Tenant-ID' }, request)).toBe('acme');
    expect(
      readRequestTenant({ header: "x_tenant!#$%&'*+.^`|~" }, { headers: { "x_tenant!#$%&'*+.^`|~": 'b' } }),
    ).toBe('b');
  });

  it('rejects a malformed source with a TypeError instead of reading the host', () => {
    const request = { params: { tenant: 'acme' }, headers: { host: 'acme.api.example.com' } };
    for (const source of [
      { params: 'tenant' },
      { param: 'tenant', header: 'x-tenant-id' },
      { param: '' },
      { header: 5 },
      {},
      null,
      'tenant',
    ]) {
      expect(() => readRequestTenant(source as never, request)).toThrow(
        new TypeError(
          'tokenguard: invalid tenant source: must be { param }, { header } or { subdomainOf }, with a non-empty string',
        ),
      );
    }
  });
});
