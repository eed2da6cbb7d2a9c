import { describe, expect, it } from 'vitest';
import {
  type Contender,
  interleave,
  interleaveSlices,
  median,
  pairedRatio,
  SLICES_PER_ROUND,
  turnOrder,
} from './measure.js';

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

describe('turnOrder', () => {
  it('has each contender run right after each other one equally often, and first equally often', () => {
    for (let count = 2; count <= 10; count++) {
      const rows = count % 2 === 0 ? count : 2 * count;
      const follows = new Map<string, number>();
      const first = new Map<number, number>();
      for (let slice = 0; slice < rows; slice++) {
        const order = Array.from({ length: count }, (_, turn) => turnOrder(turn, slice, 0, count, 10));
        expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));
        first.set(order[0] as number, (first.get(order[0] as number) ?? 0) + 1);
        for (let i = 1; i < count; i++) {
          const pair = `${order[i - 1]}>${order[i]}`;
          follows.set(pair, (follows.get(pair) ?? 0) + 1);
        }
      }
      expect(follows.size).toBe(count * (count - 1));
      expect(new Set(follows.values())).toEqual(new Set([rows / count]));
      expect(new Set(first.values())).toEqual(new Set([rows / count]));
    }
  });

  it('goes on from one round to the next, the warm-up round (-1) included', () => {
    const orderAt = (slice: number, round: number) =>
      Array.from({ length: 5 }, (_, turn) => turnOrder(turn, slice, round, 5, 4));
    expect(orderAt(0, 1)).toEqual(orderAt(4, 0));
    expect(orderAt(3, -1)).toEqual(orderAt(-1, 0));
  });
});

describe('median', () => {
  it('takes the middle value, or the mean of the two middle values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

describe('interleaveSlices', () => {
  it("records every measured slice's rate, by round and slice, leaving out the warm-up round", async () => {
    const { rounds, slices } = await interleaveSlices(
      [recording('a', 100, [], []), recording('b', 100, [], [])],
      2,
    );
    for (const name of ['a', 'b']) {
      const recorded = slices.get(name) ?? [];
      expect(recorded).toHaveLength(2 * SLICES_PER_ROUND);
      expect(recorded.map((s) => `${s.round}/${s.slice}`)).toEqual(
        [0, 1].flatMap((round) =>
          Array.from({ length: SLICES_PER_ROUND }, (_, slice) => `${round}/${slice}`),
        ),
      );
      for (const { rate } of recorded) expect(rate).toBeGreaterThan(0);
      expect(rounds.get(name)).toHaveLength(2);
    }
  });

  it('records no slice that had no operation to run', async () => {
    const { slices } = await interleaveSlices([recording('tiny', 3, [], [])], 1);
    expect(slices.get('tiny')).toHaveLength(3);
  });
});

describe('pairedRatio', () => {
  const rates = (round: number, values: number[]) => values.map((rate, slice) => ({ round, slice, rate }));

  it("takes the median of the ratios of slices paired by round and slice, and the range of the rounds' medians", () => {
    const numerator = [...rates(0, [90, 80, 100]), ...rates(1, [50, 60, 45])];
    const denominator = [...rates(0, [100, 100, 100]), ...rates(1, [50, 50, 50])];
    // Ratios: round 0: 0.9, 0.8, 1.0 (median 0.9); round 1: 1.0, 1.2, 0.9 (median 1.0).
    const ratio = pairedRatio(numerator, denominator);
    expect(ratio.median).toBeCloseTo(0.95, 10);
    expect(ratio.roundLow).toBeCloseTo(0.9, 10);
    expect(ratio.roundHigh).toBeCloseTo(1.0, 10);
  });

  it('is moved little by one slow slice, where a ratio of totals is moved by it', () => {
    const numerator = rates(0, [100, 100, 100, 100, 20]);
    const denominator = rates(0, [100, 100, 100, 100, 100]);
    expect(pairedRatio(numerator, denominator).median).toBe(1);
    const total = (values: typeof numerator) => values.reduce((sum, { rate }) => sum + rate, 0);
    expect(total(numerator) / total(denominator)).toBeCloseTo(0.84, 10);
  });

  it('leaves out slices without a partner or without a rate, and is NaN when none is paired', () => {
    const ratio = pairedRatio(
      [...rates(0, [50, Number.NaN, 70]), { round: 3, slice: 0, rate: 10 }],
      rates(0, [100, 100, 0]),
    );
    expect(ratio.median).toBe(0.5);
    expect(pairedRatio(rates(0, [1]), rates(1, [1])).median).toBeNaN();
    expect(pairedRatio(undefined, rates(0, [1])).roundLow).toBeNaN();
  });
});
