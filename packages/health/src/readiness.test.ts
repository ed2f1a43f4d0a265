import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startRedis, waitFor } from '@x/testkit';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createHealthChecker, type HealthChecker } from './health-checker.js';
import { createReadinessHandler, type ReadinessProblem, readiness } from './readiness.js';

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function setup(): Promise<{
  redis: Awaited<ReturnType<typeof startRedis>>;
  checker: HealthChecker;
}> {
  const redis = await startRedis();
  const client = new Redis(redis.url);
  client.on('error', () => {});
  cleanups.push(() => client.disconnect());
  await client.ping();
  const checker = createHealthChecker({
    client,
    intervalMs: 100,
    timeoutMs: 200,
    failureThreshold: 2,
    recoveryThreshold: 1,
  });
  cleanups.push(() => checker.stop());
  await waitFor('first check', () => checker.status === 'healthy' && checker.stats().checks > 0);
  return { redis, checker };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`;
}

describe('createReadinessHandler', () => {
  it('answers 200 with status and latency, then 503 after Redis is killed', async () => {
    const { redis, checker } = await setup();
    const url = await listen(createServer(createReadinessHandler(checker)));

    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(ok.headers.get('cache-control')).toBe('no-store');
    const body = (await ok.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ ready: true, status: 'healthy', consecutiveFailures: 0 });
    expect(body.latencyMs).toBeGreaterThan(0);
    expect(Date.parse(body.checkedAt as string)).toBeGreaterThan(Date.now() - 5_000);
    expect(body).not.toHaveProperty('error');

    await redis.kill();
    const down = await waitFor(
      '503',
      async () => {
        const res = await fetch(url);
        return res.status === 503 ? res : undefined;
      },
      { timeoutMs: 3_000 },
    );
    const downBody = (await down.json()) as Record<string, unknown>;
    expect(downBody).toMatchObject({ ready: false, status: 'unhealthy' });
    expect(downBody.consecutiveFailures).toBeGreaterThanOrEqual(2);
    expect(downBody).not.toHaveProperty('error'); // not exposed by default

    await redis.restart();
    await waitFor('200 again', async () => (await fetch(url)).status === 200, { timeoutMs: 3_000 });
  });

  it('HEAD gets the status without a body; exposeErrors adds the reason', async () => {
    const { redis, checker } = await setup();
    const url = await listen(createServer(createReadinessHandler(checker, { exposeErrors: true })));
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    await redis.freeze();
    await waitFor('unhealthy', () => checker.status === 'unhealthy', { timeoutMs: 2_000 });
    const res = await fetch(url);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error?: string }).error).toMatch(
      /did not answer within 200 ms/,
    );
    await redis.resume();
  });
});

describe('readiness', () => {
  it('maps degraded to 200 by default and to 503 with degradedIsReady: false', async () => {
    const { redis, checker } = await setup();
    checker.stop();
    expect(readiness(checker)).toMatchObject({
      status: 200,
      body: { ready: true, status: 'healthy' },
    });
    await redis.freeze();
    await checker.check();
    expect(checker.status).toBe('degraded');
    expect(readiness(checker)).toMatchObject({
      status: 200,
      body: { ready: true, status: 'degraded' },
    });
    expect(readiness(checker, { degradedIsReady: false })).toMatchObject({
      status: 503,
      body: { ready: false, status: 'degraded', consecutiveFailures: 1 },
    });
    await redis.resume();
  });

  it('validates its options', async () => {
    const { checker } = await setup();
    expect(() => createReadinessHandler(checker, { degradedIsReady: 'no' as never })).toThrow(
      /^\[@x\/health\] invalid option degradedIsReady: "no"/,
    );
    expect(() => readiness(checker, { exposeErrors: 1 as never })).toThrow(/exposeErrors/);
  });
});

describe('readiness with the diagnosis', () => {
  it('shows the problem, and a misconfiguration is not ready at once', async () => {
    const server = await startRedis();
    const client = new Redis(server.url);
    const checker = createHealthChecker({ client, autoStart: false });
    await checker.check();
    let problem: ReadinessProblem | null = null;
    const healthy = readiness(checker, { problem: () => problem });
    expect(healthy).toMatchObject({ status: 200, body: { ready: true, problem: null } });
    problem = {
      kind: 'auth',
      message: 'WRONGPASS invalid username-password pair',
      hint: 'check REDIS_PASSWORD',
      since: Date.UTC(2026, 0, 1),
      misconfiguration: true,
    };
    const wrong = readiness(checker, { problem: () => problem });
    expect(wrong.status).toBe(503);
    expect(wrong.body).toMatchObject({
      ready: false,
      problem: { kind: 'auth', hint: 'check REDIS_PASSWORD', since: '2026-01-01T00:00:00.000Z' },
    });
    expect(() => readiness(checker, { problem: 'no' as never })).toThrow(/problem/);
    client.disconnect();
  });
});
