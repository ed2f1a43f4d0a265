import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeDelay, createBackoff, type Jitter, resolveBackoffOptions } from './backoff.js';
import { isReconnectError, ReconnectOptionsError } from './errors.js';

const jitters: Jitter[] = ['none', 'full', 'equal', 'decorrelated'];

const arbOptions = fc
  .record({
    jitter: fc.constantFrom(...jitters),
    minDelayMs: fc.integer({ min: 0, max: 5_000 }),
    span: fc.integer({ min: 0, max: 60_000 }),
    multiplier: fc.double({ min: 1, max: 10, noNaN: true }),
    maxAttempts: fc.integer({ min: 0, max: 40 }),
    seed: fc.integer(),
  })
  .map(({ span, seed, ...rest }) => ({
    ...rest,
    maxDelayMs: rest.minDelayMs + span,
    random: seeded(seed),
  }));

/** A small deterministic PRNG (mulberry32) so failures shrink and replay. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('createBackoff (properties)', () => {
  it('keeps every delay within [minDelayMs, maxDelayMs] and stops after maxAttempts', () => {
    fc.assert(
      fc.property(arbOptions, (options) => {
        const backoff = createBackoff(options);
        const delays: number[] = [];
        for (let i = 0; i < options.maxAttempts + 5; i++) {
          const d = backoff.next();
          if (d === undefined) break;
          delays.push(d);
        }
        expect(delays).toHaveLength(options.maxAttempts);
        expect(backoff.attempt).toBe(options.maxAttempts);
        expect(backoff.next()).toBeUndefined();
        for (const d of delays) {
          expect(Number.isInteger(d) || d === options.minDelayMs || d === options.maxDelayMs).toBe(
            true,
          );
          expect(d).toBeGreaterThanOrEqual(options.minDelayMs);
          expect(d).toBeLessThanOrEqual(options.maxDelayMs);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('decorrelated jitter stays in bounds over long runs, also with extreme random sources', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.array(fc.oneof(fc.double({ min: 0, max: 1, maxExcluded: true }), fc.constant(1)), {
          minLength: 1,
          maxLength: 20,
        }),
        (min, span, randoms) => {
          let i = 0;
          const backoff = createBackoff({
            jitter: 'decorrelated',
            minDelayMs: min,
            maxDelayMs: min + span,
            random: () => randoms[i++ % randoms.length]!,
          });
          let previous = min;
          for (let n = 0; n < 200; n++) {
            const d = backoff.next()!;
            expect(d).toBeGreaterThanOrEqual(min);
            expect(d).toBeLessThanOrEqual(min + span);
            // the window grows at most threefold per step
            expect(d).toBeLessThanOrEqual(Math.max(previous, min, 1) * 3 + 1);
            previous = d;
          }
        },
      ),
    );
  });

  it('reset() starts the sequence over and restores the attempt budget', () => {
    fc.assert(
      fc.property(arbOptions, (options) => {
        const a = createBackoff({ ...options, jitter: 'none' });
        const first = [a.next(), a.next(), a.next()];
        a.reset();
        expect(a.attempt).toBe(0);
        expect([a.next(), a.next(), a.next()]).toEqual(first);
      }),
    );
  });

  it("'none' never decreases and reaches the cap", () => {
    fc.assert(
      fc.property(arbOptions, (options) => {
        const backoff = createBackoff({ ...options, jitter: 'none', maxAttempts: 200 });
        let previous = 0;
        let last = 0;
        for (let i = 0; i < 200; i++) {
          last = backoff.next()!;
          expect(last).toBeGreaterThanOrEqual(previous);
          previous = last;
        }
        if (options.multiplier >= 1.1 && options.minDelayMs > 0) {
          expect(last).toBe(options.maxDelayMs);
        }
      }),
    );
  });
});

describe('createBackoff (examples)', () => {
  it("'none' doubles from min and caps at max", () => {
    const backoff = createBackoff({ jitter: 'none', minDelayMs: 100, maxDelayMs: 1_000 });
    expect(Array.from({ length: 6 }, () => backoff.next())).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
  });

  it("'full' draws in [min, min·multiplierⁿ]", () => {
    const low = createBackoff({ minDelayMs: 50, maxDelayMs: 500, random: () => 0 });
    expect([low.next(), low.next(), low.next()]).toEqual([50, 50, 50]);
    const high = createBackoff({ minDelayMs: 50, maxDelayMs: 500, random: () => 0.999_999 });
    expect(Array.from({ length: 5 }, () => high.next())).toEqual([100, 200, 400, 500, 500]);
  });

  it("'equal' draws in [w/2, w]", () => {
    const low = createBackoff({
      jitter: 'equal',
      minDelayMs: 100,
      maxDelayMs: 10_000,
      random: () => 0,
    });
    expect([low.next(), low.next(), low.next()]).toEqual([100, 200, 400]);
    const mid = createBackoff({
      jitter: 'equal',
      minDelayMs: 100,
      maxDelayMs: 10_000,
      random: () => 0.5,
    });
    expect([mid.next(), mid.next()]).toEqual([150, 300]);
  });

  it("'decorrelated' draws in [min, previous·3]", () => {
    const high = createBackoff({
      jitter: 'decorrelated',
      minDelayMs: 10,
      maxDelayMs: 1_000,
      random: () => 0.999_999_9,
    });
    expect(Array.from({ length: 6 }, () => high.next())).toEqual([30, 90, 270, 810, 1_000, 1_000]);
  });

  it('computeDelay is pure for a given random source', () => {
    const options = resolveBackoffOptions({
      jitter: 'full',
      minDelayMs: 10,
      maxDelayMs: 100,
      random: () => 0.5,
    });
    expect(computeDelay(1, options)).toBe(15);
    expect(computeDelay(1, options)).toBe(15);
    expect(computeDelay(3, options)).toBe(45);
    expect(computeDelay(10, options)).toBe(55);
  });

  it('defaults: full jitter, 100 ms .. 10 s, multiplier 2, unlimited attempts', () => {
    const { options } = createBackoff();
    expect(options).toMatchObject({
      jitter: 'full',
      minDelayMs: 100,
      maxDelayMs: 10_000,
      multiplier: 2,
      maxAttempts: Number.POSITIVE_INFINITY,
    });
    expect(options.random).toBe(Math.random);
  });

  it.each([
    [{ jitter: 'wild' }, 'jitter', 'wild'],
    [{ minDelayMs: -1 }, 'minDelayMs', -1],
    [{ minDelayMs: Number.NaN }, 'minDelayMs', Number.NaN],
    [{ minDelayMs: 500, maxDelayMs: 100 }, 'maxDelayMs', 100],
    [{ multiplier: 0.5 }, 'multiplier', 0.5],
    [{ maxAttempts: 1.5 }, 'maxAttempts', 1.5],
    [{ maxAttempts: -1 }, 'maxAttempts', -1],
    [{ random: 4 }, 'random', 4],
  ])('rejects %o naming the field', (options, field, value) => {
    let caught: unknown;
    try {
      createBackoff(options as never);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ReconnectOptionsError);
    expect(isReconnectError(caught)).toBe(true);
    const error = caught as ReconnectOptionsError;
    expect(error.code).toBe('E_RECONNECT_OPTIONS');
    expect(error.field).toBe(field);
    expect(error.value).toEqual(value);
    expect(error.message).toMatch(new RegExp(`^\\[@x/reconnect\\] invalid option ${field}: `));
  });
});
