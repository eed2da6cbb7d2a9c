/**
 * README "## Options": "A bad option throws a `TypeError` naming it". Every nested numeric option is named
 * by its path (`keySet.maxKeys`, `http.timeoutMs`, `introspection.cache.maxEntries`), and so is
 * `tokenCache.maxEntries` when it is 0 or negative. A string (`Number` forgotten on an environment
 * variable), a fraction, NaN or Infinity is instead `invalid option "tokenCache": Invalid input`: the
 * field is not named and nothing says what is expected ("entries, or `false`"). `tokenCache: true`, the
 * natural guess for "on", gets the same bare "Invalid input".
 */
import { createValidator } from '@tokenguard/core';
import { tokenguard } from '@tokenguard/express';
import { describe, expect, it } from 'vitest';
import { typeErrorOf } from './support/rejections.js';

const BASE = { issuer: 'https://id.example/', audience: 'https://api.example', jwks: { keys: [] } };

describe('tokenCache.maxEntries', () => {
  it.each([
    ['a string from an environment variable', '10000'],
    ['a fraction', 1.5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
  ])('%s is refused naming "tokenCache.maxEntries"', (_name, maxEntries) => {
    const options = { ...BASE, tokenCache: { maxEntries } } as never;
    expect(typeErrorOf(() => createValidator(options))).toMatch(/invalid option "tokenCache\.maxEntries"/);
    expect(typeErrorOf(() => tokenguard(options))).toMatch(/invalid option "tokenCache\.maxEntries"/);
  });

  it('0 is refused naming it (holds today)', () => {
    expect(typeErrorOf(() => createValidator({ ...BASE, tokenCache: { maxEntries: 0 } }))).toMatch(
      /invalid option "tokenCache\.maxEntries"/,
    );
  });

  it('tokenCache: true says what tokenCache takes, not a bare "Invalid input"', () => {
    const message = typeErrorOf(() => createValidator({ ...BASE, tokenCache: true } as never));
    expect(message).toMatch(/invalid option "tokenCache"/);
    expect(message).not.toMatch(/: Invalid input$/);
  });
});
