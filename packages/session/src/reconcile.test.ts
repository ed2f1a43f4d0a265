import { createBreaker } from '@x/breaker';
import {
  closeAfter,
  type FaultProxy,
  readyClient,
  sleep,
  startCluster,
  startFaultProxy,
  startRedis,
  waitFor,
} from '@x/testkit';
import { Cluster } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createExpressSessionStore } from './express-store.js';
import type { SessionStoreOptions } from './options.js';
import { createSessionStore, type SessionStore } from './session-store.js';

// Reconciliation with `fallback: 'memory'`: what the memory fallback did during an outage is
// replayed into Redis once it is back. "Another process" is a second store on its own client
// without fallback: it sees only what is in Redis.

const cleanups = closeAfter(afterAll);

function store(options: SessionStoreOptions): SessionStore {
  const s = createSessionStore(options);
  cleanups.push(() => s.close());
  return s;
}

let prefixes = 0;
const nextPrefix = () => `r${++prefixes}:`;
const recordKey = (prefix: string, id: string) => `${prefix}{${id.slice(-4)}}:s:${id}`;

/** A store with the memory fallback behind a fault proxy, and another process's view of Redis. */
async function behindProxy(options: Partial<SessionStoreOptions> = {}) {
  const r = await startRedis();
  const proxy = await startFaultProxy({ target: r });
  cleanups.push(() => proxy.close());
  const prefix = nextPrefix();
  const redis = await readyClient(proxy.url);
  const a = store({
    redis,
    keyPrefix: prefix,
    fallback: 'memory',
    ttlMs: 60_000,
    timeoutMs: 150,
    breaker: { maxFailures: 1, resetTimeout: 300 },
    ...options,
  });
  const raw = await readyClient(r.url);
  const b = store({ redis: raw, keyPrefix: prefix });
  return { r, proxy, prefix, redis, raw, a, b };
}

/** A store with the memory fallback, on a server of its own. */
async function withMemoryFallback(options: Partial<SessionStoreOptions> = {}) {
  const r = await startRedis();
  const prefix = nextPrefix();
  const redis = await readyClient(r.url);
  const a = store({ redis, keyPrefix: prefix, fallback: 'memory', ...options });
  return { r, prefix, redis, a };
}

/** Cuts the proxy and opens the breaker with one call that times out (then served from memory). */
async function outage(proxy: FaultProxy, a: SessionStore): Promise<void> {
  proxy.blackhole();
  expect(await a.listUserSessions('nobody')).toEqual([]);
  expect(a.stats().redis.breaker).toBe('open');
}

async function reconciled(a: SessionStore): Promise<void> {
  await waitFor('changes replayed', () => a.stats().pendingReconcile === 0, { timeoutMs: 5_000 });
}

describe('reconciliation after an outage (fallback: memory)', () => {
  it('copies sessions created in memory into Redis once it is back (restarted empty)', async () => {
    const { r, prefix, redis, a } = await withMemoryFallback({ ttlMs: 60_000 });
    await r.kill();
    await waitFor('client noticed', () => redis.status !== 'ready');
    const started = Date.now();
    const ann1 = await a.create('ann', { n: 1 });
    const ann2 = await a.create('ann', { n: 2 });
    const bob = await a.create('bob', { n: 3 });
    expect(await a.update(ann1, { theme: 'dark' })).toBe(true);
    const inMemory = await a.get(ann1);
    expect(a.stats()).toMatchObject({ pendingReconcile: 3, reconciled: 0 });

    await r.restart();
    await reconciled(a);
    expect(a.stats()).toMatchObject({ reconciled: 3, reconcileSkipped: 0, reconcileDropped: 0 });

    // Another process reads them straight from Redis.
    const b = store({ redis: await readyClient(r.url), keyPrefix: prefix });
    expect((await b.get(ann1))?.data).toEqual({ n: 1, theme: 'dark' });
    expect((await b.get(ann2))?.data).toEqual({ n: 2 });
    expect(await b.get(bob)).toMatchObject({ userId: 'bob', data: { n: 3 } });
    expect((await b.listUserSessions('ann')).map((s) => s.id).sort()).toEqual([ann1, ann2].sort());
    expect((await b.listUserSessions('bob')).map((s) => s.id)).toEqual([bob]);
    // The remaining lifetime carried over, and the creation time.
    const raw = await readyClient(r.url);
    const left = await raw.pttl(recordKey(prefix, ann1));
    expect(left).toBeLessThanOrEqual(60_000);
    expect(left).toBeGreaterThan(60_000 - (Date.now() - started) - 1_000);
    const copied = await b.get(ann1);
    expect(Math.abs(copied!.createdAt - inMemory!.createdAt)).toBeLessThan(1_000);
    expect(Math.abs(copied!.expiresAt - inMemory!.expiresAt)).toBeLessThan(1_000);
    // The index expires with its last session, as CREATE sets it.
    const indexTtl = await raw.pttl(`${prefix}{${ann1.slice(-4)}}:u:ann`);
    expect(indexTtl).toBeGreaterThan(0);
    expect(indexTtl).toBeLessThanOrEqual(60_000);
    // The store itself now reads from Redis (the memory copies were dropped).
    expect(await a.destroy(bob)).toBe(true);
    expect(await b.get(bob)).toBeNull();
  });

  it('keeps the absolute lifetime of a session copied from memory', async () => {
    const { r, prefix, redis, a } = await withMemoryFallback({
      ttlMs: 60_000,
      absoluteTtlMs: 5_000,
    });
    await r.kill();
    await waitFor('client noticed', () => redis.status !== 'ready');
    const id = await a.create('abe', {});
    const before = await a.get(id);
    await r.restart();
    await reconciled(a);
    const b = store({ redis: await readyClient(r.url), keyPrefix: prefix });
    const after = await b.get(id);
    expect(after).not.toBeNull();
    expect(Math.abs(after!.absoluteExpiresAt! - before!.absoluteExpiresAt!)).toBeLessThan(1_000);
    expect(after!.expiresAt).toBeLessThanOrEqual(after!.absoluteExpiresAt!);
    expect(await b.touch(id)).toBe(after!.absoluteExpiresAt); // capped by the absolute limit
  });

  it('replays a logout made in memory: destroy and rotate (Redis frozen, data kept)', async () => {
    const { r, prefix, a } = await withMemoryFallback({
      timeoutMs: 150,
      breaker: { maxFailures: 1, resetTimeout: 300 },
    });
    const b = store({ redis: await readyClient(r.url), keyPrefix: prefix });
    const gone = await a.create('cat', { x: 1 });
    const rotated = await a.create('cat', { x: 2 });
    const kept = await a.create('cat', { x: 3 });
    await r.freeze();
    // One call times out and opens the breaker: later calls never reach Redis.
    expect(await a.get(kept)).toBeNull(); // memory does not know sessions created in Redis
    expect(a.stats().redis.breaker).toBe('open');
    expect(await a.destroy(gone)).toBe(false); // served from memory
    expect(await a.rotate(rotated)).toBeNull(); // ditto: the old id is gone
    expect(a.stats().pendingReconcile).toBe(2);
    await r.resume();
    await reconciled(a);
    expect(a.stats().reconciled).toBe(2);
    expect(await b.get(gone)).toBeNull();
    expect(await b.get(rotated)).toBeNull();
    expect((await b.get(kept))?.data).toEqual({ x: 3 });
    expect((await b.listUserSessions('cat')).map((s) => s.id)).toEqual([kept]);
  });

  it('replays destroyUserSessions made in memory; a session created after it survives', async () => {
    const { proxy, a, b } = await behindProxy();
    const old1 = await a.create('dan', { n: 1 });
    const old2 = await b.create('dan', { n: 2 }); // created by another process
    const current = await a.create('dan', { n: 3 });
    const other = await a.create('eve', {});
    await outage(proxy, a);
    const inMemory = await a.create('dan', { n: 4 });
    expect(await a.destroyUserSessions('dan', { except: current })).toBe(1); // memory knows 1
    await sleep(50);
    const later = await b.create('dan', { n: 5 }); // a new login elsewhere, after the call
    proxy.pass();
    await reconciled(a);
    expect((await b.listUserSessions('dan')).map((s) => s.id).sort()).toEqual(
      [current, later].sort(),
    );
    for (const id of [old1, old2, inMemory]) expect(await b.get(id)).toBeNull();
    expect(await b.get(other)).not.toBeNull();
  });

  it('never overwrites a record Redis already has under the same id', async () => {
    const { proxy, prefix, raw, a, b } = await behindProxy();
    await outage(proxy, a);
    const id = await a.create('fay', { from: 'memory' });
    // Meanwhile the same id was written in Redis (say by another process's replay).
    const key = recordKey(prefix, id);
    await raw.hset(key, 'm:u', 'fay', 'm:c', Date.now(), 'm:a', 0, 'd:from', '"redis"');
    await raw.pexpire(key, 30_000);
    proxy.pass();
    await reconciled(a);
    expect(a.stats()).toMatchObject({ reconciled: 0, reconcileSkipped: 1 });
    expect((await b.get(id))?.data).toEqual({ from: 'redis' });
    expect(await raw.pttl(key)).toBeLessThanOrEqual(30_000);
    // The memory copy is gone: the store answers from Redis.
    expect((await a.get(id))?.data).toEqual({ from: 'redis' });
  });

  it('a call about an id with a pending change replays it first (no logout flash, no revival)', async () => {
    const { proxy, redis, a, b } = await behindProxy({ breaker: false });
    const destroyed = await a.create('gus', { d: 1 });
    const purged = await a.create('hal', { p: 1 });
    proxy.reset(); // connections refused: the client reconnects in a loop
    await waitFor('client noticed', () => redis.status !== 'ready');
    const created = await a.create('gus', { c: 1 });
    expect(await a.destroy(destroyed)).toBe(false);
    expect(await a.destroyUserSessions('hal')).toBe(0);
    expect(a.stats().pendingReconcile).toBe(3);
    // Back: ask at once, before the background replay had its turn.
    const answers = new Promise<unknown[]>((resolve, reject) => {
      redis.once('ready', () => {
        Promise.all([
          a.get(created),
          a.get(destroyed),
          a.get(purged),
          a.listUserSessions('gus'),
        ]).then(resolve, reject);
      });
    });
    proxy.pass();
    const [c, d, p, list] = (await answers) as [{ data: unknown }, null, null, { id: string }[]];
    expect(c.data).toEqual({ c: 1 });
    expect(d).toBeNull();
    expect(p).toBeNull();
    expect(list.map((s) => s.id)).toEqual([created]);
    await reconciled(a);
    expect(await b.get(created)).not.toBeNull();
    expect(await b.get(destroyed)).toBeNull();
    expect(await b.get(purged)).toBeNull();
  });

  it('in the recovery window a call about ids with pending changes settles within timeoutMs, never with a wrong answer', async () => {
    const timeoutMs = 400;
    const { proxy, redis, a, b } = await behindProxy({ timeoutMs, breaker: false });
    const old = await a.create('gus', { o: 1 });
    const purged = await a.create('hal', { p: 1 });
    proxy.reset(); // connections refused: the client reconnects in a loop
    await waitFor('client noticed', () => redis.status !== 'ready');
    // During the outage: a new login, then "log out my other devices", and hal logs out everywhere.
    const created = await a.create('gus', { c: 1 });
    expect(await a.destroyUserSessions('gus', { except: created })).toBe(0);
    expect(await a.destroyUserSessions('hal')).toBe(0);
    expect(a.stats().pendingReconcile).toBe(3);
    // Back, on a slow link: a round trip takes about 120 ms, and each replayed script is one or
    // two (EVALSHA, then EVAL after NOSCRIPT). Replaying gus' changes (LIST and DESTROY_OLDER for
    // the logout, then COPY_SESSION) and then asking Redis takes far longer than timeoutMs.
    proxy.latency(60);
    await waitFor('usable again', () => a.stats().redis.state === 'ready', { timeoutMs: 5_000 });
    const timed = async <T>(call: Promise<T>) => {
      const started = performance.now();
      const result = await call.then(
        (value) => ({ value, error: undefined }),
        (error: unknown) => ({ value: undefined, error }),
      );
      return { ...result, ms: performance.now() - started };
    };
    const [list, c, o, p] = await Promise.all([
      timed(a.listUserSessions('gus')),
      timed(a.get(created)),
      timed(a.get(old)),
      timed(a.get(purged)),
    ]);
    for (const outcome of [list, c, o, p]) {
      expect(outcome.ms).toBeLessThan(timeoutMs + 150);
      // Either the right answer (from Redis, or from memory while the replay is under way), or
      // a fail-closed error when memory no longer knows and Redis could not answer in time.
      if (outcome.error !== undefined) {
        expect(outcome.error).toMatchObject({
          code: 'E_SESSION_UNAVAILABLE',
          problem: { kind: 'timeout' },
        });
      }
    }
    if (list.error === undefined) expect(list.value!.map((x) => x.id)).toEqual([created]);
    if (c.error === undefined) expect(c.value?.data).toEqual({ c: 1 });
    if (o.error === undefined) expect(o.value).toBeNull();
    if (p.error === undefined) expect(p.value).toBeNull();
    proxy.pass();
    await reconciled(a);
    expect((await b.get(created))?.data).toEqual({ c: 1 });
    expect(await b.get(old)).toBeNull();
    expect(await b.get(purged)).toBeNull();
    expect((await a.listUserSessions('gus')).map((x) => x.id)).toEqual([created]);
  });

  it('a rewrite of a record whose copy is on its way to Redis fails closed instead of being lost', async () => {
    const timeoutMs = 300;
    const { proxy, redis, a, b } = await behindProxy({ timeoutMs, breaker: false });
    proxy.reset();
    await waitFor('client noticed', () => redis.status !== 'ready');
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) ids.push(await a.create(`x${i % 10}`, { v: 1 }));
    const last = ids[99]!; // replayed last
    proxy.latency(20); // back, slowly: the replay of 100 copies takes a while
    await waitFor('usable again', () => a.stats().redis.state === 'ready', { timeoutMs: 5_000 });
    proxy.blackhole(); // gone again, with copies in flight
    expect(a.stats().pendingReconcile).toBeGreaterThan(0);
    const started = performance.now();
    // The read asks for the copy first; the copy never comes back in time: memory answers.
    const read = a.get(last);
    // The rewrite finds that copy in flight, or unconfirmed: done in memory it could be lost (a
    // copy that landed is never overwritten), so it fails closed.
    const write = a.update(last, { v: 2 }).catch((error: unknown) => error);
    expect((await read)?.data).toEqual({ v: 1 });
    const error = await write;
    expect(performance.now() - started).toBeLessThan(timeoutMs + 150);
    expect(error).toMatchObject({ code: 'E_SESSION_UNAVAILABLE', operation: 'update' });
    expect((error as Error).message).toMatch(/has not confirmed the copy yet/);
    proxy.pass();
    await reconciled(a);
    // What the caller was told is what Redis has: v 1, not an acknowledged update lost.
    expect((await b.get(last))?.data).toEqual({ v: 1 });
    expect((await a.update(last, { v: 3 })) && (await b.get(last))?.data).toEqual({ v: 3 });
  });

  it('stays bounded by maxEntries: overflow is counted, destroys are kept first', async () => {
    const { proxy, redis, a, b } = await behindProxy({ maxEntries: 4, breaker: false });
    const old = await a.create('ian', {});
    proxy.reset(); // unreachable; Redis keeps its data
    await waitFor('client noticed', () => redis.status !== 'ready');
    const created: string[] = [];
    for (let i = 0; i < 10; i++) created.push(await a.create(`u${i}`, { i }));
    expect(a.stats()).toMatchObject({ pendingReconcile: 4, reconcileDropped: 6 });
    expect(await a.destroy(old)).toBe(false); // pushes out the oldest pending copy, not a destroy
    for (let i = 10; i < 15; i++) created.push(await a.create(`u${i}`, { i }));
    expect(a.stats()).toMatchObject({ pendingReconcile: 4, reconcileDropped: 12 });
    proxy.pass();
    await reconciled(a);
    const stats = a.stats();
    expect(stats.reconciled + stats.reconcileSkipped).toBe(4);
    expect(await b.get(old)).toBeNull(); // the logout survived the overflow
    expect(await b.get(created[14]!)).not.toBeNull(); // the newest copy too
    expect(await b.get(created[0]!)).toBeNull(); // dropped: never copied
  });

  it('a replay interrupted by a second outage resumes on the next recovery', async () => {
    const { proxy, a, b } = await behindProxy({ timeoutMs: 250 });
    await outage(proxy, a);
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) ids.push(await a.create(`v${i % 5}`, { i }));
    expect(a.stats().pendingReconcile).toBe(60);
    proxy.latency(50); // back, but slow: the replay takes a while
    await waitFor('replay started', () => a.stats().reconciled > 0, { timeoutMs: 5_000 });
    proxy.blackhole(); // gone again mid-replay
    await waitFor('breaker open again', () => a.stats().redis.breaker === 'open');
    const interrupted = a.stats();
    expect(interrupted.pendingReconcile).toBeGreaterThan(0);
    expect(interrupted.pendingReconcile).toBeLessThan(60);
    await sleep(400); // open, then half-open: no replay gets through the blackhole
    expect(a.stats().pendingReconcile).toBeGreaterThan(0);
    proxy.pass();
    await reconciled(a);
    const done = a.stats();
    // A copy whose reply was lost lands anyway and is found there next time (never overwritten).
    expect(done.reconciled + done.reconcileSkipped).toBe(60);
    expect(done.reconcileDropped).toBe(0);
    const found = await Promise.all(ids.map((id) => b.get(id)));
    expect(found.filter((s) => s === null)).toHaveLength(0);
    expect(found.map((s) => s!.data.i)).toEqual(ids.map((_, i) => i));
  });

  it('copies express-session records set in memory and replays their destroys', async () => {
    const { proxy, prefix, raw, a } = await behindProxy();
    const express = createExpressSessionStore({ store: a, tombstoneMs: 5_000 });
    const call = <T>(fn: (cb: (error?: unknown, value?: T) => void) => void) =>
      new Promise<T | undefined>((resolve, reject) =>
        fn((error, value) => (error ? reject(error) : resolve(value))),
      );
    const cookie = (ms: number) => ({ originalMaxAge: ms, expires: new Date(Date.now() + ms) });
    const before = 'sid-before-the-outage-0001';
    const during = 'sid-created-in-the-outage-02';
    await call((cb) => express.set(before, { cookie: cookie(60_000), user: 'x' } as never, cb));
    await outage(proxy, a);
    await call((cb) => express.set(during, { cookie: cookie(30_000), user: 'y' } as never, cb));
    await call((cb) => express.destroy(before, cb)); // logout during the outage
    expect(a.stats().pendingReconcile).toBe(2);
    proxy.pass();
    await reconciled(a);
    expect(a.stats().reconciled).toBe(2);
    expect(JSON.parse((await raw.get(`${prefix}x:{${during}}`))!)).toMatchObject({ user: 'y' });
    const pttl = await raw.pttl(`${prefix}x:{${during}}`);
    expect(pttl).toBeGreaterThan(25_000);
    expect(pttl).toBeLessThanOrEqual(30_000);
    expect(await raw.exists(`${prefix}x:{${before}}`)).toBe(0);
    expect(await raw.exists(`${prefix}x:{${before}}:gone`)).toBe(1); // tombstone replayed too
    // Another process's express store: the logged-out sid stays out, the new one is there.
    const other = createExpressSessionStore({ store: store({ redis: raw, keyPrefix: prefix }) });
    expect(await call((cb) => other.get(before, cb))).toBeNull();
    await call((cb) => other.set(before, { cookie: cookie(60_000), user: 'x' } as never, cb));
    expect(await call((cb) => other.get(before, cb))).toBeNull(); // the tombstone refuses it
    expect(await call((cb) => other.get(during, cb))).toMatchObject({ user: 'y' });
  });

  it('replays on Redis Cluster too (outage simulated by isolating a shared breaker)', async () => {
    const c = await startCluster({ masters: 3 });
    const cluster = new Cluster(c.startupNodes, { enableOfflineQueue: false });
    cluster.on('error', () => {});
    cleanups.push(() => cluster.disconnect());
    await waitFor('cluster ready', () => cluster.status === 'ready');
    const breaker = createBreaker({ resetTimeout: 60_000 });
    const prefix = nextPrefix();
    const a = store({ redis: cluster, keyPrefix: prefix, fallback: 'memory', breaker });
    const b = store({ redis: cluster, keyPrefix: prefix });
    const express = createExpressSessionStore({ store: a });
    const old = await a.create('kim', { o: 1 });
    const other = await a.create('lee', {});
    const isolation = breaker.isolate(); // every call goes to memory
    const created: string[] = [];
    for (let i = 0; i < 8; i++) created.push(await a.create(`w${i}`, { i }));
    expect(await a.destroy(other)).toBe(false);
    expect(await a.destroyUserSessions('kim')).toBe(0);
    const sid = 'sid-set-during-isolation-01';
    await new Promise((resolve, reject) =>
      express.set(sid, { cookie: { originalMaxAge: 60_000 }, n: 1 } as never, (error) =>
        error ? reject(error) : resolve(undefined),
      ),
    );
    expect(a.stats().pendingReconcile).toBe(11);
    isolation.dispose();
    await reconciled(a);
    expect(a.stats()).toMatchObject({ reconciled: 11, reconcileDropped: 0 });
    for (const [i, id] of created.entries()) expect((await b.get(id))?.data).toEqual({ i });
    expect(await b.get(other)).toBeNull();
    expect(await b.get(old)).toBeNull();
    expect(JSON.parse((await cluster.get(`${prefix}x:{${sid}}`))!)).toMatchObject({ n: 1 });
  });

  it('without fallback nothing is recorded (fallback none is unchanged)', async () => {
    const { proxy, a } = await behindProxy({ fallback: 'none' });
    proxy.blackhole();
    await expect(a.create('joe', {})).rejects.toMatchObject({ code: 'E_SESSION_UNAVAILABLE' });
    proxy.pass();
    expect(a.stats()).toMatchObject({
      pendingReconcile: 0,
      reconciled: 0,
      reconcileSkipped: 0,
      reconcileDropped: 0,
    });
  });
});
