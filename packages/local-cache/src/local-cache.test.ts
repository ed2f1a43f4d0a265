import { afterEach, describe, expect, it, vi } from 'vitest';
import { isLocalCacheError } from './errors.js';
import { createLocalCache, type LocalCache } from './local-cache.js';

const caches: LocalCache[] = [];
function make(options?: Parameters<typeof createLocalCache>[0]): LocalCache {
  const cache = createLocalCache(options);
  caches.push(cache);
  return cache;
}

afterEach(() => {
  for (const c of caches.splice(0)) c.close();
  vi.useRealTimers();
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isLocalCacheError(error) ? error.code : 'not-a-local-cache-error';
  }
  return undefined;
}

describe('strings', () => {
  it('get/set/del/exists with Redis semantics', () => {
    const c = make();
    expect(c.get('a')).toBeNull();
    expect(c.set('a', '1')).toBe(true);
    expect(c.get('a')).toBe('1');
    expect(c.exists('a', 'a', 'b')).toBe(2);
    expect(c.del('a', 'b')).toBe(1);
    expect(c.get('a')).toBeNull();
  });

  it('nx / xx / setNX', () => {
    const c = make();
    expect(c.set('k', 'v', { xx: true })).toBe(false);
    expect(c.get('k')).toBeNull();
    expect(c.setNX('k', 'v1')).toBe(true);
    expect(c.setNX('k', 'v2')).toBe(false);
    expect(c.set('k', 'v3', { nx: true })).toBe(false);
    expect(c.set('k', 'v4', { xx: true })).toBe(true);
    expect(c.get('k')).toBe('v4');
    expect(codeOf(() => c.set('k', 'v', { nx: true, xx: true }))).toBe('E_LOCAL_CACHE_ARGUMENT');
  });

  it('incrBy keeps the TTL, rejects non-integers', () => {
    const c = make();
    expect(c.incrBy('n', 5)).toBe(5);
    expect(c.incrBy('n', -7)).toBe(-2);
    c.set('t', '10', { ttl: 10_000 });
    expect(c.incrBy('t', 1)).toBe(11);
    expect(c.ttl('t')).toBeGreaterThan(9_000);
    c.set('s', 'abc');
    expect(codeOf(() => c.incrBy('s', 1))).toBe('E_LOCAL_CACHE_NOT_INTEGER');
    expect(codeOf(() => c.incrBy('n', 1.5))).toBe('E_LOCAL_CACHE_NOT_INTEGER');
    c.set('big', String(Number.MAX_SAFE_INTEGER));
    expect(codeOf(() => c.incrBy('big', 1))).toBe('E_LOCAL_CACHE_NOT_INTEGER');
  });

  it('mget / mset, with and without ttl', () => {
    const c = make();
    c.mset({ a: '1', b: '2' });
    c.mset([['c', '3']], { ttl: 5_000 });
    c.hset('h', 'f', 'v');
    expect(c.mget(['a', 'b', 'c', 'x', 'h'])).toEqual(['1', '2', '3', null, null]);
    expect(c.ttl('a')).toBe(-1);
    expect(c.ttl('c')).toBeGreaterThan(4_000);
  });

  it('set without ttl clears an existing TTL, like Redis SET', () => {
    const c = make();
    c.set('k', 'v', { ttl: 1_000 });
    c.set('k', 'w');
    expect(c.ttl('k')).toBe(-1);
  });

  it('rejects a ttl that is not a positive integer', () => {
    const c = make();
    expect(codeOf(() => c.set('k', 'v', { ttl: 0 }))).toBe('E_LOCAL_CACHE_ARGUMENT');
    expect(codeOf(() => c.set('k', 'v', { ttl: 1.5 }))).toBe('E_LOCAL_CACHE_ARGUMENT');
    expect(codeOf(() => c.mset({ k: 'v' }, { ttl: -1 }))).toBe('E_LOCAL_CACHE_ARGUMENT');
    expect(c.get('k')).toBeNull();
  });
});

describe('TTL', () => {
  it('expires entries, ttl() reports -2 / -1 / ms', async () => {
    const c = make();
    c.set('short', 'x', { ttl: 30 });
    c.set('forever', 'y');
    expect(c.ttl('missing')).toBe(-2);
    expect(c.ttl('forever')).toBe(-1);
    const left = c.ttl('short');
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(30);
    await new Promise((r) => setTimeout(r, 60));
    expect(c.get('short')).toBeNull();
    expect(c.ttl('short')).toBe(-2);
    expect(c.exists('short')).toBe(0);
  });

  it('expire sets, replaces and (<= 0) deletes', () => {
    const c = make();
    expect(c.expire('nope', 1_000)).toBe(false);
    c.set('k', 'v');
    expect(c.expire('k', 2_000)).toBe(true);
    expect(c.ttl('k')).toBeGreaterThan(1_900);
    expect(c.expire('k', 0)).toBe(true);
    expect(c.get('k')).toBeNull();
  });

  it('the janitor purges expired entries without reads', async () => {
    const c = make({ janitorIntervalMs: 20 });
    for (let i = 0; i < 10; i++) c.set(`k${i}`, 'v', { ttl: 10 });
    c.set('keep', 'v');
    expect(c.stats().size).toBe(11);
    await new Promise((r) => setTimeout(r, 80));
    const s = c.stats();
    expect(s.size).toBe(1);
    expect(s.expirations).toBe(10);
  });

  it("the janitor's timer does not keep the process alive", () => {
    vi.useFakeTimers();
    const spy = vi.spyOn(globalThis, 'setInterval');
    const c = make({ janitorIntervalMs: 1_000 });
    const timer = spy.mock.results[0]?.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    c.close();
    expect(vi.getTimerCount()).toBe(0);
    spy.mockRestore();
  });
});

describe('hashes', () => {
  it('hset/hget/hgetall/hdel', () => {
    const c = make();
    expect(c.hget('h', 'a')).toBeNull();
    expect(c.hgetall('h')).toEqual({});
    expect(c.hset('h', 'a', '1')).toBe(1);
    expect(c.hset('h', { a: '2', b: '3' })).toBe(1);
    expect(c.hget('h', 'a')).toBe('2');
    expect(c.hgetall('h')).toEqual({ a: '2', b: '3' });
    expect(c.hdel('h', 'a', 'zz')).toBe(1);
    expect(c.hdel('h', 'b')).toBe(1);
    expect(c.exists('h')).toBe(0);
    expect(c.type('h')).toBe('none');
  });

  it('keeps the TTL on hset', () => {
    const c = make();
    c.hset('h', 'a', '1');
    c.expire('h', 5_000);
    c.hset('h', 'b', '2');
    expect(c.ttl('h')).toBeGreaterThan(4_000);
  });
});

describe('lists', () => {
  it('lpush/rpush/lrange with negative indexes', () => {
    const c = make();
    expect(c.lrange('l', 0, -1)).toEqual([]);
    expect(c.rpush('l', 'a', 'b')).toBe(2);
    expect(c.lpush('l', 'x', 'y')).toBe(4);
    expect(c.lrange('l', 0, -1)).toEqual(['y', 'x', 'a', 'b']);
    expect(c.lrange('l', 1, 2)).toEqual(['x', 'a']);
    expect(c.lrange('l', -2, -1)).toEqual(['a', 'b']);
    expect(c.lrange('l', -100, 100)).toEqual(['y', 'x', 'a', 'b']);
    expect(c.lrange('l', 3, 1)).toEqual([]);
    expect(c.lrange('l', 10, 20)).toEqual([]);
    expect(c.type('l')).toBe('list');
  });
});

describe('wrong types', () => {
  it('throws E_LOCAL_CACHE_WRONGTYPE like Redis, SET overwrites any type', () => {
    const c = make();
    c.set('s', 'v');
    c.hset('h', 'f', 'v');
    c.rpush('l', 'v');
    expect(codeOf(() => c.hget('s', 'f'))).toBe('E_LOCAL_CACHE_WRONGTYPE');
    expect(codeOf(() => c.hset('l', 'f', 'v'))).toBe('E_LOCAL_CACHE_WRONGTYPE');
    expect(codeOf(() => c.lpush('h', 'v'))).toBe('E_LOCAL_CACHE_WRONGTYPE');
    expect(codeOf(() => c.lrange('s', 0, -1))).toBe('E_LOCAL_CACHE_WRONGTYPE');
    expect(codeOf(() => c.get('h'))).toBe('E_LOCAL_CACHE_WRONGTYPE');
    expect(codeOf(() => c.incrBy('l', 1))).toBe('E_LOCAL_CACHE_WRONGTYPE');
    expect(codeOf(() => c.hdel('s', 'f'))).toBe('E_LOCAL_CACHE_WRONGTYPE');
    expect(c.set('h', 'now a string')).toBe(true);
    expect(c.type('h')).toBe('string');
  });

  it('error shape: name, code, prefixed message, brand', () => {
    const c = make();
    c.set('s', 'v');
    try {
      c.hget('s', 'f');
      expect.unreachable();
    } catch (error) {
      expect(isLocalCacheError(error)).toBe(true);
      expect((error as Error).name).toBe('LocalCacheError');
      expect((error as Error).message).toMatch(/^\[@x\/local-cache\] WRONGTYPE/);
      expect(error).toMatchObject({ code: 'E_LOCAL_CACHE_WRONGTYPE', package: '@x/local-cache' });
      // The brand every x error carries (what `isXError` of @x/connection checks).
      expect((error as Record<symbol, unknown>)[Symbol.for('@x/error')]).toBe(true);
    }
    expect(isLocalCacheError(new Error('x'))).toBe(false);
    expect(isLocalCacheError({ [Symbol.for('@x/local-cache.error')]: true })).toBe(true);
  });
});

describe('bounds', () => {
  it('counts UTF-8 bytes of keys and values', () => {
    const c = make();
    c.set('ab', 'é'); // 2 + 2
    c.hset('h', { f: 'xyz' }); // 1 + 1 + 3
    c.rpush('l', 'a', 'bb'); // 1 + 3
    expect(c.stats().calculatedSize).toBe(4 + 5 + 4);
    c.hset('h', 'f', 'x'); // value shrinks by 2
    c.hdel('h', 'nothing');
    expect(c.stats().calculatedSize).toBe(4 + 3 + 4);
  });

  it('evicts least recently used entries to stay within maxBytes', () => {
    const c = make({ maxBytes: 100 });
    for (let i = 0; i < 20; i++) c.set(`k${String(i).padStart(2, '0')}`, 'x'.repeat(7)); // 10 bytes each
    const s = c.stats();
    expect(s.calculatedSize).toBeLessThanOrEqual(100);
    expect(s.size).toBe(10);
    expect(s.evictions).toBe(10);
    expect(c.get('k00')).toBeNull();
    expect(c.get('k19')).toBe('xxxxxxx');
  });

  it('a growing hash is re-measured and can trigger evictions', () => {
    const c = make({ maxBytes: 50 });
    c.set('a', 'x'.repeat(20));
    c.hset('h', 'f', 'v');
    c.hset('h', 'g', 'y'.repeat(30)); // h: 1 + 2 + 31 bytes
    expect(c.stats().calculatedSize).toBeLessThanOrEqual(50);
    expect(c.get('a')).toBeNull();
    expect(c.hget('h', 'g')).toHaveLength(30);
  });

  it('an entry larger than maxBytes is not stored and counts as an eviction', () => {
    const c = make({ maxBytes: 10 });
    c.set('k', 'small');
    c.set('k', 'x'.repeat(50));
    expect(c.get('k')).toBeNull();
    expect(c.stats().evictions).toBe(1);
  });

  it('maxEntries bounds the number of keys', () => {
    const c = make({ maxEntries: 3 });
    for (const k of ['a', 'b', 'c', 'd']) c.set(k, '1');
    expect(c.stats().size).toBe(3);
    expect(c.exists('a', 'd')).toBe(1);
  });

  it('stats count hits, misses, evictions', () => {
    const c = make({ maxEntries: 1 });
    c.set('a', '1');
    c.get('a');
    c.get('b');
    c.mget(['a', 'b']);
    c.set('c', '1');
    expect(c.stats()).toMatchObject({ hits: 2, misses: 2, evictions: 1, size: 1, itemCount: 1 });
  });
});

describe('options', () => {
  it('throws E_LOCAL_CACHE_OPTIONS naming the field and the value', () => {
    for (const [options, field] of [
      [{ maxBytes: 0 }, 'maxBytes'],
      [{ maxEntries: -1 }, 'maxEntries'],
      [{ janitorIntervalMs: 1.5 }, 'janitorIntervalMs'],
      [{ maxBytes: '10mb' }, 'maxBytes'],
    ] as const) {
      try {
        createLocalCache(options as never);
        expect.unreachable();
      } catch (error) {
        expect(isLocalCacheError(error) && error.code).toBe('E_LOCAL_CACHE_OPTIONS');
        expect((error as Error).message).toContain(field);
        expect((error as { field?: string }).field).toBe(field);
      }
    }
  });

  it('clear empties, close stops the janitor', () => {
    const c = make();
    c.set('a', '1');
    c.clear();
    expect(c.stats().size).toBe(0);
    c.close();
    c.set('b', '2');
    expect(c.get('b')).toBe('2');
  });
});

describe('arguments', () => {
  it('a key, field or value that is not a string throws E_LOCAL_CACHE_ARGUMENT and writes nothing', () => {
    const c = make();
    const bad: (() => unknown)[] = [
      () => c.set('k', 0 as never),
      () => c.set('k', Buffer.from('x') as never),
      () => c.set(1 as never, 'v'),
      () => c.get(null as never),
      () => c.mget(['a', 2 as never]),
      () => c.mget('a' as never),
      () => c.mset([['m1', 'ok'], ['m2', { a: 1 } as never] as const]),
      () => c.mset({ m1: 'ok', m2: 3 as never }),
      () => c.mset(['not a pair'] as never),
      () => c.mset(null as never),
      () => c.hset('h', { ok: 'v', bad: ['x'] as never }),
      () => c.hset('h', 'f', undefined as never),
      () => c.hset('h', 7 as never),
      () => c.hget('h', 5 as never),
      () => c.hdel('h', 'f', null as never),
      () => c.lpush('l', 'a', 1 as never),
      () => c.rpush('l', 'a', {} as never),
      () => c.del('a', 7 as never),
      () => c.exists(undefined as never),
      () => c.incrBy(0 as never, 1),
    ];
    for (const call of bad) expect(codeOf(call)).toBe('E_LOCAL_CACHE_ARGUMENT');
    expect(c.stats().size).toBe(0);
    let caught: unknown;
    try {
      c.set('k', [1] as never);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ field: 'value', message: expect.stringContaining('an array') });
    expect(codeOf(() => c.rpush('l', 'a', 'b', 3 as never))).toBe('E_LOCAL_CACHE_ARGUMENT');
    expect(c.lrange('l', 0, -1)).toEqual([]);
  });

  it('strings are kept exactly, lone surrogates included', () => {
    const c = make();
    expect(c.set('k\uD800', 'v\uDC00')).toBe(true);
    expect(c.get('k\uD800')).toBe('v\uDC00');
    expect(c.get('k\uFFFD')).toBeNull();
  });

  it('a hash field named __proto__ or constructor is an own field of hgetall', () => {
    const c = make();
    expect(c.hset('h', '__proto__', 'p')).toBe(1);
    expect(c.hset('h', JSON.parse('{"constructor":"c","__proto__":"q"}'))).toBe(1);
    const all = c.hgetall('h');
    expect(Object.keys(all).sort()).toEqual(['__proto__', 'constructor']);
    expect(all).toEqual(JSON.parse('{"__proto__":"q","constructor":"c"}'));
    expect(Object.getPrototypeOf(all)).toBe(Object.prototype);
  });
});
