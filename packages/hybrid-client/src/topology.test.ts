// Sentinel and Cluster: the same client, no error reaches the application.
import { startCluster, startRedis, startReplicaSet, waitFor } from '@x/testkit';
import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { FAST, testLogger } from './_internal/testing.js';
import { createHybridClient, type HybridClient } from './index.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

describe('Sentinel', () => {
  it('a failover mid-traffic surfaces no error to cache calls, and ends on the new primary', async () => {
    const rs = await startReplicaSet({ replicas: 1, sentinels: 3 });
    const logger = testLogger();
    const client = await createHybridClient({
      redis: { sentinels: rs.sentinelAddresses, sentinelName: rs.masterName },
      ...FAST,
      timeoutMs: 200,
      logger,
    });
    cleanup.push(() => client.close());
    expect(client.activeBackend).toBe('primary');
    let stop = false;
    let calls = 0;
    const errors: unknown[] = [];
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        try {
          if (i % 2 === 0) await client.set(`s${w}:${i % 10}`, String(i));
          else await client.get(`s${w}:${i % 10}`);
          calls++;
        } catch (error) {
          errors.push(error);
        }
        if (i % 5 === 0) await new Promise((r) => setImmediate(r));
      }
    };
    const running = Promise.all(Array.from({ length: 10 }, (_, w) => worker(w)));
    await new Promise((r) => setTimeout(r, 200));
    const { to } = await rs.failover();
    const direct = new Redis({ port: to, host: '127.0.0.1' });
    cleanup.push(() => direct.disconnect());
    // The client follows the switch by itself: its writes land on the new primary.
    let n = 0;
    await waitFor(
      'writes on the new primary',
      async () => {
        const value = `v${n++}`;
        await client.set('after-failover', value);
        return client.activeBackend === 'primary' && (await direct.get('after-failover')) === value;
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    stop = true;
    await running;
    expect(errors).toEqual([]);
    expect(calls).toBeGreaterThan(100);
    // Outages (if the client noticed one) are logged once each way.
    expect(logger.count('primary_unavailable')).toBe(logger.count('primary_healthy'));
  });
});

describe('Cluster', () => {
  it('spreads keys over every master, multi-key calls work across slots', async () => {
    const cluster = await startCluster({ masters: 3, replicasPerMaster: 0 });
    const client: HybridClient = await createHybridClient({
      redis: { clusterNodes: cluster.startupNodes, mode: 'cluster' },
      ...FAST,
      startupProbeTimeoutMs: 3_000,
      logger: false,
    });
    cleanup.push(() => client.close());
    expect(client.activeBackend).toBe('primary');
    const keys = Array.from({ length: 60 }, (_, i) => client.keys.of('item', i));
    for (const key of keys) expect(await client.set(key, 'v')).toBe(true);
    await client.mset(Object.fromEntries(keys.slice(0, 10).map((k) => [k, 'm'])), { ttl: 60_000 });
    expect(await client.mget(keys.slice(0, 12))).toEqual([...Array(10).fill('m'), 'v', 'v']);
    expect(await client.exists(...keys)).toBe(60);
    expect(await client.getOrSet(client.keys.of('lazy'), () => 'loaded')).toBe('loaded');
    const perMaster: number[] = [];
    for (const master of cluster.masters) {
      const node = new Redis({ host: master.host, port: master.port });
      cleanup.push(() => node.disconnect());
      perMaster.push(await node.dbsize());
    }
    expect(perMaster).toHaveLength(3);
    expect(perMaster.every((n) => n > 0)).toBe(true);
    expect(perMaster.reduce((a, b) => a + b, 0)).toBe(61);
    expect(await client.del(...keys)).toBe(60);
    expect(client.stats().memory.calls).toBe(0);
  });

  it('accepts an existing Cluster client and never closes it', async () => {
    const cluster = await startCluster({ masters: 3, replicasPerMaster: 0 });
    const user = new Cluster(cluster.startupNodes);
    user.on('error', () => {});
    cleanup.push(() => user.disconnect());
    const client = await createHybridClient({
      redis: user,
      ...FAST,
      startupProbeTimeoutMs: 3_000,
      logger: false,
    });
    expect(client.activeBackend).toBe('primary');
    await client.set('x', '1');
    await client.close();
    expect(user.status).toBe('ready');
    expect(await user.get('x')).toBe('1');
  });
});

describe('a given client keeps its own options on the hot path', () => {
  it.each([
    ['keyPrefix', { keyPrefix: 'pre:' }],
    ['keyPrefix with auto-pipelining', { keyPrefix: 'pre:', enableAutoPipelining: true }],
    ['keyPrefix with friendly error stacks', { keyPrefix: 'pre:', showFriendlyErrorStack: true }],
  ])('%s: GET / SET use the prefix like the client itself', async (_name, options) => {
    const r = await startRedis();
    const user = new Redis(r.url, options);
    const raw = new Redis(r.url);
    user.on('error', () => {});
    raw.on('error', () => {});
    cleanup.push(() => {
      user.disconnect();
      raw.disconnect();
    });
    const client = await createHybridClient({ redis: user, ...FAST, logger: false });
    cleanup.push(() => client.close());
    expect(await client.set('k', 'v1', { ttl: 5_000 })).toBe(true);
    expect(await client.set('k', 'v2', { nx: true })).toBe(false);
    expect(await client.set('k', 'v3', { xx: true })).toBe(true);
    expect(await client.get('k')).toBe('v3');
    expect(await raw.get('pre:k')).toBe('v3');
    expect(await raw.get('k')).toBeNull();
    expect(await raw.pttl('pre:k')).toBe(-1); // the xx write had no TTL: Redis drops it
    expect(client.stats().memory.calls).toBe(0);
  });
});
