/**
 * A duration in words, rounded to its largest unit: `45s`, `4m`, `2h 5m`, `3d 4h`.
 *
 * @example
 * ```ts
 * formatDuration(245); // '4m'
 * ```
 */
export function formatDuration(seconds: number): string {
  const total = Math.round(Math.abs(seconds));
  if (total < 60) return `${total}s`;
  const minutes = Math.floor(total / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 === 0 ? `${hours}h` : `${hours}h ${minutes % 60}m`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days}d` : `${days}d ${hours % 24}h`;
}

/**
 * `in 4m` or `4m ago` for a NumericDate (seconds since the epoch) relative to `nowMs`.
 *
 * @example
 * ```ts
 * formatRelative(1_700_000_240, 1_700_000_000_000); // 'in 4m'
 * ```
 */
export function formatRelative(numericDate: number, nowMs: number): string {
  const delta = numericDate - nowMs / 1000;
  if (Math.abs(delta) < 1) return 'now';
  return delta > 0 ? `in ${formatDuration(delta)}` : `${formatDuration(delta)} ago`;
}

/**
 * A NumericDate as an ISO 8601 date, or `undefined` when it is not a usable number.
 *
 * @example
 * ```ts
 * formatDate(0); // '1970-01-01T00:00:00.000Z'
 * ```
 */
export function formatDate(numericDate: unknown): string | undefined {
  if (typeof numericDate !== 'number' || !Number.isFinite(numericDate)) return undefined;
  const date = new Date(numericDate * 1000);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
