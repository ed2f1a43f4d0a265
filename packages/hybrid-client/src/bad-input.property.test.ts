import { startRedis } from '@x/testkit';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isHybridClientError } from './errors.js';
import { createHybridClient, type HybridClient } from './index.js';

// Bad input: keys and values are whatever the application hands over. On every backend a key or
// value comes back exactly as written, or the call fails with a typed error (HybridClientError
// `E_ARGUMENT`); the two backends never disagree, and Redis never silently falls back to memory.

/** A string of latin1 characters (one per byte value 0..255). */
const latin1 = (options: { minLength?: number; maxLength?: number } = {}): fc.Arbitrary<string> =>
  fc.string({
    unit: fc.integer({ min: 0, max: 255 }).map((b) => String.fromCharCode(b)),
    ...options,
  });

/** Any UTF-16 code unit, lone surrogates included (a JS string can hold them). */
const codeUnits = (
  options: { minLength?: number; maxLength?: number } = {},
): fc.Arbitrary<string> =>
  fc.string({
    unit: fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
      fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
    ),
    ...options,
  });

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

/** `set` then `get`: the value back, or the typed error `set`/`get` failed with. */
async function roundTrip(
  client: HybridClient,
  key: string,
  value: string,
): Promise<{ value: string | null } | { error: unknown }> {
  try {
    await client.set(key, value);
    return { value: await client.get(key) };
  } catch (error) {
    return { error };
  }
}

function expectExactOrTyped(
  outcome: { value: string | null } | { error: unknown },
  expected: string,
): void {
  if ('error' in outcome) {
    expect(isHybridClientError(outcome.error)).toBe(true);
    expect((outcome.error as { code: string }).code).toBe('E_HYBRID_ARGUMENT');
    return;
  }
  // Compared as code units, so that a U+FFFD replacing a lone surrogate shows in the report.
  if (outcome.value !== expected) {
    throw new Error(
      `round trip changed the value: wrote ${JSON.stringify(expected.slice(0, 40))} (${expected.length} units), read ${JSON.stringify(outcome.value?.slice(0, 40) ?? null)} (${outcome.value?.length ?? 0} units)`,
    );
  }
}

// Generous deadline: a 5 MB write must not time out and end in memory on a loaded machine.
const OPTS = {
  timeoutMs: 3_000,
  probeIntervalMs: 100,
  startupProbeTimeoutMs: 1_000,
  logger: false,
} as const;

interface Backend {
  name: string;
  client: HybridClient;
  /** A raw client on the same server, to check what Redis holds (undefined: memory only). */
  raw: Redis | undefined;
}

const backends: Backend[] = [];

beforeAll(async () => {
  const redisOnly = await startRedis();
  const hybrid = await startRedis();
  const raws = [redisOnly, hybrid].map((r) => {
    const raw = new Redis(r.url, { maxRetriesPerRequest: 1 });
    raw.on('error', () => {});
    return raw;
  });
  backends.push(
    { name: 'memory only', client: await createHybridClient({ ...OPTS }), raw: undefined },
    {
      name: 'redis only',
      client: await createHybridClient({ redis: redisOnly.url, fallback: 'none', ...OPTS }),
      raw: raws[0],
    },
    {
      name: 'hybrid on redis',
      client: await createHybridClient({ redis: hybrid.url, ...OPTS }),
      raw: raws[1],
    },
  );
});

afterAll(async () => {
  for (const b of backends) {
    await b.client.close();
    b.raw?.disconnect();
  }
});

describe.each(['memory only', 'redis only', 'hybrid on redis'])('%s', (name) => {
  const backend = (): Backend => backends.find((b) => b.name === name)!;

  /** No call ended in memory by accident: a Redis backend stayed on Redis. */
  function expectStillOnItsBackend(): void {
    const { client, raw } = backend();
    expect(client.activeBackend).toBe(raw === undefined ? 'fallback' : 'primary');
    if (raw !== undefined) expect(client.stats().primary.failures).toBe(0);
  }

  it('every byte value 0..255 as a one-char key: 256 distinct keys, each read back exactly', async () => {
    const { client, raw } = backend();
    const keys = Array.from({ length: 256 }, (_, b) => `b:${String.fromCharCode(b)}`);
    for (const [b, key] of keys.entries()) expect(await client.set(key, `v${b}`)).toBe(true);
    expect(await client.mget(keys)).toEqual(keys.map((_, b) => `v${b}`));
    if (raw) expect(await raw.mget(keys)).toEqual(keys.map((_, b) => `v${b}`));
    expect(await client.del(...keys)).toBe(256);
    expectStillOnItsBackend();
  });

  it('latin1 keys and values (any byte values) round-trip exactly', async () => {
    const { client, raw } = backend();
    await fc.assert(
      fc.asyncProperty(latin1(), latin1({ maxLength: 300 }), async (key, value) => {
        expectExactOrTyped(await roundTrip(client, key, value), value);
        if (raw) expect(await raw.get(key)).toBe(value);
        expect(await client.del(key)).toBe(1);
      }),
      { numRuns: 150 },
    );
    expectStillOnItsBackend();
  });

  it('unicode keys and values (well-formed UTF-16) round-trip exactly, hashes and lists too', async () => {
    const { client } = backend();
    const text = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }));
    await fc.assert(
      fc.asyncProperty(text, text, text, async (key, field, value) => {
        expectExactOrTyped(await roundTrip(client, key, value), value);
        const h = `h:${key}`;
        await client.hset(h, field, value);
        expect(await client.hget(h, field)).toBe(value);
        expect(await client.hgetall(h)).toEqual({ [field]: value });
        const l = `l:${key}`;
        await client.rpush(l, value, field);
        expect(await client.lrange(l, 0, -1)).toEqual([value, field]);
        expect(await client.del(key, h, l)).toBe(3);
      }),
      // A field named like an Object.prototype member must come back like any other.
      {
        numRuns: 100,
        examples: [
          ['k', '__proto__', 'v'],
          ['k', 'constructor', 'v'],
        ],
      },
    );
    expectStillOnItsBackend();
  });

  it('values with lone surrogates: exact round trip or a typed error', async () => {
    const { client } = backend();
    await fc.assert(
      fc.asyncProperty(
        codeUnits({ maxLength: 20 }),
        codeUnits({ maxLength: 20 }),
        async (key, value) => {
          expectExactOrTyped(await roundTrip(client, `sv:${key}`, value), value);
          await client.del(`sv:${key}`).catch(() => 0);
        },
      ),
      {
        numRuns: 100,
        examples: [
          ['', '\uD800'],
          ['', 'a\uDC00b'],
        ],
      },
    );
  });

  it('keys that differ only by a lone surrogate stay distinct (or are rejected with a typed error)', async () => {
    const { client } = backend();
    const lone = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 10 }), lone, async (stem, surrogate) => {
        // The second key holds U+FFFD where the first holds the lone surrogate.
        const k1 = `sk:${stem}${surrogate}`;
        const k2 = `sk:${stem}\uFFFD`;
        try {
          await client.set(k1, 'first');
          await client.set(k2, 'second');
          const back = await client.get(k1);
          if (back !== 'first') {
            throw new Error(
              `writing ${JSON.stringify(k2)} overwrote ${JSON.stringify(k1)}: get(k1) = ${JSON.stringify(back)}`,
            );
          }
        } catch (error) {
          if (!isHybridClientError(error)) throw error;
          expect(error.code).toBe('E_HYBRID_ARGUMENT');
        } finally {
          await client.del(k1, k2).catch(() => 0);
        }
      }),
      { numRuns: 50, examples: [['', '\uD800']] },
    );
  });

  it('the empty key, very long keys and values up to 5 MB round-trip exactly', async () => {
    const { client, raw } = backend();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(0, 1, 10_000, 100_000, 1_000_000),
        fc.constantFrom(0, 1, 65_536, 1_000_000, 5 * 1024 * 1024),
        fc.integer(),
        async (keyLength, valueLength, seed) => {
          const key = bigLatin1(keyLength, seed);
          const value = bigLatin1(valueLength, seed + 1);
          expectExactOrTyped(await roundTrip(client, key, value), value);
          if (raw) expect((await raw.get(key)) === value).toBe(true);
          expect(await client.exists(key)).toBe(1);
          expect(await client.del(key)).toBe(1);
        },
      ),
      {
        numRuns: 8,
        examples: [
          [0, 0, 1],
          [0, 5 * 1024 * 1024, 2],
          [1_000_000, 5 * 1024 * 1024, 3],
        ],
      },
    );
    expectStillOnItsBackend();
  });

  it('a value that is not a string: a typed error, the same on every backend', async () => {
    const { client } = backend();
    await fc.assert(
      fc.asyncProperty(
        fc.anything().filter((v) => typeof v !== 'string'),
        async (value) => {
          let error: unknown;
          try {
            await client.set('not-a-string', value as string);
          } catch (e) {
            error = e;
          }
          await client.del('not-a-string').catch(() => 0);
          if (!isHybridClientError(error) || error.code !== 'E_HYBRID_ARGUMENT') {
            throw new Error(
              `set(key, ${typeof value}) did not fail with E_ARGUMENT: ${error === undefined ? 'it was stored' : String(error)}`,
            );
          }
        },
      ),
      { numRuns: 50, examples: [[5], [null], [['a', 'b']]] },
    );
  });
});
