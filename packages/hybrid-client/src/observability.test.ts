// Issue 16, the package side: instances announced on x:instances, rare events on
// x:hybrid-client:*, Redis calls traced on x:connection:call (the hot path only when someone
// listens), every count in stats().
import diagnostics_channel from 'node:diagnostics_channel';
import { connectionCallChannel, INSTANCES_CHANNEL, type InstanceMessage } from '@x/connection';
import { startRedis, waitFor } from '@x/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { FAST } from './_internal/testing.js';
import {
  createHybridClient,
  type FailoverMessage,
  HYBRID_CHANNELS,
  type RecoverEvent,
} from './index.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

function listen<T>(name: string): T[] {
  const seen: T[] = [];
  const fn = (message: unknown) => seen.push(message as T);
  diagnostics_channel.subscribe(name, fn);
  cleanup.push(() => diagnostics_channel.unsubscribe(name, fn));
  return seen;
}

describe('observability', () => {
  it('announces every instance when created and when closed', async () => {
    const seen = listen<InstanceMessage>(INSTANCES_CHANNEL);
    const client = await createHybridClient({ logger: false });
    await client.close();
    const ours = seen.filter((m) => m.package === '@x/hybrid-client');
    expect(ours.map((m) => m.event)).toEqual(['open', 'close']);
    expect(ours[0]!.instance).toBe(client);
    expect(client.stats()).toMatchObject({ mode: 'memory-only', redis: null });
  });

  it('publishes failover and recover (no keys), and counts them in stats()', async () => {
    const failovers = listen<FailoverMessage>(HYBRID_CHANNELS.failover);
    const recoveries = listen<RecoverEvent>(HYBRID_CHANNELS.recover);
    const redis = await startRedis();
    const client = await createHybridClient({ redis: redis.url, ...FAST, logger: false });
    cleanup.push(() => client.close());
    expect(client.activeBackend).toBe('primary');
    const recovered = new Promise<void>((resolve) => client.once('recover', () => resolve()));
    await redis.kill();
    expect(await client.set('secret-key', 'v')).toBe(true);
    expect(client.activeBackend).toBe('fallback');
    await redis.restart();
    await recovered;
    expect(failovers).toHaveLength(1);
    expect(failovers[0]).toMatchObject({ reason: 'primary_unavailable', cause: 'connection_lost' });
    expect(Object.keys(failovers[0]!).sort()).toEqual(['cause', 'problem', 'reason']);
    expect(recoveries).toHaveLength(1);
    expect(recoveries[0]).toMatchObject({ reason: 'primary_healthy', reconciledKeys: 1 });
    expect(JSON.stringify([failovers, recoveries])).not.toContain('secret-key');
    const stats = client.stats();
    expect(stats).toMatchObject({ failovers: 1, recoveries: 1, mode: 'hybrid' });
    expect(stats.memory.calls).toBeGreaterThanOrEqual(1);
    expect(stats.redis).toMatchObject({ name: '@x/hybrid-client', state: 'ready', outages: 1 });
  });

  it('traces Redis calls on x:connection:call, GET and SET only while someone listens', async () => {
    const redis = await startRedis();
    const client = await createHybridClient({ redis: redis.url, ...FAST, logger: false });
    cleanup.push(() => client.close());
    // The near cache's tracking setup is traced too ('tracking'): let it finish first.
    await waitFor('tracking', () => client.stats().near?.tracking === true);
    await client.set('k', 'untraced');
    const operations: string[] = [];
    const handlers = {
      start: (message: unknown) => operations.push((message as { operation: string }).operation),
    };
    connectionCallChannel.subscribe(handlers as never);
    try {
      expect(connectionCallChannel.hasSubscribers).toBe(true);
      expect(await client.set('k', 'v')).toBe(true);
      expect(await client.get('k')).toBe('v');
      expect(await client.del('k')).toBe(1);
      expect(await client.hset('h', 'f', 'v')).toBe(1);
    } finally {
      connectionCallChannel.unsubscribe(handlers as never);
    }
    expect(operations).toEqual(['set', 'get', 'del', 'hset']);
    await client.get('k');
    expect(operations).toHaveLength(4);
    expect(client.stats().primary).toMatchObject({ calls: 6, failures: 0 });
  });
});
