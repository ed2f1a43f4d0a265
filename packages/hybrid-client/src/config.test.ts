// Issue 12, "config that is used": the intervals `loadConfig` reads reach the hybrid client
// through its connection (explicit options still win).
import { loadConfig } from '@x/config';
import { startFaultProxy, startRedis, waitFor } from '@x/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createHybridClient, type HybridClient } from './index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

async function open(options: Parameters<typeof createHybridClient>[0]): Promise<HybridClient> {
  const client = await createHybridClient(options);
  cleanup.push(() => client.close());
  return client;
}

/**
 * Blackholes the link under `client`, waits, lets traffic pass again, and resolves how long the
 * client took to be back on Redis after that (Infinity when not within `withinMs`). The PING sent
 * into the blackhole is never answered: only the reset of the stuck connection, done once a PING
 * stayed unanswered for a whole probe interval, brings the client back.
 */
async function blackholeRecovery(
  client: HybridClient,
  proxy: Awaited<ReturnType<typeof startFaultProxy>>,
  withinMs: number,
): Promise<number> {
  expect(client.activeBackend).toBe('primary');
  proxy.blackhole();
  expect(await client.set('k', 'during')).toBe(true);
  expect(client.activeBackend).toBe('fallback');
  await sleep(300);
  proxy.pass();
  const passed = performance.now();
  try {
    await waitFor('back on Redis', () => client.activeBackend === 'primary', {
      timeoutMs: withinMs,
      intervalMs: 10,
    });
  } catch {
    return Number.POSITIVE_INFINITY;
  }
  return performance.now() - passed;
}

describe('values of loadConfig reach the hybrid client', () => {
  it('REDIS_PROBE_INTERVAL=200ms changes the probing (a stuck link is reset after 200 ms, not 5 s)', async () => {
    const redis = await startRedis();
    const fast = await startFaultProxy({ target: redis });
    const slow = await startFaultProxy({ target: redis });
    const env = (url: string, extra: Record<string, string> = {}) =>
      loadConfig({ env: { REDIS_URL: url, ...extra } });
    const configured = await open({
      redis: env(fast.url, { REDIS_PROBE_INTERVAL: '200ms' }),
      logger: false,
    });
    const defaults = await open({ redis: env(slow.url), logger: false });
    const [withConfig, withDefault] = await Promise.all([
      blackholeRecovery(configured, fast, 1_500),
      blackholeRecovery(defaults, slow, 1_500),
    ]);
    // 200 ms probe interval: the stuck PING is given up and the link reset within a few ticks.
    expect(withConfig).toBeLessThan(1_000);
    // The default (5 s) keeps waiting for the PING: not back within 1.5 s.
    expect(withDefault).toBe(Number.POSITIVE_INFINITY);
  });

  it('REDIS_STARTUP_PROBE_TIMEOUT=200ms bounds the start-up wait; an explicit option wins', async () => {
    const redis = await startRedis();
    await redis.freeze();
    cleanup.push(() => redis.resume());
    const config = loadConfig({
      env: { REDIS_URL: redis.url, REDIS_STARTUP_PROBE_TIMEOUT: '200ms' },
    });
    let started = performance.now();
    const client = await open({ redis: config, logger: false });
    const fromConfig = performance.now() - started;
    expect(client.activeBackend).toBe('fallback');
    expect(fromConfig).toBeGreaterThanOrEqual(190);
    expect(fromConfig).toBeLessThan(600);
    started = performance.now();
    await open({ redis: config, startupProbeTimeoutMs: 700, logger: false });
    const explicit = performance.now() - started;
    expect(explicit).toBeGreaterThanOrEqual(690);
    expect(explicit).toBeLessThan(1_100);
  });
});
