import { Redlock } from '@sesamecare-oss/redlock';
import { createLockManager } from '@x/lock';
import { Redis } from 'ioredis';
import { Mutex } from 'redis-semaphore';
import { alternate } from '../_internal/alternate';
import type { BenchCase, BenchContext, CaseResult } from '../_internal/context';
import { type LoadResult, runLoad } from '../_internal/load';
import { benchRedis, keys } from '../_internal/redis';
import type { Row } from '../_internal/report';
import { LatencyRecorder, median } from '../_internal/stats';

const CASE_DISTINCT = '5 lock, 50 workers, distinct keys';
const WORKERS = 50;
const TTL_MS = 10_000;
const DISTINCT = keys('job', WORKERS);

interface Side {
  name: string;
  /** Acquires then releases `key`; returns how long the acquire took (the wait), in ms. */
  cycle(key: string): Promise<number>;
}

interface Measured {
  load: LoadResult;
  /** Acquire (wait) latency. */
  wait: { p50: number; p99: number; max: number; count: number };
}

const waits = new LatencyRecorder();

async function measure(
  side: Side,
  durationMs: number,
  key: (w: number) => string,
): Promise<Measured> {
  waits.reset();
  const load = await runLoad({
    concurrency: WORKERS,
    durationMs,
    op: async (w) => {
      waits.record(await side.cycle(key(w)));
    },
  });
  return { load, wait: waits.summary() };
}

/** Bursts: all workers ask for the one key at the same moment, again and again until time is up. */
async function measureBurst(side: Side, durationMs: number): Promise<Measured> {
  waits.reset();
  let errors = 0;
  let firstError: unknown;
  const start = performance.now();
  const attempt = async (): Promise<void> => {
    try {
      waits.record(await side.cycle('c:burst'));
    } catch (error) {
      errors++;
      firstError ??= error;
    }
  };
  do {
    await Promise.all(Array.from({ length: WORKERS }, attempt));
  } while (performance.now() - start < durationMs);
  const elapsedMs = performance.now() - start;
  const wait = waits.summary();
  const load: LoadResult = {
    ops: wait.count,
    errors,
    elapsedMs,
    opsPerSec: (wait.count / elapsedMs) * 1000,
    latency: wait,
    firstError,
  };
  return { load, wait };
}

/** CPU time of Redis' main thread so far, µs (`INFO cpu`). */
async function redisCpuUs(admin: Redis): Promise<number> {
  const text = await admin.info('cpu');
  const field = (name: string): number =>
    Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)?.[1]);
  return (field('used_cpu_user_main_thread') + field('used_cpu_sys_main_thread')) * 1e6;
}

function errorNote(results: Measured[]): string | undefined {
  const errors = results.reduce((n, r) => n + r.load.errors, 0);
  if (errors === 0) return undefined;
  const first = results.find((r) => r.load.firstError !== undefined)?.load.firstError;
  const what = first instanceof Error ? `${first.name}: ${first.message}` : String(first);
  return `${errors} failed acquisitions (${what.slice(0, 80)})`;
}

/**
 * Case 5: acquire + release with 50 workers, against redis-semaphore's `Mutex` and redlock, all
 * with their default options. Distinct keys measure throughput; one contended key measures how
 * long a waiter waits (p99 of the acquire time).
 */
export const lockCase: BenchCase = {
  async run(ctx: BenchContext): Promise<CaseResult> {
    const redis = await benchRedis();
    const semaphoreClient = new Redis(redis.url);
    const redlockClient = new Redis(redis.url);
    semaphoreClient.on('error', () => {});
    redlockClient.on('error', () => {});
    const manager = createLockManager({ redis: redis.url, ttlMs: TTL_MS });
    const redlock = new Redlock([redlockClient]);
    redlock.on('error', () => {});

    const sides: Side[] = [
      {
        name: '@x/lock',
        async cycle(key) {
          const t0 = performance.now();
          const lock = await manager.acquire(key);
          const waited = performance.now() - t0;
          await lock.release();
          return waited;
        },
      },
      {
        name: 'redis-semaphore Mutex',
        async cycle(key) {
          const t0 = performance.now();
          const mutex = new Mutex(semaphoreClient, key, { lockTimeout: TTL_MS });
          await mutex.acquire();
          const waited = performance.now() - t0;
          await mutex.release();
          return waited;
        },
      },
      {
        name: 'redlock',
        async cycle(key) {
          const t0 = performance.now();
          const lock = await redlock.acquire([key], TTL_MS);
          const waited = performance.now() - t0;
          await lock.release();
          return waited;
        },
      },
    ];

    const rows: Row[] = [];
    const admin = new Redis(redis.url);
    admin.on('error', () => {});
    // Redis time per acquire + release, per side, from the last measured distinct-keys run: the
    // CPU time of Redis' main thread (parsing, commands, scripts, replies, system calls). Not the
    // sum of `INFO commandstats`: a command run inside a script is counted there twice (under its
    // own name and in the EVALSHA's time), which made a script-based lock look 3× as costly as it
    // is next to a plain SET.
    const serverUs: number[] = sides.map(() => Number.NaN);
    const withServerTime = async (i: number, run: () => Promise<Measured>): Promise<Measured> => {
      const before = await redisCpuUs(admin);
      const measured = await run();
      serverUs[i] = ((await redisCpuUs(admin)) - before) / Math.max(1, measured.load.ops);
      return measured;
    };

    ctx.log('  distinct keys');
    const distinctMs = ctx.quick ? 400 : 500;
    const distinct = await alternate(
      ctx.rounds,
      sides.map(
        (s, i) => () => withServerTime(i, () => measure(s, distinctMs, (w) => `d:${DISTINCT[w]!}`)),
      ),
    );
    const ops = distinct.map((runs) => median(runs.map((r) => r.load.opsPerSec)));
    const vsSemaphore = median(
      distinct[0]!.map((o, i) => o.load.opsPerSec / distinct[1]![i]!.load.opsPerSec),
    );
    const vsRedlock = median(
      distinct[0]!.map((o, i) => o.load.opsPerSec / distinct[2]![i]!.load.opsPerSec),
    );
    sides.forEach((s, i) => {
      const runs = distinct[i]!;
      const ours = i === 0;
      rows.push({
        case: CASE_DISTINCT,
        subject: `${s.name} acquire+release`,
        opsPerSec: ops[i],
        p50Ms: median(runs.map((r) => r.load.latency.p50)),
        p99Ms: median(runs.map((r) => r.load.latency.p99)),
        maxMs: Math.max(...runs.map((r) => r.load.latency.max)),
        ratio: ours ? vsSemaphore : undefined,
        bar: ours ? '≥ 1.0× redis-semaphore' : undefined,
        met: ours ? vsSemaphore >= 1 && runs.every((r) => r.load.errors === 0) : undefined,
        note: [
          ours ? `${vsRedlock.toFixed(2)}× redlock` : undefined,
          `Redis CPU ${serverUs[i]!.toFixed(1)} µs/cycle`,
          errorNote(runs),
        ]
          .filter(Boolean)
          .join('; '),
      });
    });

    const contendedMs = ctx.quick ? 800 : 2_000;
    const variants: Array<{ label: string; run: (side: Side) => Promise<Measured> }> = [
      {
        label: 'one key, closed loop',
        run: (side) => measure(side, contendedMs, () => 'c:hot'),
      },
      { label: 'one key, 50 arrive at once', run: (side) => measureBurst(side, contendedMs) },
    ];
    for (const variant of variants) {
      ctx.log(`  ${variant.label}`);
      const contended = await alternate(
        ctx.quick ? 1 : 2,
        sides.map((s) => () => variant.run(s)),
        { warmup: false },
      );
      const semaphoreP99 = median(contended[1]!.map((r) => r.wait.p99));
      sides.forEach((s, i) => {
        const runs = contended[i]!;
        const ours = i === 0;
        const p99 = median(runs.map((r) => r.wait.p99));
        rows.push({
          case: `5 lock, 50 workers, ${variant.label}`,
          subject: `${s.name} waiter (acquire time)`,
          opsPerSec: median(runs.map((r) => r.load.opsPerSec)),
          p50Ms: median(runs.map((r) => r.wait.p50)),
          p99Ms: p99,
          maxMs: Math.max(...runs.map((r) => r.wait.max)),
          ratio: ours
            ? median(runs.map((o, k) => o.load.opsPerSec / contended[1]![k]!.load.opsPerSec))
            : undefined,
          bar: ours ? 'waiter p99 ≤ 50 ms' : undefined,
          met: ours ? p99 <= 50 && runs.every((r) => r.load.errors === 0) : undefined,
          note: [
            ours ? `p99 ${(semaphoreP99 / p99).toFixed(1)}× lower than redis-semaphore` : undefined,
            errorNote(runs),
          ]
            .filter(Boolean)
            .join('; '),
        });
      });
    }

    await manager.close();
    semaphoreClient.disconnect();
    redlockClient.disconnect();
    admin.disconnect();
    return { rows };
  },
};
