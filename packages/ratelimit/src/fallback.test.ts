import { createBreaker } from '@x/breaker';
import { type FaultProxy, startFaultProxy, startRedis, waitFor } from '@x/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { isRateLimitUnavailableError } from './errors.js';
import type { RateLimitSourceChange } from './options.js';
import { createRateLimiter, type RateLimiter } from './rate-limiter.js';

const limiters: RateLimiter[] = [];
const clients: Redis[] = [];

afterAll(async () => {
  await Promise.all(limiters.map((l) => l.close()));
  for (const c of clients) c.disconnect();
});

function track(l: RateLimiter): RateLimiter {
  limiters.push(l);
  return l;
}

/**
 * The next decision on `key` is sent into a black hole, times out (decided locally), then the
 * connection is reset and comes back: resolves once decisions come from Redis again.
 */
async function decisionLostInReconnect(
  proxy: FaultProxy,
  rl: RateLimiter,
  key: string,
): Promise<void> {
  proxy.blackhole();
  expect((await rl.consume(key)).source).toBe('local');
  proxy.reset();
  await new Promise((resolve) => setTimeout(resolve, 50));
  proxy.pass();
  await waitFor(
    'decisions from Redis again',
    async () => (await rl.consume('probe')).source === 'redis',
    { timeoutMs: 5000, intervalMs: 50 },
  );
}

describe('fallback', () => {
  it("Redis killed -> 'local' (limit divided by instances) -> Redis back by itself", async () => {
    const redis = await startRedis();
    const changes: RateLimitSourceChange[] = [];
    const rl = track(
      createRateLimiter({
        redis: redis.url,
        algorithm: 'fixed-window',
        limit: 4,
        windowMs: 600_000,
        instances: 2,
        timeoutMs: 200,
        breaker: { maxFailures: 1, resetTimeout: 150, successThreshold: 1 },
        onSourceChange: (change) => changes.push(change),
      }),
    );
    expect(await rl.consume('a')).toMatchObject({ allowed: true, remaining: 3, source: 'redis' });

    await redis.kill();
    const during = [];
    for (let i = 0; i < 3; i++) during.push(await rl.consume('a'));
    expect(during.map((r) => [r.allowed, r.remaining, r.limit, r.source])).toEqual([
      [true, 1, 2, 'local'],
      [true, 0, 2, 'local'],
      [false, 0, 2, 'local'],
    ]);
    expect(rl.source).toBe('local');
    expect(changes.map((c) => `${c.from}->${c.to}`)).toEqual(['redis->local']);
    expect(changes[0]!.error).toBeDefined();
    await expect(rl.reset('a')).rejects.toSatisfy(isRateLimitUnavailableError);

    // Restarted empty: the script cache is gone too (NOSCRIPT is handled transparently).
    await redis.restart();
    const back = await waitFor(
      'decisions from Redis again',
      async () => {
        const r = await rl.consume('a');
        return r.source === 'redis' ? r : undefined;
      },
      { timeoutMs: 5000, intervalMs: 50 },
    );
    expect(back).toMatchObject({ allowed: true, remaining: 3, limit: 4 });
    expect(changes.map((c) => `${c.from}->${c.to}`)).toEqual(['redis->local', 'local->redis']);
  });

  it('a frozen Redis costs at most the deadline, then the breaker skips it', async () => {
    const redis = await startRedis();
    const rl = track(
      createRateLimiter({
        redis: redis.url,
        algorithm: 'gcra',
        limit: 10,
        windowMs: 1000,
        timeoutMs: 150,
        breaker: { maxFailures: 1, resetTimeout: 10_000 },
      }),
    );
    expect((await rl.consume('f')).source).toBe('redis');
    await redis.freeze();
    let started = performance.now();
    const first = await rl.consume('f');
    const firstMs = performance.now() - started;
    expect(first.source).toBe('local');
    expect(firstMs).toBeGreaterThanOrEqual(100);
    expect(firstMs).toBeLessThan(400);
    started = performance.now();
    const second = await rl.consume('f');
    expect(second.source).toBe('local');
    expect(performance.now() - started).toBeLessThan(60);
    await redis.resume();
  });

  it("'open' admits and 'closed' refuses while Redis is down, saying so in source", async () => {
    const redis = await startRedis();
    const open = track(
      createRateLimiter({
        redis: redis.url,
        algorithm: 'token-bucket',
        limit: 1,
        windowMs: 1000,
        fallback: 'open',
        timeoutMs: 200,
      }),
    );
    const closed = track(
      createRateLimiter({
        redis: redis.url,
        algorithm: 'token-bucket',
        limit: 1,
        windowMs: 1000,
        fallback: 'closed',
        timeoutMs: 200,
      }),
    );
    expect((await open.consume('o')).source).toBe('redis');
    expect((await closed.consume('c')).source).toBe('redis');
    await redis.kill();
    for (let i = 0; i < 3; i++) {
      expect(await open.consume('o')).toMatchObject({
        allowed: true,
        source: 'open',
        retryAfterMs: 0,
      });
      expect(await closed.consume('c')).toMatchObject({
        allowed: false,
        remaining: 0,
        source: 'closed',
        retryAfterMs: 1000,
      });
    }
  });

  it('starts without Redis at all, deciding locally at once', async () => {
    const redis = await startRedis();
    const url = redis.url;
    await redis.kill();
    const rl = track(
      createRateLimiter({
        redis: url,
        algorithm: 'sliding-window',
        limit: 2,
        windowMs: 60_000,
        timeoutMs: 200,
      }),
    );
    const started = performance.now();
    const results = [await rl.consume('s'), await rl.consume('s'), await rl.consume('s')];
    expect(performance.now() - started).toBeLessThan(1000);
    expect(results.map((r) => [r.allowed, r.source])).toEqual([
      [true, 'local'],
      [true, 'local'],
      [false, 'local'],
    ]);
  });

  it('never counts a decision twice by re-sending it after a reconnect', async () => {
    const redis = await startRedis();
    const proxy = await startFaultProxy({ target: redis });
    // An injected client with ioredis defaults (autoResendUnfulfilledCommands: true).
    const injected = new Redis(proxy.url, { maxRetriesPerRequest: null });
    injected.on('error', () => {});
    clients.push(injected);
    const admin = new Redis(redis.url);
    clients.push(admin);
    const rl = track(
      createRateLimiter({
        redis: injected,
        algorithm: 'fixed-window',
        limit: 100,
        windowMs: 600_000,
        timeoutMs: 150,
        breaker: false,
      }),
    );
    expect((await rl.consume('r')).source).toBe('redis');
    expect(await admin.hget('x:rl:r', 'c')).toBe('1');

    await decisionLostInReconnect(proxy, rl, 'r');
    // Had the timed-out command been re-sent on reconnect, the count would be 2.
    expect(await admin.hget('x:rl:r', 'c')).toBe('1');
    // The injected client itself is untouched and still usable.
    expect(injected.status).not.toBe('end');
    await rl.close();
    expect(injected.status).not.toBe('end');
  });

  it('never re-sends a decision with a client it creates, whatever the ioredis option says', async () => {
    const redis = await startRedis();
    const proxy = await startFaultProxy({ target: redis });
    const admin = new Redis(redis.url);
    clients.push(admin);
    const rl = track(
      createRateLimiter({
        redis: proxy.url,
        // Asks for what a rate limiter must not do: resend after a reconnect, no flush on close.
        ioredis: { autoResendUnfulfilledCommands: true, maxRetriesPerRequest: null },
        algorithm: 'fixed-window',
        limit: 100,
        windowMs: 600_000,
        timeoutMs: 150,
        breaker: false,
        logger: false,
      }),
    );
    expect((await rl.consume('r')).source).toBe('redis');
    await decisionLostInReconnect(proxy, rl, 'r');
    expect(await admin.hget('x:rl:r', 'c')).toBe('1');
  });

  it('uses a client passed in with resend off as is; with resend on, one duplicate that close() closes', async () => {
    const redis = await startRedis();
    const admin = new Redis(redis.url);
    clients.push(admin);
    const names = async (): Promise<string[]> =>
      ((await admin.client('LIST')) as string)
        .split('\n')
        .map((line) => /\bname=(\S*)/.exec(line)?.[1] ?? '')
        .filter((name) => name.startsWith('user-'))
        .sort();
    const off = new Redis(redis.url, {
      autoResendUnfulfilledCommands: false,
      connectionName: 'user-off',
    });
    const on = new Redis(redis.url, { connectionName: 'user-on' });
    clients.push(off, on);
    const options = { algorithm: 'gcra', limit: 5, windowMs: 1000, logger: false } as const;
    const asIs = createRateLimiter({ redis: off, ...options });
    const viaDuplicate = createRateLimiter({ redis: on, ...options });
    expect((await asIs.consume('a')).source).toBe('redis');
    expect((await viaDuplicate.consume('a')).source).toBe('redis');
    // The duplicate has the same options (its name too), with resend off.
    expect(await names()).toEqual(['user-off', 'user-on', 'user-on']);
    await Promise.all([asIs.close(), viaDuplicate.close()]);
    await waitFor('duplicate closed', async () => (await names()).length === 2);
    expect(await names()).toEqual(['user-off', 'user-on']);
    expect(off.status).toBe('ready');
    expect(on.status).toBe('ready');
    expect(await on.ping()).toBe('PONG');
  });

  it('shares one Breaker between limiters: isolated, both decide locally without calling Redis', async () => {
    const redis = await startRedis();
    const breaker = createBreaker({ maxFailures: 5, resetTimeout: 5000 });
    const options = {
      redis: redis.url,
      breaker,
      limit: 5,
      windowMs: 60_000,
      logger: false,
    } as const;
    const a = track(createRateLimiter({ ...options, algorithm: 'gcra' }));
    const b = track(createRateLimiter({ ...options, algorithm: 'fixed-window', keyPrefix: 'b:' }));
    expect((await a.consume('k')).source).toBe('redis');
    expect((await b.consume('k')).source).toBe('redis');
    const calls = a.stats().redis.calls + b.stats().redis.calls;
    const isolation = breaker.isolate();
    const started = performance.now();
    expect((await a.consume('k')).source).toBe('local');
    expect((await b.peek('k')).source).toBe('local');
    expect(performance.now() - started).toBeLessThan(50);
    expect(a.stats().redis.calls + b.stats().redis.calls).toBe(calls);
    await expect(a.reset('k')).rejects.toSatisfy(isRateLimitUnavailableError);
    isolation.dispose();
    expect((await a.consume('k')).source).toBe('redis');
    expect((await b.consume('k')).source).toBe('redis');
  });
});
