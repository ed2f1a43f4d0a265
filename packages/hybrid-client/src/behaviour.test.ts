// One behavioural suite, run against every backend: the results must be identical.
import { startRedis } from '@x/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST, testLogger } from './_internal/testing.js';
import { isHybridClientError, isWrongTypeError } from './errors.js';
import { createHybridClient, type HybridClient } from './index.js';

type Setup = () => Promise<{
  client: HybridClient;
  backend: 'primary' | 'fallback';
  done: () => Promise<void>;
}>;

// Generous deadlines: this suite checks results, not timing (a loaded machine must not turn a
// slow reply into a fallback and make the results differ).
const OPTS = { ...FAST, timeoutMs: 3_000 };

const setups: Record<string, Setup> = {
  'memory only': async () => {
    const client = await createHybridClient({ logger: false });
    return { client, backend: 'fallback', done: () => client.close() };
  },
  'redis only': async () => {
    const redis = await startRedis();
    const client = await createHybridClient({
      redis: redis.url,
      fallback: 'none',
      ...OPTS,
      logger: false,
    });
    return { client, backend: 'primary', done: () => client.close() };
  },
  'hybrid on redis': async () => {
    const redis = await startRedis();
    const client = await createHybridClient({ redis: redis.url, ...OPTS, logger: false });
    return { client, backend: 'primary', done: () => client.close() };
  },
  'hybrid on a user client': async () => {
    const redis = await startRedis();
    const user = new Redis(redis.url);
    user.on('error', () => {});
    const client = await createHybridClient({ redis: user, ...OPTS, logger: false });
    return {
      client,
      backend: 'primary',
      done: async () => {
        await client.close();
        user.disconnect();
      },
    };
  },
  'hybrid in fallback (redis down)': async () => {
    const redis = await startRedis();
    await redis.kill();
    const logger = testLogger();
    const client = await createHybridClient({ redis: redis.url, ...OPTS, logger });
    return { client, backend: 'fallback', done: () => client.close() };
  },
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

for (const [name, setup] of Object.entries(setups)) {
  describe(`behaviour: ${name}`, () => {
    let c: HybridClient;
    let done: () => Promise<void>;
    let n = 0;
    // A fresh key namespace per test: no cleanup between tests needed.
    const k = (s: string) => `t${n}:${s}`;

    beforeAll(async () => {
      const s = await setup();
      c = s.client;
      done = s.done;
      expect(c.activeBackend).toBe(s.backend);
    });
    afterAll(() => done());

    it('strings: get/set/del/exists; a miss is null', async () => {
      n++;
      expect(await c.get(k('a'))).toBeNull();
      expect(await c.set(k('a'), 'v1')).toBe(true);
      expect(await c.get(k('a'))).toBe('v1');
      expect(await c.exists(k('a'), k('b'))).toBe(1);
      expect(await c.del(k('a'), k('b'))).toBe(1);
      expect(await c.get(k('a'))).toBeNull();
      expect(await c.del(k('none'))).toBe(0);
    });

    it('set nx / xx, setNX', async () => {
      n++;
      expect(await c.set(k('x'), 'v', { xx: true })).toBe(false);
      expect(await c.setNX(k('x'), 'first')).toBe(true);
      expect(await c.setNX(k('x'), 'second')).toBe(false);
      expect(await c.set(k('x'), 'third', { nx: true, ttl: 5_000 })).toBe(false);
      expect(await c.set(k('x'), 'fourth', { xx: true, ttl: 5_000 })).toBe(true);
      expect(await c.get(k('x'))).toBe('fourth');
      const ttl = await c.ttl(k('x'));
      expect(ttl).toBeGreaterThan(4_000);
      expect(ttl).toBeLessThanOrEqual(5_000);
    });

    it('TTLs in ms: expiry, ttl(), expire()', async () => {
      n++;
      await c.set(k('t'), 'v', { ttl: 80 });
      await c.set(k('p'), 'v');
      expect(await c.ttl(k('p'))).toBe(-1);
      expect(await c.ttl(k('missing'))).toBe(-2);
      expect(await c.expire(k('missing'), 1_000)).toBe(false);
      expect(await c.expire(k('p'), 2_000)).toBe(true);
      expect(await c.ttl(k('p'))).toBeGreaterThan(1_500);
      await sleep(150);
      expect(await c.get(k('t'))).toBeNull();
      expect(await c.expire(k('p'), -1)).toBe(true);
      expect(await c.exists(k('p'))).toBe(0);
    });

    it('incrBy keeps the TTL; a non-integer rejects', async () => {
      n++;
      expect(await c.incrBy(k('n'), 3)).toBe(3);
      expect(await c.incrBy(k('n'), -5)).toBe(-2);
      await c.set(k('n2'), '10', { ttl: 10_000 });
      expect(await c.incrBy(k('n2'), 1)).toBe(11);
      expect(await c.ttl(k('n2'))).toBeGreaterThan(9_000);
      await c.set(k('s'), 'abc');
      await rejection(c.incrBy(k('s'), 1));
    });

    it('mget / mset, with a ttl', async () => {
      n++;
      await c.mset({ [k('a')]: '1', [k('b')]: '2' });
      await c.mset([[k('c'), '3']], { ttl: 5_000 });
      expect(await c.mget([k('a'), k('b'), k('c'), k('d')])).toEqual(['1', '2', '3', null]);
      expect(await c.ttl(k('a'))).toBe(-1);
      expect(await c.ttl(k('c'))).toBeGreaterThan(4_000);
      expect(await c.mget([])).toEqual([]);
    });

    it('hashes', async () => {
      n++;
      expect(await c.hget(k('h'), 'f')).toBeNull();
      expect(await c.hgetall(k('h'))).toEqual({});
      expect(await c.hset(k('h'), 'a', '1')).toBe(1);
      expect(await c.hset(k('h'), { a: '2', b: '3' })).toBe(1);
      expect(await c.hget(k('h'), 'a')).toBe('2');
      expect(await c.hgetall(k('h'))).toEqual({ a: '2', b: '3' });
      expect(await c.hdel(k('h'), 'a', 'zz')).toBe(1);
      expect(await c.hdel(k('h'), 'b')).toBe(1);
      expect(await c.exists(k('h'))).toBe(0);
    });

    it('lists', async () => {
      n++;
      expect(await c.lrange(k('l'), 0, -1)).toEqual([]);
      expect(await c.rpush(k('l'), 'a', 'b')).toBe(2);
      expect(await c.lpush(k('l'), 'x', 'y')).toBe(4);
      expect(await c.lrange(k('l'), 0, -1)).toEqual(['y', 'x', 'a', 'b']);
      expect(await c.lrange(k('l'), -2, -1)).toEqual(['a', 'b']);
      expect(await c.lrange(k('l'), 1, 1)).toEqual(['x']);
    });

    it('a wrong type rejects the same way on every backend', async () => {
      n++;
      await c.set(k('s'), 'v');
      await c.rpush(k('l'), 'v');
      expect(isWrongTypeError(await rejection(c.hget(k('s'), 'f')))).toBe(true);
      expect(isWrongTypeError(await rejection(c.lpush(k('s'), 'v')))).toBe(true);
      expect(isWrongTypeError(await rejection(c.get(k('l'))))).toBe(true);
      expect(c.activeBackend).toBe(c.activeBackend === 'primary' ? 'primary' : 'fallback');
      expect(await c.set(k('l'), 'now a string')).toBe(true);
      expect(await c.get(k('l'))).toBe('now a string');
    });

    it('getOrSet loads once for concurrent callers, then hits', async () => {
      n++;
      let loads = 0;
      const loader = async () => {
        loads++;
        await sleep(20);
        return 'loaded';
      };
      const results = await Promise.all(
        Array.from({ length: 10 }, () => c.getOrSet(k('g'), loader, { ttl: 5_000 })),
      );
      expect(results).toEqual(Array(10).fill('loaded'));
      expect(loads).toBe(1);
      expect(await c.getOrSet(k('g'), loader)).toBe('loaded');
      expect(loads).toBe(1);
      expect(await c.ttl(k('g'))).toBeGreaterThan(4_000);
      await expect(c.getOrSet(k('bad'), () => Promise.reject(new Error('boom')))).rejects.toThrow(
        'boom',
      );
      expect(await c.get(k('bad'))).toBeNull();
    });

    it('bad arguments reject with E_ARGUMENT before any backend is touched, writing nothing', async () => {
      n++;
      const code = async (p: Promise<unknown>) => {
        const error = await rejection(p);
        return isHybridClientError(error) ? error.code : String(error);
      };
      const lone = 'a\uD800';
      const bad = [
        () => c.set(k('s'), 0 as never),
        () => c.set(k('s'), lone),
        () => c.set(lone, 'v'),
        () => c.set(k('s'), 'v', { nx: true, xx: true }),
        () => c.get(1 as never),
        () => c.mget([k('a'), 2 as never]),
        () => c.mget('a' as never),
        () =>
          c.mset([
            [k('m1'), 'ok'],
            [k('m2'), { a: 1 } as never],
          ]),
        () => c.mset({ [k('m1')]: 'ok', [k('m2')]: lone }),
        () => c.mset(null as never),
        () => c.hset(k('h'), { ok: 'v', bad: ['x'] as never }),
        () => c.hset(k('h'), { ok: 'v', [lone]: 'v' }),
        () => c.hset(k('h'), 'f', undefined as never),
        () => c.hset(k('h'), lone, 'v'),
        () => c.hget(k('h'), 5 as never),
        () => c.hdel(k('h'), 'f', null as never),
        () => c.lpush(k('l'), 'a', Buffer.from('b') as never),
        () => c.rpush(k('l'), 'a', lone),
        () => c.del(k('a'), 7 as never),
        () => c.exists(lone),
        () => c.getOrSet(k('g'), 'not a loader' as never),
      ];
      const before = c.stats();
      for (const call of bad) {
        let promise: Promise<unknown> | undefined;
        expect(() => {
          promise = call();
        }).not.toThrow();
        expect(await code(promise!)).toBe('E_HYBRID_ARGUMENT');
      }
      // No call reached a backend.
      const after = c.stats();
      expect(after.activeBackend).toBe(before.activeBackend);
      expect(after.primary.calls).toBe(before.primary.calls);
      expect(after.memory.calls).toBe(before.memory.calls);
      // A loader's bad value is never stored nor handed out.
      expect(await code(c.getOrSet(k('g'), () => 42 as never))).toBe('E_HYBRID_ARGUMENT');
      expect(await code(c.getOrSet(k('g'), async () => lone))).toBe('E_HYBRID_ARGUMENT');
      // Nothing was written.
      expect(await c.mget([k('s'), k('m1'), k('m2'), k('g')])).toEqual([null, null, null, null]);
      expect(await c.exists(k('h'), k('l'))).toBe(0);
    });

    it('a hash field named __proto__ or constructor comes back as an own field', async () => {
      n++;
      expect(await c.hset(k('h'), '__proto__', 'p')).toBe(1);
      expect(await c.hset(k('h'), { constructor: 'c', toString: 't' })).toBe(2);
      const all = await c.hgetall(k('h'));
      expect(Object.keys(all).sort()).toEqual(['__proto__', 'constructor', 'toString']);
      expect(all).toEqual(JSON.parse('{"__proto__":"p","constructor":"c","toString":"t"}'));
      expect(Object.getPrototypeOf(all)).toBe(Object.prototype);
      expect(await c.hget(k('h'), '__proto__')).toBe('p');
    });

    it('ping answers', async () => {
      expect(await c.ping()).toBe('PONG');
    });
  });
}
