import { createRedisClient } from '@x/config';
import { startCluster, startRedis, waitFor } from '@x/testkit';
import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { isHealthError } from './errors.js';
import {
  createHealthChecker,
  type HealthChangeEvent,
  type HealthChecker,
  type HealthCheckerOptions,
} from './health-checker.js';

const clients: Redis[] = [];
const checkers: HealthChecker[] = [];
const cleanupClusters: Cluster[] = [];

/** A plain ioredis client: no commandTimeout, offline queue on, so only the checker's deadline bounds a PING. */
function plainClient(url: string): Redis {
  const client = new Redis(url, { lazyConnect: false });
  client.on('error', () => {});
  clients.push(client);
  return client;
}

function checker(options: HealthCheckerOptions): HealthChecker {
  const c = createHealthChecker(options);
  checkers.push(c);
  return c;
}

afterEach(() => {
  for (const c of checkers.splice(0)) c.stop();
  for (const c of clients.splice(0)) c.disconnect();
  for (const c of cleanupClusters.splice(0)) c.disconnect();
});

describe('createHealthChecker', () => {
  it('walks healthy -> degraded -> unhealthy -> healthy with the configured thresholds', async () => {
    const redis = await startRedis();
    const client = plainClient(redis.url);
    await client.ping();
    // Generous deadline: the successful checks must not fail on a loaded CI machine.
    const c = checker({ client, timeoutMs: 250, autoStart: false });
    const changes: Array<[string, string]> = [];
    c.on('change', ({ from, to }: HealthChangeEvent) => changes.push([from, to]));

    expect(c.status).toBe('healthy');
    expect((await c.check()).healthy).toBe(true);

    await redis.freeze();
    const first = await c.check();
    expect(first.healthy).toBe(false);
    expect(c.status).toBe('degraded');
    await c.check();
    expect(c.status).toBe('degraded');
    await c.check();
    expect(c.status).toBe('unhealthy');
    expect(c.stats().consecutiveFailures).toBe(3);

    await redis.resume();
    expect((await c.check()).healthy).toBe(true);
    expect(c.status).toBe('unhealthy'); // one success is not enough (recoveryThreshold 2)
    expect((await c.check()).healthy).toBe(true);
    expect(c.status).toBe('healthy');
    expect(changes).toEqual([
      ['healthy', 'degraded'],
      ['degraded', 'unhealthy'],
      ['unhealthy', 'healthy'],
    ]);
  });

  it('a success while degraded does not reset to healthy before recoveryThreshold', async () => {
    const redis = await startRedis();
    const client = plainClient(redis.url);
    await client.ping();
    const c = checker({ client, timeoutMs: 250, recoveryThreshold: 3, autoStart: false });
    await c.check();
    await redis.freeze();
    await c.check();
    await redis.resume();
    expect(c.status).toBe('degraded');
    await c.check();
    await c.check();
    expect(c.status).toBe('degraded');
    expect(c.stats().consecutiveSuccesses).toBe(2);
    await c.check();
    expect(c.status).toBe('healthy');
  });

  it('settles a PING to a frozen server at timeoutMs although the socket stays open', async () => {
    const redis = await startRedis();
    const client = plainClient(redis.url);
    await client.ping();
    const c = checker({ client, timeoutMs: 100, autoStart: false });
    await redis.freeze();
    const started = performance.now();
    const result = await c.check();
    const elapsed = performance.now() - started;
    expect(result.healthy).toBe(false);
    expect(isHealthError(result.error)).toBe(true);
    expect((result.error as { code?: string }).code).toBe('E_HEALTH_TIMEOUT');
    expect(result.error?.message).toMatch(/^\[@x\/health\] PING did not answer within 100 ms/);
    expect(elapsed).toBeGreaterThanOrEqual(95);
    expect(elapsed).toBeLessThan(400);
    expect(result.latencyMs).toBeGreaterThanOrEqual(95);
    expect(client.status).toBe('ready'); // the socket is still open: only the deadline caught it
  });

  it('reports a frozen server unhealthy within timeout x threshold + one interval, and healthy again after resume', async () => {
    const redis = await startRedis();
    const c = checker({
      client: plainClient(redis.url),
      intervalMs: 100,
      timeoutMs: 100,
      failureThreshold: 3,
      recoveryThreshold: 2,
    });
    await waitFor('first check', () => c.stats().checks >= 1 && c.status === 'healthy');

    await redis.freeze();
    const frozenAt = performance.now();
    await waitFor('unhealthy', () => c.status === 'unhealthy', { timeoutMs: 2_000, intervalMs: 5 });
    const toUnhealthy = performance.now() - frozenAt;
    // 3 timeouts of 100 ms + at most one interval before the first of them, + timer slack on a
    // loaded machine (without the hard deadline this would never happen: the socket stays open).
    expect(toUnhealthy).toBeLessThanOrEqual(100 * 3 + 100 + 150);

    await redis.resume();
    const resumedAt = performance.now();
    await waitFor('healthy', () => c.status === 'healthy', { timeoutMs: 2_000, intervalMs: 5 });
    const toHealthy = performance.now() - resumedAt;
    expect(toHealthy).toBeLessThanOrEqual(2 * 100 + 150);
    const stats = c.stats();
    expect(stats.failures).toBeGreaterThanOrEqual(3);
    expect(stats.lastError).toMatch(/did not answer/);
  });

  it('reports a killed server unhealthy (@x/config fail-fast client and default client), then healthy after restart', async () => {
    const redis = await startRedis();
    const failFast = createRedisClient(redis.url) as Redis;
    clients.push(failFast);
    const a = checker({ client: failFast, intervalMs: 100, timeoutMs: 100 });
    const b = checker({ client: plainClient(redis.url), intervalMs: 100, timeoutMs: 100 });
    await waitFor('both checked', () => a.stats().checks > 0 && b.stats().checks > 0);
    expect([a.status, b.status]).toEqual(['healthy', 'healthy']);

    await redis.kill();
    const killedAt = performance.now();
    await waitFor('both unhealthy', () => a.status === 'unhealthy' && b.status === 'unhealthy', {
      timeoutMs: 2_000,
      intervalMs: 5,
    });
    // Bounded by the checks' deadlines, not by ioredis' reconnection attempts (slack for a loaded CI).
    expect(performance.now() - killedAt).toBeLessThanOrEqual(100 * 3 + 100 + 400);
    expect(a.stats().consecutiveFailures).toBeGreaterThanOrEqual(3);
    expect(b.stats().consecutiveFailures).toBeGreaterThanOrEqual(3);
    expect(a.stats().uptimeRatio).toBeLessThan(1);

    await redis.restart();
    await waitFor('both healthy again', () => a.status === 'healthy' && b.status === 'healthy', {
      timeoutMs: 3_000,
    });
  });

  it('never overlaps checks and never piles PINGs up on a frozen server', async () => {
    const redis = await startRedis();
    const real = plainClient(redis.url);
    await real.ping();
    let pings = 0;
    const client = {
      ping: () => {
        pings += 1;
        return real.ping();
      },
    };
    const c = checker({ client, intervalMs: 20, timeoutMs: 30, autoStart: false });
    const [x, y] = [c.check(), c.check()];
    expect(x).toBe(y);
    await x;
    expect(pings).toBe(1);

    await redis.freeze();
    c.start();
    await waitFor('several failed checks', () => c.stats().failures >= 5, { timeoutMs: 2_000 });
    // Every check while frozen waits on the one unanswered PING instead of sending another.
    expect(pings).toBeLessThanOrEqual(2);
    const whileFrozen = pings;
    await redis.resume();
    await waitFor('healthy', () => c.status === 'healthy', { timeoutMs: 2_000 });
    expect(pings).toBeGreaterThan(whileFrozen);
  });

  it('stop() leaves nothing scheduled and never closes the client', async () => {
    const redis = await startRedis();
    const client = plainClient(redis.url);
    const c = checker({ client, intervalMs: 20, timeoutMs: 50 });
    expect(c.running).toBe(true);
    await waitFor('a few checks', () => c.stats().checks >= 3);
    c.stop();
    expect(c.running).toBe(false);
    await new Promise((r) => setTimeout(r, 30)); // let an in-flight check settle
    const after = c.stats().checks;
    await new Promise((r) => setTimeout(r, 120));
    expect(c.stats().checks).toBe(after);
    expect(client.status).toBe('ready');
    expect(await client.ping()).toBe('PONG');
    c.start();
    await waitFor('checks resume after start()', () => c.stats().checks > after);
  });

  it('stats() reports counters, percentiles and the uptime ratio', async () => {
    const redis = await startRedis();
    const client = plainClient(redis.url);
    await client.ping();
    const c = checker({ client, timeoutMs: 500, autoStart: false });
    const empty = c.stats();
    expect(empty).toEqual({
      status: 'healthy',
      checks: 0,
      failures: 0,
      consecutiveFailures: 0,
      consecutiveSuccesses: 0,
      latency: { p50: null, p99: null, last: null },
      uptimeRatio: 1,
      lastCheckAt: null,
    });
    const before = Date.now();
    const ok1 = await c.check();
    const ok2 = await c.check();
    await redis.kill();
    const bad = await c.check();
    const s = c.stats();
    expect(s.checks).toBe(3);
    expect(s.failures).toBe(1);
    expect(s.uptimeRatio).toBeCloseTo(2 / 3, 5);
    expect(s.latency.last).toBe(ok2.latencyMs);
    expect(s.latency.p50).toBe(Math.min(ok1.latencyMs, ok2.latencyMs));
    expect(s.latency.p99).toBe(Math.max(ok1.latencyMs, ok2.latencyMs));
    expect(s.latency.p50).toBeGreaterThan(0);
    expect(s.lastCheckAt).toBeGreaterThanOrEqual(before);
    expect(s.lastError).toBe(bad.error?.message);
    expect(s.status).toBe('degraded');
  });

  it('gives a fail-fast client that is still connecting until the deadline to get ready', async () => {
    const redis = await startRedis();
    const client = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    client.on('error', () => {});
    clients.push(client);
    expect(client.status).toBe('connecting');
    const c = checker({ client, timeoutMs: 500, autoStart: false });
    const result = await c.check();
    expect(result).toMatchObject({ healthy: true });
    expect(c.status).toBe('healthy');
  });

  it('a throwing listener neither stops the checks nor escapes the timer', async () => {
    const redis = await startRedis();
    const c = checker({ client: plainClient(redis.url), intervalMs: 20, timeoutMs: 50 });
    const errors: unknown[] = [];
    c.on('error', (e) => errors.push(e));
    c.on('check', () => {
      throw new Error('listener bug');
    });
    await waitFor('checks go on', () => c.stats().checks >= 3);
    expect(errors.length).toBeGreaterThanOrEqual(3);
    expect((errors[0] as Error).message).toBe('listener bug');
  });

  it('initialStatus unhealthy waits for recoveryThreshold successes', async () => {
    const redis = await startRedis();
    const c = checker({
      client: plainClient(redis.url),
      initialStatus: 'unhealthy',
      autoStart: false,
    });
    const seen: HealthChangeEvent[] = [];
    c.on('change', (e) => seen.push(e));
    await c.check();
    expect(c.status).toBe('unhealthy');
    await c.check();
    expect(c.status).toBe('healthy');
    expect(seen).toHaveLength(1);
    expect(seen[0]?.result.healthy).toBe(true);
  });

  it('checks a Cluster client, and reports the cluster down when every node is frozen', async () => {
    const cluster = await startCluster({ masters: 3, replicasPerMaster: 0 });
    const client = new Cluster(cluster.startupNodes);
    client.on('error', () => {});
    cleanupClusters.push(client);
    await waitFor('cluster client ready', () => client.status === 'ready');
    const c = checker({ client, timeoutMs: 150, failureThreshold: 2, autoStart: false });
    expect((await c.check()).healthy).toBe(true);
    await Promise.all(cluster.nodes.map((n) => n.freeze()));
    await c.check();
    const second = await c.check();
    expect(second.error?.message).toMatch(/did not answer within 150 ms/);
    expect(c.status).toBe('unhealthy');
    await Promise.all(cluster.nodes.map((n) => n.resume()));
    await waitFor('healthy again', async () => (await c.check()) && c.status === 'healthy', {
      timeoutMs: 3_000,
    });
    expect(c.stats().consecutiveSuccesses).toBeGreaterThanOrEqual(2);
  });

  it('validates options and names the bad field', () => {
    const client = { ping: async () => 'PONG' };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ client: undefined }, 'client'],
      [{ client: {} }, 'client'],
      [{ client, intervalMs: 0 }, 'intervalMs'],
      [{ client, timeoutMs: -1 }, 'timeoutMs'],
      [{ client, timeoutMs: 1.5 }, 'timeoutMs'],
      [{ client, failureThreshold: Number.NaN }, 'failureThreshold'],
      [{ client, recoveryThreshold: '2' }, 'recoveryThreshold'],
      [{ client, autoStart: 'yes' }, 'autoStart'],
      [{ client, initialStatus: 'up' }, 'initialStatus'],
    ];
    for (const [options, field] of cases) {
      let caught: unknown;
      try {
        createHealthChecker({ autoStart: false, ...options } as unknown as HealthCheckerOptions);
      } catch (error) {
        caught = error;
      }
      expect(isHealthError(caught), field).toBe(true);
      expect(caught).toMatchObject({ code: 'E_HEALTH_OPTIONS', field, name: 'HealthOptionsError' });
      expect((caught as Error).message).toMatch(
        new RegExp(`^\\[@x/health\\] invalid option ${field}`),
      );
    }
  });
});
