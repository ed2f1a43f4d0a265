import { type RedisHandle, startRedis, waitFor } from '@x/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, json, post, type RunningDemo, readEvents, sessionCookie, startDemo } from './helpers';
import { defineRouteTests } from './route-suite';

// The demo on a real, throwaway Redis (never the shared one on 6379).
let redis: RedisHandle;
let running: RunningDemo;

beforeAll(async () => {
  redis = await startRedis();
  running = await startDemo({ redis: redis.url });
});

afterAll(async () => {
  await running?.close();
});

const status = async (): Promise<Record<string, any>> => json(await get(`${running.url}/status`));

describe('with Redis', () => {
  it('starts on Redis without a warning', async () => {
    expect(running.demo.activeBackend).toBe('primary');
    expect(running.logs.filter((line) => line.level >= 40)).toEqual([]);
    const s = await waitFor('a first health check', async () => {
      const doc = await status();
      return doc.redis.latencyHistory.length > 0 ? doc : undefined;
    });
    expect(s.breaker).toBe('closed');
    expect(s.redis).toMatchObject({ configured: true, health: 'healthy' });
    expect(s.redis.url).toBe(`redis://127.0.0.1:${redis.port}/0`);
    expect(s.redis.latencyMs).toBeGreaterThan(0);
  });

  defineRouteTests(() => running, {
    hit: 'redis',
    backend: 'primary',
    lockMode: 'redis',
    rateLimitSource: 'redis',
    via: 'redis',
  });

  it('reports Redis used memory in /metrics', async () => {
    const text = await (await get(`${running.url}/metrics`)).text();
    const match = /^x_redis_used_memory_bytes (\d+)$/m.exec(text);
    expect(Number(match?.[1])).toBeGreaterThan(100_000);
  });

  it('fails over to memory when Redis dies and recovers when it is back, without a restart', async () => {
    const { url } = running;
    const login = await post(`${url}/login`, { username: 'dave', password: 'demo' });
    const cookie = sessionCookie(login);
    await get(`${url}/items/outage-1`);

    // Watch the live stream while Redis is killed: the failover must appear on it.
    const failover = readEvents(url, (e) => e.type === 'failover', 8_000);
    await redis.kill();
    const seen = await failover;
    expect(seen.at(-1)!.data).toMatchObject({ reason: 'primary_unavailable', backend: 'fallback' });
    await waitFor(
      'fallback on /status',
      async () => (await status()).activeBackend === 'fallback',
      {
        timeoutMs: 5_000,
      },
    );

    // Cache: still answers (from the source, then from memory).
    const a = await json(await get(`${url}/items/outage-1`));
    expect(['source', 'memory']).toContain(a.from);
    const b = await get(`${url}/items/outage-1`);
    expect(b.status).toBe(200);
    expect((await json(b)).from).toBe('memory');
    // Rate limits: decided locally, still with the headers.
    expect(b.headers.get('x-ratelimit-source')).toBe('local');
    expect(b.headers.get('ratelimit-limit')).toBe('120');
    // Sessions fail closed, locks refuse: clear 503s, never a wrong answer.
    const me = await get(`${url}/me`, cookie);
    expect(me.status).toBe(503);
    expect((await json(me)).error).toBe('session_store_unavailable');
    const job = await post(`${url}/jobs/report`);
    expect(job.status).toBe(503);
    expect((await json(job)).error).toBe('lock_unavailable');
    // Liveness does not depend on Redis; readiness does.
    expect((await get(`${url}/health/live`)).status).toBe(200);
    await waitFor('readiness 503', async () => (await get(`${url}/health/ready`)).status === 503, {
      timeoutMs: 5_000,
    });
    const down = await status();
    expect(down.counters.failovers).toBeGreaterThanOrEqual(1);
    expect(['unhealthy', 'degraded']).toContain(down.redis.health);
    expect(
      down.redis.latencyHistory.some((s: { latencyMs: number | null }) => s.latencyMs === null),
    ).toBe(true);
    const metrics = await (await get(`${url}/metrics`)).text();
    expect(metrics).toMatch(/x_active_backend\{backend="fallback"\} 1/);
    expect(metrics).toMatch(/x_failovers_total [1-9]/);
    expect(metrics).toMatch(/x_fallback_hits_total [1-9]/);

    await redis.restart();
    await waitFor('primary on /status', async () => (await status()).activeBackend === 'primary', {
      timeoutMs: 5_000,
    });
    const up = await status();
    expect(up.counters.recoveries).toBeGreaterThanOrEqual(1);
    expect(up.events.map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['failover', 'recover']),
    );
    // Redis restarted empty: the old session is gone (401, not 503), a new login works.
    await waitFor('sessions back', async () => (await get(`${url}/me`, cookie)).status === 401, {
      timeoutMs: 5_000,
    });
    const again = await post(`${url}/login`, { username: 'dave', password: 'demo' });
    expect(again.status).toBe(200);
    await waitFor('jobs back', async () => (await post(`${url}/jobs/report`)).status === 200, {
      timeoutMs: 5_000,
    });
    await waitFor('readiness 200', async () => (await get(`${url}/health/ready`)).status === 200, {
      timeoutMs: 5_000,
    });
  });
});

describe('with REDIS_URL set but Redis down at start-up', () => {
  it('starts on memory with one warning, then moves to Redis once it is up', async () => {
    const late = await startRedis();
    await late.kill();
    const demo = await startDemo({ redis: late.url });
    try {
      expect(demo.demo.activeBackend).toBe('fallback');
      const warnings = demo.logs.filter((line) => line.level === 40);
      expect(warnings.map((w) => w.msg)).toEqual([
        expect.stringMatching(/unavailable at start-up/),
      ]);
      const item = await get(`${demo.url}/items/early`);
      expect(item.status).toBe(200);
      expect((await json(item)).from).toBe('source');
      // Sessions fail closed (no memory fallback configured with Redis).
      const login = await post(`${demo.url}/login`, { username: 'erin', password: 'demo' });
      expect(login.status).toBe(503);

      await late.restart();
      await waitFor(
        'primary',
        async () => (await json(await get(`${demo.url}/status`))).activeBackend === 'primary',
        { timeoutMs: 5_000 },
      );
      const again = await post(`${demo.url}/login`, { username: 'erin', password: 'demo' });
      expect(again.status).toBe(200);
    } finally {
      await demo.close();
    }
  });
});
