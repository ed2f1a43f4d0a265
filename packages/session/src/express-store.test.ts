import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  closeAfter,
  type RedisHandle,
  readyClient,
  sleep,
  startCluster,
  startRedis,
  waitFor,
} from '@x/testkit';
import express from 'express';
import session from 'express-session';
import fc from 'fast-check';
import { Cluster, type Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeSid, encodeSid, sidKey } from './_internal/express-keys.js';
import { withCookie } from './_internal/express-scripts.js';
import { isSessionError } from './errors.js';
import {
  createExpressSessionStore,
  type ExpressSessionRecord,
  type ExpressSessionStore,
} from './express-store.js';
import { createSessionStore } from './session-store.js';

declare module 'express-session' {
  interface SessionData {
    user?: string;
    hits?: number;
  }
}

const cleanups = closeAfter(afterAll);

let shared: { r: RedisHandle; redis: Redis } | undefined;
let prefixes = 0;

/** A store with its own prefix on one Redis shared by the tests that do not kill it. */
async function sharedStore(options: { maxIdLength?: number } = {}) {
  if (shared === undefined) {
    const r = await startRedis();
    const redis = await readyClient(r.url);
    shared = { r, redis };
  }
  const prefix = `t${++prefixes}:`;
  const sessions = createSessionStore({ redis: shared.redis, keyPrefix: prefix });
  const store = createExpressSessionStore({ store: sessions, ...options });
  return { ...shared, prefix, sessions, store };
}

function cookieIn(ms: number) {
  return { originalMaxAge: ms, expires: new Date(Date.now() + ms).toISOString() };
}

async function setup(options: { fallback?: 'memory' } = {}) {
  const r = await startRedis();
  const redis = await readyClient(r.url);
  const sessions = createSessionStore({ redis, keyPrefix: 'app:', ...options });
  const store = createExpressSessionStore({ store: sessions, tombstoneMs: 5_000 });
  const app = express();
  app.use(
    session({
      store,
      secret: 'test secret',
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: 60_000 },
    }),
  );
  app.post('/login', (req, res, next) => {
    req.session.regenerate((error) => {
      if (error) return next(error);
      req.session.user = 'olivia';
      res.json({ ok: true });
    });
  });
  app.get('/me', (req, res) => {
    res.json({ user: req.session.user ?? null, hits: req.session.hits ?? 0 });
  });
  app.post('/hit', (req, res) => {
    req.session.hits = (req.session.hits ?? 0) + 1;
    res.json({ hits: req.session.hits });
  });
  app.post('/slow-hit', async (req, res) => {
    await new Promise((resolve) => setTimeout(resolve, Number(req.query.ms ?? 150)));
    req.session.hits = (req.session.hits ?? 0) + 100;
    res.json({ hits: req.session.hits });
  });
  app.post('/logout', (req, res, next) => {
    req.session.destroy((error) => (error ? next(error) : res.json({ ok: true })));
  });
  app.use(
    (error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(503).json({ error: (error as { code?: string }).code ?? 'unknown' });
    },
  );
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const call = async (method: string, path: string, cookie?: string) => {
    const response = await fetch(base + path, { method, headers: cookie ? { cookie } : {} });
    const setCookie = response.headers.get('set-cookie');
    return {
      status: response.status,
      body: (await response.json()) as Record<string, unknown>,
      cookie: setCookie ? setCookie.split(';')[0]! : undefined,
    };
  };
  return { r, redis, sessions, store, call };
}

function promisify<T>(
  fn: (cb: (error?: unknown, value?: T) => void) => void,
): Promise<T | undefined> {
  return new Promise((resolve, reject) =>
    fn((error, value) => (error ? reject(error) : resolve(value))),
  );
}

function sidOf(cookie: string): string {
  const value = decodeURIComponent(cookie.split('=')[1]!);
  return value.slice(2, value.lastIndexOf('.'));
}

// Ids an application may generate: express-session's suite uses 'apple', '%' and '/foo'.
const ODD_IDS = [
  'apple',
  '%',
  '/',
  '/foo',
  '',
  'a b',
  '{tag}',
  '}{',
  'x}:gone',
  '*',
  '?[a-z]\\',
  'ünïcødé',
  '日本語',
  '😀',
  '\uD800',
  '%41',
  '%u0041',
  'abc%',
];

describe('session id encoding', () => {
  it('is injective, reversible, safe for hash tags and globs, and the identity on the usual ids', () => {
    const encoded = new Map<string, string>();
    for (const id of ODD_IDS) {
      const e = encodeSid(id);
      expect(e).toMatch(/^[A-Za-z0-9_.%-]+$/);
      expect(decodeSid(e)).toBe(id);
      expect(encoded.has(e), `${id} collides with ${encoded.get(e)}`).toBe(false);
      encoded.set(e, id);
    }
    // express-session's and @fastify/session's default ids keep the key of the previous version.
    for (const id of ['kB6ThNh6Jcu8-W_Xd2XZ5HNUbNr1R3ya', 'a.b-c_d', 'x'.repeat(256)]) {
      expect(encodeSid(id)).toBe(id);
    }
    expect(sidKey('app:', 'abc')).toBe('app:x:{abc}');
  });

  it('round-trips any string and never decodes text it did not produce', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (id) => {
        const e = encodeSid(id);
        expect(e).toMatch(/^[A-Za-z0-9_.%-]+$/);
        expect(e.length).toBeLessThanOrEqual(Math.max(1, id.length * 6));
        expect(decodeSid(e)).toBe(id);
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (text) => {
        const id = decodeSid(text);
        if (id !== null) expect(encodeSid(id)).toBe(text);
      }),
    );
  });
});

describe('the touch script', () => {
  it('replaces the top-level cookie exactly as JSON.parse / JSON.stringify would', async () => {
    const { redis } = await sharedStore();
    const { XTOUCH } = await import('./_internal/express-scripts.js');
    const cookie = JSON.stringify({ originalMaxAge: 1000, expires: '2030-01-01T00:00:00.000Z' });
    const record = fc.dictionary(
      fc.oneof(fc.constantFrom('cookie', 'x', '"', '\\', '{', '}', ','), fc.string()),
      fc.jsonValue(),
      { maxKeys: 6 },
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(record, async (value) => {
        const key = `touch:${run++}`;
        const json = JSON.stringify(value);
        await redis.set(key, json);
        expect(await redis.eval(XTOUCH, 1, key, cookie, 60_000), `record ${json}`).toBe(1);
        const stored = (await redis.get(key))!;
        const expected = withCookie(json, cookie)!;
        expect(JSON.parse(stored), `record ${json}`).toEqual(JSON.parse(expected));
        // Only the cookie's bytes changed: the rest of the record is kept as written.
        const { cookie: _a, ...rest } = JSON.parse(json) as Record<string, unknown>;
        const { cookie: _b, ...after } = JSON.parse(stored) as Record<string, unknown>;
        expect(after).toEqual(rest);
        expect(await redis.pttl(key)).toBeGreaterThan(59_000);
      }),
      { numRuns: 150 },
    );
    // Not a JSON object: the record is kept, only its lifetime changes.
    for (const [i, text] of ['[1,2]', '"text"', 'not json', '{"cookie":'].entries()) {
      await redis.set(`odd:${i}`, text);
      expect(await redis.eval(XTOUCH, 1, `odd:${i}`, cookie, 60_000)).toBe(1);
      expect(await redis.get(`odd:${i}`)).toBe(text);
      expect(await redis.pttl(`odd:${i}`)).toBeGreaterThan(59_000);
    }
    expect(await redis.eval(XTOUCH, 1, 'missing', cookie, 60_000)).toBe(0);
    expect(await redis.exists('missing')).toBe(0);
  });
});

describe('express-session store API', () => {
  it('stores any id the application generates, under a safe key, and finds it again', async () => {
    const { store, redis, prefix } = await sharedStore();
    const cookie = cookieIn(60_000);
    for (const [i, sid] of ODD_IDS.entries()) {
      await store.set(sid, { cookie, n: i });
      expect(await store.get(sid)).toEqual({ cookie, n: i });
    }
    expect((await store.ids()).sort()).toEqual([...ODD_IDS].sort());
    expect(await store.length()).toBe(ODD_IDS.length);
    const all = await store.all();
    expect(Object.keys(all).sort()).toEqual([...ODD_IDS].sort());
    expect(all['{tag}']).toEqual({ cookie, n: ODD_IDS.indexOf('{tag}') });
    // Each record is one key with one hash tag: the encoded id.
    const keys = await redis.keys(`${prefix}*`);
    expect(keys).toHaveLength(ODD_IDS.length);
    for (const key of keys) expect(key).toMatch(/^t\d+:x:\{[A-Za-z0-9_.%-]+\}$/);
    await store.destroy('{tag}');
    expect(await store.get('{tag}')).toBeNull();
    await store.set('{tag}', { cookie, n: 99 }); // the tombstone holds
    expect(await store.get('{tag}')).toBeNull();
    expect(await store.length()).toBe(ODD_IDS.length - 1);
    await store.clear();
    expect(await store.length()).toBe(0);
    expect(await store.ids()).toEqual([]);
  });

  it('refuses an id over maxIdLength or not a string with a typed error, never a throw', async () => {
    const { store, redis } = await sharedStore({ maxIdLength: 40 });
    const before = await redis.dbsize();
    const tooLong = 'x'.repeat(41);
    const error = await promisify((cb) => store.get(tooLong, cb)).catch((e: unknown) => e);
    expect(isSessionError(error) && error.code).toBe('E_SESSION_INVALID_ID');
    await expect(store.set(tooLong, { cookie: cookieIn(1000) })).rejects.toMatchObject({
      code: 'E_SESSION_INVALID_ID',
    });
    await expect(store.destroy(42 as never)).rejects.toMatchObject({
      code: 'E_SESSION_INVALID_ID',
    });
    await expect(store.set('ok', 'not an object' as never)).rejects.toMatchObject({
      code: 'E_SESSION_DATA',
    });
    const circular: Record<string, unknown> = { cookie: cookieIn(1000) };
    circular.self = circular;
    await expect(store.set('ok', circular)).rejects.toMatchObject({ code: 'E_SESSION_DATA' });
    expect(await redis.dbsize()).toBe(before);
    await store.set('x'.repeat(40), { cookie: cookieIn(1000) });
    expect(await store.length()).toBe(1);
    expect(() => createExpressSessionStore({ store: {} as never })).toThrow(/invalid store/);
    const sessions = createSessionStore({ redis });
    expect(() => createExpressSessionStore({ store: sessions, maxIdLength: 0 })).toThrow(
      /invalid maxIdLength: 0 /,
    );
  });

  it('deletes a session whose cookie has expired instead of storing it, and reports success', async () => {
    const { store, redis, prefix } = await sharedStore();
    // The race of the issue: written with a 1 ms lifetime, read at once (200 times).
    for (let i = 0; i < 200; i++) {
      const sid = `expiring-${i}`;
      await store.set(sid, { cookie: { originalMaxAge: 1, expires: new Date(Date.now() + 1) } });
      await store.set(sid, { cookie: { originalMaxAge: 1, expires: new Date(Date.now() - 1) } });
      expect(await store.get(sid)).toBeNull();
    }
    await store.set('live', { cookie: cookieIn(60_000), user: 'olivia' });
    await promisify((cb) =>
      store.set('live', { cookie: { expires: new Date(Date.now() - 5) }, user: 'olivia' }, cb),
    );
    expect(await redis.exists(`${prefix}x:{live}`)).toBe(0);
    // The sid was not tombstoned: it can be written again with a valid cookie.
    await store.set('live', { cookie: cookieIn(60_000), user: 'again' });
    expect((await store.get('live'))?.user).toBe('again');
    // A record whose cookie expired but whose key still lives (TTL rounding) reads as none.
    await redis.set(`${prefix}x:{stale}`, JSON.stringify({ cookie: { expires: new Date(0) } }));
    expect(await store.get('stale')).toBeNull();
    expect(await store.all()).not.toHaveProperty('stale');
  });

  it('touch stores the new cookie.expires and TTL together, keeping newer data', async () => {
    const { store, redis, prefix } = await sharedStore();
    const key = `${prefix}x:{sid}`;
    await store.set('sid', { cookie: cookieIn(10_000), user: 'olivia', hits: 1 });
    // Another request wrote newer data meanwhile; this one only touches its (older) copy.
    await store.set('sid', { cookie: cookieIn(10_000), user: 'olivia', hits: 2 });
    const cookie = cookieIn(120_000);
    await promisify((cb) => store.touch('sid', { cookie, user: 'olivia', hits: 1 }, cb));
    expect(await store.get('sid')).toEqual({ cookie, user: 'olivia', hits: 2 });
    const pttl = await redis.pttl(key);
    expect(pttl).toBeGreaterThan(110_000);
    expect(pttl).toBeLessThanOrEqual(120_000);
    // No session, no effect (a destroyed session is not brought back).
    await store.touch('none', { cookie });
    expect(await redis.exists(`${prefix}x:{none}`)).toBe(0);
    // A browser-session cookie (no expiry): the store's ttlMs.
    await store.touch('sid', { cookie: { expires: null, originalMaxAge: null } });
    expect((await store.get('sid'))?.cookie).toEqual({ expires: null, originalMaxAge: null });
    expect(await redis.pttl(key)).toBeGreaterThan(86_000_000);
    // An expired cookie deletes it.
    await store.touch('sid', { cookie: { expires: new Date(Date.now() - 1) } });
    expect(await redis.exists(key)).toBe(0);
  });

  it('reads records written by the previous version of the store', async () => {
    const { store, redis, prefix } = await sharedStore();
    const sid = 'kB6ThNh6Jcu8-W_Xd2XZ5HNUbNr1R3ya';
    const record = { cookie: cookieIn(60_000), user: 'legacy' };
    await redis.set(`${prefix}x:{${sid}}`, JSON.stringify(record), 'PX', 60_000);
    expect(await store.get(sid)).toEqual(record);
    expect(await store.ids()).toEqual([sid]);
  });

  it('has a promise form for every method and a callback form that runs outside promises', async () => {
    const { store } = await sharedStore();
    const cookie = cookieIn(60_000);
    await expect(store.set('p', { cookie, a: 1 })).resolves.toBeUndefined();
    await expect(store.get('p')).resolves.toEqual({ cookie, a: 1 });
    await expect(store.touch('p', { cookie })).resolves.toBeUndefined();
    await expect(store.ids()).resolves.toEqual(['p']);
    await expect(store.length()).resolves.toBe(1);
    await expect(store.all()).resolves.toEqual({ p: { cookie, a: 1 } });
    await expect(store.destroy('p')).resolves.toBeUndefined();
    await expect(store.clear()).resolves.toBeUndefined();
    await expect(store.get('p')).resolves.toBeNull();
    // Callbacks: called once, on a later tick (never synchronously), with (null, value).
    const calls: unknown[][] = [];
    let sync = true;
    store.set('q', { cookie }, (...args) => calls.push(['set', sync, ...args]));
    store.get('bad'.repeat(1000), (...args) => calls.push(['get', sync, args[0]?.constructor]));
    sync = false;
    await waitFor('callbacks', () => calls.length === 2);
    expect(calls).toContainEqual(['set', false, null, undefined]);
    expect(calls.find((c) => c[0] === 'get')?.[1]).toBe(false);
  });

  it('an exception thrown by a callback is an uncaught exception of its tick, not an unhandled rejection', async () => {
    const { r } = await sharedStore();
    const fixture = fileURLToPath(new URL('./_fixtures/throwing-callback.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@x/source', fixture], {
      env: { ...process.env, REDIS_URL: r.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(out).toContain('uncaughtException: assertion in get callback');
    expect(out).toContain('uncaughtException: assertion in set callback');
    expect(out).toContain('uncaughtException: assertion in all callback');
    expect(out).not.toContain('unhandledRejection');
    expect(code, out).toBe(0);
  });
});

describe('express-session over HTTP with the Redis store', () => {
  it('logs in, keeps state across requests, logs out', async () => {
    const { call, redis } = await setup();
    const login = await call('POST', '/login');
    expect(login.status).toBe(200);
    expect(login.cookie).toMatch(/^connect\.sid=/);
    const cookie = login.cookie!;
    const sid = sidOf(cookie);
    expect(await call('GET', '/me', cookie)).toMatchObject({ body: { user: 'olivia', hits: 0 } });
    await call('POST', '/hit', cookie);
    await call('POST', '/hit', cookie);
    expect((await call('GET', '/me', cookie)).body).toEqual({ user: 'olivia', hits: 2 });
    const key = `app:x:{${sid}}`;
    expect(JSON.parse((await redis.get(key))!)).toMatchObject({ user: 'olivia', hits: 2 });
    const pttl = await redis.pttl(key);
    expect(pttl).toBeGreaterThan(55_000);
    expect(pttl).toBeLessThanOrEqual(60_000);
    expect((await call('POST', '/logout', cookie)).status).toBe(200);
    expect(await redis.exists(key)).toBe(0);
    expect((await call('GET', '/me', cookie)).body).toEqual({ user: null, hits: 0 });
  });

  it('an unmodified request touches the session: cookie.expires and TTL move together', async () => {
    const { call, redis } = await setup();
    const cookie = (await call('POST', '/login')).cookie!;
    const key = `app:x:{${sidOf(cookie)}}`;
    const before = JSON.parse((await redis.get(key))!).cookie.expires as string;
    await sleep(30);
    await call('GET', '/me', cookie); // resave: false, unmodified: express-session calls touch
    const after = JSON.parse((await redis.get(key))!).cookie.expires as string;
    expect(Date.parse(after)).toBeGreaterThan(Date.parse(before));
    const pttl = await redis.pttl(key);
    expect(Math.abs(Date.now() + pttl - Date.parse(after))).toBeLessThan(1_000);
  });

  it('a request in flight during logout cannot bring the session back', async () => {
    const { call, redis } = await setup();
    const cookie = (await call('POST', '/login')).cookie!;
    const key = `app:x:{${sidOf(cookie)}}`;
    const slow = call('POST', '/slow-hit?ms=200', cookie); // loaded the session, writes it at the end
    await sleep(50);
    expect((await call('POST', '/logout', cookie)).status).toBe(200);
    expect((await slow).status).toBe(200);
    expect(await redis.exists(key)).toBe(0);
    expect((await call('GET', '/me', cookie)).body).toEqual({ user: null, hits: 0 });
  });

  it('fails closed with a 503 when Redis is down, and serves from memory when chosen', async () => {
    const closed = await setup();
    const cookie = (await closed.call('POST', '/login')).cookie!;
    await closed.r.kill();
    await waitFor('down', () => closed.redis.status !== 'ready');
    const started = performance.now();
    const me = await closed.call('GET', '/me', cookie);
    expect(performance.now() - started).toBeLessThan(200);
    expect(me).toMatchObject({ status: 503, body: { error: 'E_SESSION_UNAVAILABLE' } });
    await expect(closed.store.length()).rejects.toMatchObject({ code: 'E_SESSION_UNAVAILABLE' });
    // Fire and forget without a callback: the rejection is handled, nothing crashes.
    void closed.store.set('x', { cookie: cookieIn(1000) });
    // Restarted (empty): the old session is gone, not an error; a new login works.
    await closed.r.restart();
    await waitFor('ready again', () => closed.redis.status === 'ready', { timeoutMs: 10_000 });
    await waitFor(
      'served again',
      async () => (await closed.call('GET', '/me', cookie)).status === 200,
      {
        timeoutMs: 10_000,
      },
    );
    expect((await closed.call('GET', '/me', cookie)).body).toEqual({ user: null, hits: 0 });
    const again = await closed.call('POST', '/login');
    expect((await closed.call('GET', '/me', again.cookie)).body).toEqual({
      user: 'olivia',
      hits: 0,
    });

    const memory = await setup({ fallback: 'memory' });
    await memory.r.kill();
    await waitFor('down', () => memory.redis.status !== 'ready');
    const login = await memory.call('POST', '/login');
    expect(login.status).toBe(200);
    expect((await memory.call('GET', '/me', login.cookie)).body).toEqual({
      user: 'olivia',
      hits: 0,
    });
    expect(await memory.store.length()).toBe(1);
    expect(await memory.store.ids()).toEqual([sidOf(login.cookie!)]);
    // Odd ids, touch and an expired set, all in memory; then Redis comes back and learns them.
    const cookie2 = cookieIn(60_000);
    await memory.store.set('{odd id}', { cookie: cookie2, n: 1 });
    const later = cookieIn(90_000);
    await memory.store.touch('{odd id}', { cookie: later, n: 0 });
    expect(await memory.store.get('{odd id}')).toEqual({ cookie: later, n: 1 });
    await memory.store.set('gone', { cookie: cookie2 });
    await memory.store.set('gone', { cookie: { expires: new Date(Date.now() - 1) } });
    expect(await memory.store.get('gone')).toBeNull();
    await memory.r.restart();
    await waitFor('ready again', () => memory.redis.status === 'ready', { timeoutMs: 10_000 });
    await waitFor(
      'replayed',
      async () => (await memory.redis.get(sidKey('app:', '{odd id}'))) !== null,
      { timeoutMs: 10_000 },
    );
    expect(JSON.parse((await memory.redis.get(sidKey('app:', '{odd id}')))!)).toEqual({
      cookie: later,
      n: 1,
    });
    expect(await memory.redis.exists(sidKey('app:', 'gone'))).toBe(0);
    expect((await memory.call('GET', '/me', login.cookie)).body).toEqual({
      user: 'olivia',
      hits: 0,
    });
  });

  it('Redis frozen: ids/length/all/clear answer from memory with the fallback, else fail within the deadline', async () => {
    const r = await startRedis();
    const redis = await readyClient(r.url);
    const closed = createExpressSessionStore({
      store: createSessionStore({ redis, keyPrefix: 'fc:', timeoutMs: 200 }),
    });
    const memory = createExpressSessionStore({
      store: createSessionStore({ redis, keyPrefix: 'fm:', timeoutMs: 200, fallback: 'memory' }),
    });
    await closed.set('in-redis', { cookie: cookieIn(60_000) });
    await r.freeze();
    try {
      let started = performance.now();
      await expect(closed.length()).rejects.toMatchObject({ code: 'E_SESSION_UNAVAILABLE' });
      expect(performance.now() - started).toBeLessThan(1_000);
      started = performance.now();
      await memory.set('in-memory', { cookie: cookieIn(60_000), n: 1 });
      expect(await memory.ids()).toEqual(['in-memory']);
      expect(await memory.length()).toBe(1);
      expect(await memory.all()).toEqual({ 'in-memory': { cookie: expect.anything(), n: 1 } });
      await memory.clear();
      expect(await memory.length()).toBe(0);
      expect(performance.now() - started).toBeLessThan(2_000);
    } finally {
      await r.resume();
    }
  });

  it('works on a cluster: any id, records spread over the masters, ids/all/length/clear see them all', async () => {
    const c = await startCluster({ masters: 3 });
    const cluster = new Cluster(c.startupNodes, { enableOfflineQueue: false });
    cluster.on('error', () => {});
    cleanups.push(() => cluster.disconnect());
    await waitFor('cluster ready', () => cluster.status === 'ready');
    const sessions = createSessionStore({ redis: cluster, keyPrefix: 'c:' });
    const store = createExpressSessionStore({ store: sessions });
    const sids = [
      ...Array.from({ length: 12 }, (_, i) => `sid-number-${i}-abcdefghij`),
      ...ODD_IDS,
    ];
    const cookie = cookieIn(60_000);
    for (const [i, sid] of sids.entries()) {
      await promisify((cb) => store.set(sid, { cookie, hits: i }, cb));
    }
    const perMaster = await Promise.all(
      cluster.nodes('master').map(async (node) => (await node.keys('c:x:*')).length),
    );
    expect(perMaster.filter((n) => n > 0).length).toBeGreaterThan(1);
    expect(await promisify<number>((cb) => store.length(cb))).toBe(sids.length);
    expect((await store.ids()).sort()).toEqual([...sids].sort());
    const all = await promisify<Record<string, ExpressSessionRecord>>((cb) => store.all(cb));
    expect(Object.keys(all!).sort()).toEqual([...sids].sort());
    expect(all![sids[3]!]?.hits).toBe(3);
    expect(all!['{tag}']?.hits).toBe(sids.indexOf('{tag}'));
    await store.touch('{tag}', { cookie: cookieIn(120_000) });
    await promisify((cb) => store.destroy(sids[0]!, cb));
    await promisify((cb) => store.set(sids[0]!, { cookie, hits: 99 }, cb));
    expect(await promisify((cb) => store.get(sids[0]!, cb))).toBeNull(); // tombstone held
    await promisify((cb) => store.clear(cb));
    expect(await promisify<number>((cb) => store.length(cb))).toBe(0);
  });
});

describe('typing', () => {
  it('is an express-session Store', () => {
    const typed = (store: ExpressSessionStore): session.Store => store;
    expect(typed).toBeTypeOf('function');
  });
});
