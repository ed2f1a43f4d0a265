// The near cache on Sentinel and Cluster: tracking on the primary (re-established after a
// Sentinel failover), on every Cluster node (each node's invalidation connection on that node),
// followed through a Cluster failover and a slot migration.
import { type ClusterHandle, sleep, startCluster, startReplicaSet, waitFor } from '@x/testkit';
import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { FAST } from './_internal/testing.js';
import { createHybridClient, type HybridClient } from './index.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function direct(port: number): Redis {
  const r = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
  r.on('error', () => {});
  cleanup.push(() => r.disconnect());
  return r;
}

/** Waits until `c` serves `value` for `k`. */
async function until(c: HybridClient, k: string, value: string | null, timeoutMs = 5_000) {
  await waitFor(`${k} = ${value}`, async () => (await c.get(k)) === value, {
    timeoutMs,
    intervalMs: 5,
  });
}

/** Reads `k` until a read is a near hit (a copy is installed) and returns the value. */
async function cached(c: HybridClient, k: string): Promise<string | null> {
  return (
    await waitFor(
      `a copy of ${k}`,
      async () => {
        const entry = await c.getEntry(k);
        return entry?.source === 'near' ? entry : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 10 },
    )
  ).value;
}

/** The invalidation connections of the near cache on the server at `port`, from `CLIENT LIST`. */
async function invalidationConnections(port: number): Promise<number> {
  const list = String(await direct(port).call('CLIENT', 'LIST'));
  return list.split('\n').filter((l) => /name=@x\/hybrid-client:invalidation:/.test(l)).length;
}

describe('near cache on Sentinel', () => {
  it('tracks on the primary; a failover re-establishes tracking on the new primary', async () => {
    const rs = await startReplicaSet({ replicas: 1, sentinels: 3 });
    const c = await createHybridClient({
      redis: { sentinels: rs.sentinelAddresses, sentinelName: rs.masterName },
      ...FAST,
      timeoutMs: 500,
      logger: false,
    });
    cleanup.push(() => c.close());
    await waitFor('tracking', () => c.stats().near?.tracking === true);
    const from = rs.primary.port;
    expect(await invalidationConnections(from)).toBe(1);
    const writer = direct(from);
    await writer.set('s:k', 'v1');
    expect(await cached(c, 's:k')).toBe('v1');
    await writer.set('s:k', 'v2');
    await until(c, 's:k', 'v2');
    const established = c.stats().near!.epoch;

    const { to } = await rs.failover();
    expect(to).not.toBe(from);
    // Tracking is lost with the old primary's connections and set up again on the new one.
    await waitFor(
      'tracking on the new primary',
      async () =>
        c.stats().near!.tracking === true &&
        c.stats().near!.epoch > established &&
        (await invalidationConnections(to)) === 1,
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    const newWriter = direct(to);
    await until(c, 's:k', 'v2', 10_000);
    expect(await cached(c, 's:k')).toBe('v2');
    await newWriter.set('s:k', 'v3');
    await until(c, 's:k', 'v3');
    expect(await cached(c, 's:k')).toBe('v3');
  }, 60_000);
});

describe('near cache on Cluster', () => {
  async function setup(
    cluster: ClusterHandle,
  ): Promise<{ c: HybridClient; writer: Cluster; keys: string[] }> {
    const c = await createHybridClient({
      redis: { clusterNodes: cluster.startupNodes, mode: 'cluster' },
      ...FAST,
      timeoutMs: 1_000,
      startupProbeTimeoutMs: 3_000,
      logger: false,
    });
    cleanup.push(() => c.close());
    const writer = new Cluster(cluster.startupNodes, { redisOptions: { maxRetriesPerRequest: 2 } });
    writer.on('error', () => {});
    cleanup.push(() => writer.disconnect());
    await waitFor('tracking on every node', () => c.stats().near?.tracking === true, {
      timeoutMs: 10_000,
    });
    // Keys on every master.
    const keys = Array.from({ length: 30 }, (_, i) => `cl:${i}`);
    for (const k of keys) await writer.set(k, 'v1');
    return { c, writer, keys };
  }

  it('every master is tracked with an invalidation connection on that node; writes on any master invalidate', async () => {
    const cluster = await startCluster({ masters: 3, replicasPerMaster: 1 });
    const { c, writer, keys } = await setup(cluster);
    // Every master (replicas too when ioredis has them in its pool: it lists what CLUSTER SLOTS
    // said at its last refresh, and sends nothing to a node outside it without a +node first).
    for (const node of cluster.masters) expect(await invalidationConnections(node.port)).toBe(1);
    for (const k of keys) expect(await cached(c, k)).toBe('v1');
    const calls = c.stats().primary.calls;
    for (const k of keys) expect(await c.get(k)).toBe('v1');
    expect(c.stats().primary.calls).toBe(calls);
    for (const k of keys) await writer.set(k, 'v2');
    for (const k of keys) await until(c, k, 'v2');
    expect(c.stats().near!.invalidations).toBeGreaterThanOrEqual(keys.length);
    // mget across slots, partly from copies.
    expect(await c.mget(keys.slice(0, 5))).toEqual(Array(5).fill('v2'));
  }, 60_000);

  it('a failover: copies are re-read from the new master, whose writes invalidate them', async () => {
    const cluster = await startCluster({ masters: 3, replicasPerMaster: 1 });
    const { c, writer, keys } = await setup(cluster);
    for (const k of keys) expect(await cached(c, k)).toBe('v1');
    await cluster.failover(0);
    await waitFor('tracking after the failover', () => c.stats().near?.tracking === true, {
      timeoutMs: 15_000,
    });
    for (let round = 2; round <= 3; round++) {
      const value = `v${round}`;
      for (const k of keys) {
        await waitFor(`write ${k}`, () => writer.set(k, value).then(() => true), {
          timeoutMs: 10_000,
        });
      }
      for (const k of keys) await until(c, k, value, 10_000);
      for (const k of keys.slice(0, 10)) expect(await cached(c, k)).toBe(value);
    }
  }, 90_000);

  it('a slot migration: the source node invalidates the migrated key; the target tracks it after', async () => {
    const cluster = await startCluster({ masters: 3, replicasPerMaster: 0 });
    const { c, writer } = await setup(cluster);
    const k = 'migrate:{m}';
    await writer.set(k, 'v1');
    expect(await cached(c, k)).toBe('v1');
    const slot = Number(await writer.cluster('KEYSLOT', k));
    // Find the source (holds the slot) and pick another master as the target.
    let source: number | undefined;
    for (const m of cluster.masters) {
      const n = (await direct(m.port).call('CLUSTER', 'COUNTKEYSINSLOT', slot)) as number;
      if (n > 0) source = m.port;
    }
    expect(source).toBeDefined();
    const target = cluster.masters.find((m) => m.port !== source)!.port;
    const src = direct(source!);
    const dst = direct(target);
    const srcId = String(await src.call('CLUSTER', 'MYID'));
    const dstId = String(await dst.call('CLUSTER', 'MYID'));
    const invalidations = c.stats().near!.invalidations;
    await dst.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', srcId);
    await src.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', dstId);
    await src.call('MIGRATE', '127.0.0.1', target, '', 0, 5_000, 'KEYS', k);
    for (const m of cluster.masters) {
      await direct(m.port).call('CLUSTER', 'SETSLOT', slot, 'NODE', dstId);
    }
    // The source deleted the key when it migrated it: the copy is gone.
    await waitFor(
      'invalidated by the migration',
      () => c.stats().near!.invalidations > invalidations,
    );
    expect(await c.getEntry(k)).toMatchObject({ value: 'v1', source: 'redis' });
    await sleep(50);
    expect(await cached(c, k)).toBe('v1');
    // Written on the target, through a client that knows the new owner.
    expect(Number(await dst.call('CLUSTER', 'COUNTKEYSINSLOT', slot))).toBe(1);
    await dst.set(k, 'v2');
    await until(c, k, 'v2');
    expect(await cached(c, k)).toBe('v2');
  }, 60_000);
});
