import { announceInstance } from '@x/connection';
import type { HybridClientStats } from '@x/hybrid-client';
import { createLockManager, type LockStats } from '@x/lock';
import type { PubSubStats } from '@x/pubsub';
import type { RateLimiterStats } from '@x/ratelimit';
import type { SessionStoreStats } from '@x/session';
import { closeAfter, startRedis } from '@x/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { instrumentedMetrics } from './_fixtures/sdk.js';
import { INSTRUMENTS } from './instruments.js';
import type { HybridStatsShape } from './packages/hybrid-client.js';
import type { LockStatsShape } from './packages/lock.js';
import type { PubSubStatsShape } from './packages/pubsub.js';
import type { RateLimitStatsShape } from './packages/ratelimit.js';
import { REDIS_ROWS } from './packages/redis.js';
import type { SessionStatsShape } from './packages/session.js';
import { TABLES } from './packages/tables.js';

// Compile-time: every field a table reads exists, with its type, in the package's stats() (a
// rename in a package fails the typecheck here).
export const shapes: [
  Required<LockStatsShape>,
  Required<RateLimitStatsShape>,
  Required<PubSubStatsShape>,
  Required<SessionStatsShape>,
  // The hybrid client's fields, but the older `fallback` and the coming `near`.
  Pick<
    Required<HybridStatsShape>,
    'activeBackend' | 'memory' | 'failovers' | 'recoveries' | 'fallbackMs' | 'journal' | 'local'
  >,
] = [
  {} as LockStats,
  {} as RateLimiterStats,
  {} as PubSubStats,
  {} as SessionStoreStats,
  {} as HybridClientStats,
];

const cleanup = closeAfter(afterEach);

const setup = () => instrumentedMetrics(cleanup);

describe('package tables', () => {
  it('every row names a known instrument; every observed instrument is read by some row', () => {
    const used = new Set<string>(['instances']);
    for (const table of TABLES.values()) for (const row of table.rows) used.add(row.instrument);
    for (const row of REDIS_ROWS) used.add(row.instrument);
    for (const key of used) expect(INSTRUMENTS).toHaveProperty(key);
    const observed = Object.entries(INSTRUMENTS)
      .filter(([, spec]) => spec.kind !== 'histogram')
      .map(([key]) => key);
    expect(observed.filter((key) => !used.has(key))).toEqual([]);
    expect([...TABLES.keys()].sort()).toEqual([
      '@x/hybrid-client',
      '@x/lock',
      '@x/pubsub',
      '@x/ratelimit',
      '@x/session',
    ]);
  });

  it('hybrid-client: memory serves from memory.calls (or the older fallback.calls); the near cache once stats() has it', async () => {
    const { collect } = setup();
    // Instances announced the way @x/hybrid-client announces its own, with the stats() shapes of
    // its versions: without a near cache (memory.calls, or fallback.calls before), and with one.
    const older = {
      stats: () => ({ activeBackend: 'fallback', fallback: { calls: 4 }, redis: null }),
    };
    const current = {
      stats: () => ({
        activeBackend: 'primary',
        memory: { calls: 2 },
        failovers: 1,
        recoveries: 1,
        fallbackMs: 1_500,
        journal: { size: 0, maxKeys: 10, overflowed: false, dropped: 3 },
        local: { hits: 7, misses: 1, evictions: 0, itemCount: 5, calculatedSize: 640 },
        near: { hits: 90, misses: 10, invalidations: 4, staleServes: 2, entries: 5, bytes: 640 },
        redis: null,
      }),
    };
    announceInstance('@x/hybrid-client', 'open', older, 'old');
    announceInstance('@x/hybrid-client', 'open', current, 'new');
    cleanup.push(() => announceInstance('@x/hybrid-client', 'close', older));
    cleanup.push(() => announceInstance('@x/hybrid-client', 'close', current));
    const c = await collect();
    const of = (name: string) => ({ 'x.package': '@x/hybrid-client', 'x.name': name });
    expect(c.value('x.fallback.served', { ...of('old'), 'x.source': 'memory' })).toBe(4);
    expect(c.value('x.fallback.served', { ...of('new'), 'x.source': 'memory' })).toBe(2);
    expect(c.value('x.hybrid.backend', { ...of('old'), 'x.state': 'fallback' })).toBe(1);
    expect(c.value('x.hybrid.backend', { ...of('new'), 'x.state': 'primary' })).toBe(1);
    expect(c.value('x.cache.near.hits', of('old'))).toBeUndefined();
    expect(c.value('x.cache.near.hits', of('new'))).toBe(90);
    expect(c.value('x.cache.near.misses', of('new'))).toBe(10);
    expect(c.value('x.cache.near.invalidations', of('new'))).toBe(4);
    expect(c.value('x.cache.near.stale', of('new'))).toBe(2);
    expect(c.value('x.cache.near.entries', of('new'))).toBe(5);
    expect(c.value('x.cache.near.size', of('new'))).toBe(640);
    expect(c.value('x.hybrid.fallback.time', of('new'))).toBe(1.5);
    expect(c.value('x.hybrid.journal.dropped', of('new'))).toBe(3);
    expect(c.value('x.cache.local.hits', of('new'))).toBe(7);
    // A memory-only client has no connection: no redis series.
    expect(c.series('x.redis.calls', { 'x.package': '@x/hybrid-client' })).toEqual([]);
  });

  it('a stats() that throws, or fields of the wrong type, observe nothing and break nothing', async () => {
    const { collect } = setup();
    const broken = {
      stats: (): unknown => {
        throw new Error('closed');
      },
    };
    const odd = { stats: () => ({ acquired: 'many', held: Number.NaN, redis: { name: 1 } }) };
    announceInstance('@x/lock', 'open', broken);
    announceInstance('@x/lock', 'open', odd);
    cleanup.push(() => announceInstance('@x/lock', 'close', broken));
    cleanup.push(() => announceInstance('@x/lock', 'close', odd));
    const c = await collect();
    expect(c.value('x.instances', { 'x.package': '@x/lock' })).toBe(1);
    expect(c.series('x.lock.acquired')).toEqual([]);
    expect(c.series('x.lock.held')).toEqual([]);
    expect(c.series('x.redis.calls')).toEqual([]);
  });

  it('lock in quorum mode: one series per server (x.connection), each with its state', async () => {
    const { collect } = setup();
    const servers = await Promise.all([startRedis(), startRedis(), startRedis()]);
    const locks = createLockManager({ redis: servers.map((s) => s.url), logger: false });
    cleanup.push(() => locks.close());
    const lock = await locks.acquire('job', { ttlMs: 2_000 });
    await lock.release();
    const c = await collect();
    for (const i of [0, 1, 2]) {
      expect(
        c.value('x.redis.calls', { 'x.package': '@x/lock', 'x.connection': `@x/lock[${i}]` }),
      ).toBeGreaterThanOrEqual(2);
    }
    expect(c.value('x.lock.acquired', { 'x.package': '@x/lock' })).toBe(1);
    expect(c.value('x.instances', { 'x.package': '@x/lock' })).toBe(1);
  });
});
