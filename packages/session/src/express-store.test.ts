import type { AddressInfo } from 'node:net';
import { startCluster, startRedis, waitFor } from '@x/testkit';
import express from 'express';
import session from 'express-session';
import { Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createExpressSessionStore, type ExpressSessionStore } from './express-store.js';
import { createSessionStore } from './session-store.js';

declare module 'express-session' {
  interface SessionData {
    user?: string;
    hits?: number;
  }
}

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function setup(options: { fallback?: 'memory' } = {}) {
  const r = await startRedis();
  const redis = new Redis(r.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 50,
  });
  redis.on('error', () => {});
  cleanups.push(() => redis.disconnect());
  await waitFor('ready', () => redis.status === 'ready');
  const sessions = createSessionStore({ redis, prefix: 'app:', ...options });
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

  it('a request in flight during logout cannot bring the session back', async () => {
    const { call, redis } = await setup();
    const cookie = (await call('POST', '/login')).cookie!;
    const key = `app:x:{${sidOf(cookie)}}`;
    const slow = call('POST', '/slow-hit?ms=200', cookie); // loaded the session, writes it at the end
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await call('POST', '/logout', cookie)).status).toBe(200);
    expect((await slow).status).toBe(200);
    expect(await redis.exists(key)).toBe(0);
    expect((await call('GET', '/me', cookie)).body).toEqual({ user: null, hits: 0 });
  });

  it('implements all, length, touch and clear', async () => {
    const { call, store, redis } = await setup();
    const cookies = [
      (await call('POST', '/login')).cookie!,
      (await call('POST', '/login')).cookie!,
    ];
    const s = store as ExpressSessionStore;
    expect(await promisify<number>((cb) => s.length(cb))).toBe(2);
    const all = await promisify<Record<string, { user?: string }>>((cb) => s.all(cb));
    expect(Object.keys(all!).sort()).toEqual(cookies.map(sidOf).sort());
    expect(Object.values(all!).map((x) => x.user)).toEqual(['olivia', 'olivia']);
    const sid = sidOf(cookies[0]!);
    await redis.pexpire(`app:x:{${sid}}`, 1_000);
    const expires = new Date(Date.now() + 30_000);
    await promisify((cb) =>
      s.touch(sid, { cookie: { expires, originalMaxAge: 30_000 } } as never, cb),
    );
    expect(await redis.pttl(`app:x:{${sid}}`)).toBeGreaterThan(25_000);
    await promisify((cb) => s.clear(cb));
    expect(await promisify<number>((cb) => s.length(cb))).toBe(0);
    expect((await call('GET', '/me', cookies[1])).body.user).toBeNull();
    // A malformed sid is answered without Redis: no session.
    expect(await promisify((cb) => s.get('bad sid!', cb))).toBeNull();
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

    const memory = await setup({ fallback: 'memory' });
    await memory.r.kill();
    await waitFor('down', () => memory.redis.status !== 'ready');
    const login = await memory.call('POST', '/login');
    expect(login.status).toBe(200);
    expect((await memory.call('GET', '/me', login.cookie)).body).toEqual({
      user: 'olivia',
      hits: 0,
    });
    expect(await promisify<number>((cb) => memory.store.length(cb))).toBe(1);
  });

  it('works on a cluster: records spread over the masters, all/length/clear see them all', async () => {
    const c = await startCluster({ masters: 3 });
    const cluster = new Cluster(c.startupNodes, { enableOfflineQueue: false });
    cluster.on('error', () => {});
    cleanups.push(() => cluster.disconnect());
    await waitFor('cluster ready', () => cluster.status === 'ready');
    const sessions = createSessionStore({ redis: cluster, prefix: 'c:' });
    const store = createExpressSessionStore({ store: sessions });
    const sids = Array.from({ length: 12 }, (_, i) => `sid-number-${i}-abcdefghij`);
    const cookie = { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000) };
    for (const [i, sid] of sids.entries()) {
      await promisify((cb) => store.set(sid, { cookie, hits: i } as never, cb));
    }
    const perMaster = await Promise.all(
      cluster.nodes('master').map(async (node) => (await node.keys('c:x:*')).length),
    );
    expect(perMaster.filter((n) => n > 0).length).toBeGreaterThan(1);
    expect(await promisify<number>((cb) => store.length(cb))).toBe(12);
    const all = await promisify<Record<string, { hits?: number }>>((cb) => store.all(cb));
    expect(Object.keys(all!).sort()).toEqual([...sids].sort());
    expect(all![sids[3]!]?.hits).toBe(3);
    await promisify((cb) => store.destroy(sids[0]!, cb));
    await promisify((cb) => store.set(sids[0]!, { cookie, hits: 99 } as never, cb));
    expect(await promisify((cb) => store.get(sids[0]!, cb))).toBeNull(); // tombstone held
    await promisify((cb) => store.clear(cb));
    expect(await promisify<number>((cb) => store.length(cb))).toBe(0);
  });

  it('rejects a store that does not come from createSessionStore', () => {
    expect(() => createExpressSessionStore({ store: {} as never })).toThrow(/"store"/);
  });
});

void session;
