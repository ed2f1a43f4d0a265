import { afterEach, describe, expect, it } from 'vitest';
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
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isLocalCacheError(error) ? error.code : 'not-a-local-cache-error';
  }
  return undefined;
}

describe('metadata', () => {
  it('set with meta keeps it, with the time it was stored; a later write without meta drops it', () => {
    const c = make();
    const before = performance.now();
    c.set('k', 'v', { meta: 7 });
    const e = c.entry('k');
    expect(e?.type).toBe('string');
    expect(e?.value).toBe('v');
    expect(e?.meta).toBe(7);
    expect(e?.storedAt).toBeGreaterThanOrEqual(before);
    expect(e?.storedAt).toBeLessThanOrEqual(performance.now());
    // Every other operation sees the plain value.
    expect(c.get('k')).toBe('v');
    expect(c.type('k')).toBe('string');
    expect(c.mget(['k'])).toEqual(['v']);
    expect(c.stats().calculatedSize).toBe(2);
    c.set('k', 'w');
    expect(c.entry('k')?.meta).toBeUndefined();
    expect(Number.isNaN(c.entry('k')?.storedAt)).toBe(true);
  });

  it('entry() of a meta entry is the store object itself (no allocation); peek() does not count a read', () => {
    const c = make();
    c.set('k', 'v', { meta: 'tracked' });
    const a = c.entry('k');
    const b = c.entry('k');
    expect(a).toBe(b);
    const hits = c.stats().hits;
    expect(c.peek('k')).toBe(a);
    expect(c.peek('missing')).toBeUndefined();
    expect(c.stats().hits).toBe(hits);
    expect(c.entry('missing')).toBeUndefined();
    expect(c.stats().misses).toBe(1);
  });

  it('incrBy, hset, expire on entries with meta behave as on plain ones', () => {
    const c = make();
    c.set('n', '41', { meta: 1 });
    expect(c.incrBy('n', 1)).toBe(42);
    expect(c.entry('n')?.meta).toBeUndefined();
    c.setHash('h', { a: '1', b: '2' }, { meta: 3 });
    expect(c.hget('h', 'a')).toBe('1');
    expect(c.hgetall('h')).toEqual({ a: '1', b: '2' });
    expect(c.entry('h')?.type).toBe('hash');
    expect(c.entry('h')?.meta).toBe(3);
    expect((c.entry('h')!.value as ReadonlyMap<string, string>).get('b')).toBe('2');
    expect(c.hset('h', 'c', '3')).toBe(1);
    expect(c.entry('h')?.meta).toBeUndefined();
    expect(c.hgetall('h')).toEqual({ a: '1', b: '2', c: '3' });
    c.set('e', 'v', { meta: 9 });
    expect(c.expire('e', 10_000)).toBe(true);
    expect(c.entry('e')?.meta).toBe(9);
    expect(c.ttl('e')).toBeGreaterThan(9_000);
    expect(codeOf(() => c.hget('e', 'f'))).toBe('E_LOCAL_CACHE_WRONGTYPE');
  });

  it('retag replaces the metadata in place: same value, size, recency and TTL; only for meta entries', () => {
    const c = make({ maxEntries: 2 });
    c.set('a', 'v', { meta: 1, ttl: 10_000 });
    c.set('b', 'w');
    const before = c.entry('a')!.storedAt;
    expect(c.retag('a', 2)).toBe(true);
    expect(c.peek('a')?.meta).toBe(2);
    expect(c.peek('a')?.value).toBe('v');
    expect(c.peek('a')!.storedAt).toBeGreaterThanOrEqual(before);
    expect(c.ttl('a')).toBeGreaterThan(9_000);
    expect(c.stats().calculatedSize).toBe(2 + 2);
    expect(c.retag('b', 3)).toBe(false);
    expect(c.retag('missing', 3)).toBe(false);
    expect(c.retag('a', undefined)).toBe(false);
    // Recency untouched by retag: 'a' was read last by entry(), then 'b' was not: adding 'c' evicts 'b'.
    c.set('c', 'x');
    expect(c.peek('a')).toBeDefined();
    expect(c.peek('b')).toBeUndefined();
  });

  it('setHash replaces the key, counts its bytes, and an empty record deletes it', () => {
    const c = make();
    c.set('h', 'string first');
    c.setHash('h', new Map([['f', 'vv']]), { ttl: 5_000 });
    expect(c.type('h')).toBe('hash');
    expect(c.stats().calculatedSize).toBe(1 + 1 + 2);
    expect(c.ttl('h')).toBeGreaterThan(4_000);
    c.setHash('h', {});
    expect(c.type('h')).toBe('none');
    expect(codeOf(() => c.setHash('h', { f: 1 as never }))).toBe('E_LOCAL_CACHE_ARGUMENT');
    expect(codeOf(() => c.setHash('h', null as never))).toBe('E_LOCAL_CACHE_ARGUMENT');
  });
});

describe('bytes', () => {
  it('every byte value round-trips through setBuffer / getBuffer, copied both ways', () => {
    const c = make();
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(c.setBuffer('b', all)).toBe(true);
    all[0] = 99;
    const out = c.getBuffer('b')!;
    expect(out.length).toBe(256);
    for (let i = 0; i < 256; i++) expect(out[i]).toBe(i);
    out[1] = 77;
    expect(c.getBuffer('b')![1]).toBe(1);
    expect(c.stats().calculatedSize).toBe(1 + 256);
    expect(c.type('b')).toBe('string');
    // As ioredis' get: the UTF-8 text of the bytes.
    expect(c.get('b')).toBe(Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('utf8'));
  });

  it('a Uint8Array works, a string reads back as its UTF-8 bytes, meta and nx/xx apply', () => {
    const c = make();
    expect(c.setBuffer('u', new Uint8Array([1, 2, 3]), { meta: 'm', ttl: 1_000 })).toBe(true);
    expect(c.entry('u')?.meta).toBe('m');
    expect(Buffer.isBuffer(c.entry('u')?.value)).toBe(true);
    expect(c.setBuffer('u', Buffer.from('x'), { nx: true })).toBe(false);
    expect(c.setBuffer('none', Buffer.from('x'), { xx: true })).toBe(false);
    c.set('s', 'é');
    expect([...c.getBuffer('s')!]).toEqual([0xc3, 0xa9]);
    expect(c.getBuffer('missing')).toBeNull();
    c.setBuffer('n', Buffer.from('5'));
    expect(c.incrBy('n', 2)).toBe(7);
    expect(codeOf(() => c.setBuffer('k', 'text' as never))).toBe('E_LOCAL_CACHE_ARGUMENT');
    expect(codeOf(() => c.setBuffer('k', Buffer.from('x'), { nx: true, xx: true }))).toBe(
      'E_LOCAL_CACHE_ARGUMENT',
    );
    c.hset('h', 'f', 'v');
    expect(codeOf(() => c.getBuffer('h'))).toBe('E_LOCAL_CACHE_WRONGTYPE');
  });

  it('the byte bound holds with buffers', () => {
    const c = make({ maxBytes: 1_000 });
    for (let i = 0; i < 100; i++) c.setBuffer(`k${i}`, Buffer.alloc(100));
    expect(c.stats().calculatedSize).toBeLessThanOrEqual(1_000);
    expect(c.stats().size).toBeLessThan(10);
  });
});
