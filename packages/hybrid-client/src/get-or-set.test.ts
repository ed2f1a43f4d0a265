// getOrSet: single-flight, the fail-safe (a loader that throws or passes hardTimeoutMs answers with
// the last known value, held briefly), soft and hard timeouts with background completion.
import { type RedisHandle, sleep, startRedis, waitFor } from '@x/testkit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FAST } from './_internal/testing.js';
import { FAIL_SAFE_HOLD_MS } from './get-or-set.js';
import { createHybridClient, type HybridClient } from './index.js';

const OPTS = { ...FAST, timeoutMs: 2_000, logger: false as const };
let redis: RedisHandle;
let other: Redis;
const open: HybridClient[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

beforeAll(async () => {
  redis = await startRedis();
  other = new Redis(redis.url);
  process.on('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  other.disconnect();
  await redis.stop();
});

async function client(options: Parameters<typeof createHybridClient>[0] = {}) {
  const c = await createHybridClient({ redis: redis.url, ...OPTS, ...options });
  open.push(c);
  await waitFor('tracking', () => c.stats().near?.tracking === true);
  return c;
}

let n = 0;
const key = (s: string) => `gs${++n}:${s}`;
const failing = () => Promise.reject(new Error('database down'));
const slow = (value: string, ms: number) => () =>
  new Promise<string>((resolve) => setTimeout(() => resolve(value), ms));

/** A key whose copy Redis invalidated (deleted by another client): the last known value. */
async function superseded(c: HybridClient, value: string): Promise<string> {
  const k = key('last');
  await other.set(k, value);
  expect(await c.get(k)).toBe(value);
  const before = c.stats().near!.invalidations;
  await other.del(k);
  await waitFor('invalidated', () => c.stats().near!.invalidations > before, { intervalMs: 1 });
  return k;
}

describe('getOrSet', () => {
  it('single-flight: concurrent callers share one load, which is stored', async () => {
    const c = await client();
    const k = key('sf');
    let calls = 0;
    const loader = () => {
      calls++;
      return slow('loaded', 50)();
    };
    const all = await Promise.all(Array.from({ length: 10 }, () => c.getOrSet(k, loader)));
    expect(all).toEqual(Array(10).fill('loaded'));
    expect(calls).toBe(1);
    expect(await other.get(k)).toBe('loaded');
  });

  it('a loader error reaches every waiter and nothing is stored (no value at hand)', async () => {
    const c = await client();
    const k = key('err');
    const results = await Promise.allSettled([c.getOrSet(k, failing), c.getOrSet(k, failing)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await other.exists(k)).toBe(0);
  });

  it('fail-safe: a loader that throws answers with the last known value, then holds it briefly', async () => {
    const c = await client();
    const k = await superseded(c, 'before');
    expect(await c.get(k)).toBeNull();
    expect(await c.getOrSet(k, failing)).toBe('before');
    let calls = 0;
    const counting = () => {
      calls++;
      return 'fresh';
    };
    // Held: the failing database is not called again at once.
    expect(await c.getOrSet(k, counting)).toBe('before');
    expect(calls).toBe(0);
    expect(FAIL_SAFE_HOLD_MS).toBe(5_000);
    // Nothing was stored in Redis meanwhile.
    expect(await other.exists(k)).toBe(0);
  });

  it('failSafe: false: the loader error is the answer', async () => {
    const c = await client();
    const k = await superseded(c, 'before');
    await expect(c.getOrSet(k, failing, { failSafe: false })).rejects.toThrow('database down');
  });

  it('softTimeoutMs: the last known value at once, the load completes in the background', async () => {
    const c = await client();
    const k = await superseded(c, 'old');
    const t0 = performance.now();
    expect(await c.getOrSet(k, slow('new', 300), { softTimeoutMs: 40 })).toBe('old');
    expect(performance.now() - t0).toBeLessThan(250);
    await waitFor('stored by the background load', async () => (await other.get(k)) === 'new');
    expect(await c.getOrSet(k, failing)).toBe('new');
    // A load that fails in the background reaches nobody.
    const k2 = await superseded(c, 'old2');
    const late = () => sleep(100).then(() => Promise.reject(new Error('late failure')));
    expect(await c.getOrSet(k2, late, { softTimeoutMs: 20 })).toBe('old2');
    await sleep(200);
    expect(unhandled).toEqual([]);
  });

  it('softTimeoutMs without a value at hand waits for the load', async () => {
    const c = await client();
    expect(await c.getOrSet(key('nosoft'), slow('v', 100), { softTimeoutMs: 10 })).toBe('v');
  });

  it('hardTimeoutMs: the last known value, or E_HYBRID_LOADER_TIMEOUT; the load still completes', async () => {
    const c = await client();
    const k = await superseded(c, 'old');
    expect(await c.getOrSet(k, slow('new', 300), { hardTimeoutMs: 50 })).toBe('old');
    const k2 = key('hard');
    const t0 = performance.now();
    await expect(c.getOrSet(k2, slow('v', 300), { hardTimeoutMs: 50 })).rejects.toMatchObject({
      code: 'E_HYBRID_LOADER_TIMEOUT',
      field: 'hardTimeoutMs',
    });
    expect(performance.now() - t0).toBeLessThan(250);
    await waitFor('stored by the background load', async () => (await other.get(k2)) === 'v');
    expect(unhandled).toEqual([]);
  });

  it('a copy that expired in Redis is the last known value (the TTL is the logical expiry)', async () => {
    const c = await client();
    const k = key('ttl');
    expect(await c.getOrSet(k, () => 'first', { ttl: 150 })).toBe('first');
    expect(await c.get(k)).toBe('first');
    await sleep(20);
    expect(await c.get(k)).toBe('first');
    await waitFor('expired', async () => (await other.exists(k)) === 0, { intervalMs: 10 });
    await waitFor('invalidated', async () => (await c.get(k)) === null, { intervalMs: 10 });
    expect(await c.getOrSet(k, slow('second', 200), { softTimeoutMs: 20 })).toBe('first');
    await waitFor('reloaded', async () => (await c.get(k)) === 'second');
  });

  it('during an outage a copy is served without calling the loader', async () => {
    const r = await startRedis();
    const c = await createHybridClient({ redis: r.url, ...FAST, timeoutMs: 150, logger: false });
    open.push(c);
    await waitFor('tracking', () => c.stats().near?.tracking === true);
    expect(await c.getOrSet('o:k', () => 'v')).toBe('v');
    // The miss made Redis track the key, so the write invalidates it for us too: a moment later
    // a read installs the copy for good.
    await sleep(20);
    expect(await c.get('o:k')).toBe('v');
    expect((await c.getEntry('o:k'))?.source).toBe('near');
    await r.kill();
    await waitFor('failover', () => c.activeBackend === 'fallback');
    let calls = 0;
    expect(
      await c.getOrSet('o:k', () => {
        calls++;
        return 'x';
      }),
    ).toBe('v');
    expect(calls).toBe(0);
  });

  it('rejects bad options, naming the field', async () => {
    const c = await client();
    for (const [options, field] of [
      [{ softTimeoutMs: 0 }, 'softTimeoutMs'],
      [{ hardTimeoutMs: 1.5 }, 'hardTimeoutMs'],
      [{ ttl: -1 }, 'ttl'],
      [{ failSafe: 'yes' }, 'failSafe'],
      ['fast', 'options'],
    ] as const) {
      await expect(c.getOrSet('k', () => 'v', options as never)).rejects.toMatchObject({
        code: 'E_HYBRID_ARGUMENT',
        field,
      });
    }
  });
});
