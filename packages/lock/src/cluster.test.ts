import { startCluster } from '@x/testkit';
import { Cluster } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createLockManager, type LockManager } from './lock-manager.js';

let cluster: Cluster | undefined;
let locks: LockManager | undefined;

afterAll(async () => {
  await locks?.close();
  cluster?.disconnect();
});

describe('Redis Cluster', () => {
  it('locks keys in every slot range (lock and fence key share a hash slot)', async () => {
    const c = await startCluster({ masters: 3 });
    cluster = new Cluster(c.startupNodes);
    cluster.on('error', () => {});
    locks = createLockManager({ redis: cluster, timeoutMs: 2000 });
    for (const key of ['alpha', 'beta', 'gamma', 'delta', 'epsilon']) {
      const first = await locks.acquire(key, { ttlMs: 5000 });
      expect(await locks.tryAcquire(key)).toBeUndefined();
      await first.extend(6000);
      expect(await first.release()).toBe(true);
      const second = await locks.acquire(key);
      expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
      await second.release();
    }
    expect(cluster.status).toBe('ready');
  });
});
