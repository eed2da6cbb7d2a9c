import { describe, expect, it } from 'vitest';
import { jsonObjectRefusal, parseJsonObject } from './json.js';

const limits = { maxDepth: 4 };

describe('parseJsonObject', () => {
  it('parses a JSON object', () => {
    expect(parseJsonObject('{"a":[1,{"b":2}]}', limits)).toEqual({ a: [1, { b: 2 }] });
  });

  it('returns undefined for anything but an object', () => {
    for (const text of ['[]', '"x"', '1', 'null', 'true', '', '{', '{"a":1}x']) {
      expect(parseJsonObject(text, limits), text).toBeUndefined();
    }
  });

  it('refuses __proto__ members at any depth', () => {
    expect(parseJsonObject('{"__proto__":{"admin":true}}', limits)).toBeUndefined();
    expect(parseJsonObject('{"a":{"__proto__":{"admin":true}}}', limits)).toBeUndefined();
    expect(parseJsonObject('{"a":[{"__proto__":1}]}', limits)).toBeUndefined();
    expect(parseJsonObject('{"a":"__proto__"}', limits)).toEqual({ a: '__proto__' });
  });

  it('refuses nesting deeper than maxDepth, counting objects and arrays', () => {
    expect(parseJsonObject('{"a":{"b":{"c":[1]}}}', limits)).toBeDefined();
    expect(parseJsonObject('{"a":{"b":{"c":[[1]]}}}', limits)).toBeUndefined();
  });

  it('does not count brackets inside strings, including escaped quotes', () => {
    expect(parseJsonObject('{"a":"[[[[[[{{{{{{","b":"\\"[[[[[["}', limits)).toEqual({
      a: '[[[[[[{{{{{{',
      b: '"[[[[[[',
    });
  });

  it('refuses a hostile deeply nested document without exhausting the stack', () => {
    const text = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(parseJsonObject(`{"a":${text}}`, { maxDepth: 32 })).toBeUndefined();
  });
});

describe('jsonObjectRefusal', () => {
  const limits = { maxDepth: 3 };
  it('names the depth limit for a document refused for its depth alone', () => {
    const deep = '{"a":{"b":{"c":{}}}}';
    expect(parseJsonObject(deep, limits)).toBeUndefined();
    expect(jsonObjectRefusal(deep, limits, 'keySet.maxJsonDepth')).toBe(
      'nested deeper than 3 levels (keySet.maxJsonDepth)',
    );
  });

  it('tells garbage, a JSON value that is no object and a __proto__ member apart', () => {
    expect(jsonObjectRefusal('{"keys":[', limits, 'x')).toBe('not JSON');
    expect(jsonObjectRefusal('[1,2]', limits, 'x')).toBe('not a JSON object');
    expect(jsonObjectRefusal('null', limits, 'x')).toBe('not a JSON object');
    expect(jsonObjectRefusal('{"__proto__":{}}', limits, 'x')).toBe(
      'a JSON object with a "__proto__" member',
    );
  });
});
