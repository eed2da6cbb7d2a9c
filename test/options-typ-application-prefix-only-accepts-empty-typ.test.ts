/**
 * README "## Options": `typ` is a list of accepted `typ` values, "`application/` optional". An empty entry
 * (`typ: ['']`) is refused ("typ.0": must not be empty), but `typ: ['application/']` (a prefix left after
 * a value was cut off, or an empty variable appended to it) is accepted and normalised to the empty
 * string: tokens whose header says `typ: ""` then pass, and `at+jwt` tokens are refused.
 */
import { createValidator } from '@tokenguard/core';
import { describe, expect, it } from 'vitest';
import { typeErrorOf } from './support/rejections.js';

const BASE = { issuer: 'https://id.example/', audience: 'https://api.example', jwks: { keys: [] } };

describe('typ entries that normalise to nothing', () => {
  it("typ: [''] is refused naming typ.0 (holds today)", () => {
    expect(typeErrorOf(() => createValidator({ ...BASE, typ: [''] }))).toMatch(/invalid option "typ\.0"/);
  });

  it.each(['application/', 'APPLICATION/'])("typ: ['%s'] is refused naming typ.0", (typ) => {
    expect(typeErrorOf(() => createValidator({ ...BASE, typ: ['at+jwt', typ] }))).toMatch(
      /invalid option "typ\.1"/,
    );
  });
});
