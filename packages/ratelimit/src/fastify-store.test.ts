import fastifyRateLimit, { type RateLimitPluginOptions } from '@fastify/rate-limit';
import { closeAfter, startRedis } from '@x/testkit';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ALGORITHMS,
  admitted,
  fleetOfTwo,
  HOUR,
  limiterFor,
  untilOnRedis,
} from './_fixtures/limiters.js';
import { createFastifyRateLimitStore } from './fastify-store.js';
import type { RateLimiter } from './rate-limiter.js';

const cleanups = closeAfter(afterAll);

/** A real Fastify 5 app with @fastify/rate-limit and the store under test. */
async function app(
  limiter: RateLimiter,
  options: Partial<RateLimitPluginOptions>,
  routes: (app: FastifyInstance) => void = () => {},
) {
  const application = Fastify();
  cleanups.push(() => application.close());
  await application.register(fastifyRateLimit, {
    store: createFastifyRateLimitStore({ limiter }),
    ...options,
  });
  application.get('/', async () => 'ok');
  routes(application);
  await application.ready();
  const get = async (url = '/') => {
    const response = await application.inject({ method: 'GET', url });
    return { status: response.statusCode, headers: response.headers, body: response.body };
  };
  return { app: application, get };
}

describe('@fastify/rate-limit store', () => {
  for (const algorithm of ALGORITHMS) {
    it(`${algorithm}: admits and refuses as the limiter decides, with the framework's headers`, async () => {
      const r = await startRedis();
      const limiter = limiterFor(cleanups, r, { algorithm, limit: 5, windowMs: HOUR });
      const { get } = await app(limiter, { max: 5, timeWindow: HOUR });
      const responses = [];
      for (let i = 0; i < 7; i++) responses.push(await get());
      expect(responses.map((res) => res.status)).toEqual([200, 200, 200, 200, 200, 429, 429]);
      expect(responses.map((res) => res.headers['x-ratelimit-remaining'])).toEqual([
        '4',
        '3',
        '2',
        '1',
        '0',
        '0',
        '0',
      ]);
      for (const res of responses) expect(res.headers['x-ratelimit-limit']).toBe('5');
      const horizon = algorithm === 'sliding-window' ? 7200 : 3600;
      const reset = Number(responses[0]!.headers['x-ratelimit-reset']);
      expect(reset).toBeGreaterThan(0);
      expect(reset).toBeLessThanOrEqual(horizon);
      if (algorithm === 'token-bucket' || algorithm === 'gcra') expect(reset).toBe(720);
      const refused = responses[5]!;
      const retryAfter = Number(refused.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(horizon);
      if (algorithm === 'token-bucket' || algorithm === 'gcra') expect(retryAfter).toBe(720);
      expect(Number(refused.headers['x-ratelimit-reset'])).toBeGreaterThanOrEqual(retryAfter);
      expect(JSON.parse(refused.body)).toMatchObject({ statusCode: 429 });
      expect(await limiter.peek('127.0.0.1')).toMatchObject({ remaining: 0, source: 'redis' });
    });
  }

  it('the draft-spec headers, a route of its own, and a read without charging', async () => {
    const r = await startRedis();
    const limiter = limiterFor(cleanups, r, { algorithm: 'gcra', limit: 3, windowMs: HOUR });
    const { app: application, get } = await app(
      limiter,
      { max: 3, timeWindow: HOUR, enableDraftSpec: true },
      (a) => {
        a.get('/route', { config: { rateLimit: { max: 3, timeWindow: HOUR } } }, async () => 'r');
      },
    );
    const first = await get('/route');
    expect(first.status).toBe(200);
    expect(first.headers['ratelimit-limit']).toBe('3');
    expect(first.headers['ratelimit-remaining']).toBe('2');
    expect(first.headers['ratelimit-reset']).toBe('1200');
    // One limiter, one key: the route and the global limit share the count.
    expect((await get('/')).headers['ratelimit-remaining']).toBe('1');
    const check = application.createRateLimit({ max: 3, timeWindow: HOUR });
    const request = { ip: '127.0.0.1', routeOptions: { config: {} } } as never;
    const peeked = await check(request, { increment: false });
    expect(peeked).toMatchObject({ isAllowed: false, remaining: 1, isExceeded: false });
    expect((await get('/')).status).toBe(200);
    const refused = await get('/route');
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1200'); // one interval: 3600 s / 3
    expect(refused.headers['ratelimit-reset']).toBe('1200');
  });

  it('fails loudly when the plugin, a route or a request disagrees with the limiter', async () => {
    const r = await startRedis();
    const limiter = limiterFor(cleanups, r, {
      algorithm: 'token-bucket',
      limit: 5,
      windowMs: HOUR,
    });
    const cases: [Partial<RateLimitPluginOptions>, string][] = [
      [{ max: 10, timeWindow: HOUR }, 'max'],
      [{ max: 5, timeWindow: 60_000 }, 'timeWindow'],
      [{ max: 5 }, 'timeWindow'], // the plugin's default window is 60 s
      [{ max: 5, timeWindow: HOUR, ban: 0 }, 'ban'],
      [{ max: 5, timeWindow: HOUR, continueExceeding: true }, 'continueExceeding'],
      [{ max: 5, timeWindow: HOUR, exponentialBackoff: true }, 'exponentialBackoff'],
    ];
    for (const [options, field] of cases) {
      await expect(app(limiter, options), field).rejects.toMatchObject({
        code: 'E_RATELIMIT_OPTIONS',
        field,
      });
    }
    // A route with another limit: its registration fails.
    await expect(
      app(limiter, { max: 5, timeWindow: HOUR }, (a) => {
        a.get('/other', { config: { rateLimit: { max: 2 } } }, async () => 'x');
      }),
    ).rejects.toMatchObject({ code: 'E_RATELIMIT_OPTIONS', field: 'max' });
    // A limit computed per request: checked on each request.
    const { get } = await app(limiter, {
      max: (_req, key) => (key === 'never' ? 5 : 4),
      timeWindow: HOUR,
    });
    const res = await get();
    expect(res.status).toBe(500);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'E_RATELIMIT_OPTIONS' });
    const right = await app(limiter, { max: () => 5, timeWindow: () => HOUR });
    expect((await right.get()).status).toBe(200);
    expect(() => createFastifyRateLimitStore({ limiter: 'nope' as never })).toThrow(
      /invalid limiter/,
    );
  });

  for (const algorithm of ALGORITHMS) {
    it(`${algorithm}: Redis killed mid-test, limits stay enforced by the local fallback; restarted, the limit is shared again`, async () => {
      const r = await startRedis();
      const limiters = fleetOfTwo(cleanups, r, algorithm);
      const apps = await Promise.all(
        limiters.map((limiter) => app(limiter, { max: 6, timeWindow: HOUR })),
      );
      const round = (count: number) => admitted(apps, count);
      const shared = await round(5);
      expect(shared[0]! + shared[1]!).toBe(6);

      await r.kill();
      expect(await round(5)).toEqual([3, 3]);
      expect(limiters.map((l) => l.source)).toEqual(['local', 'local']);
      const refused = await apps[1]!.get();
      expect(refused.status).toBe(429);
      expect(refused.headers['x-ratelimit-limit']).toBe('6');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);

      await r.restart();
      await untilOnRedis(limiters);
      const after = await round(5);
      expect(after[0]! + after[1]!).toBe(6);
      expect(limiters.map((l) => l.source)).toEqual(['redis', 'redis']);
    });
  }
});
