import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import { closeAfter, readyClient, startRedis, waitFor } from '@x/testkit';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { sidKey } from './_internal/express-keys.js';
import { createExpressSessionStore } from './express-store.js';
import { createSessionStore } from './session-store.js';

declare module 'fastify' {
  interface Session {
    user?: string;
    visits?: number;
  }
}

const cleanups = closeAfter(afterAll);

/** A real Fastify 5 app: @fastify/cookie + @fastify/session with the store under test. */
async function setup(options: { fallback?: 'memory' } = {}) {
  const r = await startRedis();
  const redis = await readyClient(r.url);
  const sessions = createSessionStore({ redis, keyPrefix: 'f:', ...options });
  const store = createExpressSessionStore({ store: sessions });
  const app: FastifyInstance = Fastify();
  cleanups.push(() => app.close());
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    store,
    secret: 'a secret with at least 32 characters!',
    cookieName: 'sid',
    cookie: { secure: false, maxAge: 60_000 },
    saveUninitialized: false,
  });
  app.post('/login', async (request) => {
    await request.session.regenerate();
    request.session.user = 'olivia';
    return { ok: true };
  });
  app.get('/me', async (request) => ({
    user: request.session.user ?? null,
    visits: request.session.visits ?? 0,
  }));
  app.post('/visit', async (request) => {
    request.session.visits = (request.session.visits ?? 0) + 1;
    return { visits: request.session.visits };
  });
  app.post('/logout', async (request) => {
    await request.session.destroy();
    return { ok: true };
  });
  await app.ready();
  const call = async (method: 'GET' | 'POST', url: string, cookie?: string) => {
    const response = await app.inject({ method, url, headers: cookie ? { cookie } : {} });
    const setCookie = response.cookies.find((c) => c.name === 'sid');
    return {
      status: response.statusCode,
      body: response.json() as Record<string, unknown>,
      cookie: setCookie ? `sid=${setCookie.value}` : undefined,
    };
  };
  return { r, redis, store, call };
}

/** The session id inside a signed `sid=<id>.<signature>` cookie. */
function sidOf(cookie: string): string {
  const value = decodeURIComponent(cookie.slice('sid='.length));
  return value.slice(0, value.lastIndexOf('.'));
}

describe('@fastify/session with the Redis store', () => {
  it('logs in, reads, regenerates, destroys', async () => {
    const { call, redis, store } = await setup();
    expect((await call('GET', '/me')).body).toEqual({ user: null, visits: 0 });
    const first = await call('POST', '/visit');
    expect(first.cookie).toBeDefined();
    const anonymous = sidOf(first.cookie!);
    expect(JSON.parse((await redis.get(sidKey('f:', anonymous)))!)).toMatchObject({ visits: 1 });

    // Login regenerates: a new id, the old record destroyed (and tombstoned), the data reset.
    const login = await call('POST', '/login', first.cookie);
    expect(login.status).toBe(200);
    const cookie = login.cookie!;
    const sid = sidOf(cookie);
    expect(sid).not.toBe(anonymous);
    expect(await redis.exists(sidKey('f:', anonymous))).toBe(0);
    expect(await redis.exists(`${sidKey('f:', anonymous)}:gone`)).toBe(1);
    expect((await call('GET', '/me', cookie)).body).toEqual({ user: 'olivia', visits: 0 });
    await call('POST', '/visit', cookie);
    await call('POST', '/visit', cookie);
    expect((await call('GET', '/me', cookie)).body).toEqual({ user: 'olivia', visits: 2 });
    const stored = JSON.parse((await redis.get(sidKey('f:', sid)))!);
    expect(stored).toMatchObject({ user: 'olivia', visits: 2 });
    // The TTL follows the cookie (maxAge 60 s, rolling: each request saves it).
    const pttl = await redis.pttl(sidKey('f:', sid));
    expect(pttl).toBeGreaterThan(55_000);
    expect(pttl).toBeLessThanOrEqual(60_000);
    expect(Math.abs(Date.now() + pttl - Date.parse(stored.cookie.expires))).toBeLessThan(1_000);
    expect(await store.ids()).toEqual([sid]);

    expect((await call('POST', '/logout', cookie)).status).toBe(200);
    expect(await redis.exists(sidKey('f:', sid))).toBe(0);
    expect((await call('GET', '/me', cookie)).body).toEqual({ user: null, visits: 0 });
    expect(await store.length()).toBe(0);
  });

  it('Redis killed: requests fail closed with 500 (the store error); restarted: works again', async () => {
    const { call, r, redis } = await setup();
    const cookie = (await call('POST', '/login')).cookie!;
    expect((await call('GET', '/me', cookie)).body.user).toBe('olivia');
    await r.kill();
    await waitFor('down', () => redis.status !== 'ready');
    const started = performance.now();
    const me = await call('GET', '/me', cookie);
    expect(performance.now() - started).toBeLessThan(500);
    expect(me.status).toBe(500);
    expect(me.body).toMatchObject({ code: 'E_SESSION_UNAVAILABLE' });
    // A new visitor cannot get a session either: saving it fails closed.
    expect((await call('POST', '/login')).status).toBe(500);
    await r.restart();
    await waitFor('ready again', () => redis.status === 'ready', { timeoutMs: 10_000 });
    // Redis restarted empty: the old session is gone (not an error), a new login works.
    expect((await call('GET', '/me', cookie)).body).toEqual({ user: null, visits: 0 });
    const again = await call('POST', '/login');
    expect(again.status).toBe(200);
    expect((await call('GET', '/me', again.cookie)).body).toEqual({ user: 'olivia', visits: 0 });
  });

  it('with the memory fallback: served from memory while Redis is down, replayed into Redis after', async () => {
    const { call, r, redis } = await setup({ fallback: 'memory' });
    await r.kill();
    await waitFor('down', () => redis.status !== 'ready');
    const login = await call('POST', '/login');
    expect(login.status).toBe(200);
    const cookie = login.cookie!;
    await call('POST', '/visit', cookie);
    expect((await call('GET', '/me', cookie)).body).toEqual({ user: 'olivia', visits: 1 });
    await r.restart();
    await waitFor('ready again', () => redis.status === 'ready', { timeoutMs: 10_000 });
    await waitFor(
      'replayed into Redis',
      async () => (await redis.exists(sidKey('f:', sidOf(cookie)))) === 1,
      { timeoutMs: 10_000 },
    );
    expect((await call('GET', '/me', cookie)).body).toEqual({ user: 'olivia', visits: 1 });
    await call('POST', '/visit', cookie);
    expect(JSON.parse((await redis.get(sidKey('f:', sidOf(cookie))))!)).toMatchObject({
      user: 'olivia',
      visits: 2,
    });
  });
});
