import type { AddressInfo } from 'node:net';
import { startRedis, waitFor } from '@x/testkit';
import express from 'express';
import session from 'express-session';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { sidKey } from './_internal/express-keys.js';
import { createExpressSessionStore } from './express-store.js';
import { createSessionStore } from './session-store.js';

declare module 'express-session' {
  interface SessionData {
    user?: string;
    hits?: number;
  }
}

const USERS = 200;
// Bounded: each user starts a new cycle only while this budget lasts (a cycle in flight ends).
const BUDGET_MS = 3_000;
const INCREMENTS = 3;

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('express-session load', () => {
  it(`${USERS} concurrent users log in, increment, read and log out: nothing lost or corrupted`, async () => {
    const r = await startRedis();
    const redis = new Redis(r.url, { enableOfflineQueue: false });
    cleanups.push(() => redis.disconnect());
    await waitFor('ready', () => redis.status === 'ready');
    const store = createExpressSessionStore({
      store: createSessionStore({ redis, keyPrefix: 'load:', timeoutMs: 2_000 }),
    });
    const app = express();
    app.use(
      session({
        store,
        secret: 'load test secret',
        resave: false,
        saveUninitialized: false,
        cookie: { maxAge: 60_000 },
      }),
    );
    app.post('/login/:user', (req, res, next) => {
      req.session.regenerate((error) => {
        if (error) return next(error);
        req.session.user = req.params.user;
        req.session.hits = 0;
        res.json({ user: req.session.user });
      });
    });
    app.post('/increment', (req, res) => {
      if (req.session.user === undefined) return res.status(401).json({ error: 'anonymous' });
      req.session.hits = (req.session.hits ?? 0) + 1;
      res.json({ user: req.session.user, hits: req.session.hits });
    });
    app.get('/read', (req, res) => {
      res.json({ user: req.session.user ?? null, hits: req.session.hits ?? null });
    });
    app.post('/logout', (req, res, next) => {
      req.session.destroy((error) => (error ? next(error) : res.json({ ok: true })));
    });
    app.use(
      (
        error: unknown,
        _req: express.Request,
        res: express.Response,
        _next: express.NextFunction,
      ) => {
        res.status(500).json({ error: String(error) });
      },
    );
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const problems: string[] = [];
    let cycles = 0;
    let requests = 0;
    const call = async (method: string, path: string, cookie?: string) => {
      requests++;
      const response = await fetch(base + path, { method, headers: cookie ? { cookie } : {} });
      const setCookie = response.headers.get('set-cookie');
      const body = (await response.json()) as Record<string, unknown>;
      if (response.status !== 200)
        problems.push(`${method} ${path}: ${response.status} ${JSON.stringify(body)}`);
      return { body, cookie: setCookie ? setCookie.split(';')[0] : undefined };
    };
    const deadline = performance.now() + BUDGET_MS;
    const user = async (name: string): Promise<void> => {
      while (performance.now() < deadline && problems.length === 0) {
        const login = await call('POST', `/login/${name}`);
        const cookie = login.cookie;
        if (cookie === undefined) {
          problems.push(`${name}: no cookie at login`);
          return;
        }
        for (let i = 1; i <= INCREMENTS; i++) {
          const { body } = await call('POST', '/increment', cookie);
          if (body.user !== name || body.hits !== i) {
            problems.push(`${name}: increment ${i} answered ${JSON.stringify(body)}`);
          }
        }
        const read = await call('GET', '/read', cookie);
        if (read.body.user !== name || read.body.hits !== INCREMENTS) {
          problems.push(`${name}: read ${JSON.stringify(read.body)}`);
        }
        const sid = decodeURIComponent(cookie.split('=')[1] as string)
          .slice(2)
          .split('.')[0] as string;
        const stored = await redis.get(sidKey('load:', sid));
        const record = stored === null ? null : (JSON.parse(stored) as Record<string, unknown>);
        if (record?.user !== name || record.hits !== INCREMENTS) {
          problems.push(`${name}: stored ${stored}`);
        }
        await call('POST', '/logout', cookie);
        const after = await call('GET', '/read', cookie);
        if (after.body.user !== null) problems.push(`${name}: still logged in after logout`);
        if ((await redis.exists(sidKey('load:', sid))) !== 0) problems.push(`${name}: record left`);
        cycles++;
      }
    };
    await Promise.all(Array.from({ length: USERS }, (_, i) => user(`user-${i}`)));
    expect(problems.slice(0, 10)).toEqual([]);
    // Every user finished at least one whole cycle: the 200 were really concurrent.
    expect(cycles).toBeGreaterThanOrEqual(USERS);
    expect(requests).toBeGreaterThanOrEqual(USERS * (INCREMENTS + 4));
    expect(await store.length()).toBe(0);
  });
});
