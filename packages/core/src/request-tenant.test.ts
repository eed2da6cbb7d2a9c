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
