import { describe, expect, it } from 'vitest';
import { type Contender, interleaveSlices, SLICES_PER_ROUND } from './measure.js';

/**
 * Was a defect (helper-113's review): turnOrder's Williams rows balance who follows whom within a
 * slice, but the last turn of one slice was followed by the first of the next by a fixed map (even
 * counts: c by c + 1 + count/2; odd counts by one of two), so over a run each contender followed a few
 * others about 1.5× as often as the rest (in HTTP, the ceiling followed tokenguard reused 12 times
 * and the peer's fresh-token configuration 11 times, the others 7-8). Every slice now starts after
 * the same untimed spacer (settleBetweenSlices: a young GC, 8 MiB written over, pending callbacks
 * run), so the first turn of a slice follows the spacer, not whoever ran last.
 */
describe('interleaveSlices (was a defect: slice boundaries carried over unevenly)', () => {
  it('starts every slice after the spacer, and within slices has each contender follow each other one equally often', async () => {
    const count = 11;
    const SPACER = -1;
    const log: number[] = [];
    const contenders: Contender[] = Array.from({ length: count }, (_, i) => ({
      name: `c${i}`,
      prepare: () => ({ ops: SLICES_PER_ROUND, run: () => void log.push(i) }),
    }));
    // 11 rounds of 20 slices after the warm-up round: 220 rows, ten whole cycles of the 22-row design.
    const rounds = 11;
    await interleaveSlices(contenders, rounds, () => void log.push(SPACER));
    const perSlice = count + 1;
    expect(log).toHaveLength((rounds + 1) * SLICES_PER_ROUND * perSlice);
    const follows = new Map<string, number>();
    for (let at = SLICES_PER_ROUND * perSlice; at < log.length; at += perSlice) {
      expect(log[at]).toBe(SPACER);
      for (let k = at + 2; k < at + perSlice; k++) {
        const pair = `${log[k - 1]}>${log[k]}`;
        follows.set(pair, (follows.get(pair) ?? 0) + 1);
      }
    }
    expect(follows.size).toBe(count * (count - 1));
    expect(new Set(follows.values())).toEqual(new Set([20]));
  });
});
