import { createRateLimiter, type RateLimitAlgorithm } from '@x/ratelimit';
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { alternate } from '../_internal/alternate';
import type { BenchCase, BenchContext, CaseResult } from '../_internal/context';
import { type LoadResult, runLoad } from '../_internal/load';
import { benchRedis, keys, scriptCostUs } from '../_internal/redis';
import type { Row } from '../_internal/report';
import { median } from '../_internal/stats';

const CASE = '4 ratelimit consume';
const CONCURRENCY = 100;
// High enough that no request is ever refused: both sides do the same work on every call (a
// refusal costs rate-limiter-flexible a thrown RateLimiterRes, which would flatter us). At most
// 4096 per ms of the window: token-bucket and gcra refuse more (their time is kept in 1/4096 ms).
const LIMIT = 100_000_000;
const WINDOW_MS = 60_000;
const ALGORITHMS: RateLimitAlgorithm[] = ['fixed-window', 'sliding-window', 'token-bucket', 'gcra'];
const KEYS = keys('user', 1_000);

function keyOf(w: number, i: number): string {
  return KEYS[(w * 10 + i) % KEYS.length]!;
}

function summarize(results: LoadResult[]): {
  opsPerSec: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
} {
  return {
    opsPerSec: median(results.map((r) => r.opsPerSec)),
    p50: median(results.map((r) => r.latency.p50)),
    p99: median(results.map((r) => r.latency.p99)),
    max: Math.max(...results.map((r) => r.latency.max)),
    errors: results.reduce((n, r) => n + r.errors, 0),
  };
}

function pairRatio(ours: LoadResult[], peer: LoadResult[]): number {
  return median(ours.map((o, i) => o.opsPerSec / peer[i]!.opsPerSec));
}

function errNote(errors: number, results: LoadResult[]): string | undefined {
  if (errors === 0) return undefined;
  const first = results.find((r) => r.firstError !== undefined)?.firstError;
  return `${errors} errors: ${first instanceof Error ? first.message : String(first)}`.slice(
    0,
    120,
  );
}

/**
 * Case 4: `consume` with 100 calls in flight on 1 000 keys, every algorithm against
 * rate-limiter-flexible's `RateLimiterRedis` (one Lua script per call as well), then our local
 * fallback (Redis down) against `RateLimiterMemory`.
 */
export const ratelimitCase: BenchCase = {
  async run(ctx: BenchContext): Promise<CaseResult> {
    const durationMs = ctx.quick ? 400 : 500;
    const rows: Row[] = [];
    const redis = await benchRedis();

    const peerClient = new Redis(redis.url);
    peerClient.on('error', () => {});
    const peer = new RateLimiterRedis({
      storeClient: peerClient,
      points: LIMIT,
      duration: WINDOW_MS / 1000,
      keyPrefix: 'rlf',
    });
    const admin = new Redis(redis.url);
    admin.on('error', () => {});
    // Server time per decision, measured around each measured run (the last one wins).
    const cost = { ours: Number.NaN, peer: Number.NaN };
    const timed = async (side: 'ours' | 'peer', run: () => Promise<LoadResult>) => {
      await admin.config('RESETSTAT');
      const result = await run();
      cost[side] = await scriptCostUs(admin);
      return result;
    };
    const peerSide = (): Promise<LoadResult> =>
      timed('peer', () =>
        runLoad({
          concurrency: CONCURRENCY,
          durationMs,
          op: (w, i) => peer.consume(keyOf(w, i)),
        }),
      );

    for (const algorithm of ALGORITHMS) {
      ctx.log(`  ${algorithm} vs RateLimiterRedis`);
      // Defaults on our side: the limiter creates its own fail-fast client from the URL.
      let switches = 0;
      const ours = createRateLimiter({
        onSourceChange: () => {
          switches++;
        },
        redis: redis.url,
        algorithm,
        limit: LIMIT,
        windowMs: WINDOW_MS,
        keyPrefix: `x:${algorithm}:`,
      });
      const oursSide = (): Promise<LoadResult> =>
        timed('ours', () =>
          runLoad({
            concurrency: CONCURRENCY,
            durationMs,
            op: (w, i) => ours.consume(keyOf(w, i)),
          }),
        );
      const [o, p] = (await alternate(ctx.rounds, [oursSide, peerSide])) as [
        LoadResult[],
        LoadResult[],
      ];
      const ratio = pairRatio(o, p);
      const so = summarize(o);
      const sp = summarize(p);
      await ours.close();
      rows.push({
        case: CASE,
        subject: `@x/ratelimit ${algorithm} (Redis)`,
        opsPerSec: so.opsPerSec,
        p50Ms: so.p50,
        p99Ms: so.p99,
        maxMs: so.max,
        ratio,
        bar: '≥ 1.0× RateLimiterRedis',
        met: ratio >= 1.0 && so.errors === 0 && switches === 0,
        note:
          [
            `Redis time ${cost.ours.toFixed(1)} µs/call vs ${cost.peer.toFixed(1)}`,
            errNote(so.errors, o),
            switches > 0
              ? `${switches} switches between Redis and local (deadline hit)`
              : undefined,
          ]
            .filter(Boolean)
            .join('; ') || undefined,
      });
      rows.push({
        case: CASE,
        subject: `rate-limiter-flexible RateLimiterRedis (paired with ${algorithm})`,
        opsPerSec: sp.opsPerSec,
        p50Ms: sp.p50,
        p99Ms: sp.p99,
        maxMs: sp.max,
        note: errNote(sp.errors, p),
      });
    }
    peerClient.disconnect();
    admin.disconnect();

    // Local fallback: our limiter on a Redis that is gone (connection refused), with defaults:
    // the breaker opens after the first failures and decisions come from the local limiter.
    ctx.log('  local fallback vs RateLimiterMemory');
    const dead = await benchRedis();
    const local = createRateLimiter({
      redis: dead.url,
      algorithm: 'fixed-window',
      limit: LIMIT,
      windowMs: WINDOW_MS,
    });
    await local.consume('warm');
    await dead.kill();
    for (let i = 0; i < 1_000 && local.source !== 'local'; i++) await local.consume('warm');
    if (local.source !== 'local') throw new Error(`fallback not reached (source ${local.source})`);
    const memory = new RateLimiterMemory({ points: LIMIT, duration: WINDOW_MS / 1000 });
    const localDuration = ctx.quick ? 300 : 400;
    const [o, p] = (await alternate(ctx.rounds, [
      () =>
        runLoad({
          concurrency: CONCURRENCY,
          durationMs: localDuration,
          op: (w, i) => local.consume(keyOf(w, i)),
        }),
      () =>
        runLoad({
          concurrency: CONCURRENCY,
          durationMs: localDuration,
          op: (w, i) => memory.consume(keyOf(w, i)),
        }),
    ])) as [LoadResult[], LoadResult[]];
    const localSource = local.source;
    await local.close();
    const so = summarize(o);
    const sp = summarize(p);
    const ratio = pairRatio(o, p);
    rows.push({
      case: CASE,
      subject: '@x/ratelimit fixed-window (local fallback, Redis down)',
      opsPerSec: so.opsPerSec,
      p50Ms: so.p50,
      p99Ms: so.p99,
      maxMs: so.max,
      ratio,
      bar: '≥ 1.0× RateLimiterMemory',
      met: ratio >= 1.0 && so.errors === 0 && localSource === 'local',
      note:
        errNote(so.errors, o) ?? (localSource === 'local' ? undefined : `source ${localSource}`),
    });
    rows.push({
      case: CASE,
      subject: 'rate-limiter-flexible RateLimiterMemory',
      opsPerSec: sp.opsPerSec,
      p50Ms: sp.p50,
      p99Ms: sp.p99,
      maxMs: sp.max,
      note: errNote(sp.errors, p),
    });
    return { rows };
  },
};
