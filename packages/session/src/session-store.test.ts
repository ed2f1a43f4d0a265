import {
  closeAfter,
  readyClient,
  sleep,
  startCluster,
  startRedis,
  testClient,
  waitFor,
} from '@x/testkit';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userTag } from './_internal/ids.js';
import {
  InvalidSessionIdError,
  isSessionError,
  SessionOptionsError,
  SessionUnavailableError,
} from './errors.js';
import type { SessionStoreOptions } from './options.js';
import { createSessionStore, type SessionStore } from './session-store.js';

const cleanups = closeAfter(afterAll);

function store<T extends Record<string, unknown> = Record<string, unknown>>(
  options: SessionStoreOptions,
): SessionStore<T> {
  const s = createSessionStore<T>(options);
  cleanups.push(() => s.close());
  return s;
}

let prefixes = 0;
const nextPrefix = () => `t${++prefixes}:`;

// The same behaviour on a standalone server and on a 3-master cluster.
describe.each(['standalone', 'cluster'] as const)('session store on %s', (kind) => {
  let client: Redis | Cluster;
  beforeAll(async () => {
    if (kind === 'standalone') {
      const r = await startRedis();
      client = testClient(r.url);
    } else {
      const c = await startCluster({ masters: 3 });
      client = new Cluster(c.startupNodes, { enableOfflineQueue: false });
      client.on('error', () => {});
      cleanups.push(() => client.disconnect());
    }
    await waitFor('client ready', () => client.status === 'ready');
  }, 30_000);

  it('creates, reads, updates, touches and destroys a session', async () => {
    const s = store<{ role: string; n?: number; list?: number[] }>({
      redis: client,
      keyPrefix: nextPrefix(),
    });
    const id = await s.create('alice', { role: 'admin', list: [] });
    expect(id).toMatch(/^[A-Za-z0-9_-]{32}\.[0-9a-f]{4}$/);
    const session = await s.get(id);
    expect(session).toMatchObject({
      id,
      userId: 'alice',
      data: { role: 'admin', list: [] },
      absoluteExpiresAt: null,
    });
    expect(session!.expiresAt - session!.createdAt).toBeGreaterThan(86_400_000 - 5_000);
    expect(await s.update(id, { n: 1 })).toBe(true);
    expect(await s.update(id, { role: 'user', list: undefined })).toBe(true);
    expect((await s.get(id))?.data).toEqual({ role: 'user', n: 1 });
    const touched = await s.touch(id);
    expect(touched).toBeGreaterThan(Date.now() + 86_400_000 - 5_000);
    expect(await s.destroy(id)).toBe(true);
    expect(await s.get(id)).toBeNull();
    expect(await s.destroy(id)).toBe(false);
    expect(await s.update(id, { n: 2 })).toBe(false);
    expect(await s.touch(id)).toBeNull();
    expect(await s.get(id)).toBeNull(); // the update did not bring it back
  });

  it('issues unique URL-safe ids of at least 128 random bits', async () => {
    const s = store({ redis: client, keyPrefix: nextPrefix() });
    const ids = await Promise.all(Array.from({ length: 200 }, (_, i) => s.create(`u${i % 7}`, {})));
    expect(new Set(ids).size).toBe(200);
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_.-]+$/);
      const random = Buffer.from(id.split('.')[0]!, 'base64url');
      expect(random.length * 8).toBeGreaterThanOrEqual(128);
    }
  });

  it('update keeps the remaining TTL; touch slides it', async () => {
    const prefix = nextPrefix();
    const s = store({ redis: client, keyPrefix: prefix, ttlMs: 10_000 });
    const id = await s.create('bob', { a: 1 });
    const key = `${prefix}{${id.slice(-4)}}:s:${id}`;
    await sleep(300);
    const before = await client.pttl(key);
    expect(before).toBeLessThanOrEqual(9_700);
    await s.update(id, { a: 2 });
    const after = await client.pttl(key);
    expect(after).toBeLessThanOrEqual(before);
    expect(after).toBeGreaterThan(before - 200);
    await s.touch(id);
    expect(await client.pttl(key)).toBeGreaterThan(9_800);
  });

  it('lists live sessions only; the index never keeps expired ids', async () => {
    const prefix = nextPrefix();
    const s = store({ redis: client, keyPrefix: prefix, ttlMs: 300 });
    const long = store({ redis: client, keyPrefix: prefix, ttlMs: 60_000 });
    const short1 = await s.create('carol', { d: 1 });
    const short2 = await s.create('carol', { d: 2 });
    const kept = await long.create('carol', { d: 3 });
    expect((await s.listUserSessions('carol')).map((x) => x.id).sort()).toEqual(
      [short1, short2, kept].sort(),
    );
    await sleep(450);
    const listed = await s.listUserSessions('carol');
    expect(listed.map((x) => x.id)).toEqual([kept]);
    expect(listed[0]?.data).toEqual({ d: 3 });
    const index = `${prefix}{${kept.slice(-4)}}:u:carol`;
    expect(await client.zrange(index, 0, -1)).toEqual([kept]);
    // The index expires with its last session.
    const pttl = await client.pttl(index);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(60_000);
    await long.destroy(kept);
    expect(await client.exists(index)).toBe(0);
    expect(await s.listUserSessions('nobody')).toEqual([]);
  });

  it('destroys all sessions of a user except the given ones', async () => {
    const s = store({ redis: client, keyPrefix: nextPrefix() });
    const ids = await Promise.all([1, 2, 3, 4].map((n) => s.create('dave', { n })));
    const other = await s.create('erin', {});
    expect(await s.destroyUserSessions('dave', { except: ids[0] })).toBe(3);
    expect((await s.listUserSessions('dave')).map((x) => x.id)).toEqual([ids[0]]);
    expect(await s.get(ids[1]!)).toBeNull();
    expect(await s.get(other)).not.toBeNull();
    expect(await s.destroyUserSessions('dave')).toBe(1);
    expect(await s.listUserSessions('dave')).toEqual([]);
  });

  it('rotate moves the data to a new id and the old id is gone', async () => {
    const prefix = nextPrefix();
    const s = store({ redis: client, keyPrefix: prefix, ttlMs: 10_000 });
    const id = await s.create('frank', { cart: [1, 2] });
    const next = await s.rotate(id);
    expect(next).not.toBeNull();
    expect(next).not.toBe(id);
    expect(next!.slice(-4)).toBe(id.slice(-4));
    expect(await s.get(id)).toBeNull();
    expect((await s.get(next!))?.data).toEqual({ cart: [1, 2] });
    expect((await s.listUserSessions('frank')).map((x) => x.id)).toEqual([next]);
    expect(await s.rotate(id)).toBeNull();
    expect(await s.update(id, { cart: [] })).toBe(false);
    const pttl = await client.pttl(`${prefix}{${next!.slice(-4)}}:s:${next}`);
    expect(pttl).toBeGreaterThan(9_000);
    expect(pttl).toBeLessThanOrEqual(10_000);
  });

  it('enforces the absolute lifetime over touches', async () => {
    const s = store({ redis: client, keyPrefix: nextPrefix(), ttlMs: 5_000, absoluteTtlMs: 400 });
    const id = await s.create('gina', {});
    const session = await s.get(id);
    expect(session!.absoluteExpiresAt).toBe(session!.createdAt + 400);
    await sleep(150);
    const expiry = await s.touch(id);
    expect(expiry).toBe(session!.createdAt + 400);
    await sleep(350);
    expect(await s.get(id)).toBeNull();
    expect(await s.touch(id)).toBeNull();
    expect(await s.listUserSessions('gina')).toEqual([]);
  });

  it('a concurrent update never resurrects a destroyed session', async () => {
    const prefix = nextPrefix();
    const s = store({ redis: client, keyPrefix: prefix });
    const other = store({ redis: client, keyPrefix: prefix }); // a second process: no shared cache
    const results: boolean[] = [];
    await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const id = await s.create('hank', { i });
        const ops =
          i % 2 === 0
            ? [other.update(id, { later: i }), s.destroy(id)]
            : [s.destroy(id), other.update(id, { later: i })];
        const [a, b] = await Promise.all(ops);
        results.push(Boolean(a) || Boolean(b));
        expect(await s.get(id)).toBeNull();
        expect(await client.exists(`${prefix}{${id.slice(-4)}}:s:${id}`)).toBe(0);
      }),
    );
    expect(results).toHaveLength(60);
    expect(await s.listUserSessions('hank')).toEqual([]);
    expect(await client.exists(`${prefix}{${userTag('hank')}}:u:hank`)).toBe(0);
  });

  it('keeps the index exact under concurrent creates, touches, rotations and destroys', async () => {
    const prefix = nextPrefix();
    const a = store({ redis: client, keyPrefix: prefix });
    const b = store({ redis: client, keyPrefix: prefix });
    const ids = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).create('ivy', { i })),
    );
    const survivors = new Set(ids);
    await Promise.all(
      ids.map(async (id, i) => {
        if (i % 4 === 0) {
          expect(await b.destroy(id)).toBe(true);
          survivors.delete(id);
        } else if (i % 4 === 1) {
          const next = await a.rotate(id);
          survivors.delete(id);
          survivors.add(next!);
        } else if (i % 4 === 2) {
          expect(await b.touch(id)).not.toBeNull();
        } else {
          await Promise.all([
            a.create('ivy', {}).then((n) => survivors.add(n)),
            a.update(id, { x: 1 }),
          ]);
        }
      }),
    );
    const listed = (await a.listUserSessions('ivy')).map((x) => x.id).sort();
    expect(listed).toEqual([...survivors].sort());
    const index = `${prefix}{${ids[0]!.slice(-4)}}:u:ivy`;
    expect((await client.zrange(index, 0, -1)).sort()).toEqual([...survivors].sort());
  });

  it('keeps every key of a user in one hash slot', async () => {
    const prefix = nextPrefix();
    const s = store({ redis: client, keyPrefix: prefix });
    const id = await s.create('user:with{braces}', { x: 1 });
    const record = `${prefix}{${id.slice(-4)}}:s:${id}`;
    const index = `${prefix}{${id.slice(-4)}}:u:user:with{braces}`;
    const slots = await Promise.all(
      [record, index].map((key) => client.call('CLUSTER', 'KEYSLOT', key).catch(() => null)),
    );
    if (kind === 'cluster') expect(slots[0]).toBe(slots[1]);
    expect(await client.exists(record)).toBe(1);
    expect(await client.exists(index)).toBe(1);
    expect((await s.listUserSessions('user:with{braces}')).map((x) => x.id)).toEqual([id]);
  });
});

describe('session store failures (standalone)', () => {
  it('rejects malformed ids before any Redis call', async () => {
    const r = await startRedis();
    const redis = await readyClient(r.url);
    const s = store({ redis });
    for (const bad of [
      '',
      'short',
      'x'.repeat(40),
      '../../etc/passwd.abcd',
      `${'a'.repeat(32)}.ABCD`,
      42 as never,
    ]) {
      await expect(s.get(bad)).rejects.toBeInstanceOf(InvalidSessionIdError);
      await expect(s.update(bad, {})).rejects.toMatchObject({ code: 'E_SESSION_INVALID_ID' });
      await expect(s.touch(bad)).rejects.toMatchObject({ code: 'E_SESSION_INVALID_ID' });
      await expect(s.destroy(bad)).rejects.toMatchObject({ code: 'E_SESSION_INVALID_ID' });
      await expect(s.rotate(bad)).rejects.toMatchObject({ code: 'E_SESSION_INVALID_ID' });
    }
    expect(s.stats().redis.calls).toBe(0);
    expect(s.isValidId(`${'a'.repeat(32)}.0f3c`)).toBe(true);
    expect(s.isValidId('nope')).toBe(false);
  });

  it('fails closed at once with SessionUnavailableError while Redis is down', async () => {
    const r = await startRedis();
    const redis = await readyClient(r.url);
    const s = store({ redis });
    const id = await s.create('jack', {});
    await r.kill();
    await waitFor('client noticed', () => redis.status !== 'ready');
    const started = performance.now();
    const error = await s.get(id).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(100);
    expect(error).toBeInstanceOf(SessionUnavailableError);
    expect(isSessionError(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'E_SESSION_UNAVAILABLE',
      operation: 'get',
      name: 'SessionUnavailableError',
    });
    expect((error as Error).message).toMatch(/^\[@x\/session\] /);
    expect((error as Error).cause).toBeInstanceOf(Error);
    await expect(s.create('jack', {})).rejects.toMatchObject({ code: 'E_SESSION_UNAVAILABLE' });
  });

  it('bounds every call by timeoutMs when Redis is frozen', async () => {
    const r = await startRedis();
    const redis = new Redis(r.url, { maxRetriesPerRequest: 1 }); // plain client: no command timeout
    redis.on('error', () => {});
    cleanups.push(() => redis.disconnect());
    await waitFor('ready', () => redis.status === 'ready');
    const s = store({ redis, timeoutMs: 150, breaker: { maxFailures: 2, resetTimeout: 60_000 } });
    const id = await s.create('kate', {});
    await r.freeze();
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      const started = performance.now();
      const error = await s.get(id).catch((e: unknown) => e);
      times.push(performance.now() - started);
      expect(error).toMatchObject({ code: 'E_SESSION_UNAVAILABLE' });
    }
    await r.resume();
    expect(Math.max(...times)).toBeLessThan(350);
    // After two timeouts the breaker is open: the next calls skip Redis.
    expect(times[3]).toBeLessThan(50);
    expect(s.stats().redis.rejects).toBeGreaterThanOrEqual(1);
  });

  it('serves from memory while Redis is down when fallback is memory', async () => {
    const r = await startRedis();
    const redis = await readyClient(r.url);
    const s = store({ redis, fallback: 'memory', ttlMs: 60_000 });
    await r.kill();
    await waitFor('client noticed', () => redis.status !== 'ready');
    const id = await s.create('liam', { a: 1 });
    expect(await s.update(id, { b: 2 })).toBe(true);
    expect((await s.get(id))?.data).toEqual({ a: 1, b: 2 });
    expect(await s.touch(id)).toBeGreaterThan(Date.now());
    const next = await s.rotate(id);
    expect(await s.get(id)).toBeNull();
    expect((await s.listUserSessions('liam')).map((x) => x.id)).toEqual([next]);
    expect(await s.destroyUserSessions('liam')).toBe(1);
    expect(await s.listUserSessions('liam')).toEqual([]);
    expect(s.stats().servedFromMemory).toBeGreaterThan(5);
    expect(s.stats().failedClosed).toBe(0);
  });

  it('reloads its scripts after SCRIPT FLUSH and after a restart', async () => {
    const r = await startRedis();
    const redis = await readyClient(r.url);
    const s = store({ redis, breaker: false });
    const id = await s.create('mia', { v: 1 });
    await redis.script('FLUSH');
    expect(await s.update(id, { v: 2 })).toBe(true);
    expect((await s.get(id))?.data).toEqual({ v: 2 });
    await r.restart();
    await waitFor('ready again', () => redis.status === 'ready');
    expect(await s.get(id)).toBeNull(); // restarted empty
    const fresh = await s.create('mia', { v: 3 });
    expect((await s.get(fresh))?.data).toEqual({ v: 3 });
  });

  it('works with a client created from a URL and closes it', async () => {
    const r = await startRedis();
    const s = createSessionStore({ redis: r.url });
    const id = await s.create('noah', { ok: true });
    expect((await s.get(id))?.data).toEqual({ ok: true });
    await s.close();
    await expect(s.get(id)).rejects.toMatchObject({ code: 'E_SESSION_UNAVAILABLE' });
  });

  it('validates options and inputs, naming the field', async () => {
    const redis = new Redis({ lazyConnect: true });
    expect(() => createSessionStore({ redis, ttlMs: 0 })).toThrow(SessionOptionsError);
    expect(() => createSessionStore({ redis, ttlMs: 1.5 })).toThrow(/invalid ttlMs: 1\.5/);
    expect(() => createSessionStore({ redis, keyPrefix: 'a{b}' })).toThrow(/invalid keyPrefix/);
    expect(() => createSessionStore({ redis, idBytes: 8 })).toThrow(/invalid idBytes: 8 /);
    expect(() => createSessionStore({ redis, fallback: 'disk' as never })).toThrow(
      /invalid fallback: "disk"/,
    );
    expect(() => createSessionStore({ redis, absoluteTtlMs: -1 })).toThrow(/invalid absoluteTtlMs/);
    expect(() => createSessionStore({ redis, maxEntries: 0 })).toThrow(/invalid maxEntries: 0 /);
    const s = createSessionStore({ redis });
    await expect(s.create('', {})).rejects.toMatchObject({ code: 'E_SESSION_DATA' });
    await expect(s.create('u', [] as never)).rejects.toMatchObject({ code: 'E_SESSION_DATA' });
    await expect(s.create('u', { n: 1n })).rejects.toMatchObject({ code: 'E_SESSION_DATA' });
    redis.disconnect();
  });
});
