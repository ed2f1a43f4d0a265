import { closeAfter, type RedisHandle, readyClient, sleep, startRedis } from '@x/testkit';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverNow } from './_fixtures/limiters.js';
import { LocalLimiter } from './_internal/local-limiter.js';
import { FIXED_WINDOW, GCRA, SLIDING_WINDOW, TOKEN_BUCKET } from './_internal/scripts.js';
import { rateLimitHeaders } from './http-headers.js';
import { createRateLimiter } from './rate-limiter.js';
import type { RateLimitAlgorithm, RateLimitResult } from './types.js';

// The contract of RateLimitResult (types.ts) and of the headers built from it, checked over every
// algorithm, random limits, windows, costs and request timings:
// - on the local limiter with an injected clock (exact: retried at now + retryAfterMs it is
//   admitted, one millisecond earlier it is not; at resetAt the whole quota is back; remaining is
//   the largest cost admitted right after);
// - on real Redis, the Lua scripts with the clock passed in instead of TIME, which must decide
//   exactly like the local limiter;
// - on real Redis with the scripts as shipped (server time) through createRateLimiter, with real
//   waits of retryAfterMs.

const ALGORITHMS: readonly RateLimitAlgorithm[] = [
  'fixed-window',
  'sliding-window',
  'token-bucket',
  'gcra',
];
const SCRIPTS: Record<RateLimitAlgorithm, string> = {
  'fixed-window': FIXED_WINDOW,
  'sliding-window': SLIDING_WINDOW,
  'token-bucket': TOKEN_BUCKET,
  gcra: GCRA,
};
// An epoch in ms like the ones Redis returns (2023-11), so float rounding is the real one.
const EPOCH = 1_700_000_000_000;

interface Step {
  /** Milliseconds since the previous request. */
  gap: number;
  /** 0 = peek, else the cost charged. */
  cost: number;
}

interface Scenario {
  limit: number;
  windowMs: number;
  start: number;
  steps: Step[];
}

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    limit: fc.integer({ min: 1, max: 12 }),
    windowMs: fc.oneof(
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 41, max: 5_000 }),
      fc.constantFrom(1_000, 60_000, 600_000),
    ),
    start: fc.integer({ min: 0, max: 10_000_000 }),
    // gap: a share (in 1/1000) of two windows, often 0 (a burst); cost: taken modulo limit + 1.
    steps: fc.array(
      fc.record({
        gap: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 1_000 })),
        cost: fc.nat({ max: 1_000 }),
      }),
      { minLength: 1, maxLength: 40 },
    ),
  })
  .map(({ limit, windowMs, start, steps }) => ({
    limit,
    windowMs,
    start,
    steps: steps.map((s) => ({
      gap: Math.floor((s.gap * 2 * windowMs) / 1_000),
      cost: s.cost % (limit + 1),
    })),
  }));

/** Checks one decision against the documented contract; `now` is the time it was made. */
function expectContract(r: RateLimitResult, now: number, cost: number, limit: number): void {
  const need = cost === 0 ? 1 : cost;
  const where = JSON.stringify({ r, now, cost });
  expect(r.limit, where).toBe(limit);
  expect(Number.isInteger(r.remaining) && r.remaining >= 0, where).toBe(true);
  expect(r.remaining, where).toBeLessThanOrEqual(limit);
  expect(Number.isInteger(r.resetAt), where).toBe(true);
  expect(r.resetAt, where).toBeGreaterThanOrEqual(now);
  expect(Number.isInteger(r.retryAfterMs), where).toBe(true);
  if (r.allowed) {
    expect(r.retryAfterMs, where).toBe(0);
    if (cost > 0) expect(r.remaining, where).toBeLessThanOrEqual(limit - cost);
    else expect(r.remaining, where).toBeGreaterThanOrEqual(1);
  } else {
    expect(r.retryAfterMs, where).toBeGreaterThanOrEqual(1);
    expect(r.resetAt, where).toBeGreaterThanOrEqual(now + r.retryAfterMs);
    expect(r.remaining, where).toBeLessThan(need);
  }
  expectHeaders(r, now, need);
}

const DRAFT_ITEM = /^"default";r=(\d+);t=(\d+)$/;
const DRAFT_POLICY = /^"default";q=(\d+);w=(\d+)$/;

/** The headers built from a decision never contradict it, nor each other. */
function expectHeaders(r: RateLimitResult, now: number, need: number): void {
  const where = JSON.stringify({ r, now, need });
  const h = rateLimitHeaders(r, { fields: 'both', windowMs: 60_000, now });
  // One casing for every field.
  for (const name of Object.keys(h)) expect(name, where).toMatch(/^(RateLimit|Retry-After)/);
  expect(h['RateLimit-Limit'], where).toBe(String(r.limit));
  expect(h['RateLimit-Remaining'], where).toBe(String(r.remaining));
  expect(h['RateLimit-Policy'], where).toMatch(DRAFT_POLICY);
  expect(h['RateLimit-Policy']!.match(DRAFT_POLICY)![1], where).toBe(String(r.limit));
  const item = h.RateLimit!.match(DRAFT_ITEM);
  expect(item, where).not.toBeNull();
  const [, available, effectiveWindow] = item!.map(Number);
  expect(available, where).toBe(r.remaining);
  const reset = Number(h['RateLimit-Reset']);
  expect(Number.isInteger(reset) && reset >= 0, where).toBe(true);
  // The effective window never outlasts the reset.
  expect(effectiveWindow, where).toBeLessThanOrEqual(reset);
  if (r.allowed) {
    expect(h['Retry-After'], where).toBeUndefined();
    return;
  }
  const retryAfter = Number(h['Retry-After']);
  expect(Number.isInteger(retryAfter) && retryAfter >= 1, where).toBe(true);
  expect(retryAfter * 1000, where).toBeGreaterThanOrEqual(r.retryAfterMs);
  expect(reset, where).toBeGreaterThanOrEqual(retryAfter);
  // The draft: Retry-After is not earlier than the end of the effective window.
  expect(effectiveWindow, where).toBeLessThanOrEqual(retryAfter);
  if (need === 1) {
    expect(h['RateLimit-Remaining'], where).toBe('0');
    expect(available, where).toBe(0);
  }
}

/** A local limiter of a scenario (10 keys at most) reading `clock`. */
function localOf(
  algorithm: RateLimitAlgorithm,
  s: { limit: number; windowMs: number },
  clock: { now: number },
): LocalLimiter {
  return new LocalLimiter({
    algorithm,
    limit: s.limit,
    windowMs: s.windowMs,
    maxKeys: 10,
    now: () => clock.now,
  });
}

/** A local limiter fed `history` at its own times, its clock then set to `at`. */
function replay(
  algorithm: RateLimitAlgorithm,
  s: Scenario,
  history: { now: number; cost: number }[],
  at: number,
): { local: LocalLimiter; decide: (cost: number) => RateLimitResult } {
  const clock = { now: 0 };
  const local = localOf(algorithm, s, clock);
  for (const h of history) {
    clock.now = h.now;
    local.decide('k', h.cost);
  }
  clock.now = at;
  return { local, decide: (cost) => local.decide('k', cost) };
}

function probe(
  algorithm: RateLimitAlgorithm,
  s: Scenario,
  history: { now: number; cost: number }[],
  at: number,
  cost: number,
): RateLimitResult {
  const { local, decide } = replay(algorithm, s, history, at);
  const r = decide(cost);
  local.clear();
  return r;
}

describe.each(ALGORITHMS)('%s, local limiter with an injected clock', (algorithm) => {
  it('keeps the result contract, and headers that never contradict it', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const clock = { now: EPOCH + s.start };
        const local = localOf(algorithm, s, clock);
        const history: { now: number; cost: number }[] = [];
        try {
          for (const step of s.steps) {
            clock.now += step.gap;
            const now = clock.now;
            const r = local.decide('k', step.cost);
            expectContract(r, now, step.cost, s.limit);
            history.push({ now, cost: step.cost });
            const where = JSON.stringify({ s, r, now, step });
            if (!r.allowed) {
              // Nothing else charged: admitted exactly retryAfterMs later, not a millisecond sooner.
              const need = step.cost === 0 ? 1 : step.cost;
              const before = history.slice(0, -1);
              expect(probe(algorithm, s, before, now + r.retryAfterMs, need).allowed, where).toBe(
                true,
              );
              if (r.retryAfterMs > 1) {
                expect(
                  probe(algorithm, s, before, now + r.retryAfterMs - 1, need).allowed,
                  where,
                ).toBe(false);
              }
            }
            // remaining is the largest cost admitted right after this decision.
            if (r.remaining >= 1) {
              expect(probe(algorithm, s, history, now, r.remaining).allowed, where).toBe(true);
            }
            if (r.remaining < s.limit) {
              expect(probe(algorithm, s, history, now, r.remaining + 1).allowed, where).toBe(false);
            }
            // At resetAt the whole quota is back.
            expect(probe(algorithm, s, history, r.resetAt, 0).remaining, where).toBe(s.limit);
          }
        } finally {
          local.clear();
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('Lua scripts and the local limiter', () => {
  let redis: RedisHandle;
  let admin: Redis;
  let keyNo = 0;

  beforeAll(async () => {
    redis = await startRedis();
    admin = await readyClient(redis.url);
  });

  /**
   * The script with its clock passed in (ARGV[4]) instead of read with TIME; everything else as
   * shipped, except that a relative expiry (SET PX) is an hour longer: the clock passed in runs
   * ahead of the server's, and a key must not expire by real time while it still counts.
   */
  function withClock(source: string): string {
    const time =
      "local t = redis.call('TIME')\nlocal now = t[1] * 1000 + math.floor(t[2] / 1000)\n";
    expect(source).toContain(time);
    let out = source.replace(time, 'local now = tonumber(ARGV[4])\n');
    if (out.includes("'PX', (epoch + 1) * window - now")) {
      out = out.replace(
        "'PX', (epoch + 1) * window - now",
        "'PX', (epoch + 1) * window - now + 3600000",
      );
    }
    return out;
  }

  it.each(ALGORITHMS)(
    '%s: the script decides exactly like the local limiter',
    async (algorithm) => {
      const script = withClock(SCRIPTS[algorithm]);
      const [sec] = await admin.time();
      // Ahead of the server's clock, so absolute expiries (PEXPIREAT) are in the future.
      const base = Number(sec) * 1000 + 3_600_000;
      await fc.assert(
        fc.asyncProperty(scenarioArb, async (s) => {
          keyNo++;
          const key = `lua:${algorithm}:${keyNo}`;
          const clock = { now: base + (s.start % 1_000_000) };
          const local = localOf(algorithm, s, clock);
          try {
            for (const step of s.steps) {
              clock.now += step.gap;
              const reply = (await admin.eval(
                script,
                1,
                key,
                String(s.limit),
                String(s.windowMs),
                String(step.cost),
                String(clock.now),
              )) as number[];
              const fromRedis: RateLimitResult = {
                allowed: reply[0] === 1,
                limit: s.limit,
                remaining: reply[1]!,
                resetAt: reply[2]!,
                retryAfterMs: reply[3]!,
                source: 'local',
              };
              const fromLocal = local.decide('k', step.cost);
              expect(fromRedis, JSON.stringify({ s, step, now: clock.now })).toEqual(fromLocal);
              expectContract(fromRedis, clock.now, step.cost, s.limit);
            }
          } finally {
            local.clear();
            await admin.del(key);
          }
        }),
        { numRuns: 60 },
      );
    },
    120_000,
  );
});

describe.concurrent('scripts as shipped, on real Redis with server time', () => {
  let redis: RedisHandle;
  let admin: Redis;
  const limiters = closeAfter(afterAll);
  let keyNo = 0;

  beforeAll(async () => {
    redis = await startRedis();
    admin = await readyClient(redis.url);
  });

  it('sliding window: a refusal never resets before it may retry (issue 17)', async ({
    expect,
  }) => {
    const rl = createRateLimiter({
      redis: redis.url,
      algorithm: 'sliding-window',
      limit: 4,
      windowMs: 600_000,
    });
    limiters.push(rl);
    for (let i = 0; i < 4; i++) expect((await rl.consume('issue-17')).allowed).toBe(true);
    const before = await serverNow(admin);
    const refused = await rl.consume('issue-17');
    expect(refused.allowed).toBe(false);
    // The current window's 4 requests slide out during the next window: the retry lies there, and
    // the quota is whole only once that window has ended.
    expect(refused.resetAt - refused.retryAfterMs).toBeGreaterThanOrEqual(before);
    const headers = rateLimitHeaders(refused, { now: before });
    expect(Number(headers['RateLimit-Reset'])).toBeGreaterThanOrEqual(
      Number(headers['Retry-After']),
    );
  });

  it.for(ALGORITHMS)(
    '%s: random costs and timings keep the contract; a retry after retryAfterMs is admitted',
    { timeout: 120_000 },
    async (algorithm, { expect }) => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 30, max: 150 }),
          fc.array(
            fc.record({
              gap: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 60 })),
              cost: fc.nat(),
            }),
            { minLength: 1, maxLength: 10 },
          ),
          async (limit, windowMs, steps) => {
            keyNo++;
            const key = `real:${algorithm}:${keyNo}`;
            const rl = createRateLimiter({ redis: redis.url, algorithm, limit, windowMs });
            limiters.push(rl);
            for (const step of steps) {
              if (step.gap > 0) await sleep(step.gap);
              const cost = step.cost % (limit + 1);
              const before = await serverNow(admin);
              const r = cost === 0 ? await rl.peek(key) : await rl.consume(key, cost);
              const after = await serverNow(admin);
              const where = JSON.stringify({ limit, windowMs, step, r, before, after });
              expect(r.source, where).toBe('redis');
              // The decision was made at some server time in [before, after].
              expect(r.resetAt, where).toBeGreaterThanOrEqual(before);
              expectHeaders(r, before, cost === 0 ? 1 : cost);
              if (r.allowed) {
                expect(r.retryAfterMs, where).toBe(0);
                continue;
              }
              expect(r.retryAfterMs, where).toBeGreaterThanOrEqual(1);
              expect(r.resetAt - r.retryAfterMs, where).toBeGreaterThanOrEqual(before);
              expect(r.remaining, where).toBeLessThan(cost === 0 ? 1 : cost);
              // Nothing else is charged to the key: once retryAfterMs has passed on the server
              // clock (plus 1 ms: the server truncates its time to whole milliseconds), the
              // same request is admitted.
              await sleep(r.retryAfterMs + 1);
              const again = await rl.consume(key, cost === 0 ? 1 : cost);
              expect(again.allowed, JSON.stringify({ where, again })).toBe(true);
            }
          },
        ),
        { numRuns: 6 },
      );
    },
  );
});
