import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeAfter, startRedis, waitFor } from '@x/testkit';
import express from 'express';
import { type Options, rateLimit } from 'express-rate-limit';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ALGORITHMS,
  admitted,
  fleetOfTwo,
  HOUR,
  limiterFor,
  untilOnRedis,
} from './_fixtures/limiters.js';
import { createExpressRateLimitStore, type ExpressRateLimitStore } from './express-store.js';

const cleanups = closeAfter(afterAll);

/** What express-rate-limit logged: its validation checks and store errors. */
interface Logged {
  level: 'warn' | 'error';
  code: string | undefined;
  message: string;
}

async function app(
  store: ExpressRateLimitStore | ExpressRateLimitStore[],
  options: Partial<Options>,
) {
  const logged: Logged[] = [];
  const log =
    (level: Logged['level']) =>
    (error: unknown): void => {
      const e = error as { code?: string; message?: string };
      logged.push({ level, code: e?.code, message: String(e?.message ?? error) });
    };
  const application = express();
  for (const s of [store].flat()) {
    application.use(
      rateLimit({
        store: s,
        standardHeaders: 'draft-6',
        legacyHeaders: false,
        logger: { warn: log('warn'), error: log('error') },
        ...options,
      }),
    );
  }
  application.get('/', (_req, res) => {
    res.send('ok');
  });
  application.use(
    (error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).json({ code: (error as { code?: string }).code ?? String(error) });
    },
  );
  const server: Server = application.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const get = async () => {
    const response = await fetch(url);
    return {
      status: response.status,
      headers: response.headers,
      text: await response.text(),
    };
  };
  return { get, logged };
}

describe('express-rate-limit store', () => {
  for (const algorithm of ALGORITHMS) {
    it(`${algorithm}: admits and refuses as the limiter decides, with the framework's standard headers`, async () => {
      const r = await startRedis();
      const limiter = limiterFor(cleanups, r, { algorithm, limit: 5, windowMs: HOUR });
      const { get, logged } = await app(createExpressRateLimitStore({ limiter }), {
        limit: 5,
        windowMs: HOUR,
      });
      const responses = [];
      for (let i = 0; i < 7; i++) responses.push(await get());
      expect(responses.map((res) => res.status)).toEqual([200, 200, 200, 200, 200, 429, 429]);
      expect(responses.map((res) => res.headers.get('ratelimit-remaining'))).toEqual([
        '4',
        '3',
        '2',
        '1',
        '0',
        '0',
        '0',
      ]);
      for (const res of responses) {
        expect(res.headers.get('ratelimit-limit')).toBe('5');
        expect(res.headers.get('ratelimit-policy')).toBe('5;w=3600');
      }
      // Admitted: reset is when the whole quota is back (gcra / token-bucket: 5 x 12 min;
      // sliding-window: the current count slides out by the end of the next window).
      const horizon = algorithm === 'sliding-window' ? 7200 : 3600;
      const reset = Number(responses[0]!.headers.get('ratelimit-reset'));
      expect(reset).toBeGreaterThan(0);
      expect(reset).toBeLessThanOrEqual(horizon);
      if (algorithm === 'token-bucket' || algorithm === 'gcra') expect(reset).toBe(720);
      // Refused: Retry-After is when the same request passes again; the reset is never earlier.
      const refused = responses[5]!;
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(horizon);
      if (algorithm === 'token-bucket' || algorithm === 'gcra') expect(retryAfter).toBe(720);
      expect(Number(refused.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(retryAfter);
      // The decisions are the limiter's own: Redis counted 5, refusals were not charged.
      expect(await limiter.peek('127.0.0.1')).toMatchObject({ remaining: 0, source: 'redis' });
      // Every express-rate-limit validation stayed on and found nothing to report.
      expect(logged).toEqual([]);
    });
  }

  it("express-rate-limit's own store checks run on it: store reuse and double counting", async () => {
    const r = await startRedis();
    const limiter = limiterFor(cleanups, r, {
      algorithm: 'fixed-window',
      limit: 10,
      windowMs: HOUR,
    });
    const other = limiterFor(cleanups, r, {
      algorithm: 'fixed-window',
      limit: 10,
      windowMs: HOUR,
      keyPrefix: 'other:',
    });
    const shared = createExpressRateLimitStore({ limiter });
    const reused = await app([shared, shared], { limit: 10, windowMs: HOUR });
    expect(reused.logged.map((l) => l.code)).toContain('ERR_ERL_STORE_REUSE');

    // Two stores on one limiter, one key, one request: charged twice, and reported.
    const twice = await app(
      [createExpressRateLimitStore({ limiter }), createExpressRateLimitStore({ limiter })],
      { limit: 10, windowMs: HOUR },
    );
    expect((await twice.get()).status).toBe(200);
    expect(twice.logged.map((l) => l.code)).toEqual(['ERR_ERL_DOUBLE_COUNT']);

    // Two limiters: two limits, no false alarm.
    const two = await app(
      [createExpressRateLimitStore({ limiter }), createExpressRateLimitStore({ limiter: other })],
      { limit: 10, windowMs: HOUR },
    );
    expect((await two.get()).status).toBe(200);
    expect(two.logged).toEqual([]);
  });

  it('fails loudly when the framework and the limiter disagree, or a refund is asked for', async () => {
    const r = await startRedis();
    const limiter = limiterFor(cleanups, r, { algorithm: 'gcra', limit: 5, windowMs: HOUR });
    const cases: [Partial<Options>, string][] = [
      [{ limit: 10, windowMs: HOUR }, 'limit'],
      [{ limit: 5, windowMs: 60_000 }, 'windowMs'],
      [{ limit: 5 }, 'windowMs'], // express-rate-limit's default window is 60 s
      [{ limit: () => 5, windowMs: HOUR }, 'limit'],
      [{ limit: 5, windowMs: HOUR, skipFailedRequests: true }, 'skipFailedRequests'],
      [{ limit: 5, windowMs: HOUR, skipSuccessfulRequests: true }, 'skipSuccessfulRequests'],
    ];
    for (const [options, field] of cases) {
      const { get, logged } = await app(createExpressRateLimitStore({ limiter }), options);
      // At start-up: logged by express-rate-limit...
      expect(logged, field).toHaveLength(1);
      expect(logged[0]).toMatchObject({ level: 'error', code: 'E_RATELIMIT_OPTIONS' });
      expect(logged[0]!.message).toContain(`invalid ${field}`);
      // ...and every request fails with it instead of enforcing a limit nobody configured.
      const res = await get();
      expect(res.status).toBe(500);
      expect(JSON.parse(res.text)).toEqual({ code: 'E_RATELIMIT_OPTIONS' });
    }
    expect(() => createExpressRateLimitStore({ limiter: {} as never })).toThrow(/invalid limiter/);
  });

  it('resetKey and getKey go to the limiter', async () => {
    const r = await startRedis();
    const limiter = limiterFor(cleanups, r, {
      algorithm: 'sliding-window',
      limit: 2,
      windowMs: HOUR,
    });
    const store = createExpressRateLimitStore({ limiter });
    const middleware = rateLimit({ store, limit: 2, windowMs: HOUR });
    expect(await middleware.getKey('k')).toMatchObject({ totalHits: 0 });
    await store.increment('k');
    const info = await middleware.getKey('k');
    expect(info?.totalHits).toBe(1);
    expect(info?.resetTime).toBeInstanceOf(Date);
    expect((await store.increment('k')).totalHits).toBe(2);
    expect((await store.increment('k')).totalHits).toBe(3); // refused: limit + 1
    await middleware.resetKey('k');
    await waitFor('reset', async () => (await limiter.peek('k')).remaining === 2);
    expect((await store.increment('k')).totalHits).toBe(1);
  });

  for (const algorithm of ALGORITHMS) {
    it(`${algorithm}: Redis killed mid-test, limits stay enforced by the local fallback; restarted, the limit is shared again`, async () => {
      const r = await startRedis();
      // Two instances of a service, one Redis: each with its own limiter, store and app.
      const limiters = fleetOfTwo(cleanups, r, algorithm);
      const apps = await Promise.all(
        limiters.map((limiter) =>
          app(createExpressRateLimitStore({ limiter }), { limit: 6, windowMs: HOUR }),
        ),
      );
      const round = (count: number) => admitted(apps, count);
      // Shared: 6 for the fleet, whichever instance serves.
      const shared = await round(5);
      expect(shared[0]! + shared[1]!).toBe(6);

      await r.kill();
      // Still limited: each instance enforces its share, limit / instances = 3.
      const during = await round(5);
      expect(during).toEqual([3, 3]);
      expect(limiters.map((l) => l.source)).toEqual(['local', 'local']);
      const refused = await apps[0]!.get();
      expect(refused.status).toBe(429);
      expect(refused.headers.get('ratelimit-limit')).toBe('6');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);

      await r.restart();
      await untilOnRedis(limiters);
      // Redis restarted empty: the fleet shares a fresh limit of 6 again.
      const after = await round(5);
      expect(after[0]! + after[1]!).toBe(6);
      expect(limiters.map((l) => l.source)).toEqual(['redis', 'redis']);
      for (const a of apps) expect(a.logged).toEqual([]);
    });
  }
});
