import {
  closeAfter,
  sleep,
  startCluster,
  startFaultProxy,
  startRedis,
  testClient,
  waitFor,
} from '@x/testkit';
import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { stringCodec } from './codec.js';
import { isPubSubError, PubSubOptionsError, SubscriptionOverflowError } from './errors.js';
import { createPubSub, type PubSub } from './pubsub.js';
import type { DropReport, GapInfo, Message, Subscription } from './subscription.js';

const open = closeAfter(afterEach);

/** A plain client of the test's own, disconnected after the test. */
function client(url: string): Redis {
  const redis = testClient(url);
  open.push(() => redis.disconnect());
  return redis;
}

function pubsub<T = unknown>(options: Parameters<typeof createPubSub<T>>[0]): PubSub<T> {
  const ps = createPubSub<T>({ logger: false, ...options });
  open.push(ps);
  return ps;
}

async function ready(redis: Redis | Cluster): Promise<void> {
  await waitFor('client ready', () => redis.status === 'ready');
}

/**
 * A pub/sub on `redis` with a fast PING watchdog (100 ms, 200 ms deadline) and fast reconnects,
 * one confirmed subscription to `channel`, and the disconnect reasons and gaps it reports.
 */
async function watchedIdleSubscriber(redis: Redis, channel: string) {
  await ready(redis);
  const ps = pubsub<string>({
    redis,
    breaker: false,
    pingIntervalMs: 100,
    pingTimeoutMs: 200,
    reconnect: { minDelayMs: 20, maxDelayMs: 100 },
  });
  const downs: string[] = [];
  ps.on('disconnect', (info) => downs.push(info.reason));
  const sub = ps.subscribe(channel);
  const gaps: GapInfo[] = [];
  sub.on('gap', (gap) => gaps.push(gap));
  await sub.ready;
  return { ps, sub, downs, gaps };
}

async function take<T>(sub: Subscription<T>, n: number, timeoutMs = 5_000): Promise<Message<T>[]> {
  const out: Message<T>[] = [];
  if (n === 0) return out;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`got ${out.length} of ${n} messages`)), timeoutMs);
  });
  const read = (async () => {
    for await (const message of sub) {
      out.push(message);
      if (out.length === n) break;
    }
    return out;
  })();
  try {
    return await Promise.race([read, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('createPubSub on a standalone server', () => {
  it('delivers on several channels and patterns, JSON by default', async () => {
    const r = await startRedis();
    const redis = client(r.url);
    await ready(redis);
    const ps = pubsub({ redis });
    const channels = ps.subscribe(['orders', 'users']);
    const patterns = ps.subscribe({ patterns: ['news.*'] });
    await Promise.all([channels.ready, patterns.ready]);
    expect(await ps.publish('orders', { id: 1 })).toBe(1);
    expect(await ps.publish('users', ['a', 'b'])).toBe(1);
    expect(await ps.publish('news.sport', 'goal')).toBe(1);
    expect(await ps.publish('other', 1)).toBe(0);
    expect(await take(channels, 2)).toEqual([
      { channel: 'orders', data: { id: 1 } },
      { channel: 'users', data: ['a', 'b'] },
    ]);
    expect(await take(patterns, 1)).toEqual([
      { channel: 'news.sport', pattern: 'news.*', data: 'goal' },
    ]);
    expect(ps.stats()).toMatchObject({ published: 4, received: 3, malformed: 0 });
  });

  it('fans one channel out to two subscriptions and keeps it until the last one leaves', async () => {
    const r = await startRedis();
    const redis = client(r.url);
    await ready(redis);
    const ps = pubsub({ redis });
    const a = ps.subscribe('feed');
    const b = ps.subscribe('feed');
    await Promise.all([a.ready, b.ready]);
    await ps.publish('feed', 1);
    expect((await take(a, 1))[0]?.data).toBe(1); // break in for-await closes `a`
    expect(a.closed).toBe(true);
    expect((await take(b, 1))[0]?.data).toBe(1);
    expect(ps.stats().channels).toBe(0);
    const c = ps.subscribe('feed');
    await c.ready;
    expect(await ps.publish('feed', 2)).toBe(1);
    expect((await take(c, 1))[0]?.data).toBe(2);
  });

  it('works as an event emitter without buffering', async () => {
    const r = await startRedis();
    const redis = client(r.url);
    await ready(redis);
    const ps = pubsub<string>({ redis, codec: stringCodec });
    const sub = ps.subscribe('chat');
    const seen: string[] = [];
    sub.on('message', (m) => seen.push(m.data));
    await sub.ready;
    for (let i = 0; i < 300; i++) await ps.publish('chat', `m${i}`);
    await waitFor('300 messages', () => seen.length === 300);
    expect(seen[299]).toBe('m299');
    expect(sub.stats()).toMatchObject({ received: 300, delivered: 300, dropped: 0, buffered: 0 });
  });

  it('drop-oldest: a slow reader keeps the newest bufferSize messages, one drop report per burst', async () => {
    const r = await startRedis();
    const redis = client(r.url);
    await ready(redis);
    const ps = pubsub<number>({ redis });
    const sub = ps.subscribe('flood', { bufferSize: 10, dropReportIntervalMs: 60_000 });
    const reports: DropReport[] = [];
    sub.on('drop', (report) => reports.push(report));
    await sub.ready;
    let maxBuffered = 0;
    const pipeline = redis.pipeline();
    for (let i = 0; i < 500; i++) pipeline.publish('flood', String(i));
    const watch = setInterval(() => {
      maxBuffered = Math.max(maxBuffered, sub.stats().buffered);
    }, 1);
    await pipeline.exec();
    await waitFor('500 received', () => sub.stats().received === 500);
    clearInterval(watch);
    expect(maxBuffered).toBeLessThanOrEqual(10);
    expect(sub.stats()).toMatchObject({ received: 500, dropped: 490, buffered: 10, delivered: 0 });
    expect(reports).toEqual([]); // the burst lasts until the reader catches up
    const got = (await take(sub, 10)).map((m) => m.data);
    expect(got).toEqual([490, 491, 492, 493, 494, 495, 496, 497, 498, 499]);
    expect(reports).toEqual([
      { dropped: 490, total: 490, policy: 'drop-oldest', channel: 'flood' },
    ]);
  });

  it('drop-newest keeps the oldest messages and counts every drop', async () => {
    const r = await startRedis();
    const redis = client(r.url);
    await ready(redis);
    const ps = pubsub<number>({ redis });
    const sub = ps.subscribe('flood', { bufferSize: 5, overflow: 'drop-newest' });
    await sub.ready;
    const pipeline = redis.pipeline();
    for (let i = 0; i < 100; i++) pipeline.publish('flood', String(i));
    await pipeline.exec();
    await waitFor('100 received', () => sub.stats().received === 100);
    expect(sub.stats()).toMatchObject({ dropped: 95, buffered: 5 });
    expect((await take(sub, 5)).map((m) => m.data)).toEqual([0, 1, 2, 3, 4]);
  });

  it("overflow 'error' delivers what was buffered, then throws SubscriptionOverflowError", async () => {
    const r = await startRedis();
    const redis = client(r.url);
    await ready(redis);
    const ps = pubsub<number>({ redis });
    const sub = ps.subscribe('flood', { bufferSize: 3, overflow: 'error' });
    const errors: unknown[] = [];
    sub.on('error', (e) => errors.push(e));
    await sub.ready;
    for (let i = 0; i < 5; i++) await redis.publish('flood', String(i));
    await waitFor('closed by overflow', () => sub.closed);
    const got: number[] = [];
    let thrown: unknown;
    try {
      for await (const m of sub) got.push(m.data);
    } catch (error) {
      thrown = error;
    }
    expect(got).toEqual([0, 1, 2]);
    expect(thrown).toBeInstanceOf(SubscriptionOverflowError);
    expect((thrown as SubscriptionOverflowError).code).toBe('E_PUBSUB_OVERFLOW');
    expect(errors).toHaveLength(1);
    expect(sub.stats().dropped).toBe(1);
    expect(ps.stats().channels).toBe(0);
  });

  it('counts and reports a malformed payload, and the iterator goes on', async () => {
    const r = await startRedis();
    const redis = client(r.url);
    await ready(redis);
    const ps = pubsub({ redis });
    const sub = ps.subscribe('in');
    const bad: string[] = [];
    sub.on('malformed', (report) => bad.push(report.payload.toString()));
    await sub.ready;
    await redis.publish('in', '{not json');
    await ps.publish('in', { ok: true });
    expect(await take(sub, 1)).toEqual([{ channel: 'in', data: { ok: true } }]);
    expect(bad).toEqual(['{not json']);
    expect(sub.stats().malformed).toBe(1);
    expect(ps.stats().malformed).toBe(1);
  });

  it('ends the iterator on abort, on close() and on unsubscribing the last channel', async () => {
    const r = await startRedis();
    const redis = client(r.url);
    await ready(redis);
    const ps = pubsub({ redis });
    const controller = new AbortController();
    const aborted = ps.subscribe('x', { signal: controller.signal });
    const closed = ps.subscribe('y');
    const emptied = ps.subscribe(['z1', 'z2']);
    const ends = [aborted, closed, emptied].map(async (sub) => {
      const got: unknown[] = [];
      for await (const m of sub) got.push(m.data);
      return got;
    });
    await Promise.all([aborted.ready, closed.ready, emptied.ready]);
    await ps.publish('z1', 'before');
    await waitFor('delivered', () => emptied.stats().delivered === 1);
    controller.abort();
    closed.close();
    emptied.unsubscribe('z1');
    expect(emptied.closed).toBe(false);
    expect(emptied.channels).toEqual(['z2']);
    emptied.unsubscribe('z2');
    expect(await Promise.all(ends)).toEqual([[], [], ['before']]);
    expect(ps.stats()).toMatchObject({ subscriptions: 0, channels: 0 });
    await waitFor(
      'unsubscribed on Redis',
      async () => (await redis.pubsub('NUMSUB', 'x', 'y', 'z2')).join() === 'x,0,y,0,z2,0',
    );
    const late = ps.subscribe('w', { signal: AbortSignal.abort() });
    expect(late.closed).toBe(true);
    expect(await late.next()).toEqual({ value: undefined, done: true });
  });

  it('re-subscribes after a server restart, emits gap, and delivers later messages', async () => {
    const r = await startRedis();
    const redis = client(r.url);
    await ready(redis);
    const ps = pubsub<string>({
      redis,
      breaker: false,
      reconnect: { minDelayMs: 20, maxDelayMs: 100 },
    });
    const sub = ps.subscribe({ channels: ['events'], patterns: ['ev.*'] });
    const gaps: GapInfo[] = [];
    sub.on('gap', (gap) => gaps.push(gap));
    await sub.ready;
    await ps.publish('events', 'one');
    await waitFor('first message buffered', () => sub.stats().buffered === 1);
    await r.restart();
    await waitFor('gap', () => gaps.length === 1, { timeoutMs: 5_000 });
    expect(gaps[0]?.reason).toBe('connection-closed');
    expect(gaps[0]?.downtimeMs).toBeGreaterThanOrEqual(0);
    await ready(redis);
    expect(await ps.publish('events', 'two')).toBe(1);
    expect(await ps.publish('ev.x', 'three')).toBe(1);
    expect((await take(sub, 3)).map((m) => m.data)).toEqual(['one', 'two', 'three']);
    expect(ps.stats().gaps).toBe(1);
    expect(sub.stats().gaps).toBe(1);
  });

  it('notices a frozen server on an idle subscriber (PING deadline) and recovers after resume', async () => {
    const r = await startRedis();
    const redis = client(r.url);
    const { ps, sub, downs, gaps } = await watchedIdleSubscriber(redis, 'idle');
    await r.freeze();
    const frozenAt = Date.now();
    await waitFor('frozen server noticed', () => downs.length > 0, { timeoutMs: 2_000 });
    expect(Date.now() - frozenAt).toBeLessThan(1_000);
    expect(downs[0]).toBe('ping-timeout');
    expect(ps.stats().connected).toBe(false);
    // Frozen for several PING periods (reconnect attempts stall in the handshake), then resumed.
    await sleep(1_500);
    await r.resume();
    const resumedAt = Date.now();
    await waitFor('gap after resume', () => gaps.length === 1, { timeoutMs: 5_000 });
    expect(Date.now() - resumedAt).toBeLessThan(1_000);
    expect(gaps[0]?.reason).toBe('ping-timeout');
    await ready(redis);
    expect(await ps.publish('idle', 'back')).toBe(1);
    expect((await take(sub, 1))[0]?.data).toBe('back');
  });

  it('notices a blackholed path to an idle subscriber and is back soon after it heals', async () => {
    const r = await startRedis();
    const proxy = await startFaultProxy({ target: r });
    open.push({ close: () => proxy.close() });
    const redis = client(proxy.url);
    const { ps, sub, downs, gaps } = await watchedIdleSubscriber(redis, 'path');
    proxy.blackhole();
    await waitFor('stalled path noticed', () => downs.length > 0, { timeoutMs: 2_000 });
    expect(downs[0]).toBe('ping-timeout');
    // Reconnect attempts meanwhile stall in the handshake and are dropped after pingTimeoutMs.
    await sleep(300);
    proxy.pass();
    const healedAt = Date.now();
    await waitFor('gap after the path heals', () => gaps.length === 1, { timeoutMs: 5_000 });
    expect(Date.now() - healedAt).toBeLessThan(1_000);
    await ready(redis);
    expect(await ps.publish('path', 'back')).toBe(1);
    expect((await take(sub, 1))[0]?.data).toBe('back');
  });

  it('rejects a publish at once with a typed error while Redis is down', async () => {
    const r = await startRedis();
    const redis = client(r.url);
    await ready(redis);
    const ps = pubsub({ redis });
    await r.kill();
    await waitFor('client noticed', () => redis.status !== 'ready');
    const started = performance.now();
    const error = await ps.publish('a', 1).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(100);
    expect(isPubSubError(error)).toBe(true);
    expect(error).toMatchObject({
      name: 'PubSubUnavailableError',
      code: 'E_PUBSUB_UNAVAILABLE',
      channel: 'a',
    });
    expect(ps.stats().publishErrors).toBe(1);
  });

  it('bounds a publish to a frozen server by timeoutMs', async () => {
    const r = await startRedis();
    const redis = new Redis(r.url, { maxRetriesPerRequest: 1 }); // a plain client: no command timeout
    redis.on('error', () => {});
    open.push({ close: () => redis.disconnect() });
    await ready(redis);
    const ps = pubsub({ redis, timeoutMs: 150, breaker: false });
    await r.freeze();
    const started = performance.now();
    const error = await ps.publish('a', 1).catch((e: unknown) => e);
    const took = performance.now() - started;
    await r.resume();
    expect(took).toBeLessThan(400);
    expect(error).toMatchObject({ code: 'E_PUBSUB_UNAVAILABLE' });
    expect((error as Error).message).toMatch(/^\[@x\/pubsub\] /);
  });

  it("delivers locally while Redis is down with fallback: 'local'", async () => {
    const r = await startRedis();
    const redis = client(r.url);
    await ready(redis);
    const ps = pubsub<string>({ redis, fallback: 'local' });
    const exact = ps.subscribe('room.1');
    const pattern = ps.subscribe({ patterns: ['room.[0-9]'] });
    await Promise.all([exact.ready, pattern.ready]);
    await r.kill();
    await waitFor('client noticed', () => redis.status !== 'ready');
    expect(await ps.publish('room.1', 'hi')).toBe(2);
    expect(await ps.publish('room.x', 'nobody')).toBe(0);
    expect(await take(exact, 1)).toEqual([{ channel: 'room.1', data: 'hi' }]);
    expect(await take(pattern, 1)).toEqual([
      { channel: 'room.1', pattern: 'room.[0-9]', data: 'hi' },
    ]);
    expect(ps.stats().deliveredLocally).toBe(2);
  });

  it('closes its own connections, never the client it was given', async () => {
    const r = await startRedis();
    const redis = client(r.url);
    await ready(redis);
    const ps = createPubSub({ redis });
    const sub = ps.subscribe('a');
    await sub.ready;
    expect(Number((await redis.pubsub('NUMSUB', 'a'))[1])).toBe(1);
    await ps.close();
    expect(sub.closed).toBe(true);
    expect(redis.status).toBe('ready');
    await waitFor(
      'subscriber gone',
      async () => Number((await redis.pubsub('NUMSUB', 'a'))[1]) === 0,
    );
    await expect(ps.publish('a', 1)).rejects.toMatchObject({ code: 'E_PUBSUB_CLOSED' });
    expect(() => ps.subscribe('a')).toThrow(/closed/);

    const owned = createPubSub({ redis: r.url });
    // Published while the new client is still connecting: waits for it, within the deadline.
    expect(await owned.publish('b', 0)).toBe(0);
    const s2 = owned.subscribe('b');
    await s2.ready;
    expect(await owned.publish('b', 1)).toBe(1);
    await owned.close();
    await waitFor('all gone', async () => Number((await redis.pubsub('NUMSUB', 'b'))[1]) === 0);
  });

  it('rejects invalid options and targets, naming the field', () => {
    const redis = new Redis({ lazyConnect: true });
    expect(() => createPubSub({ redis, timeoutMs: 0 })).toThrow(PubSubOptionsError);
    expect(() => createPubSub({ redis, codec: {} as never })).toThrow(/invalid codec: \{\}/);
    expect(() => createPubSub({ redis, fallback: 'memory' as never })).toThrow(
      /invalid fallback: "memory"/,
    );
    // Options the connection validates are reported as the pub/sub's own, naming field and value.
    for (const [options, field, message] of [
      [{}, 'redis', /^\[@x\/pubsub\] invalid redis: undefined \(expected a URL/],
      [{ redis, logger: 42 }, 'logger', /^\[@x\/pubsub\] invalid logger: 42 \(expected /],
      [{ redis, breaker: 'on' }, 'breaker', /invalid breaker: "on"/],
    ] as const) {
      let error: unknown;
      try {
        createPubSub(options as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(PubSubOptionsError);
      expect(error).toMatchObject({ code: 'E_PUBSUB_OPTIONS', field });
      expect((error as Error).message).toMatch(message);
    }
    const ps = pubsub({ redis });
    expect(() => ps.subscribe([])).toThrow(/invalid targets/);
    expect(() => ps.subscribe('a', { bufferSize: 0 })).toThrow(/invalid bufferSize: 0/);
    expect(() => ps.subscribe('a', { overflow: 'block' as never })).toThrow(/invalid overflow/);
    expect(() => ps.subscribe({ channels: [''] })).toThrow(/invalid channels/);
    const sharded = pubsub({ redis, sharded: true });
    expect(() => sharded.subscribe({ patterns: ['a*'] })).toThrow(/invalid patterns/);
    try {
      ps.subscribe('a', { bufferSize: -1 });
    } catch (error) {
      expect(error).toMatchObject({ code: 'E_PUBSUB_OPTIONS', field: 'bufferSize' });
    }
    redis.disconnect();
  });
});

describe('sharded pub/sub on a cluster', () => {
  it('delivers SPUBLISH messages on channels of different shards', async () => {
    const c = await startCluster({ masters: 3 });
    const cluster = new Cluster(c.startupNodes, { enableOfflineQueue: true });
    cluster.on('error', () => {});
    open.push({ close: () => cluster.disconnect() });
    await ready(cluster);
    const ps = pubsub<number>({ redis: cluster, sharded: true });
    // Names chosen to land on different masters (slots 0..16383 split in 3).
    const channels = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'];
    const sub = ps.subscribe(channels);
    await sub.ready;
    const owners = new Set<string>();
    for (const channel of channels) {
      const slot = Number(await cluster.cluster('KEYSLOT', channel));
      owners.add(String(cluster.slots[slot]?.[0]));
    }
    expect(owners.size).toBe(3); // the channels really live on three different shards
    // Each shard reports its own sharded subscription (SSUBSCRIBE, not a cluster-wide SUBSCRIBE).
    let shardSubscribers = 0;
    for (const node of cluster.nodes('master')) {
      const reply = (await node.call('PUBSUB', 'SHARDNUMSUB', ...channels)) as (string | number)[];
      for (let i = 1; i < reply.length; i += 2) shardSubscribers += Number(reply[i]);
    }
    expect(shardSubscribers).toBe(channels.length);
    const counts: number[] = [];
    for (const [i, channel] of channels.entries()) counts.push(await ps.publish(channel, i));
    expect(counts).toEqual([1, 1, 1, 1, 1, 1]);
    const got = await take(sub, channels.length);
    expect(got.map((m) => m.channel).sort()).toEqual([...channels].sort());
    expect(got.map((m) => m.data).sort()).toEqual([0, 1, 2, 3, 4, 5]);

    // Classic (cluster-wide) pub/sub with patterns on the same cluster.
    const classic = pubsub<string>({ redis: cluster });
    const pattern = classic.subscribe({ patterns: ['room.*'], channels: ['lobby'] });
    await pattern.ready;
    await classic.publish('room.1', 'r1');
    await classic.publish('lobby', 'hello');
    // Each PUBLISH may go to a different node, which forwards it over the cluster bus: the two
    // can arrive in either order.
    const both = await take(pattern, 2);
    expect(both.sort((a, b) => a.channel.localeCompare(b.channel))).toEqual([
      { channel: 'lobby', data: 'hello' },
      { channel: 'room.1', pattern: 'room.*', data: 'r1' },
    ]);
  });

  it('follows a failover: sharded channels re-subscribed on the new masters, gap emitted', async () => {
    const c = await startCluster({ masters: 3, replicasPerMaster: 1 });
    const cluster = new Cluster(c.startupNodes, { enableOfflineQueue: true });
    cluster.on('error', () => {});
    open.push({ close: () => cluster.disconnect() });
    await ready(cluster);
    const ps = pubsub<number>({ redis: cluster, sharded: true, pingIntervalMs: 200 });
    const channels = ['alpha', 'bravo', 'charlie'];
    const sub = ps.subscribe(channels);
    const gaps: GapInfo[] = [];
    sub.on('gap', (gap) => gaps.push(gap));
    await sub.ready;
    await c.failover(0);
    await c.failover(1);
    await waitFor('gap', () => gaps.length > 0, { timeoutMs: 5_000 });
    expect(gaps[0]?.reason).toMatch(/^cluster-/);
    // Every channel is subscribed again, on whichever node now owns it.
    const nodes = c.nodes.map((node) => {
      const redis = new Redis(node.port);
      open.push({ close: () => redis.disconnect() });
      return redis;
    });
    await waitFor('re-subscribed', async () => {
      let total = 0;
      for (const node of nodes) {
        const reply = (await node.call('PUBSUB', 'SHARDNUMSUB', ...channels)) as unknown[];
        for (let i = 1; i < reply.length; i += 2) total += Number(reply[i]);
      }
      return total === channels.length;
    });
    for (const [i, channel] of channels.entries()) await ps.publish(channel, i);
    const got = await take(sub, 3);
    expect(got.map((m) => m.data).sort()).toEqual([0, 1, 2]);
  });
});
