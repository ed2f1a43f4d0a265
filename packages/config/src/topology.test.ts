import { type ReplicaSetHandle, startCluster, startReplicaSet, waitFor } from '@x/testkit';
import { type Cluster, Redis } from 'ioredis';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient, isCluster, type RedisClient } from './client.js';
import { loadConfig } from './load-config.js';
import { createReplicaRouter } from './replicas.js';
import { waitForReady } from './wait-for-ready.js';

const role = async (c: RedisClient): Promise<string> =>
  ((await (c as Redis).role()) as string[])[0]!;

const opened: RedisClient[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) c.disconnect();
});
async function ready<T extends RedisClient>(client: T): Promise<T> {
  opened.push(client);
  await waitForReady(client, { timeoutMs: 5_000 });
  return client;
}

describe('Sentinel (real sentinels)', () => {
  let rs: ReplicaSetHandle;
  beforeAll(async () => {
    rs = await startReplicaSet({ replicas: 1, sentinels: 3 });
  });

  it('a client from a config with sentinels writes to the primary', async () => {
    const config = loadConfig({
      env: {
        REDIS_SENTINELS: rs.sentinelAddresses.map((a) => `${a.host}:${a.port}`).join(','),
        REDIS_SENTINEL_NAME: rs.masterName,
        REDIS_DB: '2',
      },
    });
    expect(config.mode).toBe('sentinel');
    const client = await ready(createRedisClient(config));
    await client.set('sentinel:key', 'via-sentinel');
    const direct = new Redis(rs.primary.port, '127.0.0.1', { db: 2 });
    opened.push(direct);
    expect(await direct.get('sentinel:key')).toBe('via-sentinel');
    expect(await role(client)).toBe('master');
  });

  it("a replica router reads through a role: 'slave' client", async () => {
    const router = createReplicaRouter({
      sentinels: rs.sentinelAddresses,
      sentinelName: rs.masterName,
      readReplicas: true,
    });
    try {
      expect(router.replicas).toHaveLength(1);
      for (const c of [router.primary, ...router.replicas]) await ready(c);
      expect(await role(router.primary)).toBe('master');
      expect(await router.read(role)).toBe('slave');
      expect(router.stats()).toEqual({ replicaReads: 1, primaryReads: 0, fallbacks: 0 });
    } finally {
      await router.close();
    }
  });
});

describe('Cluster (real cluster)', () => {
  it('a client from a cluster config spreads keys over every master', async () => {
    const cluster = await startCluster({ masters: 3 });
    const config = loadConfig({
      env: {
        REDIS_CLUSTER_MODE: 'true',
        REDIS_CLUSTER_NODES: cluster.startupNodes.map((n) => `${n.host}:${n.port}`).join(','),
      },
    });
    const client = await ready(createRedisClient(config));
    expect(isCluster(client)).toBe(true);
    const c = client as Cluster;
    for (let i = 0; i < 60; i++) await c.set(`key:${i}`, String(i));
    expect(await c.get('key:42')).toBe('42');
    const sizes = await Promise.all(
      cluster.masters.map(async (m) => {
        const node = new Redis(m.port, '127.0.0.1');
        opened.push(node);
        return node.dbsize();
      }),
    );
    expect(sizes).toHaveLength(3);
    for (const size of sizes) expect(size).toBeGreaterThan(0);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(60);
    expect(c.options.enableOfflineQueue).toBe(false);
  });

  it('cluster down at start: creation returns at once, commands reject fast, no crash', async () => {
    const cluster = await startCluster({ masters: 3 });
    const nodes = cluster.startupNodes;
    await cluster.stop();
    const t0 = performance.now();
    const client = createRedisClient({ clusterMode: true, clusterNodes: nodes });
    opened.push(client);
    expect(performance.now() - t0).toBeLessThan(150);
    const t1 = performance.now();
    await expect(client.get('k')).rejects.toThrow(
      /^\[@x\/config\] not connected to the Redis Cluster \(nodes 127\.0\.0\.1:\d+, .*\) \((connecting|reconnecting|connect)\)/,
    );
    expect(performance.now() - t1).toBeLessThan(100);
    await waitFor(
      'a reconnect attempt',
      () => client.status === 'reconnecting' || client.status === 'connecting',
      {
        timeoutMs: 1_000,
      },
    );
  });
});
