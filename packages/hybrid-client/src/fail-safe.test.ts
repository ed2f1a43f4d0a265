// The fail-safe: while Redis is unusable, the copies the near cache held are served, marked stale,
// up to failSafeMaxAgeMs after they stopped being tracked; values invalidated before the outage
// are not; on recovery the copies go and Redis serves again.
import { type RedisHandle, sleep, startRedis, waitFor } from '@x/testkit';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { FAST } from './_internal/testing.js';
import { createHybridClient, type HybridClient } from './index.js';

const OPTS = { ...FAST, timeoutMs: 150, logger: false as const };
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function setup(options: Parameters<typeof createHybridClient>[0] = {}): Promise<{
  redis: RedisHandle;
  c: HybridClient;
  other: Redis;
}> {
  const redis = await startRedis();
  const other = new Redis(redis.url, { maxRetriesPerRequest: 0 });
  other.on('error', () => {});
  cleanup.push(() => other.disconnect());
  const c = await createHybridClient({ redis: redis.url, ...OPTS, ...options });
  cleanup.push(() => c.close());
  if (options.nearCache !== false) {
    await waitFor('tracking', () => c.stats().near?.tracking === true);
  }
  return { redis, c, other };
}

const KEYS = Array.from({ length: 300 }, (_, i) => `fs:${i}`);

async function warmAll(c: HybridClient, other: Redis): Promise<void> {
  await other.mset(...KEYS.flatMap((k) => [k, `value of ${k}`]));
  for (const k of KEYS) await c.get(k);
  await sleep(20);
  // Every key is now a fresh copy: a second pass costs no Redis call.
  const calls = c.stats().primary.calls;
  for (const k of KEYS) expect(await c.get(k)).toBe(`value of ${k}`);
  expect(c.stats().primary.calls).toBe(calls);
}

/** Reads every key for `ms` and returns the share of reads that found their value. */
async function hitRatio(c: HybridClient, ms: number): Promise<{ ratio: number; reads: number }> {
  const end = performance.now() + ms;
  let reads = 0;
  let hits = 0;
  while (performance.now() < end) {
    for (const k of KEYS) {
      reads++;
      if ((await c.get(k)) === `value of ${k}`) hits++;
    }
    await sleep(5);
  }
  return { ratio: hits / reads, reads };
}

describe('fail-safe', () => {
  for (const fault of ['kill', 'freeze'] as const) {
    it(`a 4 s outage (${fault}): the keys read before it are served stale (≥ 99 %), then Redis again`, async () => {
      // Every read is a near hit: only the health PING can notice a frozen server.
      const { redis, c, other } = await setup({ healthCheckIntervalMs: 200 });
      await warmAll(c, other);
      const stale = c.stats().near!.staleServes;
      if (fault === 'kill') await redis.kill();
      else await redis.freeze();
      await waitFor('failover', () => c.activeBackend === 'fallback');
      const { ratio, reads } = await hitRatio(c, 4_000);
      expect(reads).toBeGreaterThan(KEYS.length * 10);
      expect(ratio).toBeGreaterThanOrEqual(0.99);
      expect(c.stats().near!.staleServes - stale).toBeGreaterThanOrEqual(reads * 0.99);
      const entry = await c.getEntry(KEYS[0]!);
      expect(entry).toMatchObject({ value: `value of ${KEYS[0]}`, source: 'memory', stale: true });
      expect(entry!.ageMs).toBeGreaterThan(3_000);
      expect(entry!.ageMs).toBeLessThan(60_000);
      // Back: a restarted server is empty, and no copy resurfaces.
      if (fault === 'kill') await redis.restart();
      else await redis.resume();
      await waitFor('recovery', () => c.activeBackend === 'primary', { timeoutMs: 10_000 });
      if (fault === 'kill') {
        expect(await c.get(KEYS[0]!)).toBeNull();
        expect(await c.getEntry(KEYS[1]!)).toBeNull();
      } else {
        const back = await c.getEntry(KEYS[0]!);
        expect(back).toMatchObject({ source: 'redis', stale: false, ageMs: 0 });
        await waitFor('tracking again', () => c.stats().near!.tracking === true);
        await c.get(KEYS[2]!);
        await sleep(20);
        await c.get(KEYS[2]!);
        expect((await c.getEntry(KEYS[2]!))?.source).toBe('near');
      }
    }, 30_000);
  }

  it('without the near cache an outage serves misses (the behaviour it replaces)', async () => {
    const { redis, c, other } = await setup({ nearCache: false });
    await other.mset(...KEYS.flatMap((k) => [k, `value of ${k}`]));
    for (const k of KEYS) await c.get(k);
    await redis.kill();
    await waitFor('failover', () => c.activeBackend === 'fallback');
    const { ratio } = await hitRatio(c, 300);
    expect(ratio).toBe(0);
  });

  it('a copy is not served past failSafeMaxAgeMs after tracking stopped', async () => {
    const { redis, c, other } = await setup({ failSafeMaxAgeMs: 400 });
    await warmAll(c, other);
    await redis.kill();
    await waitFor('failover', () => c.activeBackend === 'fallback');
    expect(await c.get(KEYS[0]!)).toBe(`value of ${KEYS[0]}`);
    await sleep(500);
    expect(await c.get(KEYS[0]!)).toBeNull();
    expect(await c.getEntry(KEYS[1]!)).toBeNull();
    // A copy that is too old is removed when met.
    expect(c.stats().near!.entries).toBeLessThan(KEYS.length);
  });

  it('a value invalidated before the outage is not served; a FLUSHALL voids every copy', async () => {
    const { redis, c, other } = await setup();
    await warmAll(c, other);
    await other.set(KEYS[0]!, 'newer');
    await waitFor('invalidated', () => c.stats().near!.invalidations > 0, { intervalMs: 1 });
    await redis.kill();
    await waitFor('failover', () => c.activeBackend === 'fallback');
    expect(await c.get(KEYS[0]!)).toBeNull();
    expect(await c.get(KEYS[1]!)).toBe(`value of ${KEYS[1]}`);
    await redis.restart();
    await waitFor('recovery', () => c.activeBackend === 'primary', { timeoutMs: 10_000 });
    await waitFor('tracking', () => c.stats().near!.tracking === true);
    await warmAll(c, other);
    await other.flushall();
    await waitFor('flushed', async () => (await c.get(KEYS[0]!)) === null);
    await redis.kill();
    await waitFor('failover', () => c.activeBackend === 'fallback');
    for (const k of KEYS.slice(0, 20)) expect(await c.get(k)).toBeNull();
  }, 30_000);

  it('values written during the outage are served as memory, not stale; mget and hashes too', async () => {
    const { redis, c, other } = await setup();
    await warmAll(c, other);
    await other.hset('fs:h', { a: '1' });
    expect(await c.hgetall('fs:h')).toEqual({ a: '1' });
    await redis.kill();
    await waitFor('failover', () => c.activeBackend === 'fallback');
    await c.set('fs:written', 'during');
    expect(await c.getEntry('fs:written')).toMatchObject({
      value: 'during',
      source: 'memory',
      stale: false,
    });
    expect(await c.mget([KEYS[0]!, 'fs:written', 'fs:none'])).toEqual([
      `value of ${KEYS[0]}`,
      'during',
      null,
    ]);
    expect(await c.hgetall('fs:h')).toEqual({ a: '1' });
    expect(await c.hget('fs:h', 'a')).toBe('1');
    // A copy overwritten in memory becomes an outage write.
    await c.set(KEYS[1]!, 'mine');
    expect(await c.getEntry(KEYS[1]!)).toMatchObject({ value: 'mine', stale: false });
  });

  it('getEntry: redis, then near, and with the sources counted', async () => {
    const { c, other } = await setup();
    await other.set('fs:e', 'v');
    expect(await c.getEntry('fs:e')).toEqual({
      value: 'v',
      source: 'redis',
      stale: false,
      ageMs: 0,
    });
    await sleep(20);
    const near = await c.getEntry('fs:e');
    expect(near).toMatchObject({ value: 'v', source: 'near', stale: false });
    expect(near!.ageMs).toBeGreaterThanOrEqual(10);
    expect(await c.getEntry('fs:missing')).toBeNull();
    await expect(c.getEntry(1 as never)).rejects.toMatchObject({ code: 'E_HYBRID_ARGUMENT' });
  });
});
