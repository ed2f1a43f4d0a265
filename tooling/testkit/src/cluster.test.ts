import Redis, { Cluster } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { startCluster } from './cluster';

describe('startCluster', () => {
  it('routes keys across three masters and fails a master over to its replica', async () => {
    const cluster = await startCluster({ masters: 3, replicasPerMaster: 1 });
    expect(cluster.masters).toHaveLength(3);
    expect(cluster.replicas).toHaveLength(3);
    const client = new Cluster(cluster.startupNodes, { redisOptions: { maxRetriesPerRequest: 1 } });
    client.on('error', () => {});
    try {
      const keys = Array.from({ length: 30 }, (_, i) => `key:${i}`);
      for (const k of keys) await client.set(k, k);
      // Every master holds some of the keys.
      const counts: number[] = [];
      for (const m of cluster.masters) {
        const direct = new Redis({ port: m.port, host: '127.0.0.1', lazyConnect: true });
        await direct.connect();
        counts.push(await direct.dbsize());
        direct.disconnect();
      }
      expect(counts.every((c) => c > 0)).toBe(true);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(keys.length);

      const { from, to } = await cluster.failover(0);
      expect(from).not.toBe(to);
      expect(cluster.masters.map((m) => m.port)).toContain(to);
      for (const k of keys) expect(await client.get(k)).toBe(k);
    } finally {
      client.disconnect();
    }
  }, 60_000);
});
