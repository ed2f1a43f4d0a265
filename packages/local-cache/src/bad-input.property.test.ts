import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isLocalCacheError } from './errors.js';
import { createLocalCache } from './local-cache.js';

// Bad input: keys and values are whatever the application hands over (user input, binary
// data read as latin1, very large payloads). The store keeps them exactly, or follows its
// documented rule for an entry larger than `maxBytes` (not stored, counted as an eviction).

/** A string of latin1 characters (one per byte value 0..255). */
const latin1 = (options: { minLength?: number; maxLength?: number } = {}): fc.Arbitrary<string> =>
  fc.string({
    unit: fc.integer({ min: 0, max: 255 }).map((b) => String.fromCharCode(b)),
    ...options,
  });

/** Any UTF-16 code unit, lone surrogates included (a JS string can hold them). */
const codeUnits = (options: { maxLength?: number } = {}): fc.Arbitrary<string> =>
  fc.string({
    unit: fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
      fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
    ),
    ...options,
  });

const anyKey = fc.oneof(
  fc.constant(''),
  latin1(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  codeUnits(),
);

/** A deterministic pseudo-random latin1 string of `length` chars (fast for megabytes). */
function bigLatin1(length: number, seed: number): string {
  const bytes = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes.toString('latin1');
}

describe('local cache with hostile keys and values', () => {
  it('a key made of any byte values (latin1) round-trips exactly, and no two keys collide', () => {
    const cache = createLocalCache();
    try {
      // Every byte value alone, as a key, then read back: 256 distinct keys.
      for (let b = 0; b < 256; b++) expect(cache.set(String.fromCharCode(b), `v${b}`)).toBe(true);
      for (let b = 0; b < 256; b++) expect(cache.get(String.fromCharCode(b))).toBe(`v${b}`);
      expect(cache.stats().size).toBe(256);
      fc.assert(
        fc.property(latin1(), latin1(), latin1(), (k1, k2, value) => {
          cache.clear();
          expect(cache.set(k1, value)).toBe(true);
          expect(cache.get(k1)).toBe(value);
          expect(cache.exists(k1)).toBe(1);
          if (k2 !== k1) {
            expect(cache.get(k2)).toBeNull();
            expect(cache.set(k2, `${value}!`)).toBe(true);
            expect(cache.get(k1)).toBe(value);
            expect(cache.get(k2)).toBe(`${value}!`);
          }
          expect(cache.del(k1)).toBe(1);
          expect(cache.get(k1)).toBeNull();
        }),
        { numRuns: 500 },
      );
    } finally {
      cache.close();
    }
  });

  it('any key (empty, unicode, lone surrogates) and any value round-trip exactly through every type', () => {
    const cache = createLocalCache();
    try {
      fc.assert(
        fc.property(anyKey, anyKey, codeUnits({ maxLength: 200 }), (key, field, value) => {
          cache.clear();
          expect(cache.set(key, value)).toBe(true);
          expect(cache.get(key)).toBe(value);
          expect(cache.mget([key])).toEqual([value]);
          expect(cache.ttl(key)).toBe(-1);
          const hashKey = `h\u0000${key}`;
          expect(cache.hset(hashKey, field, value)).toBe(1);
          expect(cache.hget(hashKey, field)).toBe(value);
          expect(cache.hgetall(hashKey)).toEqual({ [field]: value });
          const listKey = `l\u0000${key}`;
          expect(cache.rpush(listKey, value, field)).toBe(2);
          expect(cache.lrange(listKey, 0, -1)).toEqual([value, field]);
          // The byte count stays consistent with what is held.
          expect(cache.stats().calculatedSize).toBeGreaterThan(0);
        }),
        // A field named like an Object.prototype member must come back like any other.
        {
          numRuns: 500,
          examples: [
            ['k', '__proto__', 'v'],
            ['k', 'constructor', 'v'],
          ],
        },
      );
    } finally {
      cache.close();
    }
  });

  it('very long keys and values up to 5 MB round-trip exactly', () => {
    const cache = createLocalCache();
    try {
      fc.assert(
        fc.property(
          fc.constantFrom(0, 1, 1_000, 100_000, 1_000_000),
          fc.constantFrom(0, 1, 65_536, 1_000_000, 5 * 1024 * 1024),
          fc.integer(),
          (keyLength, valueLength, seed) => {
            cache.clear();
            const key = bigLatin1(keyLength, seed);
            const value = bigLatin1(valueLength, seed + 1);
            expect(cache.set(key, value)).toBe(true);
            const back = cache.get(key);
            expect(back?.length).toBe(value.length);
            expect(back === value).toBe(true);
            expect(cache.stats().calculatedSize).toBe(
              Math.max(1, Buffer.byteLength(key) + Buffer.byteLength(value)),
            );
          },
        ),
        { numRuns: 12 },
      );
    } finally {
      cache.close();
    }
  });

  it('an entry larger than maxBytes is not stored and counted as an eviction (documented), never thrown', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 16, max: 4_096 }),
        anyKey,
        fc.integer({ min: 1, max: 10_000 }),
        (maxBytes, key, extra) => {
          const cache = createLocalCache({ maxBytes, janitorIntervalMs: 0 });
          try {
            cache.set('small', 'x');
            const value = 'v'.repeat(maxBytes + extra);
            expect(cache.set(key, value)).toBe(true);
            expect(cache.get(key)).toBeNull();
            expect(cache.stats().evictions).toBe(1);
            // The other entries are kept.
            if (key !== 'small') expect(cache.get('small')).toBe('x');
            expect(cache.stats().calculatedSize).toBeLessThanOrEqual(maxBytes);
          } finally {
            cache.close();
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a value that is not a string: a typed error, or stored and read back as given; the store keeps working', () => {
    const cache = createLocalCache();
    try {
      fc.assert(
        fc.property(fc.anything(), (value) => {
          cache.clear();
          let stored = false;
          try {
            stored = cache.set('k', value as string);
          } catch (error) {
            if (!isLocalCacheError(error)) {
              throw new Error(`set(key, ${typeof value}) threw an untyped ${String(error)}`);
            }
          }
          // Whatever happened, the store still works.
          expect(cache.set('ok', 'fine')).toBe(true);
          expect(cache.get('ok')).toBe('fine');
          if (stored) {
            let back: unknown;
            try {
              back = cache.get('k');
            } catch (error) {
              throw new Error(
                `set(key, ${typeof value}) was stored but get threw ${String(error)}`,
              );
            }
            expect(back).toBe(value);
          }
        }),
        { numRuns: 200, examples: [[0], [null], [undefined], [Buffer.from('x')], [['a', 'b']]] },
      );
    } finally {
      cache.close();
    }
  });
});
