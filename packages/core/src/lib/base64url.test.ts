import { describe, expect, it } from 'vitest';
import {
  decodeBase64url,
  decodeCanonicalBase64url,
  hasCanonicalEnd,
  isCanonicalBase64url,
} from './base64url.js';

describe('isCanonicalBase64url', () => {
  it('accepts what Buffer encodes as base64url, for every length remainder', () => {
    for (let length = 0; length < 12; length++) {
      const bytes = Buffer.from(Array.from({ length }, (_, i) => (i * 37 + 255) & 0xff));
      const encoded = bytes.toString('base64url');
      expect(isCanonicalBase64url(encoded), encoded).toBe(true);
      expect(decodeBase64url(encoded).equals(bytes)).toBe(true);
    }
  });

  it('refuses padding, the standard alphabet, whitespace and non-ASCII', () => {
    for (const value of ['AQ==', 'AQ+D', 'AQ/D', 'AQ D', 'AQ\nD', 'AQé']) {
      expect(isCanonicalBase64url(value), value).toBe(false);
    }
  });

  it('refuses a length that cannot encode whole bytes', () => {
    expect(isCanonicalBase64url('A')).toBe(false);
    expect(isCanonicalBase64url('AAAAA')).toBe(false);
  });

  it('refuses non-zero bits after the last byte', () => {
    expect(isCanonicalBase64url('AQ')).toBe(true);
    expect(isCanonicalBase64url('AR')).toBe(false);
    expect(isCanonicalBase64url('AQE')).toBe(true);
    expect(isCanonicalBase64url('AQF')).toBe(false);
  });

  it('checks only the given range', () => {
    expect(isCanonicalBase64url('xx.AQ.yy', 3, 5)).toBe(true);
    expect(isCanonicalBase64url('xx.A=.yy', 3, 5)).toBe(false);
  });
});

describe('decodeCanonicalBase64url', () => {
  it('decodes canonical segments of every length remainder', () => {
    for (let length = 0; length < 12; length++) {
      const bytes = Buffer.from(Array.from({ length }, (_, i) => (i * 53 + 7) & 0xff));
      expect(decodeCanonicalBase64url(bytes.toString('base64url'))?.equals(bytes)).toBe(true);
    }
  });

  it('refuses exactly what isCanonicalBase64url refuses', () => {
    const samples = [
      '',
      'A',
      'AQ',
      'AR',
      'AQE',
      'AQF',
      'AQ==',
      'AQ+D',
      'AQ/D',
      'AQ D',
      'AQ\nD',
      'AQé',
      'AAAAA',
    ];
    // Every two-character string over the alphabet and a few foreign characters: all trailing-bit cases.
    const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= .';
    for (const a of chars) for (const b of chars) samples.push(`AQ${a}${b}`, `${a}${b}`);
    for (const value of samples) {
      expect(decodeCanonicalBase64url(value) !== undefined, value).toBe(isCanonicalBase64url(value));
    }
  });
});

describe('canonical base64url against its definition', () => {
  // Node's encoder emits exactly one string per byte sequence: canonical means "re-encodes to itself".
  const definition = (value: string): boolean =>
    Buffer.from(value, 'base64url').toString('base64url') === value;

  it('decodeCanonicalBase64url and isCanonicalBase64url agree with it on every short string', () => {
    // Foreign characters include ones whose low byte aliases an alphabet letter (U+0141, U+0161).
    const chars = 'ABCDQRSTgwxyz0129-_+/= .\u0141\u0161\u00e9';
    const samples: string[] = [];
    for (const a of chars)
      for (const b of chars) for (const c of chars) samples.push(`${a}${b}${c}`, `AQ${a}${b}${c}`);
    for (const value of samples) {
      expect(decodeCanonicalBase64url(value) !== undefined, value).toBe(definition(value));
      expect(isCanonicalBase64url(value), value).toBe(definition(value));
    }
  });

  it('hasCanonicalEnd judges the length and last character of an alphabet-only range', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (const last of alphabet) {
      for (const prefix of ['', 'A', 'AA', 'AAA']) {
        const value = `${prefix}${last}`;
        expect(hasCanonicalEnd(`.${value}.`, 1, value.length + 1), value).toBe(definition(value));
      }
    }
  });
});
