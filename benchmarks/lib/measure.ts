/** One contender of an interleaved measurement. */
export interface Contender {
  readonly name: string;
  /**
   * Prepares one round outside the timed section (the round's token set, say) and returns the timed
   * work with the number of operations it performs.
   */
  prepare(): Promise<TimedWork> | TimedWork;
}

export interface TimedWork {
  readonly ops: number;
  /** Performs operations `start` (inclusive) to `end` (exclusive) of the round's `ops`. */
  run(start: number, end: number): Promise<void> | void;
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

/** Slices each contender's round is cut into; the contenders take turns slice by slice. */
export const SLICES_PER_ROUND = 20;

/**
 * Runs every contender `rounds` times after one untimed warm-up round and returns each
 * contender's median ops/s. Within a round the contenders take turns in short slices (a
 * twentieth of their work each, the order changing every slice: see {@link turnOrder}), so a burst of load from other
 * work on a shared machine falls on all of them alike instead of on whoever was running; each
 * round starts from a full collection and each slice from an empty young generation, so a
 * contender pays for its own garbage. Every loop is bounded by the contenders' `ops`.
 */
export async function interleave(contenders: readonly Contender[], rounds: number): Promise<Medians> {
  return mediansOf(await interleaveRounds(contenders, rounds));
}

/** The median of each contender's rounds. */
export function mediansOf(samples: RoundSamples): Medians {
  const medians: Medians = new Map();
  for (const [name, values] of samples) medians.set(name, median(values));
  return medians;
}

/**
 * Which of `count` contenders runs at `turn` of `slice` in `round`, when a round has `slices` slices:
 * the slices follow the rows of a Williams design, so over every `count` slices (`2 * count` when
 * `count` is odd) each contender runs right after each other one equally often, and each comes first
 * as often. What a contender leaves behind (garbage to collect, cold caches, a server's lingering
 * work) then falls on all the others alike: when the order only rotated, each contender always
 * followed the same one, and a no-auth server measured after an identical one ran 13% faster than it.
 *
 * @example
 * ```ts
 * for (let turn = 0; turn < contenders.length; turn++) run(contenders[turnOrder(turn, slice, round, contenders.length, SLICES_PER_ROUND)]);
 * ```
 */
export function turnOrder(turn: number, slice: number, round: number, count: number, slices: number): number {
  const rows = count % 2 === 0 ? count : 2 * count;
  const row = (((round * slices + slice) % rows) + rows) % rows;
  // Rows count..2*count-1 (odd count only) run rows 0..count-1 backwards.
  const position = row < count ? turn : count - 1 - turn;
  return (williamsFirstRow(position, count) + (row % count)) % count;
}

/** The first row of a Williams design: 0, 1, count-1, 2, count-2, 3, ... */
function williamsFirstRow(position: number, count: number): number {
  if (position === 0) return 0;
  return position % 2 === 1 ? (position + 1) / 2 : count - position / 2;
}

/** Ops/s of each contender in each measured round, by name, in round order (see {@link interleave}). */
export type RoundSamples = Map<string, number[]>;

/** One slice of one contender's round: where it ran, and its rate (operations per second). */
export interface SliceRate {
  readonly round: number;
  readonly slice: number;
  readonly rate: number;
}

/** Every measured slice of each contender, by name. */
export type SliceRates = Map<string, SliceRate[]>;

/** What {@link interleaveSlices} measured: each round's ops/s, and each slice's. */
export interface InterleavedSamples {
  readonly rounds: RoundSamples;
  readonly slices: SliceRates;
}

/** {@link interleave}, keeping every round's ops/s instead of their median. */
export async function interleaveRounds(
  contenders: readonly Contender[],
  rounds: number,
): Promise<RoundSamples> {
  return (await interleaveSlices(contenders, rounds)).rounds;
}

/** {@link interleave}, keeping every round's ops/s and every slice's, for {@link pairedRatio}. */
export async function interleaveSlices(
  contenders: readonly Contender[],
  rounds: number,
): Promise<InterleavedSamples> {
  const samples: RoundSamples = new Map(contenders.map((c) => [c.name, []]));
  const slices: SliceRates = new Map(contenders.map((c) => [c.name, []]));
  for (let round = -1; round < rounds; round++) {
    const works: TimedWork[] = [];
    for (const contender of contenders) works.push(await contender.prepare());
    const elapsedMs = works.map(() => 0);
    collectGarbage();
    for (let slice = 0; slice < SLICES_PER_ROUND; slice++) {
      for (let turn = 0; turn < works.length; turn++) {
        const index = turnOrder(turn, slice, round, works.length, SLICES_PER_ROUND);
        const work = works[index] as TimedWork;
        const start = Math.floor((work.ops * slice) / SLICES_PER_ROUND);
        const end = Math.floor((work.ops * (slice + 1)) / SLICES_PER_ROUND);
        collectYoungGarbage();
        const begin = clock();
        await work.run(start, end);
        const sliceMs = clock() - begin;
        elapsedMs[index] = (elapsedMs[index] as number) + sliceMs;
        if (round >= 0 && end > start) {
          const name = (contenders[index] as Contender).name;
          slices.get(name)?.push({ round, slice, rate: ((end - start) * 1000) / sliceMs });
        }
      }
    }
    if (round < 0) continue;
    works.forEach((work, index) => {
      const name = (contenders[index] as Contender).name;
      samples.get(name)?.push((work.ops * 1000) / (elapsedMs[index] as number));
    });
  }
  return { rounds: samples, slices };
}

/** A ratio of two contenders' rates taken slice by slice: see {@link pairedRatio}. */
export interface PairedRatio {
  /** The median of the ratios of every pair of slices. */
  readonly median: number;
  /** The lowest and highest of each round's own median ratio. */
  readonly roundLow: number;
  readonly roundHigh: number;
}

/**
 * The ratio of two contenders' rates, as the median of the ratios of their slices paired by round
 * and slice: the two slices of a pair ran close together (see {@link turnOrder}), so they
 * share the machine's state of that moment, and a burst of other work that slows a slice or two
 * moves the median little, where it moves a whole round's rate. With `roundLow`/`roundHigh`, the
 * range of each round's median ratio. Slices without a partner (or with no rate) are left out; `NaN`
 * when none is paired.
 *
 * @example
 * ```ts
 * const ratio = pairedRatio(slices.get('tokenguard'), slices.get('floor'));
 * console.log(`${ratio.median.toFixed(2)} (rounds ${ratio.roundLow.toFixed(2)}–${ratio.roundHigh.toFixed(2)})`);
 * ```
 */
export function pairedRatio(
  numerator: readonly SliceRate[] | undefined,
  denominator: readonly SliceRate[] | undefined,
): PairedRatio {
  const partner = new Map((denominator ?? []).map((s) => [`${s.round}/${s.slice}`, s.rate]));
  const all: number[] = [];
  const byRound = new Map<number, number[]>();
  for (const { round, slice, rate } of numerator ?? []) {
    const ratio = rate / (partner.get(`${round}/${slice}`) ?? Number.NaN);
    if (!Number.isFinite(ratio) || ratio <= 0) continue;
    all.push(ratio);
    byRound.set(round, [...(byRound.get(round) ?? []), ratio]);
  }
  const roundMedians = [...byRound.values()].map(median);
  return {
    median: median(all),
    roundLow: roundMedians.length === 0 ? Number.NaN : Math.min(...roundMedians),
    roundHigh: roundMedians.length === 0 ? Number.NaN : Math.max(...roundMedians),
  };
}

const gc = (globalThis as { gc?: (options?: { type: 'major' | 'minor' }) => void }).gc;

/** A full collection when the process runs with `--expose-gc` (as `pnpm bench` does). */
export function collectGarbage(): void {
  gc?.();
}

/** A young-generation collection (a scavenge) when the process runs with `--expose-gc`. */
export function collectYoungGarbage(): void {
  gc?.({ type: 'minor' });
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
