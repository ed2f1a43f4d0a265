import { describe, expect, it } from 'vitest';
import { LatencyRing } from './latency.js';

describe('LatencyRing', () => {
  it('reports zeros when empty', () => {
    expect(new LatencyRing(4).summary()).toEqual({ p50: 0, p99: 0, max: 0 });
  });

  it('computes nearest-rank percentiles over the samples', () => {
    const ring = new LatencyRing(1024);
    for (let i = 100; i >= 1; i--) ring.record(i);
    expect(ring.summary()).toEqual({ p50: 50, p99: 99, max: 100 });
  });

  it('keeps only the most recent samples once full', () => {
    const ring = new LatencyRing(4);
    for (const ms of [1000, 900, 1, 2, 3]) ring.record(ms);
    expect(ring.summary().max).toBe(900);
    ring.record(4);
    expect(ring.summary()).toEqual({ p50: 2, p99: 4, max: 4 });
  });

  it('rounds to 0.1 µs and clears', () => {
    const ring = new LatencyRing(8);
    ring.record(0.123456);
    expect(ring.summary().max).toBe(0.1235);
    ring.clear();
    expect(ring.summary()).toEqual({ p50: 0, p99: 0, max: 0 });
  });
});
