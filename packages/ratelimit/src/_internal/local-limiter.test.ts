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

  it('sliding-window: a refusal is never whole again before it may be retried (issue 17)', () => {
    const { local, clock } = make('sliding-window', 4, 1000);
    expect(seq(local, 'a', 4).every(([allowed]) => allowed)).toBe(true);
    clock.now = 1_000_200;
    const refused = local.decide('a', 1);
    expect(refused.allowed).toBe(false);
    // The 4 requests of this window slide out during the next one: 4 * (1 - f) + 1 <= 4 at
    // f = 1/4, 1 050 ms from now. Only at the end of the next window is the quota whole again.
    expect(refused.retryAfterMs).toBe(1_050);
    expect(refused.resetAt).toBe(1_002_000);
    expect(refused.resetAt).toBeGreaterThanOrEqual(clock.now + refused.retryAfterMs);
    // A peek (cost 1) says the same.
    const peeked = local.decide('a', 0);
    expect([peeked.allowed, peeked.retryAfterMs, peeked.resetAt]).toEqual([
      false,
      1_050,
      1_002_000,
    ]);
    clock.now += 1_049;
    expect(local.decide('a', 1).allowed).toBe(false);
    clock.now += 1;
    expect(local.decide('a', 1).allowed).toBe(true);
  });

  it('token-bucket: a refused cost is admitted exactly retryAfterMs later, not sooner', () => {
    // Found by the property test: the wait was rounded up past the first millisecond that fits.
    const { local, clock } = make('token-bucket', 6, 41);
    expect(local.decide('a', 5).allowed).toBe(true);
    clock.now += 23;
    expect(local.decide('a', 2).allowed).toBe(true);
    expect(local.decide('a', 1).allowed).toBe(true);
    const refused = local.decide('a', 4);
    expect(refused.allowed).toBe(false);
    expect(refused.remaining).toBeLessThan(4);
    expect(refused.resetAt).toBeGreaterThanOrEqual(clock.now + refused.retryAfterMs);
    clock.now += refused.retryAfterMs - 1;
    expect(local.decide('a', 4).allowed).toBe(false);
    clock.now += 1;
    expect(local.decide('a', 4).allowed).toBe(true);
  });

  it('gcra: remaining is what fits right after, also when the interval is not whole', () => {
    // limit 6 per 5 ms: 5 of 6 taken leaves 1 (it used to say 0 through rounding).
    // At a real epoch, where float times are only exact to 1/4096 ms.
    const { local, clock } = make('gcra', 6, 5);
    clock.now = 1_700_000_000_000;
    expect(seq(local, 'a', 1, 5)).toEqual([[true, 1]]);
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
