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
 * Blackholes the link under `client` for `ms` and counts the connections the client opened
 * through the proxy meanwhile. A PING sent into the blackhole stays unanswered: the connection's
 * outage watch resets a stuck link it owns once a PING went unanswered for a whole probe interval,
 * and the client reconnects (a new connection through the proxy). Then traffic passes again and
 * the client must be back on Redis.
 */
async function resetsDuringBlackhole(
  client: HybridClient,
  proxy: Awaited<ReturnType<typeof startFaultProxy>>,
  ms: number,
): Promise<number> {
  expect(client.activeBackend).toBe('primary');
  const before = proxy.accepted;
  proxy.blackhole();
  expect(await client.set('k', 'during')).toBe(true);
  expect(client.activeBackend).toBe('fallback');
  await sleep(ms);
  const reconnections = proxy.accepted - before;
  proxy.pass();
  await waitFor('back on Redis', () => client.activeBackend === 'primary', {
    timeoutMs: 3_000,
    intervalMs: 10,
  });
  return reconnections;
}

describe('values of loadConfig reach the hybrid client', () => {
  it('REDIS_PROBE_INTERVAL=200ms changes the probing (a stuck link is reset every 200 ms, not after 5 s)', async () => {
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
      resetsDuringBlackhole(configured, fast, 1_000),
      resetsDuringBlackhole(defaults, slow, 1_000),
    ]);
    // 200 ms probe interval: the stuck link is given up and reset several times within 1 s.
    expect(withConfig).toBeGreaterThanOrEqual(2);
    // The default (5 s) keeps waiting for its PING: no reset within 1 s.
    expect(withDefault).toBe(0);
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
