import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toRetryStrategy } from './retry-strategy.js';

describe('toRetryStrategy', () => {
  it('returns delays within bounds and null after maxAttempts', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('none', 'full', 'equal', 'decorrelated' as const),
        fc.integer({ min: 0, max: 1_000 }),
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 1, max: 30 }),
        (jitter, min, span, maxAttempts) => {
          const strategy = toRetryStrategy({
            jitter,
            minDelayMs: min,
            maxDelayMs: min + span,
            maxAttempts,
          });
          for (let times = 1; times <= maxAttempts; times++) {
            const delay = strategy(times);
            expect(delay).not.toBeNull();
            expect(delay).toBeGreaterThanOrEqual(min);
            expect(delay).toBeLessThanOrEqual(min + span);
          }
          expect(strategy(maxAttempts + 1)).toBeNull();
        },
      ),
    );
  });

  it('follows ioredis times: the sequence starts over at times = 1', () => {
    const strategy = toRetryStrategy({ jitter: 'none', minDelayMs: 50, maxDelayMs: 500 });
    expect([1, 2, 3, 4, 5].map(strategy)).toEqual([50, 100, 200, 400, 500]);
    expect([1, 2].map(strategy)).toEqual([50, 100]);
  });

  it('decorrelated: restarts from min after a successful connection', () => {
    const strategy = toRetryStrategy({
      jitter: 'decorrelated',
      minDelayMs: 10,
      maxDelayMs: 10_000,
      random: () => 0.999_999_9,
    });
    expect([1, 2, 3].map(strategy)).toEqual([30, 90, 270]);
    expect(strategy(1)).toBe(30);
  });

  it('validates its options', () => {
    expect(() => toRetryStrategy({ maxDelayMs: -5 })).toThrow(/invalid option maxDelayMs/);
  });
});
