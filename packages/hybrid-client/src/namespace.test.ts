// Typed values: namespace(prefix, { codec }) with json, buffer (every byte value), text and a
// custom codec, through Redis, the near cache and the fail-safe; codec errors are typed.
import { type RedisHandle, sleep, startRedis, waitFor } from '@x/testkit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FAST } from './_internal/testing.js';
import { type Codec, createHybridClient, type HybridClient } from './index.js';

const OPTS = { ...FAST, timeoutMs: 2_000, logger: false as const };
let redis: RedisHandle;
let other: Redis;
const open: HybridClient[] = [];

beforeAll(async () => {
  redis = await startRedis();
  other = new Redis(redis.url);
});
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
});
afterAll(async () => {
  other.disconnect();
  await redis.stop();
});

async function client(url = redis.url): Promise<HybridClient> {
  const c = await createHybridClient({ redis: url, ...OPTS });
  open.push(c);
  await waitFor('tracking', () => c.stats().near?.tracking === true);
  return c;
}

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

describe('namespace', () => {
  it('json: objects round-trip under the prefix, through Redis and the near cache', async () => {
    const c = await client();
    const users = c.namespace<{ name: string; tags: string[] }>('user', { codec: 'json' });
    expect(users.prefix).toBe('user:');
    expect(users.key('1')).toBe('user:1');
    expect(await users.set('1', { name: 'Ada', tags: ['x'] }, { ttl: 60_000 })).toBe(true);
    expect(await other.get('user:1')).toBe('{"name":"Ada","tags":["x"]}');
    expect(await users.get('1')).toEqual({ name: 'Ada', tags: ['x'] });
    await sleep(15);
    const entry = await users.getEntry('1');
    expect(entry).toMatchObject({ value: { name: 'Ada', tags: ['x'] }, source: 'near' });
    // Each read decodes its own object: changing one does not change the cache.
    entry!.value.tags.push('mutated');
    expect(await users.get('1')).toEqual({ name: 'Ada', tags: ['x'] });
    await other.set('user:1', '{"name":"Grace","tags":[]}');
    await waitFor('invalidated', async () => (await users.get('1'))?.name === 'Grace');
    expect(await users.get('missing')).toBeNull();
    // The default codec is json.
    const plain = c.namespace('cfg');
    await plain.set('n', 42);
    expect(await plain.get('n')).toBe(42);
  });

  it('buffer: every byte value round-trips exactly, from Redis, from a copy, and written by others', async () => {
    const c = await client();
    const blobs = c.namespace('blob', { codec: 'buffer' });
    expect(await blobs.set('all', ALL_BYTES)).toBe(true);
    expect(Buffer.compare((await other.getBuffer('blob:all'))!, ALL_BYTES)).toBe(0);
    const first = (await blobs.getEntry('all'))!;
    expect(first.source).toBe('redis');
    expect(Buffer.compare(first.value, ALL_BYTES)).toBe(0);
    await sleep(15);
    const second = (await blobs.getEntry('all'))!;
    expect(second.source).toBe('near');
    expect(Buffer.compare(second.value, ALL_BYTES)).toBe(0);
    // A copy handed out is the caller's: changing it changes nothing in the cache.
    second.value[0] = 255;
    expect((await blobs.get('all'))![0]).toBe(0);
    // Bytes that are not UTF-8, written by another client.
    const raw = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3]);
    await other.set('blob:raw', raw);
    expect(Buffer.compare((await blobs.get('raw'))!, raw)).toBe(0);
    await sleep(15);
    expect(Buffer.compare((await blobs.get('raw'))!, raw)).toBe(0);
    expect((await blobs.mget(['all', 'raw', 'none'])).map((b) => b?.length ?? null)).toEqual([
      256,
      5,
      null,
    ]);
    // A text read of the same key does not poison the byte copy (and the reverse).
    expect(typeof (await c.get('blob:raw'))).toBe('string');
    expect(Buffer.compare((await blobs.get('raw'))!, raw)).toBe(0);
    await expect(blobs.set('bad', 'text' as never)).rejects.toMatchObject({
      code: 'E_HYBRID_CODEC',
    });
  });

  it('buffer values survive an outage byte for byte (the fail-safe keeps bytes)', async () => {
    const r = await startRedis();
    const c = await createHybridClient({ redis: r.url, ...FAST, timeoutMs: 150, logger: false });
    open.push(c);
    await waitFor('tracking', () => c.stats().near?.tracking === true);
    const blobs = c.namespace('blob', { codec: 'buffer' });
    await blobs.set('all', ALL_BYTES);
    expect(Buffer.compare((await blobs.get('all'))!, ALL_BYTES)).toBe(0);
    await r.kill();
    await waitFor('failover', () => c.activeBackend === 'fallback');
    const entry = (await blobs.getEntry('all'))!;
    expect(entry).toMatchObject({ source: 'memory', stale: true });
    expect(Buffer.compare(entry.value, ALL_BYTES)).toBe(0);
    // Written during the outage, read back exactly.
    await blobs.set('during', ALL_BYTES.subarray(128));
    expect(Buffer.compare((await blobs.get('during'))!, ALL_BYTES.subarray(128))).toBe(0);
    expect(await blobs.getOrSet('all', () => Buffer.from('loader not called'))).toEqual(ALL_BYTES);
  });

  it('text and a custom codec; typed getOrSet, mget, mset, setNX, del, exists, expire, ttl', async () => {
    const c = await client();
    const texts = c.namespace('t', { codec: 'text' });
    await texts.mset({ a: 'é', b: '🙂' }, { ttl: 60_000 });
    expect(await texts.mget(['a', 'b', 'c'])).toEqual(['é', '🙂', null]);
    expect(await texts.ttl('a')).toBeGreaterThan(50_000);
    expect(await texts.setNX('a', 'x')).toBe(false);
    expect(await texts.exists('a', 'b', 'c')).toBe(2);
    expect(await texts.expire('a', 10_000)).toBe(true);
    expect(await texts.del('a', 'b')).toBe(2);
    const dates: Codec<Date> = {
      encode: (d) => d.toISOString(),
      decode: (raw) => new Date(String(raw)),
    };
    const events = c.namespace('ev', { codec: dates });
    const when = new Date('2024-01-02T03:04:05.000Z');
    expect(await events.getOrSet('launch', () => when)).toEqual(when);
    expect(await other.get('ev:launch')).toBe('2024-01-02T03:04:05.000Z');
    expect(await events.getOrSet('launch', () => new Date(0))).toEqual(when);
    await events.mset([['x', when]]);
    expect(await events.get('x')).toEqual(when);
  });

  it('codec errors are typed: a value it cannot encode, a stored value it cannot decode', async () => {
    const c = await client();
    const json = c.namespace('j');
    await expect(json.set('u', undefined)).rejects.toMatchObject({ code: 'E_HYBRID_CODEC' });
    await expect(json.mset({ ok: 1, bad: undefined })).rejects.toMatchObject({
      code: 'E_HYBRID_CODEC',
    });
    expect(await other.exists('j:ok')).toBe(0);
    await other.set('j:corrupt', '{not json');
    await expect(json.get('corrupt')).rejects.toMatchObject({
      code: 'E_HYBRID_CODEC',
      cause: expect.any(SyntaxError),
    });
    await expect(json.getOrSet('u2', () => undefined)).rejects.toMatchObject({
      code: 'E_HYBRID_CODEC',
    });
    const binaryText: Codec<string> = { encode: (s) => Buffer.from(s), decode: String };
    await expect(c.namespace('b', { codec: binaryText }).set('k', 'v')).rejects.toMatchObject({
      code: 'E_HYBRID_CODEC',
    });
    await expect(json.get(5 as never)).rejects.toMatchObject({ code: 'E_HYBRID_ARGUMENT' });
    expect(() => c.namespace('')).toThrow(expect.objectContaining({ code: 'E_HYBRID_ARGUMENT' }));
    expect(() => c.namespace('x', { codec: 'yaml' as never })).toThrow(
      expect.objectContaining({ code: 'E_HYBRID_ARGUMENT', field: 'codec' }),
    );
  });

  it('works on a memory-only client too', async () => {
    const c = await createHybridClient({ logger: false });
    open.push(c);
    const blobs = c.namespace('m', { codec: 'buffer' });
    await blobs.set('k', ALL_BYTES);
    expect(Buffer.compare((await blobs.get('k'))!, ALL_BYTES)).toBe(0);
    expect(await c.namespace<number[]>('j').getOrSet('k', () => [1, 2])).toEqual([1, 2]);
  });
});
