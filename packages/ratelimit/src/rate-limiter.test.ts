import { closeAfter, type RedisHandle, readyClient, sleep, startRedis } from '@x/testkit';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverNow } from './_fixtures/limiters.js';
import {
  isRateLimitClosedError,
  isRateLimitOptionsError,
  RateLimitOptionsError,
} from './errors.js';
import type { RateLimiterOptions } from './options.js';
import { createRateLimiter, type RateLimiter } from './rate-limiter.js';
import type { RateLimitResult } from './types.js';

let redis: RedisHandle;
let admin: Redis;
const limiters = closeAfter(afterAll);
let keyNo = 0;

function limiter(options: Omit<RateLimiterOptions, 'redis'>): RateLimiter {
  const created = createRateLimiter({ redis: redis.url, ...options });
  limiters.push(created);
  return created;
}

function key(): string {
  keyNo++;
  return `k${keyNo}`;
}

const summary = (r: RateLimitResult): [boolean, number] => [r.allowed, r.remaining];

beforeAll(async () => {
  redis = await startRedis();
  admin = await readyClient(redis.url);
});

describe('fixed-window', () => {
  it('admits exactly limit per window, then denies until the window ends', async () => {
    const rl = limiter({ algorithm: 'fixed-window', limit: 3, windowMs: 600_000 });
    const k = key();
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await rl.consume(k));
    expect(results.map(summary)).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
      [false, 0],
    ]);
    const now = await serverNow(admin);
    const windowEnd = now - (now % 600_000) + 600_000;
    for (const r of results) {
      expect(r.resetAt).toBe(windowEnd);
      expect(r.limit).toBe(3);
      expect(r.source).toBe('redis');
    }
    expect(results[0]!.retryAfterMs).toBe(0);
    expect(results[3]!.retryAfterMs).toBeGreaterThan(0);
    expect(Math.abs(results[3]!.retryAfterMs - (windowEnd - now))).toBeLessThan(200);
    // The key expires with its window.
    const pttl = await admin.pttl(`x:rl:${k}`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(windowEnd - now + 50);
  });

  it('charges cost, and never charges a rejected request', async () => {
    const rl = limiter({ algorithm: 'fixed-window', limit: 5, windowMs: 600_000 });
    const k = key();
    expect(summary(await rl.consume(k, 3))).toEqual([true, 2]);
    expect(summary(await rl.consume(k, 3))).toEqual([false, 2]);
    expect(summary(await rl.consume(k, 3))).toEqual([false, 2]);
    expect(summary(await rl.consume(k, 2))).toEqual([true, 0]);
    expect(await admin.hget(`x:rl:${k}`, 'c')).toBe('5');
  });

  it('counts a new window from zero while the old window key is still alive', async () => {
    // Redis expires a key only once its time is strictly past, and a script sees expiry at the
    // time it started: in the first millisecond of a window the old key can still be there. Its
    // count must not be carried into the new window (and then vanish with the old expiry).
    const windowMs = 600_000;
    const rl = limiter({ algorithm: 'fixed-window', limit: 3, windowMs });
    const k = key();
    const now = await serverNow(admin);
    const cur = now - (now % windowMs);
    await admin.hset(`x:rl:${k}`, 'w', String(cur - windowMs), 'c', '2');
    await admin.pexpire(`x:rl:${k}`, 2 * windowMs);
    expect(summary(await rl.consume(k))).toEqual([true, 2]);
    expect(await admin.hmget(`x:rl:${k}`, 'w', 'c')).toEqual([String(cur), '1']);
    // The key now expires with the new window, not the old one.
    const pttl = await admin.pttl(`x:rl:${k}`);
    expect(pttl).toBeLessThanOrEqual(cur + windowMs - now);
    expect(pttl).toBeGreaterThan(cur + windowMs - now - 5_000);
    expect(summary(await rl.consume(k))).toEqual([true, 1]);
    expect(summary(await rl.consume(k))).toEqual([true, 0]);
    expect(summary(await rl.consume(k))).toEqual([false, 0]);
  });

  it('opens a new window when the old one ends', async () => {
    const rl = limiter({ algorithm: 'fixed-window', limit: 2, windowMs: 300 });
    const k = key();
    await rl.consume(k);
    await rl.consume(k);
    const denied = await rl.consume(k);
    expect(denied.allowed).toBe(false);
    expect(denied.retryAfterMs).toBeGreaterThan(0);
    expect(denied.retryAfterMs).toBeLessThanOrEqual(300);
    await sleep(denied.retryAfterMs + 20);
    expect(summary(await rl.consume(k))).toEqual([true, 1]);
  });
});

describe('sliding-window', () => {
  it('admits exactly limit in one window', async () => {
    const rl = limiter({ algorithm: 'sliding-window', limit: 4, windowMs: 600_000 });
    const k = key();
    const seq = [];
    for (let i = 0; i < 6; i++) seq.push(summary(await rl.consume(k)));
    expect(seq).toEqual([
      [true, 3],
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
      [false, 0],
    ]);
  });

  it('weights the previous window by its overlap with the sliding window', async () => {
    const windowMs = 600_000;
    const rl = limiter({ algorithm: 'sliding-window', limit: 4, windowMs });
    const k = key();
    const now = await serverNow(admin);
    const cur = now - (now % windowMs);
    // 8 requests in the previous window: while more than half of it still overlaps, the
    // estimate is above 4 and everything is denied; the retry time follows the weighting.
    await admin.hset(`x:rl:${k}`, 'w', String(cur - windowMs), 'c', '8', 'p', '0');
    const fraction = (now - cur) / windowMs;
    const r = await rl.consume(k);
    if (fraction < 0.45) {
      expect(r.allowed).toBe(false);
      expect(r.remaining).toBe(0);
      // 8 * (1 - f) + 1 <= 4  <=>  f >= 5/8
      const expected = cur + windowMs * (5 / 8) - now;
      expect(Math.abs(r.retryAfterMs - expected)).toBeLessThan(500);
    } else {
      // Late in the window the previous one weighs less: 8 * (1 - f) requests still count.
      expect(r.remaining).toBe(
        Math.max(Math.floor(4 - 8 * (1 - fraction) - (r.allowed ? 1 : 0)), 0),
      );
    }
    // A denied request was not charged: the current count is still 0.
    if (!r.allowed) expect(await admin.hget(`x:rl:${k}`, 'c')).toBe('8');
  });
});

describe('token-bucket', () => {
  it('spends the burst, refills continuously, and never charges a rejection', async () => {
    const rl = limiter({ algorithm: 'token-bucket', limit: 3, windowMs: 300 });
    const k = key();
    const seq = [];
    for (let i = 0; i < 3; i++) seq.push(summary(await rl.consume(k)));
    expect(seq).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
    ]);
    const denied = await rl.consume(k);
    expect(denied.allowed).toBe(false);
    expect(denied.retryAfterMs).toBeGreaterThan(0);
    expect(denied.retryAfterMs).toBeLessThanOrEqual(100);
    for (let i = 0; i < 5; i++) expect((await rl.consume(k)).allowed).toBe(false);
    await sleep(denied.retryAfterMs + 15);
    const again = await rl.consume(k);
    expect(again.allowed).toBe(true);
    expect(again.remaining).toBe(0);
  });

  it('charges a cost in tokens', async () => {
    const rl = limiter({ algorithm: 'token-bucket', limit: 10, windowMs: 600_000 });
    const k = key();
    expect(summary(await rl.consume(k, 7))).toEqual([true, 3]);
    const denied = await rl.consume(k, 4);
    expect(summary(denied)).toEqual([false, 3]);
    // One token per minute: the 4th token is about a minute away.
    expect(denied.retryAfterMs).toBeGreaterThan(55_000);
    expect(denied.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(summary(await rl.consume(k, 3))).toEqual([true, 0]);
  });
});

describe('gcra', () => {
  it('admits the burst, then one request per emission interval', async () => {
    const rl = limiter({ algorithm: 'gcra', limit: 3, windowMs: 300 });
    const k = key();
    const seq = [];
    for (let i = 0; i < 3; i++) seq.push(await rl.consume(k));
    expect(seq.map(summary)).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
    ]);
    const denied = await rl.consume(k);
    expect(summary(denied)).toEqual([false, 0]);
    expect(denied.retryAfterMs).toBeGreaterThan(0);
    expect(denied.retryAfterMs).toBeLessThanOrEqual(100);
    for (let i = 0; i < 5; i++) expect((await rl.consume(k)).allowed).toBe(false);
    await sleep(denied.retryAfterMs + 15);
    expect((await rl.consume(k)).allowed).toBe(true);
    expect((await rl.consume(k)).allowed).toBe(false);
  });

  it('charges cost emission intervals', async () => {
    const rl = limiter({ algorithm: 'gcra', limit: 6, windowMs: 600_000 });
    const k = key();
    expect(summary(await rl.consume(k, 4))).toEqual([true, 2]);
    const denied = await rl.consume(k, 3);
    expect(summary(denied)).toEqual([false, 2]);
    expect(denied.retryAfterMs).toBeGreaterThan(95_000);
    expect(denied.retryAfterMs).toBeLessThanOrEqual(100_000);
    expect(summary(await rl.consume(k, 2))).toEqual([true, 0]);
  });
});

describe.each(['fixed-window', 'sliding-window', 'token-bucket', 'gcra'] as const)(
  '%s: peek and reset',
  (algorithm) => {
    it('peek never charges; reset forgets the key', async () => {
      const rl = limiter({ algorithm, limit: 2, windowMs: 600_000 });
      const k = key();
      for (let i = 0; i < 4; i++) expect(summary(await rl.peek(k))).toEqual([true, 2]);
      expect(summary(await rl.consume(k))).toEqual([true, 1]);
      expect(summary(await rl.peek(k))).toEqual([true, 1]);
      expect(summary(await rl.consume(k))).toEqual([true, 0]);
      const peeked = await rl.peek(k);
      expect(summary(peeked)).toEqual([false, 0]);
      expect(peeked.retryAfterMs).toBeGreaterThan(0);
      await rl.reset(k);
      expect(await admin.exists(`x:rl:${k}`)).toBe(0);
      expect(summary(await rl.consume(k))).toEqual([true, 1]);
    });

    it('reloads its script after SCRIPT FLUSH (NOSCRIPT) without counting twice', async () => {
      const rl = limiter({ algorithm, limit: 5, windowMs: 600_000 });
      const k = key();
      expect(summary(await rl.consume(k))).toEqual([true, 4]);
      await admin.script('FLUSH');
      expect(summary(await rl.consume(k))).toEqual([true, 3]);
      expect(summary(await rl.consume(k))).toEqual([true, 2]);
    });
  },
);

describe('options', () => {
  it('rejects invalid options naming the field', () => {
    const cases: [Partial<RateLimiterOptions>, string][] = [
      [{ algorithm: 'leaky' as never }, 'algorithm'],
      [{ limit: 0 }, 'limit'],
      [{ windowMs: 1.5 }, 'windowMs'],
      [{ fallback: 'maybe' as never }, 'fallback'],
      [{ instances: 0 }, 'instances'],
      [{ timeoutMs: -1 }, 'timeoutMs'],
      [{ redis: undefined as never }, 'redis'],
      [{ keyPrefix: 1 as never }, 'keyPrefix'],
      [{ maxLocalKeys: 0 }, 'maxLocalKeys'],
      [{ onSourceChange: 'yes' as never }, 'onSourceChange'],
      [{ logger: 'loud' as never }, 'logger'],
      [{ ioredis: 'fast' as never }, 'ioredis'],
      [{ breaker: { maxFailures: 0 } }, 'breaker.maxFailures'],
      [{ breaker: 'on' as never }, 'breaker'],
      // The names of before the shared vocabulary are refused, not ignored.
      [{ prefix: 'a:' } as never, 'prefix'],
      [{ localMaxKeys: 10 } as never, 'localMaxKeys'],
      // token-bucket and gcra keep time in 1/4096 ms: a request must weigh at least that.
      [{ algorithm: 'token-bucket', limit: 4096 * 1000 + 1, windowMs: 1000 }, 'limit'],
      [{ algorithm: 'gcra', limit: 4097, windowMs: 1 }, 'limit'],
    ];
    for (const [bad, field] of cases) {
      const options = { redis: redis.url, algorithm: 'gcra', limit: 5, windowMs: 1000, ...bad };
      let caught: unknown;
      try {
        createRateLimiter(options as RateLimiterOptions);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(RateLimitOptionsError);
      expect((caught as RateLimitOptionsError).field).toBe(field);
      expect((caught as RateLimitOptionsError).code).toBe('E_RATELIMIT_OPTIONS');
      expect((caught as Error).message).toMatch(/^\[@x\/ratelimit\] invalid /);
    }
  });

  it('names the new option for a renamed one, and the bound for a limit token-bucket and gcra cannot count', () => {
    const make = (extra: object) => () =>
      createRateLimiter({
        redis: redis.url,
        algorithm: 'gcra',
        limit: 5,
        windowMs: 1000,
        ...extra,
      });
    expect(make({ prefix: 'a:' })).toThrow(
      /invalid prefix: "a:" \(expected no such option: it is called keyPrefix\)/,
    );
    expect(make({ localMaxKeys: 3 })).toThrow(/it is called maxLocalKeys/);
    expect(make({ limit: 4_096_001 })).toThrow(
      /^\[@x\/ratelimit\] invalid limit: 4096001 \(expected at most 4096 × windowMs = 4096000 for gcra/,
    );
    // At the bound, and for the window algorithms (which count whole requests), it is accepted.
    limiters.push(
      createRateLimiter({ redis: redis.url, algorithm: 'gcra', limit: 4_096_000, windowMs: 1000 }),
    );
    for (const algorithm of ['fixed-window', 'sliding-window'] as const) {
      limiters.push(
        createRateLimiter({ redis: redis.url, algorithm, limit: 10_000_000, windowMs: 1 }),
      );
    }
  });

  it('keeps every key under keyPrefix', async () => {
    const rl = limiter({
      algorithm: 'fixed-window',
      limit: 3,
      windowMs: 600_000,
      keyPrefix: 'app:rl:',
    });
    const k = key();
    await rl.consume(k);
    expect(await admin.exists(`app:rl:${k}`)).toBe(1);
    expect(await admin.exists(`x:rl:${k}`)).toBe(0);
    await rl.reset(k);
    expect(await admin.exists(`app:rl:${k}`)).toBe(0);
  });

  it('rejects every call after close() with RateLimitClosedError, and closes once', async () => {
    const rl = createRateLimiter({
      redis: redis.url,
      algorithm: 'gcra',
      limit: 5,
      windowMs: 1000,
      logger: false,
    });
    expect((await rl.consume('c')).source).toBe('redis');
    const closing = rl.close();
    expect(rl.close()).toBe(closing);
    await closing;
    for (const call of [() => rl.consume('c'), () => rl.peek('c'), () => rl.reset('c')]) {
      const error = await call().catch((e: unknown) => e);
      expect(isRateLimitClosedError(error)).toBe(true);
      expect(error).toMatchObject({ name: 'RateLimitClosedError', code: 'E_RATELIMIT_CLOSED' });
      expect((error as Error).message).toMatch(
        /^\[@x\/ratelimit\] the limiter is closed: create a new one/,
      );
    }
    expect(rl.stats().redis.state).toBe('closed');
  });

  it('rejects a cost outside 1..limit', async () => {
    const rl = limiter({ algorithm: 'fixed-window', limit: 3, windowMs: 1000 });
    for (const cost of [0, 4, 1.5, Number.NaN]) {
      const error = await rl.consume('c', cost).catch((e: unknown) => e);
      expect(isRateLimitOptionsError(error)).toBe(true);
      expect((error as RateLimitOptionsError).field).toBe('cost');
    }
  });
});

describe.each(['token-bucket', 'gcra'] as const)('%s: stored state', (algorithm) => {
  it('keeps one integer that outlives the state, updated in place', async () => {
    const windowMs = 600_000;
    const rl = limiter({ algorithm, limit: 4, windowMs });
    const k = key();
    const first = await rl.consume(k);
    const stored = await admin.get(`x:rl:${k}`);
    expect(stored).toMatch(/^\d+$/);
    // Expires at the end of the window-long epoch its time falls in: after that time, and at
    // most one window after it.
    const ttl = await admin.pttl(`x:rl:${k}`);
    const now = await serverNow(admin);
    expect(now + ttl).toBeGreaterThanOrEqual(first.resetAt - 1);
    expect(now + ttl).toBeLessThanOrEqual(first.resetAt + windowMs + 50);
    expect(summary(await rl.consume(k))).toEqual([true, 2]);
    // In 1/4096 ms: one emission interval (150 000 ms) after the first request's time.
    const after = Number(await admin.get(`x:rl:${k}`));
    expect(after - Number(stored)).toBeGreaterThan(149_000 * 4096);
    expect(after - Number(stored)).toBeLessThanOrEqual(150_000 * 4096);
    expect(await admin.pttl(`x:rl:${k}`)).toBeGreaterThan(0);
  });
});
