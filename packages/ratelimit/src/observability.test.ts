import {
  CONNECTION_CHANNELS,
  type ConnectionCallContext,
  INSTANCES_CHANNEL,
  type InstanceMessage,
  type LogFields,
  type Problem,
} from '@x/connection';
import { closeAfter, listenChannels, startRedis, waitFor } from '@x/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { smallLimiter } from './_fixtures/limiters.js';
import { RATELIMIT_CHANNELS, type RateLimitSourceMessage } from './channels.js';
import type { RateLimitSourceChange } from './options.js';
import type { RateLimiter } from './rate-limiter.js';

const cleanup = closeAfter(afterEach);

describe('observability', () => {
  it('announces every instance on x:instances; stats() carries the redis block and the counters', async () => {
    using channels = listenChannels([INSTANCES_CHANNEL]);
    const instances = channels.of<InstanceMessage>(INSTANCES_CHANNEL);
    const server = await startRedis();
    const rl = smallLimiter(cleanup, { redis: server.url });
    const mine = () => instances.filter((m) => m.instance === rl);
    expect(mine().map((m) => [m.package, m.event])).toEqual([['@x/ratelimit', 'open']]);
    const stats = mine()[0]!.instance.stats() as ReturnType<RateLimiter['stats']>;
    expect(stats).toEqual({
      redis: expect.objectContaining({ name: '@x/ratelimit', calls: 0 }),
      source: 'redis',
      decisions: {
        redis: { allowed: 0, refused: 0 },
        local: { allowed: 0, refused: 0 },
        open: { allowed: 0, refused: 0 },
        closed: { allowed: 0, refused: 0 },
      },
      peeks: 0,
      resets: 0,
      resetFailures: 0,
      sourceChanges: 0,
      localKeys: 0,
    });
    await rl.close();
    await rl.close();
    expect(mine().map((m) => m.event)).toEqual(['open', 'close']);
  });

  it('counts decisions by source and outcome, peeks, resets and local keys', async () => {
    const server = await startRedis();
    const rl = smallLimiter(cleanup, { redis: server.url, timeoutMs: 300, maxLocalKeys: 3 });
    for (let i = 0; i < 3; i++) await rl.consume('a');
    await rl.peek('a');
    await rl.reset('a');
    expect(rl.stats()).toMatchObject({
      decisions: { redis: { allowed: 2, refused: 1 }, local: { allowed: 0, refused: 0 } },
      peeks: 1,
      resets: 1,
      resetFailures: 0,
      localKeys: 0,
      redis: { calls: 5, successes: 5 },
    });
    await server.kill();
    for (const key of ['b', 'b', 'b', 'c', 'd', 'e']) await rl.consume(key);
    await rl.peek('b');
    await rl.reset('b').catch(() => undefined);
    expect(rl.stats()).toMatchObject({
      source: 'local',
      decisions: { redis: { allowed: 2, refused: 1 }, local: { allowed: 5, refused: 1 } },
      peeks: 2,
      resets: 1,
      resetFailures: 1,
      sourceChanges: 1,
      // Bounded by maxLocalKeys.
      localKeys: 3,
    });

    const server2 = await startRedis();
    await server2.kill();
    const open = smallLimiter(cleanup, { redis: server2.url, fallback: 'open' });
    const closed = smallLimiter(cleanup, { redis: server2.url, fallback: 'closed' });
    for (let i = 0; i < 2; i++) {
      await open.consume('x');
      await closed.consume('x');
    }
    expect(open.stats().decisions).toMatchObject({ open: { allowed: 2 }, local: { allowed: 0 } });
    expect(closed.stats().decisions).toMatchObject({ closed: { refused: 2 } });
    expect(open.stats().localKeys).toBe(0);
  });

  it('publishes x:ratelimit:source, calls onSourceChange and logs once each way, with the problem', async () => {
    using channels = listenChannels([RATELIMIT_CHANNELS.source]);
    const sources = channels.of<RateLimitSourceMessage>(RATELIMIT_CHANNELS.source);
    const server = await startRedis();
    const lines: { msg: string; fields: LogFields }[] = [];
    const changes: RateLimitSourceChange[] = [];
    const rl = smallLimiter(cleanup, {
      redis: server.url,
      instances: 2,
      limit: 10,
      timeoutMs: 300,
      logger: (msg, fields) => lines.push({ msg, fields }),
      onSourceChange: (change) => changes.push(change),
    });
    expect((await rl.consume('a')).source).toBe('redis');
    await server.kill();
    // The connection's outage watch moves decisions to the fallback, also with no call in flight.
    await waitFor('local', () => rl.source === 'local', { timeoutMs: 2_000, intervalMs: 10 });
    for (let i = 0; i < 5; i++) expect((await rl.consume('a')).source).toBe('local');
    await server.restart();
    await waitFor('back on Redis', () => rl.source === 'redis', { timeoutMs: 5_000 });
    expect((await rl.consume('a')).source).toBe('redis');

    // The problem the connection knew when decisions left Redis: a killed server closes the link
    // (nothing more is known yet) or resets it (refused).
    const lost = expect.toSatisfy(
      (problem: Problem | null) => problem === null || problem.kind === 'refused',
    );
    expect(sources).toEqual([
      { from: 'redis', to: 'local', problem: lost },
      { from: 'local', to: 'redis', problem: null },
    ]);
    expect(changes).toEqual([
      { from: 'redis', to: 'local', problem: lost, error: expect.anything() },
      { from: 'local', to: 'redis', problem: null },
    ]);
    expect(lines.map((l) => [l.fields.level, l.fields.reason])).toEqual([
      ['warn', 'primary_unavailable'],
      ['info', 'primary_healthy'],
    ]);
    expect(lines[0]!.msg).toMatch(
      /^\[@x\/ratelimit\] Redis unavailable: deciding locally \(limit 5 per instance\); (refused: |the connection to Redis was lost)/,
    );
    expect(lines[0]!.fields).toMatchObject({ from: 'redis', to: 'local' });
    expect(lines[1]!.msg).toBe('[@x/ratelimit] back on Redis');
    expect(lines[1]!.fields).toMatchObject({ from: 'local', to: 'redis' });
    expect(rl.stats().sourceChanges).toBe(2);
  });

  it('traces consume, peek and reset on x:connection:call when someone listens', async () => {
    const server = await startRedis();
    const rl = smallLimiter(cleanup, { redis: server.url });
    await rl.consume('warm');
    using channels = listenChannels([
      `tracing:${CONNECTION_CHANNELS.call}:start`,
      `tracing:${CONNECTION_CHANNELS.call}:asyncEnd`,
    ]);
    const calls = channels.of<ConnectionCallContext>(`tracing:${CONNECTION_CHANNELS.call}:start`);
    const ends = channels.of<ConnectionCallContext>(`tracing:${CONNECTION_CHANNELS.call}:asyncEnd`);
    expect((await rl.consume('a')).source).toBe('redis');
    expect((await rl.peek('a')).remaining).toBe(1);
    await rl.reset('a');
    const ours = (list: ConnectionCallContext[]) =>
      list.filter((c) => c.connection === '@x/ratelimit').map((c) => c.operation);
    expect(ours(calls)).toEqual(['consume', 'peek', 'reset']);
    expect(ours(ends)).toEqual(['consume', 'peek', 'reset']);
    expect(rl.stats()).toMatchObject({
      decisions: { redis: { allowed: 2 } },
      peeks: 1,
      resets: 1,
    });
  });
});
