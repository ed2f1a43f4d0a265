// Test helpers: limiters closed with the test (or the file), and the "a fleet of two instances
// loses Redis" scenario that the framework stores share.
import { type CloseList, type RedisHandle, waitFor } from '@x/testkit';
import type { Redis } from 'ioredis';
import type { RateLimiterOptions } from '../options.js';
import { createRateLimiter, type RateLimiter } from '../rate-limiter.js';
import type { RateLimitAlgorithm } from '../types.js';

export const ALGORITHMS: RateLimitAlgorithm[] = [
  'fixed-window',
  'sliding-window',
  'token-bucket',
  'gcra',
];

// Long windows: no window boundary and no refill in the middle of a test.
export const HOUR = 3_600_000;

/** A limiter on `redis`, closed by `open`. */
export function limiterFor(
  open: CloseList,
  redis: RedisHandle,
  options: Omit<RateLimiterOptions, 'redis'>,
): RateLimiter {
  return open.add(createRateLimiter({ redis: redis.url, ...options }));
}

/** A silent fixed-window limiter of 2 per 10 minutes (unless `options` say otherwise), closed by `open`. */
export function smallLimiter(
  open: CloseList,
  options: Partial<RateLimiterOptions> & Pick<RateLimiterOptions, 'redis'>,
): RateLimiter {
  return open.add(
    createRateLimiter({
      algorithm: 'fixed-window',
      limit: 2,
      windowMs: 600_000,
      logger: false,
      ...options,
    }),
  );
}

/**
 * Two instances of a service on one Redis, 6 requests an hour for the fleet: each with its own
 * limiter, which notices an outage at the first failed call (a breaker of one failure) and
 * comes back to Redis 200 ms after it answers again.
 */
export function fleetOfTwo(
  open: CloseList,
  redis: RedisHandle,
  algorithm: RateLimitAlgorithm,
): RateLimiter[] {
  const options = {
    algorithm,
    limit: 6,
    windowMs: HOUR,
    instances: 2,
    timeoutMs: 200,
    breaker: { maxFailures: 1, resetTimeout: 200, successThreshold: 1 },
  } as const;
  return [limiterFor(open, redis, options), limiterFor(open, redis, options)];
}

/** Sends `count` rounds of one request to each app; how many each admitted. */
export async function admitted(
  apps: { get(): Promise<{ status: number }> }[],
  count: number,
): Promise<number[]> {
  const statuses: number[][] = apps.map(() => []);
  for (let i = 0; i < count; i++) {
    for (const [n, a] of apps.entries()) statuses[n]!.push((await a.get()).status);
  }
  return statuses.map((s) => s.filter((status) => status === 200).length);
}

/** Waits until every limiter decides from Redis again. */
export async function untilOnRedis(limiters: RateLimiter[]): Promise<void> {
  for (const limiter of limiters) {
    await waitFor(
      'decisions from Redis again',
      async () => (await limiter.peek('probe')).source === 'redis',
      { timeoutMs: 10_000, intervalMs: 50 },
    );
  }
}

/** The server's clock in ms (TIME), the one the scripts decide by. */
export async function serverNow(admin: Redis): Promise<number> {
  const [s, us] = await admin.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}
