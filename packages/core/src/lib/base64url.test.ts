import { describe, expect, it } from 'vitest';
import { decodeBase64url, decodeCanonicalBase64url, isCanonicalBase64url } from './base64url.js';

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
