import { type RedisHandle, startRedis, waitFor } from '@x/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, json, post, type RunningDemo, readEvents, sessionCookie, startDemo } from './helpers';
import { promtoolCheck, sample } from './promtool';
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
    expect(s.problem).toBeNull();
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

  it('fails over to memory when Redis dies and recovers when it is back, without a restart', async () => {
    const { url } = running;
    const login = await post(`${url}/login`, { username: 'dave', password: 'demo' });
    const cookie = sessionCookie(login);
    await get(`${url}/items/outage-1`);
    const before = await (await get(`${url}/metrics`)).text();
    const servedBefore = sample(before, 'x_fallback_served_total', {
      x_package: '@x/hybrid-client',
      x_source: 'memory',
    });
    const localBefore = (await status()).counters.rateLimitLocal;

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
    // Rate limits: decided locally (the local fallback), still with the framework's headers.
    expect(b.headers.get('ratelimit-limit')).toBe('120');
    expect(Number(b.headers.get('ratelimit-remaining'))).toBeGreaterThanOrEqual(0);
    expect(b.headers.get('x-ratelimit-source')).toBeNull();
    expect(running.demo.rateLimiters.api.source).toBe('local');
    // Sessions fail closed, locks refuse: clear 503s with the diagnosis, never a wrong answer.
    const me = await get(`${url}/me`, cookie);
    expect(me.status).toBe(503);
    const meBody = await json(me);
    expect(meBody.error).toBe('session_store_unavailable');
    expect(meBody.problem.kind).toBe('refused');
    const job = await post(`${url}/jobs/report`);
    expect(job.status).toBe(503);
    expect((await json(job)).error).toBe('lock_unavailable');
    // Liveness does not depend on Redis; readiness does, and says why.
    expect((await get(`${url}/health/live`)).status).toBe(200);
    const notReady = await waitFor(
      'readiness 503',
      async () => {
        const res = await get(`${url}/health/ready`);
        return res.status === 503 ? json(res) : undefined;
      },
      { timeoutMs: 5_000 },
    );
    expect(notReady).toMatchObject({ ready: false, redis: 'configured' });
    expect(notReady.problem).toMatchObject({ kind: 'refused', misconfiguration: false });
    expect(notReady.problem.message).toMatch(/ECONNREFUSED|closed/);
    expect(notReady.problem.hint.length).toBeGreaterThan(10);
    expect(notReady).not.toHaveProperty('error');
    const down = await status();
    expect(down.problem.kind).toBe('refused');
    expect(down.counters.rateLimitLocal).toBeGreaterThan(localBefore);
    expect(down.counters.failovers).toBeGreaterThanOrEqual(1);
    expect(['unhealthy', 'degraded']).toContain(down.redis.health);
    expect(
      down.redis.latencyHistory.some((s: { latencyMs: number | null }) => s.latencyMs === null),
    ).toBe(true);
    const metrics = await (await get(`${url}/metrics`)).text();
    const check = await promtoolCheck(metrics);
    expect(check.output).toBe('');
    expect(check.code).toBe(0);
    expect(sample(metrics, 'x_hybrid_backend', { x_state: 'fallback' })).toBe(1);
    expect(sample(metrics, 'x_hybrid_failovers_total')).toBeGreaterThanOrEqual(1);
    // Calls served without Redis grow once Redis is gone.
    expect(
      sample(metrics, 'x_fallback_served_total', {
        x_package: '@x/hybrid-client',
        x_source: 'memory',
      }),
    ).toBeGreaterThan(servedBefore ?? 0);
    expect(
      sample(metrics, 'x_fallback_served_total', { x_package: '@x/ratelimit', x_source: 'local' }),
    ).toBeGreaterThan(0);
    expect(
      sample(metrics, 'x_redis_problem', {
        x_package: '@x/hybrid-client',
        x_problem_kind: 'refused',
      }),
    ).toBe(1);
    expect(sample(metrics, 'x_session_fail_closed_total')).toBeGreaterThanOrEqual(1);

    await redis.restart();
    await waitFor('primary on /status', async () => (await status()).activeBackend === 'primary', {
      timeoutMs: 5_000,
    });
    const up = await status();
    expect(up.counters.recoveries).toBeGreaterThanOrEqual(1);
    await waitFor('the diagnosis cleared', async () => (await status()).problem === null, {
      timeoutMs: 5_000,
    });
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

describe('with a wrong Redis password', () => {
  it('shows the diagnosis (auth, the server words, the hint) in readiness, /status and 503s', async () => {
    const locked = await startRedis({ password: 'right-password' });
    const demo = await startDemo({ redis: `redis://:wrong-password@127.0.0.1:${locked.port}` });
    try {
      // Found at once, not after a start-up timeout: the cache serves from memory.
      expect(demo.demo.activeBackend).toBe('fallback');
      const ready = await get(`${demo.url}/health/ready`);
      expect(ready.status).toBe(503);
      const body = await json(ready);
      expect(body.ready).toBe(false);
      expect(body.problem).toMatchObject({ kind: 'auth', misconfiguration: true });
      expect(body.problem.message).toMatch(/WRONGPASS/);
      expect(body.problem.hint).toMatch(/REDIS_PASSWORD/);
      expect(Date.parse(body.problem.since)).toBeLessThanOrEqual(Date.now());
      // Never the raw client text.
      expect(JSON.stringify(body)).not.toMatch(/Stream isn't writeable|enableOfflineQueue/);

      const s = await json(await get(`${demo.url}/status`));
      expect(s.problem).toMatchObject({ kind: 'auth', misconfiguration: true });
      const login = await post(`${demo.url}/login`, { username: 'frank', password: 'demo' });
      expect(login.status).toBe(503);
      const refused = await json(login);
      expect(refused.error).toBe('session_store_unavailable');
      expect(refused.problem.kind).toBe('auth');
      // The items still answer, from memory.
      expect((await get(`${demo.url}/items/wrong-pass`)).status).toBe(200);
      // Logged once at error level with the server's words and the hint.
      const errors = demo.logs.filter((line) => line.level === 50);
      expect(errors.some((line) => /WRONGPASS/.test(line.msg))).toBe(true);
    } finally {
      await demo.close();
      await locked.kill();
    }
  });
});
