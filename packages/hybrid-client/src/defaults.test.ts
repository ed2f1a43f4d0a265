// The failover scenario of the benchmark, with DEFAULT options (timeoutMs 250,
// probeIntervalMs 5000) and 50 workers that never yield to the event loop between calls.
// Recovery must not wait for the 5 s probe interval: it is driven by events and the PING kept in
// flight. Bounds here leave room for a loaded test machine; the bench measures the exact figures.
import { startRedis, waitFor } from '@x/testkit';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { testLogger } from './_internal/testing.js';
import { createHybridClient, type HybridClient } from './index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

function spin(client: HybridClient, workers: number) {
  let stop = false;
  let calls = 0;
  let failures = 0;
  let maxMs = 0;
  const run = async (w: number) => {
    for (let i = 0; !stop; i++) {
      const start = performance.now();
      try {
        if (i & 1) await client.get(`w${w}:${i % 50}`);
        else await client.set(`w${w}:${i % 50}`, 'v');
      } catch {
        failures++;
      }
      maxMs = Math.max(maxMs, performance.now() - start);
      calls++;
    }
  };
  const all = Promise.all(Array.from({ length: workers }, (_, w) => run(w)));
  return async () => {
    stop = true;
    await all;
    return { calls, failures, maxMs };
  };
}

async function answeredAt(port: number): Promise<number> {
  const probe = new Redis(port, '127.0.0.1', {
    retryStrategy: () => 5,
    maxRetriesPerRequest: null,
  });
  probe.on('error', () => {});
  await probe.ping();
  const at = performance.now();
  probe.disconnect();
  return at;
}

describe('default options, workers that never yield', () => {
  for (const fault of ['kill', 'freeze'] as const) {
    it(`${fault}: every call succeeds within its deadline, back on Redis long before the probe interval`, async () => {
      const redis = await startRedis();
      const logger = testLogger();
      const client = await createHybridClient({ redis: redis.url, logger });
      cleanup.push(() => client.close());
      expect(client.activeBackend).toBe('primary');
      const stop = spin(client, 50);
      // Stopped before the client is closed, also when an assertion fails: workers calling a
      // closed client would spin on rejected promises and starve the event loop.
      cleanup.unshift(stop);
      await sleep(300);
      if (fault === 'kill') await redis.kill();
      else await redis.freeze();
      await waitFor('failover', () => client.activeBackend === 'fallback', { timeoutMs: 2_000 });
      await sleep(700);
      if (fault === 'kill') await redis.restart();
      else await redis.resume();
      const answered = await answeredAt(redis.port);
      await waitFor('recovery', () => client.activeBackend === 'primary', {
        timeoutMs: 4_000,
        intervalMs: 5,
      });
      const back = performance.now() - answered;
      await sleep(200);
      const result = await stop();
      expect(result.failures).toBe(0);
      expect(result.calls).toBeGreaterThan(1_000);
      expect(result.maxMs).toBeLessThan(fault === 'kill' ? 250 : 400);
      expect(back).toBeLessThan(1_500);
      expect(logger.count('primary_unavailable')).toBe(1);
      expect(logger.count('primary_healthy')).toBe(1);
    });
  }
});
