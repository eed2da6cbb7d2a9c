import { describe, expect, it } from 'vitest';
import { ReadOnlyDate } from './read-only-date.js';

describe('ReadOnlyDate', () => {
  it('refuses every setter a Date has, and keeps its time', () => {
    const date = new ReadOnlyDate(1_700_000_300_000);
    const setters = Object.getOwnPropertyNames(Date.prototype).filter((name) => name.startsWith('set'));
    expect(setters.length).toBeGreaterThanOrEqual(16);
    for (const setter of setters) {
      expect(() => (date as unknown as Record<string, (value: number) => void>)[setter]?.(0)).toThrow(
        TypeError,
      );
    }
    expect(date.getTime()).toBe(1_700_000_300_000);
  });

  it('reads, serialises and copies as a Date', () => {
    const date = new ReadOnlyDate(1_700_000_300_000);
    expect(date).toBeInstanceOf(Date);
    expect(date.toISOString()).toBe('2023-11-14T22:18:20.000Z');
    expect(JSON.stringify({ date })).toBe('{"date":"2023-11-14T22:18:20.000Z"}');
    const copy = new Date(date);
    copy.setTime(0);
    expect(copy.getTime()).toBe(0);
    expect(structuredClone(date).getTime()).toBe(1_700_000_300_000);
  });
});
