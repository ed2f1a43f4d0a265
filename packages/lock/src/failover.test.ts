import { startReplicaSet } from '@x/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createLockManager, type LockManager } from './lock-manager.js';

const managers: LockManager[] = [];
const clients: Redis[] = [];
afterAll(async () => {
  await Promise.all(managers.map((m) => m.close()));
  for (const c of clients) c.disconnect();
});

describe('Sentinel failover', () => {
  it('follows the new primary; fencing tokens keep increasing, also when it lags behind', async () => {
    const rs = await startReplicaSet({ replicas: 1, sentinels: 3 });
    const locks = createLockManager({
      redis: { sentinels: rs.sentinelAddresses, sentinelName: rs.masterName },
      timeoutMs: 1_000,
      logger: false,
    });
    managers.push(locks);
    const tokens: number[] = [];
    const cycle = async (): Promise<void> => {
      const lock = await locks.acquire('job', { ttlMs: 5_000 });
      tokens.push(lock.fencingToken);
      await lock.release();
    };
    for (let i = 0; i < 5; i++) await cycle();
    const { to } = await rs.failover();
    // What the new primary would hold had it missed the last acquisitions (asynchronous
    // replication): the counter as it was before them.
    const promoted = new Redis(to, '127.0.0.1');
    clients.push(promoted);
    await promoted.set('x:lock:{job}:fence', String(tokens[0]));
    // The manager reaches the new primary by itself (calls in between may fail fast).
    const until = performance.now() + 10_000;
    for (let i = 0; i < 5; ) {
      try {
        await cycle();
        i++;
      } catch (error) {
        if (performance.now() > until) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    expect(tokens).toHaveLength(10);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]!);
    expect(await promoted.call('ROLE').then((r) => (r as string[])[0])).toBe('master');
  }, 30_000);
});
