import { describe, expect, it } from 'vitest';
import { type Contender, interleave, median, ratioRange, SLICES_PER_ROUND } from './measure.js';

/** A contender that records every slice it is asked to run, in the order asked. */
function recording(name: string, ops: number, log: string[], ranges: [number, number][]): Contender {
  return {
    name,
    prepare: () => ({
      ops,
      run(start: number, end: number) {
        log.push(name);
        ranges.push([start, end]);
      },
    }),
  };
}

describe('interleave', () => {
  it('runs each contender over all its operations once per round, in contiguous slices', async () => {
    const log: string[] = [];
    const ranges: [number, number][] = [];
    const rounds = 3;
    const medians = await interleave([recording('a', 1000, log, ranges)], rounds);
    // One warm-up round plus `rounds` measured rounds, each cut into SLICES_PER_ROUND slices.
    expect(log).toHaveLength((rounds + 1) * SLICES_PER_ROUND);
    for (let round = 0; round <= rounds; round++) {
      const slices = ranges.slice(round * SLICES_PER_ROUND, (round + 1) * SLICES_PER_ROUND);
      expect(slices[0]?.[0]).toBe(0);
      expect(slices.at(-1)?.[1]).toBe(1000);
      for (let i = 1; i < slices.length; i++) expect(slices[i]?.[0]).toBe(slices[i - 1]?.[1]);
    }
    expect(medians.get('a')).toBeGreaterThan(0);
  });

  it('has the contenders take turns slice by slice, the first of each turn rotating', async () => {
    const log: string[] = [];
    const ranges: [number, number][] = [];
    await interleave([recording('a', 40, log, ranges), recording('b', 40, log, ranges)], 1);
    const turns = Array.from({ length: log.length / 2 }, (_, i) => log.slice(i * 2, i * 2 + 2).join(''));
    expect(new Set(turns)).toEqual(new Set(['ab', 'ba']));
    expect(turns.slice(0, 4)).toEqual(['ab', 'ba', 'ab', 'ba']);
    expect(log.filter((name) => name === 'a')).toHaveLength(2 * SLICES_PER_ROUND);
  });

  it('splits contenders of different sizes into the same number of slices', async () => {
    const log: string[] = [];
    const ranges: [number, number][] = [];
    await interleave([recording('small', 7, log, ranges), recording('large', 100_000, log, ranges)], 1);
    const covered = (name: string) =>
      ranges.filter((_, i) => log[i] === name).reduce((sum, [start, end]) => sum + end - start, 0);
    expect(covered('small')).toBe(2 * 7);
    expect(covered('large')).toBe(2 * 100_000);
  });
});

describe('median', () => {
  it('takes the middle value, or the mean of the two middle values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

describe('ratioRange', () => {
  it('gives the lowest and highest per-round ratio of two contenders measured in the same rounds', () => {
    expect(ratioRange([90, 50, 80], [100, 100, 80])).toEqual([0.5, 1]);
    expect(ratioRange([], [])).toEqual([Number.NaN, Number.NaN]);
    expect(ratioRange(undefined, [1])).toEqual([Number.NaN, Number.NaN]);
  });
});
