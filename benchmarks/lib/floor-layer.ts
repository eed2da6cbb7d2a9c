/** What one HTTP configuration measured: its requests per second and its server CPU per request. */
export interface ServerFigures {
  readonly requestsPerSec: number;
  readonly cpuUsPerRequest: number;
}

/**
 * The ratio to the peer that an auth layer on the event loop would reach if it cost the no-op
 * middleware plus `verifyUs` per request (the in-process floor's time per token), estimated from
 * server CPU: the ceiling's req/s scaled by the ceiling's CPU over the layer's, taking req/s as
 * inversely proportional to server CPU. The no-op middleware's CPU counts only when above the
 * ceiling's (below it, it is noise). `NaN` when a figure is missing.
 *
 * @example
 * ```ts
 * const ceiling = { requestsPerSec: 3912, cpuUsPerRequest: 261 };
 * const noop = { requestsPerSec: 3846, cpuUsPerRequest: 289 };
 * floorLayerRatio(ceiling, noop, 39.5, 2157); // 1.44
 * ```
 */
export function floorLayerRatio(
  ceiling: ServerFigures | undefined,
  noop: ServerFigures | undefined,
  verifyUs: number,
  peerRequestsPerSec: number,
): number {
  if (ceiling === undefined || noop === undefined) return Number.NaN;
  const layerCpu = Math.max(noop.cpuUsPerRequest, ceiling.cpuUsPerRequest) + verifyUs;
  return (ceiling.requestsPerSec * ceiling.cpuUsPerRequest) / layerCpu / peerRequestsPerSec;
}
