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

/** Ops/s of each contender over a whole run (its operations over its time, every round), by name. */
export type Rates = Map<string, number>;

/** Slices each contender's round is cut into; the contenders take turns slice by slice. */
export const SLICES_PER_ROUND = 20;

/**
 * Runs every contender `rounds` times after one untimed warm-up round and returns each
 * contender's ops/s over the measured rounds (see {@link runRatio} for why a rate over the whole
 * run). Within a round the contenders take turns in short slices (a twentieth of their work each,
 * the order changing every slice: see {@link turnOrder}), so a burst of load from other work on a
 * shared machine falls on all of them alike instead of on whoever was running; each round starts
 * from a full collection and each turn from an empty young generation. Every loop is bounded by the
 * contenders' `ops`.
 */
export async function interleave(contenders: readonly Contender[], rounds: number): Promise<Rates> {
  return ratesOf(await interleaveSlices(contenders, rounds));
}

/** Each contender's operations over its time, summed over every slice it ran. */
export function ratesOf(slices: SliceSamples): Rates {
  return new Map([...slices].map(([name, samples]) => [name, rateOf(samples)]));
}

/** Operations over seconds, summed over `samples`; `NaN` without time measured. */
function rateOf(samples: readonly SliceSample[]): number {
  let ops = 0;
  let seconds = 0;
  for (const sample of samples) {
    ops += sample.ops;
    seconds += sample.seconds;
  }
  return seconds > 0 ? ops / seconds : Number.NaN;
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

/** One slice of one contender's round: where it ran, its operations and the seconds they took. */
export interface SliceSample {
  readonly round: number;
  readonly slice: number;
  readonly ops: number;
  readonly seconds: number;
}

/** Every measured slice of each contender, by name. */
export type SliceSamples = Map<string, SliceSample[]>;

/**
 * {@link interleave}, keeping every slice's operations and time (for {@link runRatio}, and rates
 * round by round). `between` runs, untimed, before the first turn of every slice (by default
 * {@link settleBetweenSlices}). `warmupRounds` rounds, run as the measured ones are but not recorded,
 * come first (rounds -warmupRounds..-1): enough for V8 to have optimized what each contender runs, so
 * the rounds measure the steady state a long-running process is in.
 */
export async function interleaveSlices(
  contenders: readonly Contender[],
  rounds: number,
  between: () => void | Promise<void> = settleBetweenSlices,
  warmupRounds = 1,
): Promise<SliceSamples> {
  if (!Number.isInteger(warmupRounds) || warmupRounds < 0) {
    throw new TypeError(`warmupRounds: a whole number, at least 0 (got ${warmupRounds})`);
  }
  const slices: SliceSamples = new Map(contenders.map((c) => [c.name, []]));
  for (let round = -warmupRounds; round < rounds; round++) {
    const works: TimedWork[] = [];
    for (const contender of contenders) works.push(await contender.prepare());
    collectGarbage();
    for (let slice = 0; slice < SLICES_PER_ROUND; slice++) {
      await between();
      for (let turn = 0; turn < works.length; turn++) {
        const index = turnOrder(turn, slice, round, works.length, SLICES_PER_ROUND);
        const work = works[index] as TimedWork;
        const start = Math.floor((work.ops * slice) / SLICES_PER_ROUND);
        const end = Math.floor((work.ops * (slice + 1)) / SLICES_PER_ROUND);
        collectYoungGarbage();
        const begin = clock();
        await work.run(start, end);
        const sliceMs = clock() - begin;
        if (round >= 0 && end > start) {
          const name = (contenders[index] as Contender).name;
          slices.get(name)?.push({ round, slice, ops: end - start, seconds: sliceMs / 1000 });
        }
      }
    }
  }
  return slices;
}

/** A ratio of two contenders' rates over a whole run: see {@link runRatio}. */
export interface RunRatio {
  /** The ratio of the two rates, each the contender's operations over its time in every round. */
  readonly value: number;
  /** The lowest and highest of the same ratio taken round by round. */
  readonly roundLow: number;
  readonly roundHigh: number;
}

/**
 * The ratio of two contenders' rates: each one's operations over the time it spent on them, summed
 * over every slice of every round. Both ran in the same slices, in a balanced order (see
 * {@link turnOrder}), so other work on the machine took from each the same share of its time on
 * average, whatever the length of its slices: a median of per-slice ratios would not do that (a
 * short slice is often missed by a burst of other work that a long one catches, so the side with
 * the shorter slices would read faster than it is). With `roundLow`/`roundHigh`, the range of the
 * ratio taken round by round (rounds both sides have), which shows how much the machine moved it.
 * `NaN` when a side has no time measured.
 *
 * @example
 * ```ts
 * const ratio = runRatio(slices.get('tokenguard'), slices.get('floor'));
 * console.log(`${ratio.value.toFixed(2)} (rounds ${ratio.roundLow.toFixed(2)}–${ratio.roundHigh.toFixed(2)})`);
 * ```
 */
export function runRatio(
  numerator: readonly SliceSample[] | undefined,
  denominator: readonly SliceSample[] | undefined,
): RunRatio {
  const inRound = (samples: readonly SliceSample[] | undefined, round: number) =>
    (samples ?? []).filter((sample) => sample.round === round);
  const rounds = new Set((numerator ?? []).map((sample) => sample.round));
  const perRound = [...rounds]
    .map((round) => rateOf(inRound(numerator, round)) / rateOf(inRound(denominator, round)))
    .filter(Number.isFinite);
  return {
    value: rateOf(numerator ?? []) / rateOf(denominator ?? []),
    roundLow: perRound.length === 0 ? Number.NaN : Math.min(...perRound),
    roundHigh: perRound.length === 0 ? Number.NaN : Math.max(...perRound),
  };
}

/** Bytes written over between slices: more than the per-core caches of the machines this runs on. */
const SPACER_BYTES = 8 * 1024 * 1024;
let spacer: Uint8Array | undefined;
let spacerValue = 0;

/**
 * Run before the first turn of each slice: collects the young generation, writes over 8 MiB (the
 * previous turn's data leaves the CPU caches) and lets pending callbacks run. Within a slice the
 * balanced order makes each contender follow each other one equally often; this makes the first turn
 * of every slice follow the same thing, instead of whoever ran last in the slice before (the same few
 * contenders, by the design's row-to-row map).
 *
 * @example
 * ```ts
 * for (let slice = 0; slice < SLICES_PER_ROUND; slice++) {
 *   await settleBetweenSlices();
 *   // the slice's turns
 * }
 * ```
 */
export async function settleBetweenSlices(): Promise<void> {
  collectYoungGarbage();
  spacer ??= new Uint8Array(SPACER_BYTES);
  spacer.fill(++spacerValue & 0xff);
  await new Promise<void>((resolve) => setImmediate(resolve));
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
