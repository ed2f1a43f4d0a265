import { describe, expect, it } from 'vitest';
import type { RateLimitAlgorithm } from '../types.js';
import { LocalLimiter } from './local-limiter.js';

function make(algorithm: RateLimitAlgorithm, limit: number, windowMs: number, maxKeys = 100) {
  const clock = { now: 1_000_000 };
  const local = new LocalLimiter({ algorithm, limit, windowMs, maxKeys, now: () => clock.now });
  return { local, clock };
}

const seq = (local: LocalLimiter, key: string, n: number, cost = 1) =>
  Array.from({ length: n }, () => {
    const r = local.decide(key, cost);
    return [r.allowed, r.remaining];
  });

describe('LocalLimiter (fake clock)', () => {
  it('fixed-window: limit per aligned window', () => {
    const { local, clock } = make('fixed-window', 3, 1000);
    clock.now = 1_000_250;
    expect(seq(local, 'a', 4)).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    const denied = local.decide('a', 1);
    expect(denied.retryAfterMs).toBe(750);
    expect(denied.resetAt).toBe(1_001_000);
    expect(denied.source).toBe('local');
    clock.now = 1_001_000;
    expect(seq(local, 'a', 1)).toEqual([[true, 2]]);
  });

  it('sliding-window: previous window weighted by overlap', () => {
    const { local, clock } = make('sliding-window', 4, 1000);
    expect(seq(local, 'a', 5)).toEqual([
      [true, 3],
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    // 25% into the next window the previous 4 still weigh 3: one more request fits.
    clock.now = 1_001_250;
    expect(seq(local, 'a', 2)).toEqual([
      [true, 0],
      [false, 0],
    ]);
    // previous 4 weigh 4 * (1 - f), current 1: 4(1-f) + 1 + 1 <= 4 at f >= 0.5
    expect(local.decide('a', 1).retryAfterMs).toBe(250);
    clock.now = 1_001_500;
    expect(seq(local, 'a', 2)).toEqual([
      [true, 0],
      [false, 0],
    ]);
  });

  it('token-bucket: refill at limit per window, rejection not charged', () => {
    const { local, clock } = make('token-bucket', 2, 1000);
    expect(seq(local, 'a', 3)).toEqual([
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    expect(local.decide('a', 1).retryAfterMs).toBe(500);
    clock.now += 499;
    expect(local.decide('a', 1).allowed).toBe(false);
    clock.now += 1;
    expect(seq(local, 'a', 2)).toEqual([
      [true, 0],
      [false, 0],
    ]);
    clock.now += 10_000;
    expect(seq(local, 'a', 3)).toEqual([
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
  });

  it('gcra: burst then one per interval', () => {
    const { local, clock } = make('gcra', 4, 1000);
    expect(seq(local, 'a', 5)).toEqual([
      [true, 3],
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    expect(local.decide('a', 1).retryAfterMs).toBe(250);
    clock.now += 250;
    expect(seq(local, 'a', 2)).toEqual([
      [true, 0],
      [false, 0],
    ]);
    expect(seq(local, 'b', 1, 4)).toEqual([[true, 0]]);
  });

  it('peek (cost 0) never charges', () => {
    for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket', 'gcra'] as const) {
      const { local } = make(algorithm, 2, 1000);
      expect(seq(local, 'a', 3, 0)).toEqual([
        [true, 2],
        [true, 2],
        [true, 2],
      ]);
      expect(local.size).toBe(0);
      expect(seq(local, 'a', 1)).toEqual([[true, 1]]);
    }
  });

  it('keeps at most maxKeys, evicting the least recently used', () => {
    const { local } = make('fixed-window', 1, 60_000, 3);
    local.decide('a', 1);
    local.decide('b', 1);
    local.decide('c', 1);
    expect(local.decide('a', 1).allowed).toBe(false); // a is now the most recent
    local.decide('d', 1);
    expect(local.size).toBe(3);
    expect(local.decide('b', 1).allowed).toBe(true); // b was evicted: fresh state
    expect(local.decide('a', 1).allowed).toBe(false);
    local.clear();
  });

  it('sweeps expired keys', () => {
    const { local, clock } = make('gcra', 2, 1000);
    local.decide('a', 1);
    local.decide('b', 1);
    expect(local.size).toBe(2);
    clock.now += 1000;
    local.sweep();
    expect(local.size).toBe(0);
  });
});
