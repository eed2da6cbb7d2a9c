import { describe, expect, it } from 'vitest';
import { type Contender, interleaveSlices, SLICES_PER_ROUND } from './measure.js';

/**
 * Failing on purpose: turnOrder's Williams rows balance who follows whom within a slice, but the
 * contenders run one long sequence, and the last of one slice's row is followed by the first of the
 * next row by a fixed map (even counts: c is always followed by c + 1 + count/2; odd counts by one of
 * two): over the runs, each contender follows a few others about 1.5× as often as the rest. In-process
 * RS256 (11 contenders), the floor follows fast-jwt's cached contenders 13-14 times in 100 slices
 * against 8-10 for the others; in HTTP (9 configurations, 7 rounds) the ceiling follows tokenguard
 * reused 12 times and the peer's fresh-token configuration 11 times, the others 7-8. The notes' "each
 * follows each other one equally often" and turnOrder's "what a contender leaves behind ... falls on
 * all the others alike" hold within slices only.
 * Fix: give the first turn of every slice the same predecessor for all (an untimed spacer run, the same
 * each slice, before the row), which the balance of first places then spreads evenly; or order the
 * rows so that the row-to-row transitions also cycle through every pair.
 */
describe('interleaveSlices (defect: slice boundaries carry over unevenly)', () => {
  it('runs each contender right after each other one equally often over a whole cycle of rounds', async () => {
    const count = 11;
    const log: number[] = [];
    const contenders: Contender[] = Array.from({ length: count }, (_, i) => ({
      name: `c${i}`,
      prepare: () => ({ ops: SLICES_PER_ROUND, run: () => void log.push(i) }),
    }));
    // 11 rounds of 20 slices: 220 rows, ten whole cycles of the 22-row design.
    const rounds = 11;
    await interleaveSlices(contenders, rounds);
    const perRound = SLICES_PER_ROUND * count;
    const follows = new Map<string, number>();
    for (let round = 1; round <= rounds; round++) {
      // Within each measured round (a full GC separates rounds), every run after the first.
      for (let k = round * perRound + 1; k < (round + 1) * perRound; k++) {
        const pair = `${log[k - 1]}>${log[k]}`;
        follows.set(pair, (follows.get(pair) ?? 0) + 1);
      }
    }
    const counts = [...follows.values()];
    // 20 within slices for every pair; the boundaries add ~10 to 22 fixed pairs.
    expect(Math.max(...counts) / Math.min(...counts)).toBeLessThanOrEqual(1.2);
  });
});
