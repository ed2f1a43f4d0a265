// Each recovery policy, proven by what Redis holds afterwards. The outage is a fault proxy that
// resets every connection: Redis keeps its data, so stale values could resurface.
import { startFaultProxy, startRedis, waitFor } from '@x/testkit';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { FAST, testLogger } from './_internal/testing.js';
import {
  createHybridClient,
  type HybridClient,
  type RecoverEvent,
  type RecoveryPolicy,
} from './index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

async function outageSetup(policy: RecoveryPolicy, extra: { maxJournalKeys?: number } = {}) {
  const redis = await startRedis();
  const proxy = await startFaultProxy({ target: redis });
  const direct = new Redis(redis.url);
  cleanup.push(() => direct.disconnect());
  const logger = testLogger();
  const client: HybridClient = await createHybridClient({
    redis: proxy.url,
    ...FAST,
    onRecovery: policy,
    logger,
    ...extra,
  });
  cleanup.push(() => client.close());
  expect(client.activeBackend).toBe('primary');
  return {
    client,
    direct,
    logger,
    async fail() {
      proxy.reset();
      await waitFor('failover', () => client.activeBackend === 'fallback', { timeoutMs: 2_000 });
    },
    async heal(): Promise<RecoverEvent> {
      const recovered = new Promise<RecoverEvent>((resolve) => client.once('recover', resolve));
      proxy.pass();
      return recovered;
    },
  };
}

/** Writes made through the client before and during the outage. */
async function scenario(s: Awaited<ReturnType<typeof outageSetup>>) {
  const { client } = s;
  await client.set('changed', 'old');
  await client.set('deleted', 'old');
  await client.set('expired', 'old');
  await client.set('untouched', 'old');
  await client.hset('hash', { a: 'old' });
  await client.rpush('list', 'old');
  await s.fail();
  // Any call during the outage must succeed, from memory.
  expect(await client.set('changed', 'new', { ttl: 60_000 })).toBe(true);
  expect(await client.del('deleted')).toBe(0); // memory never had it
  expect(await client.set('expired', 'new', { ttl: 30 })).toBe(true);
  expect(await client.hset('hash', { b: 'new' })).toBe(1);
  expect(await client.rpush('list', 'new')).toBe(1);
  expect(await client.set('fresh', 'new')).toBe(true);
  expect(await client.get('untouched')).toBeNull(); // memory only knows outage writes
  await sleep(60); // 'expired' expires in memory: its journal entry is dropped
}

describe('recovery policies', () => {
  it("'invalidate' deletes every key written or deleted during the outage", async () => {
    const s = await outageSetup('invalidate');
    await scenario(s);
    const event = await s.heal();
    expect(event).toMatchObject({
      policy: 'invalidate',
      reconciledKeys: 5,
      journalOverflowed: false,
    });
    const d = s.direct;
    expect(await d.get('changed')).toBeNull();
    expect(await d.get('deleted')).toBeNull();
    expect(await d.get('fresh')).toBeNull();
    expect(await d.exists('hash', 'list')).toBe(0);
    expect(await d.get('expired')).toBe('old');
    expect(await d.get('untouched')).toBe('old');
    expect(s.logger.count('primary_unavailable')).toBe(1);
    expect(s.logger.count('primary_healthy')).toBe(1);
    expect(s.client.stats().journal.size).toBe(0);
  });

  it("'replay' writes memory's values with their remaining TTL, and deletes back", async () => {
    const s = await outageSetup('replay');
    await scenario(s);
    const event = await s.heal();
    expect(event).toMatchObject({ policy: 'replay', reconciledKeys: 5 });
    const d = s.direct;
    expect(await d.get('changed')).toBe('new');
    const ttl = await d.pttl('changed');
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await d.get('fresh')).toBe('new');
    expect(await d.pttl('fresh')).toBe(-1);
    expect(await d.get('deleted')).toBeNull();
    expect(await d.hgetall('hash')).toEqual({ b: 'new' });
    expect(await d.lrange('list', 0, -1)).toEqual(['new']);
    expect(await d.get('expired')).toBe('old');
    expect(await d.get('untouched')).toBe('old');
    // Back on Redis: reads see Redis.
    expect(await s.client.get('untouched')).toBe('old');
  });

  it("'none' leaves Redis as it was", async () => {
    const s = await outageSetup('none');
    await scenario(s);
    const event = await s.heal();
    expect(event).toMatchObject({ policy: 'none', reconciledKeys: 0 });
    const d = s.direct;
    expect(await d.get('changed')).toBe('old');
    expect(await d.get('deleted')).toBe('old');
    expect(await d.get('fresh')).toBeNull();
    expect(await d.hgetall('hash')).toEqual({ a: 'old' });
  });

  it('a journal overflow is reported in the log line and the event; the policy applies to what it kept', async () => {
    const s = await outageSetup('invalidate', { maxJournalKeys: 3 });
    for (let i = 1; i <= 5; i++) await s.client.set(`k${i}`, 'old');
    await s.fail();
    for (let i = 1; i <= 5; i++) await s.client.set(`k${i}`, 'new');
    // Bounded at 3, oldest out: k4 and k5 pushed out k1 and k2; rewriting k1 (latest wins) pushes out k3.
    await s.client.set('k1', 'newer');
    expect(s.client.stats().journal).toMatchObject({ size: 3, overflowed: true, dropped: 3 });
    const event = await s.heal();
    expect(event).toMatchObject({ journalOverflowed: true, journalDropped: 3, reconciledKeys: 3 });
    const line = s.logger.lines.find((l) => l.fields.reason === 'primary_healthy')!;
    expect(line.fields).toMatchObject({ journalOverflowed: true, journalDropped: 3 });
    expect(line.msg).toContain('journal overflowed');
    const values = await s.direct.mget('k1', 'k2', 'k3', 'k4', 'k5');
    expect(values).toEqual([null, 'old', 'old', null, null]);
  });

  it('writes that keep coming during reconciliation are reconciled too', async () => {
    const s = await outageSetup('invalidate');
    await s.client.set('busy', 'old');
    await s.fail();
    let stop = false;
    const writer = (async () => {
      let i = 0;
      while (!stop) {
        await s.client.set(`busy:${i++ % 50}`, 'during');
        await sleep(1);
      }
    })();
    await s.client.set('busy', 'new');
    await s.heal();
    stop = true;
    await writer;
    expect(await s.direct.get('busy')).toBeNull();
  });
});
