import { toIORedisOptions } from '@x/config';
import { createHybridClient } from '@x/hybrid-client';
import { Redis } from 'ioredis';
import { alternate } from '../_internal/alternate';
import type { BenchCase, BenchContext, CaseResult } from '../_internal/context';
import { type LoadResult, runLoad } from '../_internal/load';
import { benchRedis, keys } from '../_internal/redis';
import type { Row } from '../_internal/report';
import { median } from '../_internal/stats';

const CASE = '1 hybrid-client on Redis';
const CONCURRENCY = 100;
const KEYS = keys('item', 10_000);
const VALUE = 'v'.repeat(100);

interface Target {
  get(key: string): Promise<unknown>;
  set(key: string, value: string): Promise<unknown>;
}

function load(target: Target, durationMs: number): Promise<LoadResult> {
  return runLoad({
    concurrency: CONCURRENCY,
    durationMs,
    // Half SET, half GET of what was just written, on 10 000 keys.
    op: (w, i) => {
      const key = KEYS[(w * 100 + (i >> 1)) % KEYS.length]!;
      return (i & 1) === 0 ? target.set(key, VALUE) : target.get(key);
    },
  });
}

/**
 * Case 1: GET/SET through the hybrid client while Redis is healthy, against raw ioredis with the
 * very same options (the fail-fast options of `@x/config`'s `toIORedisOptions`, plus the
 * `maxRetriesPerRequest: 0` the hybrid client adds to a client it creates): 100 calls in flight.
 */
export const hybridRedisCase: BenchCase = {
  async run(ctx: BenchContext): Promise<CaseResult> {
    const durationMs = ctx.quick ? 500 : 750;
    const redis = await benchRedis();
    const options = { ...toIORedisOptions(redis.url), maxRetriesPerRequest: 0 };
    const raw = new Redis(options);
    const inner = new Redis(options);
    raw.on('error', () => {});
    inner.on('error', () => {});
    const hybrid = await createHybridClient({ redis: inner, logger: false });
    if (hybrid.activeBackend !== 'primary') throw new Error('hybrid client did not start on Redis');

    const [ours, peer] = (await alternate(ctx.rounds, [
      () => load(hybrid, durationMs),
      () => load(raw, durationMs),
    ])) as [LoadResult[], LoadResult[]];
    const stats = hybrid.stats();
    await hybrid.close();
    raw.disconnect();
    inner.disconnect();

    const ratio = median(ours.map((o, i) => o.opsPerSec / peer[i]!.opsPerSec));
    const p99Ratio = median(ours.map((o, i) => o.latency.p99 / peer[i]!.latency.p99));
    const errors = ours.reduce((n, r) => n + r.errors, 0);
    const peerErrors = peer.reduce((n, r) => n + r.errors, 0);
    const served = stats.memory.calls;
    const row = (runs: LoadResult[]): Pick<Row, 'opsPerSec' | 'p50Ms' | 'p99Ms' | 'maxMs'> => ({
      opsPerSec: median(runs.map((r) => r.opsPerSec)),
      p50Ms: median(runs.map((r) => r.latency.p50)),
      p99Ms: median(runs.map((r) => r.latency.p99)),
      maxMs: Math.max(...runs.map((r) => r.latency.max)),
    });
    return {
      rows: [
        {
          case: CASE,
          subject: '@x/hybrid-client GET/SET',
          ...row(ours),
          ratio,
          bar: '≥ 0.95× raw ops/s',
          met: ratio >= 0.95 && errors === 0 && served === 0,
          note: [
            errors > 0 ? `${errors} errors` : undefined,
            served > 0 ? `${served} calls served by memory` : undefined,
          ]
            .filter(Boolean)
            .join('; '),
        },
        {
          case: CASE,
          subject: '@x/hybrid-client GET/SET p99',
          p99Ms: median(ours.map((r) => r.latency.p99)),
          ratio: p99Ratio,
          bar: 'p99 ≤ 1.1× raw',
          met: p99Ratio <= 1.1,
          note: 'ratio = ours / raw p99 (lower is better)',
        },
        {
          case: CASE,
          subject: 'raw ioredis GET/SET (same options)',
          ...row(peer),
          note: peerErrors > 0 ? `${peerErrors} errors` : undefined,
        },
      ],
    };
  },
};
