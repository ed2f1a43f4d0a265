import {
  CONNECTION_CHANNELS,
  type ConnectionCallContext,
  INSTANCES_CHANNEL,
  type InstanceMessage,
  type LogFields,
} from '@x/connection';
import { closeAfter, listenChannels, startRedis, waitFor } from '@x/testkit';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { PUBSUB_CHANNELS, type PubSubDropMessage, type PubSubGapMessage } from './channels.js';
import { createPubSub, type PubSub } from './pubsub.js';

const cleanup = closeAfter(afterEach);

function pubsub<T = unknown>(options: Parameters<typeof createPubSub<T>>[0]): PubSub<T> {
  const ps = createPubSub<T>({ logger: false, ...options });
  cleanup.push(() => ps.close());
  return ps;
}

describe('observability', () => {
  it('announces every instance on x:instances, with stats() carrying the redis block', async () => {
    using channels = listenChannels([INSTANCES_CHANNEL]);
    const instances = channels.of<InstanceMessage>(INSTANCES_CHANNEL);
    const server = await startRedis();
    const ps = pubsub({ redis: server.url });
    const mine = () => instances.filter((m) => m.instance === ps);
    expect(mine().map((m) => [m.package, m.event])).toEqual([['@x/pubsub', 'open']]);
    const stats = mine()[0]!.instance.stats() as ReturnType<PubSub['stats']>;
    expect(stats.redis.name).toBe('@x/pubsub');
    expect(stats).toMatchObject({ published: 0, gaps: 0, subscriptions: 0 });
    await ps.close();
    await ps.close();
    expect(mine().map((m) => m.event)).toEqual(['open', 'close']);
  });

  it('traces publish on x:connection:call, and counts what every subscription delivered and dropped', async () => {
    using channels = listenChannels([
      `tracing:${CONNECTION_CHANNELS.call}:start`,
      PUBSUB_CHANNELS.drop,
    ]);
    const calls = channels.of<ConnectionCallContext>(`tracing:${CONNECTION_CHANNELS.call}:start`);
    const drops = channels.of<PubSubDropMessage>(PUBSUB_CHANNELS.drop);
    const server = await startRedis();
    const ps = pubsub<number>({ redis: server.url });
    const fast = ps.subscribe('n');
    const seen: number[] = [];
    fast.on('message', (m) => seen.push(m.data));
    const slow = ps.subscribe('n', { bufferSize: 2, dropReportIntervalMs: 60_000 });
    await Promise.all([fast.ready, slow.ready]);
    for (let i = 0; i < 5; i++) expect(await ps.publish('n', i)).toBe(1);
    expect(calls.filter((c) => c.connection === '@x/pubsub')).toEqual(
      Array.from({ length: 5 }, () =>
        expect.objectContaining({ connection: '@x/pubsub', operation: 'publish' }),
      ),
    );
    await waitFor('5 messages each', () => seen.length === 5 && slow.stats().received === 5);
    expect(ps.stats()).toMatchObject({ published: 5, received: 5, delivered: 5, dropped: 3 });
    expect(drops).toEqual([]); // the burst lasts until the reader catches up
    expect((await slow.next()).value?.data).toBe(3);
    expect(drops).toEqual([{ overflow: 'drop-oldest', count: 3 }]);
    slow.close();
    fast.close();
    // Counters of closed subscriptions stay: they are monotonic.
    expect(ps.stats()).toMatchObject({ delivered: 6, dropped: 3, subscriptions: 0 });
  });

  it('publishes x:pubsub:gap and logs the loss and the return once each', async () => {
    using channels = listenChannels([PUBSUB_CHANNELS.gap]);
    const gaps = channels.of<PubSubGapMessage>(PUBSUB_CHANNELS.gap);
    const server = await startRedis();
    const lines: { msg: string; fields: LogFields }[] = [];
    const redis = new Redis(server.url, { retryStrategy: () => 50 });
    redis.on('error', () => {});
    cleanup.push(() => redis.disconnect());
    const ps = pubsub({
      redis,
      logger: (msg, fields) => lines.push({ msg, fields }),
      reconnect: { minDelayMs: 20, maxDelayMs: 100 },
    });
    const sub = ps.subscribe('a');
    await sub.ready;
    await server.restart();
    await waitFor('gap', () => gaps.length === 1, { timeoutMs: 5_000 });
    expect(gaps[0]).toEqual({ reason: 'connection-closed', downtimeMs: expect.any(Number) });
    expect(lines.map((l) => l.fields.reason)).toEqual(['subscriber_lost', 'subscriber_restored']);
    expect(lines[0]!.fields).toMatchObject({ level: 'warn', lost: 'connection-closed' });
    expect(lines[1]!.fields).toMatchObject({ level: 'info', downtimeMs: gaps[0]!.downtimeMs });
    expect(ps.stats()).toMatchObject({ gaps: 1, disconnects: 1, connected: true });
  });
});
