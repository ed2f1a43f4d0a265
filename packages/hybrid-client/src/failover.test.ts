// Real faults against a real redis-server: start without Redis, kill, freeze, tight loops.
import { startFaultProxy, startRedis, waitFor } from '@x/testkit';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { FAST, testLogger } from './_internal/testing.js';
import {
  createHybridClient,
  type FailoverEvent,
  type HybridClient,
  type RecoverEvent,
} from './index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const open: { close(): unknown; disconnect?: () => void }[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) {
    if (c.disconnect) c.disconnect();
    else await c.close();
  }
});

async function hybrid(options: Parameters<typeof createHybridClient>[0]): Promise<HybridClient> {
  const client = await createHybridClient(options);
  open.push(client);
  return client;
}

function raw(url: string): Redis {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  r.on('error', () => {});
  open.push(r as never);
  return r;
}

/** `workers` loops doing get/set until stopped; records failures and the slowest call. */
function load(client: HybridClient, workers: number) {
  let stop = false;
  let calls = 0;
  let failures = 0;
  let maxMs = 0;
  const errors: unknown[] = [];
  const run = async (w: number) => {
    for (let i = 0; !stop; i++) {
      const key = `w${w}:${i % 20}`;
      const start = performance.now();
      try {
        if (i % 2 === 0) await client.set(key, String(i));
        else await client.get(key);
      } catch (error) {
        failures++;
        if (errors.length < 5) errors.push(error);
      }
      maxMs = Math.max(maxMs, performance.now() - start);
      calls++;
      // Leave the event loop some room: the test itself must run.
      if (i % 10 === 0) await new Promise((r) => setImmediate(r));
    }
  };
  const all = Promise.all(Array.from({ length: workers }, (_, w) => run(w)));
  return {
    async stop() {
      stop = true;
      await all;
      return { calls, failures, maxMs, errors };
    },
  };
}

describe('start-up', () => {
  it('starts without Redis at once, serves from memory, moves to Redis by itself', async () => {
    const redis = await startRedis();
    await redis.kill();
    const logger = testLogger();
    const started = performance.now();
    const client = await hybrid({ redis: redis.url, ...FAST, logger });
    const took = performance.now() - started;
    expect(took).toBeLessThan(FAST.startupProbeTimeoutMs + 150);
    expect(client.activeBackend).toBe('fallback');
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]!.fields).toMatchObject({
      reason: 'primary_unavailable',
      cause: 'startup',
      level: 'warn',
    });

    expect(await client.set('k', 'memory')).toBe(true);
    expect(await client.get('k')).toBe('memory');
    const recovered = new Promise<RecoverEvent>((resolve) => client.once('recover', resolve));

    await redis.restart();
    const event = await recovered;
    expect(event.reason).toBe('primary_healthy');
    expect(client.activeBackend).toBe('primary');
    expect(logger.count('primary_healthy')).toBe(1);
    expect(logger.count('primary_unavailable')).toBe(1);
    // Served by Redis now: a value written through another client is visible.
    await raw(redis.url).set('from-redis', 'yes');
    expect(await client.get('from-redis')).toBe('yes');
    const stats = client.stats();
    expect(stats).toMatchObject({ activeBackend: 'primary', failovers: 1, recoveries: 1 });
    expect(stats.fallbackMs).toBeGreaterThan(0);
  });

  it('with an unreachable address it settles within the start-up probe and never rejects', async () => {
    const logger = testLogger();
    const started = performance.now();
    // A blackholed address: nothing answers (no RST either), the probe deadline decides.
    const client = await hybrid({
      redis: 'redis://10.255.255.1:6379',
      startupProbeTimeoutMs: 200,
      logger,
    });
    expect(performance.now() - started).toBeLessThan(400);
    expect(client.activeBackend).toBe('fallback');
    expect(logger.count('primary_unavailable')).toBe(1);
    expect(await client.get('x')).toBeNull();
  });
});

describe('runtime failover under load', () => {
  it('50 workers: SIGKILL, restart, SIGSTOP, resume: no failed call, bounded latency, one log line each way per outage', async () => {
    const redis = await startRedis();
    const logger = testLogger();
    const client = await hybrid({ redis: redis.url, ...FAST, logger });
    expect(client.activeBackend).toBe('primary');
    const failovers: FailoverEvent[] = [];
    const recoveries: RecoverEvent[] = [];
    client.on('failover', (e) => failovers.push(e));
    client.on('recover', (e) => recoveries.push(e));

    const workers = load(client, 50);
    await sleep(300);
    await redis.kill();
    await waitFor('failover after SIGKILL', () => client.activeBackend === 'fallback', {
      timeoutMs: 2_000,
    });
    await sleep(500);
    await redis.restart();
    await waitFor('recovery after restart', () => client.activeBackend === 'primary', {
      timeoutMs: 2_000,
    });
    await sleep(300);
    await redis.freeze();
    await waitFor('failover after SIGSTOP', () => client.activeBackend === 'fallback', {
      timeoutMs: 2_000,
    });
    await sleep(500);
    const resumedAt = performance.now();
    await redis.resume();
    await waitFor('recovery after SIGCONT', () => client.activeBackend === 'primary', {
      timeoutMs: 3_000,
    });
    const backAfter = performance.now() - resumedAt;
    await sleep(300);
    const result = await workers.stop();

    expect(result.errors).toEqual([]);
    expect(result.failures).toBe(0);
    expect(result.calls).toBeGreaterThan(1_000);
    // Every call within its deadline (plus scheduling slack of a loaded 2-core machine).
    expect(result.maxMs).toBeLessThan(FAST.timeoutMs + 100);
    expect(backAfter).toBeLessThan(FAST.probeIntervalMs * 3);
    expect(logger.count('primary_unavailable')).toBe(2);
    expect(logger.count('primary_healthy')).toBe(2);
    expect(failovers.map((e) => e.cause)).toEqual([
      'connection_lost',
      expect.stringMatching(/breaker_open|write_timeout/),
    ]);
    expect(recoveries).toHaveLength(2);
    const stats = client.stats();
    expect(stats).toMatchObject({
      failovers: 2,
      recoveries: 2,
      activeBackend: 'primary',
      redis: { breaker: 'closed' },
    });
    expect(stats.primary.failures).toBeGreaterThan(0);
    expect(stats.memory.calls).toBeGreaterThan(0);
  });

  it('a frozen server: calls skip Redis once failed over, in microseconds', async () => {
    const redis = await startRedis();
    const client = await hybrid({
      redis: redis.url,
      ...FAST,
      probeIntervalMs: 5_000,
      logger: false,
    });
    await redis.freeze();
    const first = performance.now();
    expect(await client.get('k')).toBeNull();
    // The first read waits for its deadline; the breaker counts it.
    expect(performance.now() - first).toBeGreaterThanOrEqual(FAST.timeoutMs - 15);
    // A write that times out switches to memory at once (its outcome is unknown).
    expect(await client.set('k', 'v')).toBe(true);
    expect(client.activeBackend).toBe('fallback');
    const start = performance.now();
    for (let i = 0; i < 1_000; i++) await client.get('k');
    const perCallUs = ((performance.now() - start) * 1_000) / 1_000;
    expect(perCallUs).toBeLessThan(100);
    expect(await client.get('k')).toBe('v');
    await redis.resume();
    await waitFor('recovery after SIGCONT', () => client.activeBackend === 'primary', {
      timeoutMs: 2_000,
    });
  });

  it('reads only: once the breaker opens, calls skip Redis entirely', async () => {
    const redis = await startRedis();
    const logger = testLogger();
    // No health PING: the connection's first one, sent as it becomes ready, could notice the
    // freeze before the reads do; this test is about the breaker.
    const client = await hybrid({
      redis: redis.url,
      ...FAST,
      healthCheckIntervalMs: 0,
      breaker: { maxFailures: 3 },
      logger,
    });
    const failover = new Promise<FailoverEvent>((resolve) => client.once('failover', resolve));
    await redis.freeze();
    // Three concurrent reads time out together: the breaker opens.
    const reads = await Promise.all([client.get('a'), client.get('b'), client.get('c')]);
    expect(reads).toEqual([null, null, null]);
    expect((await failover).cause).toBe('breaker_open');
    expect(client.stats()).toMatchObject({ activeBackend: 'fallback', redis: { breaker: 'open' } });
    const before = client.stats().primary.calls;
    const start = performance.now();
    for (let i = 0; i < 100; i++) expect(await client.get('a')).toBeNull();
    expect(performance.now() - start).toBeLessThan(150);
    expect(client.stats().primary.calls).toBe(before);
    await redis.resume();
    await waitFor('recovery', () => client.activeBackend === 'primary', { timeoutMs: 2_000 });
    expect(client.stats().redis?.breaker).toBe('closed');
    expect(logger.count('primary_unavailable')).toBe(1);
    expect(logger.count('primary_healthy')).toBe(1);
  });

  it('recovers when the application loops without ever yielding to the event loop', async () => {
    const redis = await startRedis();
    await redis.kill();
    const client = await hybrid({ redis: redis.url, ...FAST, logger: false });
    expect(client.activeBackend).toBe('fallback');
    // Each loop only awaits the client: without the client routing some calls through a
    // macrotask, these loops would starve timers and I/O (and the restart below) forever.
    const limit = performance.now() + 8_000;
    const spin = async () => {
      let calls = 0;
      while (client.activeBackend === 'fallback' && performance.now() < limit) {
        await client.set('spin', 'x');
        await client.get('spin');
        calls++;
      }
      return calls;
    };
    const spinning = Promise.all([spin(), spin(), spin()]);
    await redis.restart();
    const calls = await spinning;
    expect(client.activeBackend).toBe('primary');
    expect(performance.now()).toBeLessThan(limit);
    expect(calls.every((n) => n > 0)).toBe(true);
  });

  it('no timer of the client keeps the process alive, and close() stops every one', async () => {
    const redis = await startRedis();
    await redis.kill();
    // Track the timers created by this project's code (not ioredis' own).
    const live = new Map<NodeJS.Timeout, string>();
    const realSetTimeout = globalThis.setTimeout;
    const realClearTimeout = globalThis.clearTimeout;
    const realSetInterval = globalThis.setInterval;
    // The direct caller (frame 2: after Error and the wrapper) must be this project's source.
    const ours = () => {
      const caller = (new Error().stack ?? '').split('\n')[3] ?? '';
      return (
        /packages\/(hybrid-client|connection|breaker|health|local-cache)\/src\//.test(caller) &&
        !caller.includes('.test.')
      );
    };
    globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      const t = realSetTimeout(
        (...a: unknown[]) => {
          live.delete(t);
          fn(...a);
        },
        ms,
        ...args,
      );
      if (ours()) live.set(t, new Error().stack ?? '');
      return t;
    }) as typeof setTimeout;
    globalThis.setInterval = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      const t = realSetInterval(fn, ms, ...args);
      if (ours()) live.set(t, new Error().stack ?? '');
      return t;
    }) as typeof setInterval;
    globalThis.clearTimeout = ((t: NodeJS.Timeout) => {
      live.delete(t);
      realClearTimeout(t);
    }) as typeof clearTimeout;
    const realClearInterval = globalThis.clearInterval;
    globalThis.clearInterval = ((t: NodeJS.Timeout) => {
      live.delete(t);
      realClearInterval(t);
    }) as typeof clearInterval;
    try {
      const client = await createHybridClient({ redis: redis.url, ...FAST, logger: false });
      await client.get('k');
      await sleep(150);
      const running = [...live.keys()];
      expect(running.length).toBeGreaterThan(0);
      expect(running.every((t) => !t.hasRef())).toBe(true);
      await client.close();
      await sleep(20);
      expect([...live.values()]).toEqual([]);
      await expect(client.get('k')).rejects.toMatchObject({ code: 'E_HYBRID_CLOSED' });
      await expect(client.set('k', 'v')).rejects.toMatchObject({ code: 'E_HYBRID_CLOSED' });
    } finally {
      globalThis.setTimeout = realSetTimeout;
      globalThis.clearTimeout = realClearTimeout;
      globalThis.setInterval = realSetInterval;
      globalThis.clearInterval = realClearInterval;
    }
  });
});

describe('other faults', () => {
  it('a blackholed network (bytes dropped): bounded calls, then back on Redis once traffic passes', async () => {
    const redis = await startRedis();
    const proxy = await startFaultProxy({ target: redis });
    const logger = testLogger();
    const client = await hybrid({ redis: proxy.url, ...FAST, logger });
    await client.set('k', 'v');
    proxy.blackhole();
    const start = performance.now();
    expect(await client.set('k', 'lost')).toBe(true);
    expect(performance.now() - start).toBeLessThan(FAST.timeoutMs + 100);
    expect(client.activeBackend).toBe('fallback');
    await sleep(250);
    proxy.pass();
    // The PING sent into the blackhole is never answered: the stuck connection is reset.
    await waitFor('recovery', () => client.activeBackend === 'primary', { timeoutMs: 3_000 });
    expect(await client.get('k')).toBeNull();
    expect(await client.set('k', 'after')).toBe(true);
    expect(await raw(redis.url).get('k')).toBe('after');
    expect(logger.count('primary_unavailable')).toBe(1);
    expect(logger.count('primary_healthy')).toBe(1);
  });

  it('a user client with ioredis defaults (offline queue on): kill and restart, no failed call', async () => {
    const redis = await startRedis();
    const user = new Redis(redis.url, { retryStrategy: () => 50 });
    user.on('error', () => {});
    open.push(user as never);
    const logger = testLogger();
    const client = await hybrid({ redis: user, ...FAST, logger });
    const workers = load(client, 10);
    await sleep(100);
    await redis.kill();
    await waitFor('failover', () => client.activeBackend === 'fallback', { timeoutMs: 2_000 });
    await sleep(200);
    await redis.restart();
    await waitFor('recovery', () => client.activeBackend === 'primary', { timeoutMs: 3_000 });
    const result = await workers.stop();
    expect(result.errors).toEqual([]);
    expect(result.maxMs).toBeLessThan(FAST.timeoutMs + 100);
    expect(logger.count('primary_unavailable')).toBe(1);
    expect(logger.count('primary_healthy')).toBe(1);
    expect(user.status).toBe('ready');
  });

  it('control: without reconciliation, Linux runs a write buffered in a frozen server after an RST', async () => {
    // Why the journal is needed: resetting the connection does not drop the bytes.
    const redis = await startRedis();
    const c = new Redis(redis.url, {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    c.on('error', () => {});
    open.push(c as never);
    await waitFor('ready', () => c.status === 'ready');
    await redis.freeze();
    const pending = c.set('late', 'executed').catch((e: Error) => e.message);
    await sleep(50);
    (c.stream as unknown as { resetAndDestroy(): void }).resetAndDestroy();
    expect(await pending).toMatch(/max retries|Connection is closed/i);
    await redis.resume();
    const check = raw(redis.url);
    await waitFor('the late write', async () => (await check.get('late')) === 'executed', {
      timeoutMs: 2_000,
    });
  });
});

describe('timed-out writes', () => {
  for (const policy of ['invalidate', 'none'] as const) {
    for (const owner of ['owned', 'user'] as const) {
      it(`a write that timed out on a frozen server never lands in Redis (${owner} client, ${policy})`, async () => {
        const redis = await startRedis();
        const check = raw(redis.url);
        await check.set('k', 'before');
        let user: Redis | undefined;
        if (owner === 'user') {
          user = new Redis(redis.url, { maxRetriesPerRequest: 1 });
          user.on('error', () => {});
          open.push(user as never);
        }
        const logger = testLogger();
        const client = await hybrid({
          redis: user ?? redis.url,
          ...FAST,
          onRecovery: policy,
          logger,
        });
        expect(client.activeBackend).toBe('primary');
        await redis.freeze();
        // Linux keeps these bytes in the frozen server's socket buffer (even after an RST):
        // Redis executes the SET when it resumes. The journal must override it.
        expect(await client.set('k', 'during')).toBe(true);
        expect(client.activeBackend).toBe('fallback');
        expect(await client.get('k')).toBe('during');
        await sleep(150);
        await redis.resume();
        await waitFor('recovery', () => client.activeBackend === 'primary', { timeoutMs: 3_000 });
        await sleep(200);
        expect(await check.get('k')).toBeNull();
        expect(await client.get('k')).toBeNull();
        expect(logger.count('primary_healthy')).toBe(1);
      });
    }
  }
});
