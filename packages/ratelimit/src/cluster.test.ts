import { startCluster } from '@x/testkit';
import { Cluster } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRateLimiter, type RateLimiter } from './rate-limiter.js';

const limiters: RateLimiter[] = [];
let cluster: Cluster | undefined;

afterAll(async () => {
  await Promise.all(limiters.map((l) => l.close()));
  cluster?.disconnect();
});

describe('Redis Cluster', () => {
  it('decides on a Cluster client with every algorithm, keys spread over the slots', async () => {
    const c = await startCluster({ masters: 3 });
    cluster = new Cluster(c.startupNodes);
    cluster.on('error', () => {});
    for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket', 'gcra'] as const) {
      const rl = createRateLimiter({
        redis: cluster,
        algorithm,
        limit: 2,
        windowMs: 600_000,
        keyPrefix: `${algorithm}:`,
      });
      limiters.push(rl);
      for (const key of ['a', 'b', 'c', 'd']) {
        const seq = [];
        for (let i = 0; i < 3; i++) {
          const r = await rl.consume(key);
          seq.push([r.allowed, r.remaining, r.source]);
        }
        expect(seq).toEqual([
          [true, 1, 'redis'],
          [true, 0, 'redis'],
          [false, 0, 'redis'],
        ]);
      }
    }
    // The injected client is left open.
    expect(cluster.status).toBe('ready');
  });
});
