import diagnostics_channel from 'node:diagnostics_channel';
import { connectionCallChannel, INSTANCES_CHANNEL } from '@x/connection';
import { createHybridClient } from '@x/hybrid-client';
import { createLockManager } from '@x/lock';
import { closeAfter, startRedis, waitFor } from '@x/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type Collected, instrumentedMetrics, meterHarness, testLimiter } from './_fixtures/sdk.js';
import { instrument } from './instrument.js';

const cleanup = closeAfter(afterEach);

const setup = () => instrumentedMetrics(cleanup);

const RL = { 'x.package': '@x/ratelimit' };

/** Polls the metrics until `check` holds (each poll is a real collection). */
async function collectUntil(
  collect: () => Promise<Collected>,
  what: string,
  check: (c: Collected) => boolean,
  timeoutMs = 10_000,
): Promise<Collected> {
  let last: Collected | undefined;
  await waitFor(
    what,
    async () => {
      last = await collect();
      return check(last);
    },
    { timeoutMs },
  );
  return last!;
}

describe('metrics read from stats() at collection time', () => {
  it('Redis killed: x.fallback.served grows, the connection is unusable with a refused problem; restarted: back', async () => {
    const { collect, otel } = setup();
    const server = await startRedis();
    const rl = testLimiter(cleanup, server.url, { timeoutMs: 300 });
    expect(otel.instances).toBe(1);
    for (let i = 0; i < 3; i++) expect((await rl.consume('user-secret-1')).source).toBe('redis');

    let c = await collectUntil(
      collect,
      'the connection ready',
      (m) => m.value('x.redis.state', { ...RL, 'x.state': 'ready' }) === 1,
    );
    expect(c.value('x.instances', RL)).toBe(1);
    expect(
      c.value('x.ratelimit.decisions', { ...RL, 'x.source': 'redis', 'x.outcome': 'allowed' }),
    ).toBe(3);
    expect(c.value('x.redis.calls', { ...RL, 'x.connection': '@x/ratelimit' })).toBe(3);
    expect(c.value('x.redis.state', { ...RL, 'x.state': 'ready' })).toBe(1);
    expect(c.value('x.redis.state', { ...RL, 'x.state': 'unusable' })).toBe(0);
    expect(c.value('x.breaker.state', { ...RL, 'x.state': 'closed' })).toBe(1);
    expect(c.value('x.breaker.state', { ...RL, 'x.state': 'open' })).toBe(0);
    expect(c.value('x.ratelimit.source', { ...RL, 'x.source': 'redis' })).toBe(1);
    expect(c.value('x.fallback.served', RL)).toBe(0);
    expect(c.series('x.redis.problem')).toEqual([]);

    await server.kill();
    await waitFor('the limiter to decide locally', async () => {
      return (await rl.consume('user-secret-1')).source === 'local';
    });
    for (let i = 0; i < 5; i++) expect((await rl.consume('user-secret-2')).source).toBe('local');

    c = await collectUntil(
      collect,
      'the outage in the metrics',
      (m) => m.value('x.redis.problem', { ...RL, 'x.problem.kind': 'refused' }) === 1,
    );
    const served = c.value('x.fallback.served', { ...RL, 'x.source': 'local' })!;
    expect(served).toBeGreaterThanOrEqual(6);
    expect(
      c.value('x.ratelimit.decisions', { ...RL, 'x.source': 'local', 'x.outcome': 'allowed' }),
    ).toBe(served);
    expect(c.value('x.redis.state', { ...RL, 'x.state': 'unusable' })).toBe(1);
    expect(c.value('x.redis.state', { ...RL, 'x.state': 'ready' })).toBe(0);
    expect(c.value('x.ratelimit.source', { ...RL, 'x.source': 'local' })).toBe(1);
    expect(c.value('x.ratelimit.source', { ...RL, 'x.source': 'redis' })).toBe(0);
    expect(c.value('x.redis.outages', RL)).toBe(1);
    expect(c.value('x.ratelimit.source.changes', RL)).toBe(1);

    // More calls during the outage: the counter grows.
    for (let i = 0; i < 4; i++) await rl.consume('user-secret-3');
    c = await collect();
    expect(c.value('x.fallback.served', { ...RL, 'x.source': 'local' })).toBe(served + 4);
    expect(c.value('x.redis.unusable.time', RL)).toBeGreaterThan(0);

    await server.restart();
    await waitFor('the limiter back on Redis', async () => {
      return (await rl.consume('user-secret-4')).source === 'redis';
    });
    c = await collectUntil(
      collect,
      'the recovery in the metrics',
      (m) => m.value('x.redis.state', { ...RL, 'x.state': 'ready' }) === 1,
    );
    expect(c.value('x.redis.state', { ...RL, 'x.state': 'unusable' })).toBe(0);
    // The problem cleared: its series reads 0 instead of keeping its last value.
    expect(c.value('x.redis.problem', { ...RL, 'x.problem.kind': 'refused' })).toBe(0);
    expect(c.value('x.ratelimit.source', { ...RL, 'x.source': 'redis' })).toBe(1);
    // The calls made while the limiter found its way back were local decisions too.
    const after = c.value('x.fallback.served', { ...RL, 'x.source': 'local' })!;
    expect(after).toBeGreaterThanOrEqual(served + 4);
    for (let i = 0; i < 3; i++) await rl.consume('user-secret-5');
    c = await collect();
    expect(c.value('x.fallback.served', { ...RL, 'x.source': 'local' })).toBe(after);
    expect(c.value('x.ratelimit.source.changes', RL)).toBe(2);

    // No key in any attribute.
    expect(c.attributeValues().filter((v) => v.includes('secret'))).toEqual([]);
  });

  it('hybrid client: Redis killed, reads and writes served from memory (x.fallback.served, x.hybrid.backend); restarted: back on Redis', async () => {
    const { collect } = setup();
    const HY = { 'x.package': '@x/hybrid-client' };
    const server = await startRedis();
    const client = await createHybridClient({
      redis: server.url,
      logger: false,
      timeoutMs: 300,
      probeIntervalMs: 200,
    });
    cleanup.push(() => client.close());
    expect(client.activeBackend).toBe('primary');
    await client.set('cart:secret-1', 'v');
    expect(await client.get('cart:secret-1')).toBe('v');
    let c = await collectUntil(
      collect,
      'the client on Redis',
      (m) => m.value('x.redis.state', { ...HY, 'x.state': 'ready' }) === 1,
    );
    expect(c.value('x.hybrid.backend', { ...HY, 'x.state': 'primary' })).toBe(1);
    expect(c.value('x.hybrid.backend', { ...HY, 'x.state': 'fallback' })).toBe(0);
    const before = c.value('x.fallback.served', { ...HY, 'x.source': 'memory' }) ?? 0;

    await server.kill();
    await waitFor('the client in fallback', async () => {
      await client.get('cart:secret-2');
      return client.activeBackend === 'fallback';
    });
    for (let i = 0; i < 5; i++) await client.set(`cart:secret-${i}`, 'w');
    c = await collect();
    expect(c.value('x.fallback.served', { ...HY, 'x.source': 'memory' })).toBeGreaterThanOrEqual(
      before + 5,
    );
    expect(c.value('x.hybrid.backend', { ...HY, 'x.state': 'fallback' })).toBe(1);
    expect(c.value('x.hybrid.failovers', HY)).toBe(1);
    expect(c.value('x.redis.state', { ...HY, 'x.state': 'unusable' })).toBe(1);
    expect(c.value('x.hybrid.journal.size', HY)).toBeGreaterThanOrEqual(5);

    await server.restart();
    await waitFor('the client back on Redis', () => client.activeBackend === 'primary', {
      timeoutMs: 10_000,
    });
    c = await collectUntil(
      collect,
      'the recovery in the metrics',
      (m) => m.value('x.hybrid.backend', { ...HY, 'x.state': 'primary' }) === 1,
    );
    expect(c.value('x.hybrid.backend', { ...HY, 'x.state': 'fallback' })).toBe(0);
    expect(c.value('x.hybrid.recoveries', HY)).toBe(1);
    expect(c.value('x.hybrid.fallback.time', HY)).toBeGreaterThan(0);
    const served = c.value('x.fallback.served', { ...HY, 'x.source': 'memory' })!;
    await client.set('cart:secret-9', 'x');
    expect(await client.get('cart:secret-9')).toBe('x');
    c = await collect();
    expect(c.value('x.fallback.served', { ...HY, 'x.source': 'memory' })).toBe(served);
    expect(c.attributeValues().filter((v) => v.includes('secret'))).toEqual([]);
  });

  it('Redis frozen: calls time out, the breaker opens (x.breaker.state), then closes once Redis answers', async () => {
    const { collect } = setup();
    const server = await startRedis();
    const rl = testLimiter(cleanup, server.url, {
      timeoutMs: 200,
      breaker: { maxFailures: 2, resetTimeout: 60_000 },
    });
    await rl.consume('warm');
    await server.freeze();
    cleanup.push(() => server.resume());
    // Each call settles by its deadline, from the fallback.
    const results = await Promise.all(Array.from({ length: 4 }, () => rl.consume('frozen')));
    expect(results.every((r) => r.source === 'local')).toBe(true);

    let c = await collectUntil(
      collect,
      'the open breaker in the metrics',
      (m) => m.value('x.breaker.state', { ...RL, 'x.state': 'open' }) === 1,
    );
    expect(c.value('x.breaker.state', { ...RL, 'x.state': 'closed' })).toBe(0);
    expect(c.value('x.redis.timeouts', RL)).toBeGreaterThanOrEqual(2);
    expect(c.value('x.redis.problem', { ...RL, 'x.problem.kind': 'timeout' })).toBe(1);
    expect(c.value('x.redis.state', { ...RL, 'x.state': 'unusable' })).toBe(1);
    expect(c.value('x.fallback.served', RL)).toBeGreaterThanOrEqual(4);

    await server.resume();
    await waitFor('the limiter back on Redis', async () => {
      return (await rl.consume('thawed')).source === 'redis';
    });
    c = await collectUntil(
      collect,
      'the closed breaker in the metrics',
      (m) => m.value('x.breaker.state', { ...RL, 'x.state': 'closed' }) === 1,
    );
    expect(c.value('x.breaker.state', { ...RL, 'x.state': 'open' })).toBe(0);
    expect(c.value('x.redis.problem', { ...RL, 'x.problem.kind': 'timeout' })).toBe(0);
  });

  it('sums instances of one package, and keeps the counts of closed instances (counters never go down)', async () => {
    const { collect, otel } = setup();
    const server = await startRedis();
    const a = testLimiter(cleanup, server.url);
    const b = testLimiter(cleanup, server.url);
    await a.consume('k');
    await a.consume('k');
    await b.consume('k');
    // Both connections verified and ready (a first call may answer before the verdict).
    let c = await collectUntil(
      collect,
      'both connections ready',
      (m) => m.value('x.redis.state', { ...RL, 'x.state': 'ready' }) === 2,
    );
    expect(otel.instances).toBe(2);
    expect(c.value('x.instances', RL)).toBe(2);
    const decisions = { ...RL, 'x.source': 'redis', 'x.outcome': 'allowed' };
    expect(c.value('x.ratelimit.decisions', decisions)).toBe(3);
    expect(c.value('x.redis.state', { ...RL, 'x.state': 'ready' })).toBe(2);

    await a.close();
    await b.consume('k');
    c = await collect();
    expect(otel.instances).toBe(1);
    expect(c.value('x.instances', RL)).toBe(1);
    expect(c.value('x.ratelimit.decisions', decisions)).toBe(4);
    expect(c.value('x.redis.calls', RL)).toBe(4);
    // Gauges follow the open instances only.
    expect(c.value('x.redis.state', { ...RL, 'x.state': 'ready' })).toBe(1);
  });

  it('lock: counters, held/waiting gauges, and x.lock.wait.duration from x:lock:acquire', async () => {
    const { collect } = setup();
    const server = await startRedis();
    const locks = createLockManager({ redis: server.url, logger: false });
    cleanup.push(() => locks.close());
    const LOCK = { 'x.package': '@x/lock' };
    const held = await locks.acquire('job-secret', { ttlMs: 5_000 });
    const waiting = locks.acquire('job-secret', { ttlMs: 5_000 });
    let c = await collectUntil(collect, 'a waiter', (m) => m.value('x.lock.waiting', LOCK) === 1);
    expect(c.value('x.lock.held', LOCK)).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await held.release();
    const second = await waiting;
    await second.release();
    expect(await locks.tryAcquire('job-secret-2', { ttlMs: 1_000 })).toBeDefined();

    c = await collect();
    expect(c.value('x.lock.acquired', LOCK)).toBe(3);
    expect(c.value('x.lock.released', LOCK)).toBe(2);
    expect(c.value('x.lock.contended', LOCK)).toBe(1);
    expect(c.value('x.lock.held', LOCK)).toBe(1);
    expect(c.value('x.lock.waiting', LOCK)).toBe(0);
    const [acquired] = c.histograms('x.lock.wait.duration', { ...LOCK, 'x.outcome': 'acquired' });
    expect(acquired?.count).toBe(3);
    // The waiter waited at least the 50 ms the holder kept it.
    expect(acquired!.max!).toBeGreaterThanOrEqual(0.045);
    expect(c.value('x.redis.calls', { ...LOCK, 'x.connection': '@x/lock' })).toBeGreaterThanOrEqual(
      4,
    );
    expect(c.attributeValues().filter((v) => v.includes('secret'))).toEqual([]);
  });

  it('db.client.operation.duration: every traced call, by operation and outcome, with error.type', async () => {
    const { collect } = setup();
    const server = await startRedis();
    const rl = testLimiter(cleanup, server.url);
    for (let i = 0; i < 5; i++) await rl.consume('k');
    await rl.peek('k');
    const c = await collect();
    const base = { 'db.system.name': 'redis', 'x.package': '@x/ratelimit', 'x.outcome': 'redis' };
    const [consume] = c.histograms('db.client.operation.duration', {
      ...base,
      'db.operation.name': 'consume',
    });
    expect(consume?.count).toBe(5);
    // Exactly these attributes (each one costs the SDK a hash on every record).
    expect(
      c.series('db.client.operation.duration', { 'db.operation.name': 'consume' })[0]?.attributes,
    ).toEqual({ ...base, 'db.operation.name': 'consume' });
    expect(consume!.sum!).toBeGreaterThan(0);
    expect(consume!.max!).toBeLessThan(1);
    const [peek] = c.histograms('db.client.operation.duration', {
      ...base,
      'db.operation.name': 'peek',
    });
    expect(peek?.count).toBe(1);
    expect(c.metrics.get('db.client.operation.duration')?.descriptor.unit).toBe('s');
    // The semantic conventions' boundaries.
    expect(consume!.buckets.boundaries).toEqual([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]);
  });

  it('calls: false: the stats() metrics with nothing per call (the packages keep their untraced path)', async () => {
    const metrics = meterHarness();
    cleanup.push(() => metrics.shutdown());
    const otel = instrument({ meterProvider: metrics.meterProvider, calls: false });
    cleanup.push(() => otel.close());
    expect(otel.calls).toBe(false);
    expect(connectionCallChannel.hasSubscribers).toBe(false);
    const server = await startRedis();
    const rl = testLimiter(cleanup, server.url);
    for (let i = 0; i < 4; i++) await rl.consume('k');
    const c = await metrics.collect();
    expect(
      c.value('x.ratelimit.decisions', { ...RL, 'x.source': 'redis', 'x.outcome': 'allowed' }),
    ).toBe(4);
    expect(c.value('x.redis.calls', RL)).toBe(4);
    expect(c.metrics.has('db.client.operation.duration')).toBe(false);
  });

  it('close() removes every subscription: the next collection reads no stats()', async () => {
    const { collect, otel } = setup();
    const server = await startRedis();
    const rl = testLimiter(cleanup, server.url);
    let reads = 0;
    const stats = rl.stats.bind(rl);
    rl.stats = () => {
      reads++;
      return stats();
    };
    await rl.consume('k');
    let c = await collect();
    expect(reads).toBe(1);
    expect(c.value('x.redis.calls', RL)).toBe(1);
    expect(connectionCallChannel.hasSubscribers).toBe(true);
    otel.close();
    otel.close();
    expect(otel.instances).toBe(0);
    // Nobody listens any more: the packages take their untraced path, and announce to no one.
    expect(connectionCallChannel.hasSubscribers).toBe(false);
    expect(diagnostics_channel.hasSubscribers(INSTANCES_CHANNEL)).toBe(false);
    for (const name of ['x:connection:state', 'x:lock:acquire', 'x:ratelimit:source']) {
      expect(diagnostics_channel.hasSubscribers(name), name).toBe(false);
    }
    await rl.consume('k');
    c = await collect();
    // No callback ran: stats() was not read, nothing new was recorded (the SDK may still export
    // the last values it had).
    expect(reads).toBe(1);
    expect(c.value('x.redis.calls', RL) ?? 1).toBe(1);
    const [consume] = c.histograms('db.client.operation.duration', {
      'db.operation.name': 'consume',
    });
    expect(consume?.count ?? 1).toBe(1);
  });
});
