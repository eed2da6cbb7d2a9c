import { describe, expect, it } from 'vitest';
import { readHeaderValues } from './headers.js';

describe('readHeaderValues', () => {
  it('reads a fetch Headers object (one joined value at most)', () => {
    const headers = new Headers([
      ['X-Tenant', 'a'],
      ['x-tenant', 'b'],
    ]);
    expect(readHeaderValues(headers, 'x-tenant')).toEqual(['a, b']);
    expect(readHeaderValues(headers, 'authorization')).toEqual([]);
  });

  it('matches record keys case-insensitively and counts every value', () => {
    expect(readHeaderValues({ authorization: 'a', Authorization: ['b', 'c'] }, 'authorization')).toEqual([
      'a',
      'b',
      'c',
    ]);
    expect(readHeaderValues({ 'Content-Type': 'text/plain', other: undefined }, 'content-type')).toEqual([
      'text/plain',
    ]);
    expect(readHeaderValues({ authorizations: 'x', other: undefined }, 'authorization')).toEqual([]);
  });
});
