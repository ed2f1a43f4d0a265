// The near cache on a standalone server: hits without a round trip, invalidation by writes from
// any client (this process, another Node process with plain ioredis, redis-cli), FLUSHALL, own
// writes, a killed invalidation connection, the read/invalidation races, broadcast mode, maxAgeMs,
// on RESP2 and RESP3 data connections (RESP3 needs ioredis 6: X_IOREDIS=6).
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import {
  type RedisHandle,
  redisCliBin,
  sleep,
  startFaultProxy,
  startRedis,
  waitFor,
} from '@x/testkit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FAST, testLogger } from './_internal/testing.js';
import { createHybridClient, type HybridClient } from './index.js';

const run = promisify(execFile);
// ioredis 6 speaks RESP3 by default (its options carry `protocol: 3`); ioredis 5 knows only RESP2.
// (Read from the class vitest resolved: X_IOREDIS=6 swaps the module.)
const IOREDIS_MAJOR =
  (new Redis({ lazyConnect: true }).options as { protocol?: number }).protocol === 3 ? 6 : 5;
const OPTS = { ...FAST, timeoutMs: 2_000, logger: false as const };

let redis: RedisHandle;
const open: { close(): unknown }[] = [];
const users: Redis[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
  for (const u of users.splice(0)) u.disconnect();
});
afterAll(async () => {
  await redis.stop();
});

function user(protocol = 2): Redis {
  const r = new Redis(redis.url, { protocol, lazyConnect: false } as never);
  r.on('error', () => {});
  users.push(r);
  return r;
}

async function client(
  options: Parameters<typeof createHybridClient>[0] = {},
): Promise<HybridClient> {
  const c = await createHybridClient({ redis: redis.url, ...OPTS, ...options });
  open.push(c);
  await waitFor('tracking', () => c.stats().near?.tracking === true);
  return c;
}

let n = 0;
const key = (s: string): string => `nc${++n}:${s}`;

/** Waits until `c` serves `value` for `k` (an invalidation arrived and a read went to Redis). */
async function until(c: HybridClient, k: string, value: string | null): Promise<number> {
  const t0 = performance.now();
  await waitFor(`${k} = ${value}`, async () => (await c.get(k)) === value, {
    timeoutMs: 3_000,
    intervalMs: 1,
  });
  return performance.now() - t0;
}

/**
 * Reads `k` twice: the second read must be a near hit (no Redis call). Waits a moment first: the
 * invalidation of an earlier write may still be on its way and drop the copy the read installs.
 */
async function warm(c: HybridClient, k: string): Promise<string | null> {
  await sleep(15);
  const first = await c.get(k);
  const calls = c.stats().primary.calls;
  const hits = c.stats().near!.hits;
  const second = await c.get(k);
  expect(second).toBe(first);
  expect(c.stats().primary.calls).toBe(calls);
  expect(c.stats().near!.hits).toBe(hits + 1);
  return second;
}

const protocols = IOREDIS_MAJOR >= 6 ? [2, 3] : [2];

for (const protocol of protocols) {
  describe(`near cache, RESP${protocol} data connection (ioredis ${IOREDIS_MAJOR})`, () => {
    const make = (options: Parameters<typeof createHybridClient>[0] = {}) =>
      client({ ioredis: { protocol } as never, ...options });

    it('serves a read again without a round trip, and the data connection speaks what was asked', async () => {
      const c = await make();
      const other = user();
      const k = key('hit');
      await other.set(k, 'v1');
      expect(await warm(c, k)).toBe('v1');
      const near = c.stats().near!;
      expect(near.entries).toBeGreaterThanOrEqual(1);
      expect(near.bytes).toBeGreaterThan(0);
      expect(near.tracking).toBe(true);
      // The invalidation connection speaks RESP2; the data connection what it was given.
      const list = String(await other.call('CLIENT', 'LIST'));
      expect(list).toMatch(/name=@x\/hybrid-client:invalidation:\w+ .*resp=2/);
      if (protocol === 3) expect(list).toMatch(/redir=\d+ resp=3/);
    });

    it('a write by another client of this process invalidates at once', async () => {
      const c = await make();
      const other = user();
      const k = key('other');
      await other.set(k, 'old');
      await warm(c, k);
      await other.set(k, 'new');
      const ms = await until(c, k, 'new');
      expect(ms).toBeLessThan(200);
      expect(c.stats().near!.invalidations).toBeGreaterThanOrEqual(1);
      await other.del(k);
      await until(c, k, null);
    });

    it('writes from redis-cli and from a plain ioredis client in other processes invalidate', async () => {
      const c = await make();
      const k1 = key('cli');
      const k2 = key('node');
      await run(redisCliBin(), ['-p', String(redis.port), 'SET', k1, 'a']);
      await run(redisCliBin(), ['-p', String(redis.port), 'SET', k2, 'a']);
      await warm(c, k1);
      await warm(c, k2);
      await run(redisCliBin(), ['-p', String(redis.port), 'SET', k1, 'b']);
      await until(c, k1, 'b');
      const script = `const { Redis } = require('ioredis'); const r = new Redis(${redis.port}); r.set(process.argv[1], 'b').then(() => r.quit());`;
      await run(process.execPath, ['-e', script, k2], { cwd: process.cwd() });
      await until(c, k2, 'b');
      // Not stale afterwards: a new copy of the new value is served.
      expect(await warm(c, k2)).toBe('b');
    });

    it('FLUSHALL from another client drops every copy', async () => {
      const c = await make();
      const other = user();
      const ks = [key('f1'), key('f2'), key('f3')];
      for (const k of ks) await other.set(k, 'x');
      for (const k of ks) await warm(c, k);
      const epoch = c.stats().near!.epoch;
      await other.flushall();
      for (const k of ks) await until(c, k, null);
      expect(c.stats().near!.epoch).toBeGreaterThan(epoch);
    });

    it('an own write of a hot key is served at once from its copy, re-read behind the write, and still invalidated by others', async () => {
      const c = await make();
      const other = user();
      const k = key('hot');
      await c.set(k, 'v1');
      expect(await warm(c, k)).toBe('v1');
      // Hot (it has a copy): the written value is the copy at once, and the tracked read sent
      // right behind the write is the only extra Redis call (no read waits for a round trip).
      const calls = c.stats().primary.calls;
      const writing = c.set(k, 'v2');
      expect(await c.get(k)).toBe('v2');
      expect(await writing).toBe(true);
      expect(await c.get(k)).toBe('v2');
      expect(c.stats().primary.calls).toBe(calls + 1);
      // What the read behind the write installed is tracked: another client's write invalidates it.
      await other.set(k, 'v3');
      await until(c, k, 'v3');
      // A key without a copy is written as before: no read is sent behind it.
      const cold = key('cold');
      const before = c.stats().primary.calls;
      await c.set(cold, 'x');
      expect(c.stats().primary.calls).toBe(before + 1);
      expect(await c.get(cold)).toBe('x');
      // NX / XX writes may not happen: the copy is dropped, nothing is served in advance.
      await c.set(k, 'nx', { nx: true });
      expect(await c.get(k)).toBe('v3');
    });

    it('a client created here tracks with NOLOOP (own writes are not echoed back); a given one without', async () => {
      const owned = await make();
      const given = user(protocol);
      await given.ping();
      const shared = await createHybridClient({ redis: given, ...OPTS });
      open.push(shared);
      await waitFor('tracking', () => shared.stats().near?.tracking === true);
      const k1 = key('noloop');
      const k2 = key('loop');
      await owned.set(k1, 'a');
      await warm(owned, k1);
      await owned.set(k1, 'b');
      await shared.set(k2, 'a');
      // OPTIN on a given standalone client: the first read after an own write is not tracked (a
      // key written and read back once costs no copy and no echo); the next one is.
      const calls = shared.stats().primary.calls;
      await shared.get(k2);
      await warm(shared, k2);
      expect(shared.stats().primary.calls).toBe(calls + 2);
      await shared.set(k2, 'b');
      await waitFor('echo on the given client', () => shared.stats().near!.invalidations === 1);
      await sleep(30);
      expect(owned.stats().near!.invalidations).toBe(0);
      expect(await warm(owned, k1)).toBe('b');
      // Code that writes through the given connection itself is seen, because there is no NOLOOP.
      await shared.get(k2);
      await warm(shared, k2);
      await given.set(k2, 'c');
      await until(shared, k2, 'c');
      const info = (r: Redis) => r.call('CLIENT', 'TRACKINGINFO').then((x) => JSON.stringify(x));
      expect(await info(given)).toMatch(/optin/);
      expect(await info(given)).not.toMatch(/noloop/);
    });

    it('an own write replaces the copy (the next read gets the new value, then caches it)', async () => {
      const c = await make();
      const k = key('own');
      await c.set(k, 'one');
      expect(await warm(c, k)).toBe('one');
      await c.set(k, 'two');
      expect(await c.get(k)).toBe('two');
      expect(await warm(c, k)).toBe('two');
      await c.del(k);
      expect(await c.get(k)).toBeNull();
      await c.mset({ [k]: 'three' });
      expect(await c.get(k)).toBe('three');
      await warm(c, k);
      expect(await c.incrBy(key('n'), 1)).toBe(1);
      await c.set(k, '5');
      await warm(c, k);
      expect(await c.incrBy(k, 2)).toBe(7);
      expect(await c.get(k)).toBe('7');
    });

    it('a killed invalidation connection: copies stop counting as fresh until tracking is back', async () => {
      const c = await make();
      const other = user();
      const k = key('kill');
      await other.set(k, 'v1');
      await warm(c, k);
      const list = String(await other.call('CLIENT', 'LIST'));
      const id = /id=(\d+) [^\n]*name=@x\/hybrid-client:invalidation:/.exec(list)![1]!;
      const epoch = c.stats().near!.epoch;
      await other.call('CLIENT', 'KILL', 'ID', id);
      await waitFor('tracking lost', () => c.stats().near!.tracking === false, { intervalMs: 1 });
      expect(c.stats().near!.epoch).toBeGreaterThan(epoch);
      // While it is down (or just back), a read goes to Redis: a write meanwhile is seen.
      await other.set(k, 'v2');
      const calls = c.stats().primary.calls;
      expect(await c.get(k)).toBe('v2');
      expect(c.stats().primary.calls).toBe(calls + 1);
      await waitFor('tracking back', () => c.stats().near!.tracking === true);
      expect(await warm(c, k)).toBe('v2');
      await other.set(k, 'v3');
      await until(c, k, 'v3');
    });

    it('ioredis keyPrefix: server key names are mapped back', async () => {
      const c = await make({ ioredis: { protocol, keyPrefix: 'pre:' } as never });
      const other = user();
      const k = key('prefixed');
      await other.set(`pre:${k}`, 'a');
      expect(await warm(c, k)).toBe('a');
      await other.set(`pre:${k}`, 'b');
      await until(c, k, 'b');
    });

    it('hgetall is cached as a whole hash; hget reads from it; HSET elsewhere invalidates', async () => {
      const c = await make();
      const other = user();
      const k = key('hash');
      await other.hset(k, { a: '1', b: '2' });
      expect(await c.hgetall(k)).toEqual({ a: '1', b: '2' });
      const calls = c.stats().primary.calls;
      expect(await c.hgetall(k)).toEqual({ a: '1', b: '2' });
      expect(await c.hget(k, 'b')).toBe('2');
      expect(await c.hget(k, 'zz')).toBeNull();
      expect(c.stats().primary.calls).toBe(calls);
      await other.hset(k, 'a', '9');
      await waitFor('hash invalidated', async () => (await c.hget(k, 'a')) === '9');
      expect(await c.hgetall(k)).toEqual({ a: '9', b: '2' });
    });

    it('mget serves what it has and reads the rest', async () => {
      const c = await make();
      const other = user();
      const [a, b, d] = [key('m1'), key('m2'), key('m3')];
      await other.mset(a, '1', b, '2');
      await warm(c, a);
      const calls = c.stats().primary.calls;
      expect(await c.mget([a, b, d])).toEqual(['1', '2', null]);
      expect(c.stats().primary.calls).toBe(calls + 1);
      expect(await c.mget([a, b])).toEqual(['1', '2']);
      expect(c.stats().primary.calls).toBe(calls + 1);
      await other.set(b, '22');
      await waitFor('b invalidated', async () => (await c.mget([a, b]))[1] === '22');
    });
  });
}

describe('near cache races (the reply of a read against an invalidation)', () => {
  // The data connection is a client of the test: its socket can be paused, so the reply of a read
  // waits in the kernel while the invalidation (on the other connection) is handled first.
  async function paused() {
    const data = user();
    await data.ping();
    const c = await createHybridClient({ redis: data, ...OPTS });
    open.push(c);
    await waitFor('tracking', () => c.stats().near?.tracking === true);
    const stream = (data as unknown as { stream: NodeJS.ReadableStream }).stream;
    return { c, hold: () => stream.pause(), release: () => stream.resume() };
  }

  it('a reply that arrives after the invalidation of its key is not installed', async () => {
    const { c, hold, release } = await paused();
    const other = user();
    const k = key('race');
    await other.set(k, 'old');
    const invalidations = c.stats().near!.invalidations;
    await waitFor('tracking', () => c.stats().near!.tracking === true);
    const epoch = c.stats().near!.epoch;
    hold();
    const read = c.get(k);
    // The client's writes of a tick leave at its end (corked): the GET reaches Redis first.
    await new Promise((resolve) => setImmediate(resolve));
    await other.set(k, 'new');
    await waitFor('invalidation', () => c.stats().near!.invalidations > invalidations, {
      intervalMs: 1,
      timeoutMs: 3_000,
    });
    // Tracking held all along: the read was tracked, and this is the race the test is about.
    expect(c.stats().near!.epoch).toBe(epoch);
    release();
    expect(await read).toBe('old'); // the read itself raced with the write: either is fine
    // ...but the old value must not have been installed.
    const calls = c.stats().primary.calls;
    expect(await c.get(k)).toBe('new');
    expect(c.stats().primary.calls).toBe(calls + 1);
  });

  it('a reply that arrives after the invalidation connection was lost is not installed', async () => {
    const { c, hold, release } = await paused();
    const other = user();
    const k = key('lost');
    await other.set(k, 'v');
    hold();
    const read = c.get(k);
    const list = String(await other.call('CLIENT', 'LIST'));
    const id = /id=(\d+) [^\n]*name=@x\/hybrid-client:invalidation:/.exec(list)![1]!;
    await other.call('CLIENT', 'KILL', 'ID', id);
    await waitFor('tracking lost', () => c.stats().near!.tracking === false, { intervalMs: 1 });
    release();
    expect(await read).toBe('v');
    expect(c.stats().near!.entries).toBe(0);
  });

  it('concurrent reads of a key share one GET; a read after a write of the key sends its own', async () => {
    const { c, hold, release } = await paused();
    const other = user();
    const k = key('join');
    await other.set(k, 'old');
    const calls = c.stats().primary.calls;
    hold();
    const first = c.get(k);
    const second = c.get(k);
    expect(c.stats().primary.calls).toBe(calls + 1);
    const written = c.set(k, 'new');
    const after = c.get(k);
    expect(c.stats().primary.calls).toBe(calls + 3);
    release();
    expect(await first).toBe('old');
    expect(await second).toBe('old');
    expect(await written).toBe(true);
    // Read-your-writes: the read that started after the write sees it.
    expect(await after).toBe('new');
    await sleep(20);
    expect(await c.get(k)).toBe('new');
  });

  it('without the invalidation in between, the held reply is installed (the test can fail)', async () => {
    const { c, hold, release } = await paused();
    const other = user();
    const k = key('control');
    await other.set(k, 'v');
    hold();
    const read = c.get(k);
    await sleep(20);
    release();
    expect(await read).toBe('v');
    const calls = c.stats().primary.calls;
    expect(await c.get(k)).toBe('v');
    expect(c.stats().primary.calls).toBe(calls);
  });
});

describe('near cache lease', () => {
  it('invalidations held up on the way: copies stop being served as fresh within the lease', async () => {
    const proxy = await startFaultProxy({ target: redis });
    const c = await createHybridClient({
      redis: proxy.url,
      ...FAST,
      timeoutMs: 250,
      healthCheckIntervalMs: 0,
      logger: false,
    });
    open.push(c);
    await waitFor('tracking', () => c.stats().near?.tracking === true);
    const other = user();
    const k = key('lease');
    await other.set(k, 'old');
    await warm(c, k);
    proxy.blackhole();
    await other.set(k, 'new');
    const t0 = performance.now();
    // Until the lease runs out the copy may still be served; after it, never as fresh.
    let last = await c.getEntry(k);
    while (last?.source === 'near' && performance.now() - t0 < 2_000) {
      expect(last.value).toBe('old');
      await sleep(5);
      last = await c.getEntry(k);
    }
    const elapsed = performance.now() - t0;
    expect(last?.source).not.toBe('near');
    // The lease (250 ms) and a beat, with room for late timers on a loaded machine. Without the
    // lease the copy would be served until the 2 s limit of the loop: no Redis call is made (every
    // read is a hit) and the health check is off.
    expect(elapsed).toBeLessThan(1_000);
    expect(c.stats().near!.tracking).toBe(false);
    proxy.pass();
    await waitFor('the new value', async () => (await c.get(k)) === 'new', { timeoutMs: 10_000 });
    await waitFor('tracking back', () => c.stats().near!.tracking === true, { timeoutMs: 10_000 });
    await proxy.close();
  });
});

describe('near cache: a hot key written in one command', () => {
  /** Calls of `command` the server has run so far (INFO commandstats). */
  async function served(command: string): Promise<number> {
    const info = String(await user().info('commandstats'));
    return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
  }

  it('a plain SET of a hot key is one script that writes and reads the key back: tracked, no GET behind it', async () => {
    const c = await client();
    const other = user();
    const k = key('scripted');
    await c.set(k, 'v1');
    expect(await warm(c, k)).toBe('v1');
    // The first write may meet an empty script cache (NOSCRIPT: written as SET + GET, the script
    // loaded for the next time).
    await c.set(k, 'v2');
    expect(await until(c, k, 'v2')).toBeLessThan(3_000);
    await warm(c, k);
    const gets = await served('get');
    const scripts = await served('evalsha');
    const calls = c.stats().primary.calls;
    const writing = c.set(k, 'v3');
    expect(await c.get(k)).toBe('v3');
    expect(await writing).toBe(true);
    expect(await c.get(k)).toBe('v3');
    expect(c.stats().primary.calls).toBe(calls + 1);
    expect(await served('evalsha')).toBe(scripts + 1);
    expect(await served('get')).toBe(gets);
    // The read inside the script tracks the key: another client's write invalidates the copy.
    await other.set(k, 'v4');
    await until(c, k, 'v4');
  });

  it('after SCRIPT FLUSH a hot write is sent as SET + GET, then as the script again', async () => {
    const c = await client();
    const k = key('flushed');
    await c.set(k, 'a');
    await warm(c, k);
    await user().script('FLUSH');
    const gets = await served('get');
    expect(await c.set(k, 'b')).toBe(true);
    expect(await c.get(k)).toBe('b');
    await waitFor('the read behind the write', async () => (await served('get')) > gets);
    await warm(c, k);
    const scripts = await served('evalsha');
    await waitFor('the script loaded again', async () => {
      await c.set(k, 'c');
      return (await served('evalsha')) > scripts;
    });
    await user().set(k, 'd');
    await until(c, k, 'd');
  });

  it('a user without scripting: hot writes are SET + GET, still served at once and tracked', async () => {
    await user().call(
      'ACL',
      'SETUSER',
      'noscript',
      'on',
      '>pw',
      '~*',
      '&*',
      '+@all',
      '-@scripting',
    );
    const c = await client({ redis: `redis://noscript:pw@127.0.0.1:${redis.port}` });
    const k = key('noscripting');
    for (const v of ['a', 'b', 'c']) {
      await c.set(k, v);
      await warm(c, k);
    }
    const writing = c.set(k, 'd');
    expect(await c.get(k)).toBe('d');
    expect(await writing).toBe(true);
    await user().set(k, 'e');
    await until(c, k, 'e');
  });
});

describe('near cache through a stalled event loop', () => {
  it('a stall longer than the lease: no copy is served stale right after it, and none is voided', async () => {
    const c = await client({ timeoutMs: 250, healthCheckIntervalMs: 0 });
    const other = user();
    const kept = key('kept');
    const written = key('written');
    await other.set(kept, 'v');
    await other.set(written, 'old');
    await warm(c, kept);
    await warm(c, written);
    const epoch = c.stats().near!.epoch;
    // Another process writes while this one is stalled (execFileSync blocks the event loop, then
    // a busy wait) for longer than the lease (250 ms): the invalidation waits unread in the socket.
    const t0 = performance.now();
    execFileSync(redisCliBin(), ['-p', String(redis.port), 'SET', written, 'new']);
    while (performance.now() - t0 < 600) {
      // stalled
    }
    // Read at once, before any timer or socket read: the lease has run out, so no copy is served.
    const after = await c.getEntry(written);
    expect(after).toMatchObject({ value: 'new', source: 'redis' });
    // Delivery is confirmed again by the next PING; the copies were kept (same epoch), and the
    // invalidation that was held up voided the copy it names.
    await waitFor('copies served again', () => c.stats().near!.tracking === true);
    expect(c.stats().near!.epoch).toBe(epoch);
    const calls = c.stats().primary.calls;
    expect(await c.getEntry(kept)).toMatchObject({ value: 'v', source: 'near' });
    expect(c.stats().primary.calls).toBe(calls);
    expect(await until(c, written, 'new')).toBeLessThan(3_000);
    expect(c.stats().near!.invalidations).toBeGreaterThanOrEqual(1);
  });
});

describe('near cache options', () => {
  it('nearCache: false: every read goes to Redis, no tracking, stats().near is null', async () => {
    const alone = await startRedis();
    const c = await createHybridClient({ redis: alone.url, ...OPTS, nearCache: false });
    open.push(c);
    const k = key('off');
    await c.set(k, 'v');
    const calls = c.stats().primary.calls;
    await c.get(k);
    await c.get(k);
    expect(c.stats().primary.calls).toBe(calls + 2);
    expect(c.stats().near).toBeNull();
    const admin = new Redis(alone.url);
    const list = String(await admin.call('CLIENT', 'LIST'));
    admin.disconnect();
    expect(list).not.toMatch(/invalidation/);
  });

  it('maxAgeMs: an older copy is read again', async () => {
    const c = await client({ nearCache: { maxAgeMs: 50 } });
    const k = key('age');
    await c.set(k, 'v');
    await warm(c, k);
    await sleep(80);
    const calls = c.stats().primary.calls;
    expect(await c.get(k)).toBe('v');
    expect(c.stats().primary.calls).toBe(calls + 1);
  });

  it('broadcast mode: keys under the prefixes are cached and invalidated; others are not', async () => {
    const c = await client({ nearCache: { mode: 'broadcast', prefixes: ['bc:'] } });
    const other = user();
    await other.set('bc:k', '1');
    await other.set('nb:k', '1');
    await warm(c, 'bc:k');
    const calls = c.stats().primary.calls;
    await c.get('nb:k');
    await c.get('nb:k');
    expect(c.stats().primary.calls).toBe(calls + 2);
    await other.set('bc:k', '2');
    await until(c, 'bc:k', '2');
  });

  it('two hybrid clients on one given ioredis client: the second keeps its near cache off and says so', async () => {
    const shared = user();
    await shared.ping();
    const a = await createHybridClient({ redis: shared, ...OPTS });
    open.push(a);
    const logger = testLogger();
    const b = await createHybridClient({ redis: shared, ...FAST, timeoutMs: 2_000, logger });
    open.push(b);
    await waitFor('tracking', () => a.stats().near?.tracking === true);
    expect(logger.count('near_cache_shared_client')).toBe(1);
    expect(b.stats().near?.tracking).toBe(false);
    const k = key('shared');
    await shared.set(k, '1');
    await b.get(k);
    await b.get(k);
    expect(b.stats().near?.hits).toBe(0);
  });

  it('a given client stops being tracked when the hybrid client closes', async () => {
    const data = user();
    await data.ping();
    const c = await createHybridClient({ redis: data, ...OPTS });
    await waitFor('tracking', () => c.stats().near?.tracking === true);
    const flags = async () => JSON.stringify(await data.call('CLIENT', 'TRACKINGINFO'));
    expect(await flags()).toContain('"on"');
    await c.close();
    await waitFor('tracking off', async () => (await flags()).includes('"off"'));
  });

  it('a user without CLIENT TRACKING: warned once, start-up not held, reads go to Redis', async () => {
    const admin = user();
    await admin.call(
      'ACL',
      'SETUSER',
      'noclient',
      'on',
      '>pw',
      '~*',
      '&*',
      '+@all',
      '-client|tracking',
    );
    const logger = testLogger();
    const t0 = performance.now();
    const c = await createHybridClient({
      redis: `redis://noclient:pw@127.0.0.1:${redis.port}`,
      ...FAST,
      timeoutMs: 2_000,
      startupProbeTimeoutMs: 3_000,
      logger,
    });
    open.push(c);
    expect(performance.now() - t0).toBeLessThan(1_500);
    expect(c.activeBackend).toBe('primary');
    await waitFor('the warning', () => logger.count('near_cache_tracking_failed') >= 1);
    await sleep(300);
    expect(logger.count('near_cache_tracking_failed')).toBe(1);
    expect(logger.lines.find((l) => l.fields.reason === 'near_cache_tracking_failed')?.msg).toMatch(
      /NOPERM/,
    );
    const k = key('noperm');
    await c.set(k, 'v');
    const calls = c.stats().primary.calls;
    expect(await c.get(k)).toBe('v');
    expect(await c.get(k)).toBe('v');
    expect(c.stats().primary.calls).toBe(calls + 2);
    expect(c.stats().near!.tracking).toBe(false);
  });

  it('rejects invalid near cache options, naming the field', async () => {
    const bad: [unknown, string][] = [
      ['yes', 'nearCache'],
      [{ mode: 'push' }, 'nearCache.mode'],
      [{ prefixes: 'a' }, 'nearCache.prefixes'],
      [{ prefixes: [''] }, 'nearCache.prefixes'],
      [{ maxAgeMs: 0 }, 'nearCache.maxAgeMs'],
    ];
    for (const [nearCache, field] of bad) {
      expect(() =>
        createHybridClient({ redis: redis.url, nearCache: nearCache as never, logger: false }),
      ).toThrow(expect.objectContaining({ code: 'E_HYBRID_OPTIONS', field }));
    }
    expect(() =>
      createHybridClient({ redis: redis.url, failSafeMaxAgeMs: -1, logger: false }),
    ).toThrow(expect.objectContaining({ code: 'E_HYBRID_OPTIONS', field: 'failSafeMaxAgeMs' }));
  });
});
