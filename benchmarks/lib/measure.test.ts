import { describe, expect, it } from 'vitest';
import {
  type Contender,
  interleave,
  interleaveSlices,
  median,
  ratesOf,
  runRatio,
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

  /** The order of every turn of `slice` in `round`. */
  const rowAt = (count: number, slice: number, round: number, slices: number) =>
    Array.from({ length: count }, (_, turn) => turnOrder(turn, slice, round, count, slices));

  it('is a Williams design for 2..12 contenders from any slice of any round, the warm-up round (-1) included', () => {
    for (let count = 2; count <= 12; count++) {
      const rows = count % 2 === 0 ? count : 2 * count;
      for (const slices of [2, 10, SLICES_PER_ROUND]) {
        for (let round = -1; round <= 2; round++) {
          for (let first = 0; first < slices; first++) {
            // `rows` slices in a row, from slice `first` of `round` on, across the rounds' boundaries.
            const follows = new Map<string, number>();
            const leads = new Map<number, number>();
            for (let k = 0; k < rows; k++) {
              const at = round * slices + first + k;
              const order = rowAt(
                count,
                at - Math.floor(at / slices) * slices,
                Math.floor(at / slices),
                slices,
              );
              // Every turn of every slice runs a contender, and each contender once.
              expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));
              leads.set(order[0] as number, (leads.get(order[0] as number) ?? 0) + 1);
              for (let i = 1; i < count; i++) {
                const pair = `${order[i - 1]}>${order[i]}`;
                follows.set(pair, (follows.get(pair) ?? 0) + 1);
              }
            }
            expect(follows.size).toBe(count * (count - 1));
            expect(new Set(follows.values())).toEqual(new Set([rows / count]));
            expect(leads.size).toBe(count);
            expect(new Set(leads.values())).toEqual(new Set([rows / count]));
          }
        }
      }
    }
  });

  it('runs each contender before each other one in half the slices of a cycle, so a drift within a slice favours neither side of a ratio', () => {
    for (let count = 2; count <= 12; count++) {
      const rows = count % 2 === 0 ? count : 2 * count;
      for (let a = 0; a < count; a++) {
        for (let b = 0; b < count; b++) {
          if (a === b) continue;
          let before = 0;
          for (let slice = 0; slice < rows; slice++) {
            const order = rowAt(count, slice, 0, rows);
            if (order.indexOf(a) < order.indexOf(b)) before++;
          }
          expect(before).toBe(rows / 2);
        }
      }
    }
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
  it("records every measured slice's operations and time, by round and slice, leaving out the warm-up round", async () => {
    const slices = await interleaveSlices([recording('a', 100, [], []), recording('b', 100, [], [])], 2);
    for (const name of ['a', 'b']) {
      const recorded = slices.get(name) ?? [];
      expect(recorded).toHaveLength(2 * SLICES_PER_ROUND);
      expect(recorded.map((s) => `${s.round}/${s.slice}`)).toEqual(
        [0, 1].flatMap((round) =>
          Array.from({ length: SLICES_PER_ROUND }, (_, slice) => `${round}/${slice}`),
        ),
      );
      for (const { ops, seconds } of recorded) {
        expect(ops).toBe(100 / SLICES_PER_ROUND);
        expect(seconds).toBeGreaterThan(0);
      }
      expect(new Set(recorded.map((s) => s.round)).size).toBe(2);
    }
  });

  it('runs warmupRounds unrecorded rounds before the measured ones', async () => {
    const log: string[] = [];
    const slices = await interleaveSlices([recording('a', 40, log, [])], 2, () => {}, 3);
    // Three warm-up rounds and two measured ones, each of SLICES_PER_ROUND turns.
    expect(log).toHaveLength(5 * SLICES_PER_ROUND);
    expect(new Set(slices.get('a')?.map((s) => s.round))).toEqual(new Set([0, 1]));
    await interleaveSlices([recording('b', 40, log, [])], 1, () => {}, 0);
    expect(log).toHaveLength(6 * SLICES_PER_ROUND);
  });

  it('refuses a warm-up round count that is not a whole number of at least 0', async () => {
    for (const bad of [-1, 1.5, Number.NaN]) {
      await expect(interleaveSlices([recording('a', 1, [], [])], 1, () => {}, bad)).rejects.toThrow(
        /warmupRounds/,
      );
    }
  });

  it('records no slice that had no operation to run', async () => {
    const slices = await interleaveSlices([recording('tiny', 3, [], [])], 1);
    expect(slices.get('tiny')).toHaveLength(3);
  });

  it('runs every operation of every contender exactly once per round, one turn each per slice, for 2..12 contenders', async () => {
    for (let count = 2; count <= 12; count++) {
      const log: string[] = [];
      const ranges: [number, number][] = [];
      // Sizes below, at and above the slice count, some not divisible by it.
      const sizes = Array.from({ length: count }, (_, i) => [7, 20, 33, 1000, 12_345][i % 5] as number);
      const contenders = sizes.map((ops, i) => recording(`c${i}`, ops, log, ranges));
      const rounds = 3;
      await interleaveSlices(contenders, rounds);
      // One warm-up round and `rounds` measured ones, each of SLICES_PER_ROUND slices of `count` turns.
      expect(log).toHaveLength((rounds + 1) * SLICES_PER_ROUND * count);
      for (let round = 0; round <= rounds; round++) {
        for (let slice = 0; slice < SLICES_PER_ROUND; slice++) {
          const at = (round * SLICES_PER_ROUND + slice) * count;
          expect(new Set(log.slice(at, at + count)).size).toBe(count);
        }
        sizes.forEach((ops, i) => {
          const covered = new Array<number>(ops).fill(0);
          const at = round * SLICES_PER_ROUND * count;
          for (let k = at; k < at + SLICES_PER_ROUND * count; k++) {
            if (log[k] !== `c${i}`) continue;
            const [start, end] = ranges[k] as [number, number];
            for (let op = start; op < end; op++) covered[op] = (covered[op] as number) + 1;
          }
          expect(new Set(covered)).toEqual(new Set([1]));
        });
      }
    }
  });
});

describe('runRatio', () => {
  /** Slices of one round: `[ops, seconds]` each. */
  const samples = (round: number, values: [number, number][]) =>
    values.map(([ops, seconds], slice) => ({ round, slice, ops, seconds }));

  it("divides the two sides' rates, each its operations over its time in every round, and gives the range of the same ratio round by round", () => {
    const numerator = [
      ...samples(0, [
        [10, 1],
        [10, 1],
      ]),
      ...samples(1, [
        [30, 1],
        [30, 1],
      ]),
    ];
    const denominator = [
      ...samples(0, [
        [10, 2],
        [10, 2],
      ]),
      ...samples(1, [
        [10, 1],
        [10, 1],
      ]),
    ];
    // Rates: 80 ops in 4 s against 40 in 6 s; round 0: 20/2 s against 20/4 s (2); round 1: 60/2 s against 20/2 s (3).
    const ratio = runRatio(numerator, denominator);
    expect(ratio.value).toBeCloseTo(80 / 4 / (40 / 6), 10);
    expect(ratio.roundLow).toBeCloseTo(2, 10);
    expect(ratio.roundHigh).toBeCloseTo(3, 10);
  });

  it('counts a slow slice by the time it took, as the run spent it', () => {
    const numerator = samples(0, [
      [100, 1],
      [100, 1],
      [100, 1],
      [100, 1],
      [100, 5],
    ]);
    const denominator = samples(0, [
      [100, 1],
      [100, 1],
      [100, 1],
      [100, 1],
      [100, 1],
    ]);
    expect(runRatio(numerator, denominator).value).toBeCloseTo(500 / 9 / 100, 10);
  });

  it('is unmoved by how each side cuts its operations into slices', () => {
    const whole = samples(0, [[1000, 10]]);
    const cut = samples(0, [
      [100, 1],
      [300, 3],
      [600, 6],
    ]);
    const other = samples(0, [
      [50, 1],
      [50, 1],
      [50, 1],
    ]);
    expect(runRatio(cut, other).value).toBeCloseTo(runRatio(whole, other).value, 10);
    expect(runRatio(cut, other).value).toBeCloseTo(2, 10);
  });

  it('is NaN when a side has no time measured, and takes the round range over rounds both sides have', () => {
    expect(runRatio(undefined, samples(0, [[1, 1]])).value).toBeNaN();
    expect(runRatio(samples(0, [[1, 1]]), []).value).toBeNaN();
    const ratio = runRatio([...samples(0, [[10, 1]]), ...samples(1, [[30, 1]])], samples(0, [[10, 1]]));
    expect(ratio.roundLow).toBe(1);
    expect(ratio.roundHigh).toBe(1);
  });

  it('turned around gives the inverse, and agrees with ratesOf', () => {
    const numerator = [
      ...samples(0, [
        [90, 1],
        [80, 1.1],
      ]),
      ...samples(1, [
        [100, 0.9],
        [70, 1],
      ]),
    ];
    const denominator = [
      ...samples(0, [
        [100, 1.2],
        [95, 1],
      ]),
      ...samples(1, [
        [90, 1],
        [85, 1.3],
      ]),
    ];
    const ratio = runRatio(numerator, denominator);
    const inverse = runRatio(denominator, numerator);
    expect(inverse.value).toBeCloseTo(1 / ratio.value, 10);
    expect(inverse.roundLow).toBeCloseTo(1 / ratio.roundHigh, 10);
    const rates = ratesOf(
      new Map([
        ['a', numerator],
        ['b', denominator],
      ]),
    );
    expect(ratio.value).toBeCloseTo((rates.get('a') as number) / (rates.get('b') as number), 10);
  });
});
