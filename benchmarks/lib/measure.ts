/** One contender of an interleaved measurement. */
export interface Contender {
  readonly name: string;
  /**
   * Prepares one round outside the timed section (a fresh validator, say) and returns the timed
   * work with the number of operations it performs.
   */
  prepare(): Promise<TimedWork> | TimedWork;
}

export interface TimedWork {
  readonly ops: number;
  run(): Promise<void> | void;
}

/**
 * Milliseconds of wall time (the default: ops/s as users see them, and how the reference
 * figures were taken), or with `BENCH_CLOCK=cpu` of this process's CPU time (user + system, every
 * thread: parallel GC threads then count twice, which penalises whoever allocates).
 */
export function clock(): number {
  if (process.env.BENCH_CLOCK !== 'cpu') return performance.now();
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Median ops/s of each contender, by name. */
export type Medians = Map<string, number>;

/**
 * Runs every contender `rounds` times, alternating between them (the order rotates each round so
 * none always runs first after a GC of another's garbage), after one untimed warm-up round, and
 * returns each contender's median ops/s. Every loop is bounded by the contenders' `ops`.
 */
export async function interleave(contenders: readonly Contender[], rounds: number): Promise<Medians> {
  const samples = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let round = -1; round < rounds; round++) {
    for (let i = 0; i < contenders.length; i++) {
      const contender = contenders[(i + Math.max(round, 0)) % contenders.length] as Contender;
      const work = await contender.prepare();
      // Each round starts from a collected heap, so no contender pays for another's garbage.
      collectGarbage();
      const start = clock();
      await work.run();
      const elapsedMs = clock() - start;
      if (round >= 0) samples.get(contender.name)?.push((work.ops * 1000) / elapsedMs);
    }
  }
  const medians: Medians = new Map();
  for (const [name, values] of samples) medians.set(name, median(values));
  return medians;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** A full collection when the process runs with `--expose-gc` (as `pnpm bench` does). */
export function collectGarbage(): void {
  gc?.();
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
