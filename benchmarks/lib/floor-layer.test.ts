import { describe, expect, it } from 'vitest';
import { floorLayerRatio } from './floor-layer.js';

describe('floorLayerRatio', () => {
  const ceiling = { requestsPerSec: 4000, cpuUsPerRequest: 250 };

  it('scales the ceiling by its CPU over the no-op middleware plus the verification', () => {
    const noop = { requestsPerSec: 3800, cpuUsPerRequest: 300 };
    // 4000 req/s × 250 µs / (300 + 100) µs = 2500 req/s, against a peer at 2000.
    expect(floorLayerRatio(ceiling, noop, 100, 2000)).toBeCloseTo(1.25, 10);
  });

  it('counts the ceiling CPU when the no-op middleware measured below it', () => {
    const noop = { requestsPerSec: 4100, cpuUsPerRequest: 240 };
    // 4000 × 250 / (250 + 250) = 2000 req/s, against a peer at 1000.
    expect(floorLayerRatio(ceiling, noop, 250, 1000)).toBeCloseTo(2, 10);
  });

  it('is NaN when a configuration or the floor was not measured', () => {
    expect(floorLayerRatio(undefined, ceiling, 40, 2000)).toBeNaN();
    expect(floorLayerRatio(ceiling, undefined, 40, 2000)).toBeNaN();
    expect(floorLayerRatio(ceiling, ceiling, Number.NaN, 2000)).toBeNaN();
  });
});
