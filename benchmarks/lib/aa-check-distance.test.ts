import { describe, expect, it } from 'vitest';
import { turnOrder } from './measure.js';

/**
 * Was a defect (helper-113's review): the A/A check (a second no-auth server against the ceiling) is
 * said to show how far the method strays, but it was configured right after the ceiling, and the
 * Williams order always runs contenders whose indices differ by one within two turns of each other,
 * while the target pairs run up to 6 (reused / ceiling) and 8 (fresh / peer fresh) turns apart. It is
 * now fifth of nine, in the order of benchmarks/scenarios/http.ts configsOf (0 ceiling, 1 no-op,
 * 2 tokenguard reused, 3 tokenguard fresh, 4 A/A, 5 verifyOffThread fresh, 6 validate() at once,
 * 7 peer reused, 8 peer fresh); on Hono, auth.protect() with a reused token is ninth of ten, before
 * the peer's fresh tokens.
 */
/**
 * The mean number of turns between contenders `a` and `b` within a slice, over a cycle of the design
 * for `count` contenders.
 */
function meanDistance(a: number, b: number, count = 9): number {
  const rows = 2 * count;
  let sum = 0;
  for (let slice = 0; slice < rows; slice++) {
    const order = Array.from({ length: count }, (_, turn) => turnOrder(turn, slice, 0, count, rows));
    sum += Math.abs(order.indexOf(a) - order.indexOf(b));
  }
  return sum / rows;
}

describe('the HTTP A/A check (was a defect: it probed the closest pairs only)', () => {
  it('pairs its two servers at least as far apart in time as the target ratios pair theirs', () => {
    const aa = meanDistance(4, 0); // 4.44 turns (1.78 when it was second)
    const reusedVersusCeiling = meanDistance(2, 0); // 3.11 turns
    const freshVersusPeer = meanDistance(3, 8); // 4.44 turns
    expect(aa).toBeGreaterThanOrEqual(Math.min(reusedVersusCeiling, freshVersusPeer));
  });

  it("on Hono (ten: auth.protect() ninth, before the peer's fresh tokens), as the middleware's reused row pairs with the ceiling", () => {
    const aa = meanDistance(4, 0, 10); // 4.80 turns
    const reusedVersusCeiling = meanDistance(2, 0, 10); // 3.20 turns
    const protectVersusCeiling = meanDistance(8, 0, 10); // 3.20 turns
    const freshVersusPeer = meanDistance(3, 9, 10); // 4.80 turns
    expect(protectVersusCeiling).toBe(reusedVersusCeiling);
    expect(aa).toBeGreaterThanOrEqual(Math.min(reusedVersusCeiling, freshVersusPeer));
  });
});
