import { describe, expect, it } from 'vitest';
import { frozenCopy } from './frozen-copy.js';

describe('frozenCopy', () => {
  it('copies a JSON value with every object and array in it frozen, and leaves the original as it was', () => {
    const original = JSON.parse('{"a":1,"b":[1,{"c":[2]}],"d":{"e":{"f":"g"}},"h":null}');
    const copy = frozenCopy(original) as typeof original;
    expect(copy).toEqual(original);
    expect(copy).not.toBe(original);
    for (const part of [copy, copy.b, copy.b[1], copy.b[1].c, copy.d, copy.d.e]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    expect(Array.isArray(copy.b)).toBe(true);
    expect(Object.isFrozen(original)).toBe(false);
    original.d.e.f = 'changed';
    expect(copy.d.e.f).toBe('g');
  });

  it('passes primitives and null through', () => {
    for (const primitive of [null, undefined, 0, 'text', true]) expect(frozenCopy(primitive)).toBe(primitive);
  });
});
