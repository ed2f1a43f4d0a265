// The packages declare `ioredis: ^5.9 || ^6` as a peer. The rest of the suite runs on 5.x (the
// workspace's dev copy); this file drives every package through an ioredis 6 client, which
// defaults to RESP3, to prove the upper half of the range.
import { createHealthChecker } from '@x/health';
import { createHybridClient } from '@x/hybrid-client';
import { createLockManager } from '@x/lock';
import { createPubSub } from '@x/pubsub';
import { createRateLimiter } from '@x/ratelimit';
import { createSessionStore } from '@x/session';
import { startRedis, waitFor } from '@x/testkit';
import Redis6 from 'ioredis6';
import { afterEach, describe, expect, it } from 'vitest';

// The packages are typed against the workspace's ioredis 5; at run time they accept any
// client by shape, which is what this suite checks.
type AnyClient = never;
const clients: Redis6[] = [];
function connect(url: string): Redis6 {
  const client = new Redis6(url, { retryStrategy: () => 50 });
  client.on('error', () => {});
  clients.push(client);
  return client;
}
afterEach(() => {
  for (const c of clients.splice(0)) c.disconnect();
});

describe('ioredis 6 clients', () => {
  it('is really ioredis 6 speaking RESP3', async () => {
    const redis = await startRedis();
    const client = connect(redis.url);
    const hello = (await client.call('HELLO')) as unknown;
    const proto = Array.isArray(hello)
      ? hello[hello.indexOf('proto') + 1]
      : (hello as Record<string, unknown>).proto;
    expect(Number(proto)).toBe(3);
  });

  it('@x/hybrid-client: same results, failover and recovery', async () => {
    const redis = await startRedis();
    const client = connect(redis.url);
    const cache = await createHybridClient({
      redis: client as AnyClient,
      timeoutMs: 200,
      probeIntervalMs: 100,
      logger: () => {},
    });
    try {
      expect(cache.activeBackend).toBe('primary');
      // A given standalone client gets its near cache: wait for tracking so what the outage
      // serves below does not depend on how fast it was set up.
      await waitFor('near-cache tracking', () => cache.stats().near?.tracking === true, {
        timeoutMs: 5_000,
      });
      expect(await cache.set('k', 'v', { ttl: 10_000 })).toBe(true);
      expect(await cache.get('k')).toBe('v');
      expect(await cache.get('missing')).toBeNull();
      await cache.hset('h', { a: '1', b: '2' });
      expect(await cache.hgetall('h')).toEqual({ a: '1', b: '2' });
      expect(await cache.hgetall('nope')).toEqual({});
      await cache.rpush('l', 'x', 'y');
      expect(await cache.lrange('l', 0, -1)).toEqual(['x', 'y']);
      expect(await cache.mget(['k', 'missing'])).toEqual(['v', null]);
      expect(await cache.incrBy('n', 5)).toBe(5);
      const ttl = await cache.ttl('k');
      expect(ttl).toBeGreaterThan(9_000);
      expect(await cache.getOrSet('g', async () => 'loaded')).toBe('loaded');

      await redis.kill();
      // Memory, never an exception: the hot set (read while tracked) is served from its copy,
      // a key never read is a miss.
      expect(await cache.get('k')).toBe('v');
      expect(await cache.get('never-read')).toBeNull();
      expect(cache.activeBackend).toBe('fallback');
      expect(await cache.set('during', 'outage')).toBe(true);
      await redis.restart();
      await waitFor('the hybrid client back on Redis', () => cache.activeBackend === 'primary', {
        timeoutMs: 5_000,
      });
      expect(await cache.set('after', '1')).toBe(true);
      expect(await client.get('after')).toBe('1');
    } finally {
      await cache.close();
    }
    expect(client.status).toBe('ready'); // not closed: it was passed in
  });

  it('@x/lock: acquire, fencing tokens, release', async () => {
    const redis = await startRedis();
    const locks = createLockManager({ redis: connect(redis.url) as AnyClient });
    try {
      const a = await locks.acquire('job', { ttlMs: 5_000 });
      expect(await locks.tryAcquire('job', { ttlMs: 5_000 })).toBeUndefined();
      expect(await a.release()).toBe(true);
      const b = await locks.acquire('job', { ttlMs: 5_000 });
      expect(Number(b.fencingToken)).toBeGreaterThan(Number(a.fencingToken));
      await b.extend(5_000);
      expect(b.expiresAt).toBeGreaterThan(Date.now() + 4_000);
      expect(await b.release()).toBe(true);
    } finally {
      await locks.close();
    }
  });

  it('@x/ratelimit: every algorithm admits exactly the limit', async () => {
    const redis = await startRedis();
    const client = connect(redis.url);
    for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket', 'gcra'] as const) {
      const limiter = createRateLimiter({
        redis: client as AnyClient,
        algorithm,
        limit: 3,
        windowMs: 10_000,
      });
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await limiter.consume(`rl:${algorithm}`));
      expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
      expect(results.every((r) => r.source === 'redis')).toBe(true);
      expect(results[3]!.retryAfterMs).toBeGreaterThan(0);
      await limiter.close();
    }
  });

  it('@x/session: create, update, list, destroy', async () => {
    const redis = await startRedis();
    const sessions = createSessionStore({ redis: connect(redis.url) as AnyClient, ttlMs: 60_000 });
    try {
      const id = await sessions.create('u1', { role: 'admin' });
      await sessions.update(id, { theme: 'dark' });
      const got = await sessions.get(id);
      expect(got?.data).toEqual({ role: 'admin', theme: 'dark' });
      expect((await sessions.listUserSessions('u1')).map((s) => s.id)).toEqual([id]);
      expect(await sessions.destroy(id)).toBe(true);
      expect(await sessions.get(id)).toBeNull();
    } finally {
      await sessions.close();
    }
  });

  it('@x/pubsub: publish and receive', async () => {
    const redis = await startRedis();
    const client = connect(redis.url);
    const pubsub = createPubSub({ redis: client as AnyClient });
    try {
      const sub = pubsub.subscribe('orders');
      await sub.ready;
      expect(await pubsub.publish('orders', { id: 1 })).toBe(1);
      for await (const { channel, data } of sub) {
        expect(channel).toBe('orders');
        expect(data).toEqual({ id: 1 });
        break;
      }
    } finally {
      await pubsub.close();
    }
    expect(client.status).toBe('ready');
  });

  it('@x/health: a check over ioredis 6', async () => {
    const redis = await startRedis();
    const checker = createHealthChecker({
      client: connect(redis.url) as AnyClient,
      autoStart: false,
    });
    const result = await checker.check();
    expect(result.healthy).toBe(true);
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    checker.stop();
  });
});
