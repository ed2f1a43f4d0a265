import { toIORedisOptions } from '@x/config';
import type { RedisHandle } from '@x/testkit';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisDriver } from 'bentocache/drivers/redis';
import { Redis } from 'ioredis';
import { BasicClientSideCache, createClient } from 'redis';
import { alternate } from '../_internal/alternate';
import type { BenchCase, BenchContext, CaseResult } from '../_internal/context';
import { type LoadResult, runLoad } from '../_internal/load';
import { trackedHybrid } from '../_internal/near';
import { benchRedis, keys } from '../_internal/redis';
import type { Row } from '../_internal/report';
import { median } from '../_internal/stats';

const CASE = '9 near-cache zipf';
const CONCURRENCY = 100;
const KEY_COUNT = 100_000;
const VALUE = 'z'.repeat(1_024);
const READ_SHARE = 0.95;
// Every worker lets the event loop turn once every this many calls (all subjects alike): a
// service's requests arrive as I/O, so replies and invalidations are handled between them.
const YIELD_EVERY = 16;

/**
 * A fixed sequence of key indexes drawn from a Zipf distribution (s = 1) over `n` keys: rank r
 * has weight 1 / r. Inverse CDF on the cumulative weights, with a seeded generator, so every
 * subject reads the same sequence.
 */
function zipfSequence(n: number, length: number, seed = 42): Int32Array {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let r = 1; r <= n; r++) {
    sum += 1 / r;
    cdf[r - 1] = sum;
  }
  let state = seed >>> 0;
  const random = (): number => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Int32Array(length);
  for (let i = 0; i < length; i++) {
    const target = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    out[i] = lo;
  }
  return out;
}

/** Resolves on the next turn of the event loop (after pending I/O). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

interface Target {
  get(key: string): Promise<unknown>;
  set(key: string, value: string): Promise<unknown>;
}

function load(target: Target, sequence: Int32Array, names: string[], durationMs: number) {
  let next = 0;
  const writeEvery = Math.round(1 / (1 - READ_SHARE));
  return runLoad({
    concurrency: CONCURRENCY,
    durationMs,
    op: (_w, i) => {
      const at = next++;
      const key = names[sequence[at % sequence.length]!]!;
      const call: Promise<unknown> =
        at % writeEvery === 0 ? target.set(key, VALUE) : target.get(key);
      return i % YIELD_EVERY === YIELD_EVERY - 1 ? call.then(nextTurn) : call;
    },
  });
}

/**
 * Case 9: a skewed, read-mostly workload: Zipf (s = 1) over 100 000 keys of 1 KB, 95 % GET and
 * 5 % SET of the same distribution, 100 calls in flight. The hybrid client (near cache on, the
 * default) against raw ioredis, node-redis with its client-side cache (RESP3, the `redis`
 * package), and bentocache L1 + L2 (Redis), alternately.
 */
export const nearZipfCase: BenchCase = {
  async run(ctx: BenchContext): Promise<CaseResult> {
    const durationMs = ctx.quick ? 800 : 2_000;
    const rounds = ctx.quick ? 2 : Math.min(ctx.rounds, 6);
    const names = keys('zipf', KEY_COUNT);
    // One server per subject, each with the same 100 000 keys: one subject's writes never
    // invalidate another's cache, and every subject starts from the same data.
    const servers = [];
    for (let s = 0; s < 4; s++) {
      const server = await benchRedis();
      const writer = new Redis(server.url);
      for (let i = 0; i < KEY_COUNT; i += 2_000) {
        await writer.mset(...names.slice(i, i + 2_000).flatMap((k) => [k, VALUE]));
      }
      writer.disconnect();
      servers.push(server);
    }
    const [redis, rawServer, nodeServer, bentoServer] = servers as [
      RedisHandle,
      RedisHandle,
      RedisHandle,
      RedisHandle,
    ];
    const sequence = zipfSequence(KEY_COUNT, 1 << 20);
    const options = (url: string) => ({ ...toIORedisOptions(url), maxRetriesPerRequest: 0 });

    const raw = new Redis(options(rawServer.url));
    raw.on('error', () => {});
    await ready(raw);
    const hybrid = await trackedHybrid({ redis: redis.url });
    const nodeRedis = createClient({
      url: nodeServer.url,
      RESP: 3,
      clientSideCache: new BasicClientSideCache({ maxEntries: KEY_COUNT }),
    });
    nodeRedis.on('error', () => {});
    await nodeRedis.connect();
    const bentoClient = new Redis(options(bentoServer.url));
    await ready(bentoClient);
    const bento = new BentoCache({
      default: 'cache',
      stores: {
        cache: bentostore()
          .useL1Layer(memoryDriver({ maxSize: '100mb' }))
          .useL2Layer(redisDriver({ connection: bentoClient })),
      },
    });
    const bentoTarget: Target = {
      get: (k) => bento.get({ key: k }),
      set: (k, v) => bento.set({ key: k, value: v, ttl: '1h' }),
    };
    const nodeTarget: Target = {
      get: (k) => nodeRedis.get(k),
      set: (k, v) => nodeRedis.set(k, v),
    };

    const [ours, rawRuns, nodeRuns, bentoRuns] = (await alternate(rounds, [
      () => load(hybrid, sequence, names, durationMs),
      () => load(raw, sequence, names, durationMs),
      () => load(nodeTarget, sequence, names, durationMs),
      () => load(bentoTarget, sequence, names, durationMs),
    ])) as LoadResult[][];
    const near = hybrid.stats().near!;
    const memoryCalls = hybrid.stats().memory.calls;
    await hybrid.close();
    await nodeRedis.quit().catch(() => {});
    await bento.disconnect();
    raw.disconnect();

    const vs = (peer: LoadResult[]): number =>
      median(ours!.map((o, i) => o.opsPerSec / peer[i]!.opsPerSec));
    const errors = (runs: LoadResult[]): number => runs.reduce((n, r) => n + r.errors, 0);
    const row = (runs: LoadResult[]): Pick<Row, 'opsPerSec' | 'p50Ms' | 'p99Ms' | 'maxMs'> => ({
      opsPerSec: median(runs.map((r) => r.opsPerSec)),
      p50Ms: median(runs.map((r) => r.latency.p50)),
      p99Ms: median(runs.map((r) => r.latency.p99)),
      maxMs: Math.max(...runs.map((r) => r.latency.max)),
    });
    const hitRatio = near.hits / Math.max(1, near.hits + near.misses);
    const ok = errors(ours!) === 0 && memoryCalls === 0;
    const rawRatio = vs(rawRuns!);
    const nodeRatio = vs(nodeRuns!);
    return {
      rows: [
        {
          case: CASE,
          subject: '@x/hybrid-client (near cache)',
          ...row(ours!),
          ratio: rawRatio,
          bar: '≥ 5× raw ioredis',
          met: rawRatio >= 5 && ok,
          note: `near hit ratio ${(hitRatio * 100).toFixed(1)} %, ${near.invalidations} invalidations${errors(ours!) > 0 ? `; ${errors(ours!)} errors` : ''}`,
        },
        {
          case: CASE,
          subject: '@x/hybrid-client vs node-redis client-side cache',
          ratio: nodeRatio,
          bar: '≥ 1.5× node-redis CSC',
          met: nodeRatio >= 1.5 && ok,
          note: 'ratio = ours / node-redis ops/s, per round',
        },
        { case: CASE, subject: 'raw ioredis', ...row(rawRuns!), note: noteOf(rawRuns!) },
        {
          case: CASE,
          subject: 'node-redis 6 (clientSideCache, RESP3)',
          ...row(nodeRuns!),
          note: noteOf(nodeRuns!),
        },
        {
          case: CASE,
          subject: 'bentocache L1 + L2 (Redis)',
          ...row(bentoRuns!),
          ratio: vs(bentoRuns!),
          note: `ratio = ours / bentocache (no bus: its L1 is not kept coherent with other writers)${noteOf(bentoRuns!) ? `; ${noteOf(bentoRuns!)}` : ''}`,
        },
      ],
    };
  },
};

/** Resolves once `client` is connected (these clients have no offline queue). */
function ready(client: Redis): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => client.once('ready', () => resolve()));
}

function noteOf(runs: LoadResult[]): string | undefined {
  const errors = runs.reduce((n, r) => n + r.errors, 0);
  return errors > 0 ? `${errors} errors` : undefined;
}
