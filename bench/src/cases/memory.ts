import { createHybridClient } from '@x/hybrid-client';
import { createLocalCache } from '@x/local-cache';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { LRUCache } from 'lru-cache';
import type { BenchCase, BenchContext, CaseResult } from '../_internal/context';
import { compareLoops, type LoopBody } from '../_internal/micro';
import { benchRedis, keys } from '../_internal/redis';
import type { Row } from '../_internal/report';
import { median } from '../_internal/stats';

const CASE = '2 memory path';
const BAR_NS = 1_000;
const KEYS = keys('hot', 1_000);
const VALUE = 'v'.repeat(100);
let sink: unknown;

interface Subject {
  name: string;
  body: LoopBody;
  /** Bar applies (ours); otherwise a peer or an informational row. */
  ours: boolean;
  /** Name of the peer subject this one is compared with (the ratio column). */
  vs?: string;
}

/**
 * Case 2: the cost of one call served from memory: the hybrid client in fallback (Redis is gone)
 * for GET, SET and a `getOrSet` hit, against bentocache's L1 hit (memory driver) and lru-cache's
 * `get`. Each loop runs N calls on 1 000 hot keys; a bare loop over the same keys is subtracted.
 */
export const memoryCase: BenchCase = {
  async run(ctx: BenchContext): Promise<CaseResult> {
    const dead = await benchRedis();
    const url = dead.url;
    await dead.kill();
    const hybrid = await createHybridClient({ redis: url, logger: false });
    if (hybrid.activeBackend !== 'fallback') throw new Error('hybrid client is not in fallback');
    const bento = new BentoCache({
      default: 'memory',
      stores: { memory: bentostore().useL1Layer(memoryDriver({ maxSize: '100mb' })) },
    });
    const lru = new LRUCache<string, string>({ max: 10_000 });
    const local = createLocalCache();
    const loader = (): string => VALUE;
    const bentoFactory = (): string => VALUE;
    for (const key of KEYS) {
      await hybrid.set(key, VALUE, { ttl: 3_600_000 });
      await bento.set({ key, value: VALUE, ttl: '1h' });
      lru.set(key, VALUE);
      local.set(key, VALUE);
    }
    const len = KEYS.length;

    const subjects: Subject[] = [
      {
        name: '@x/hybrid-client get (fallback, hit)',
        ours: true,
        vs: 'bentocache get (L1 hit)',
        body: async (k) => {
          for (let i = 0; i < k; i++) sink = await hybrid.get(KEYS[i % len]!);
        },
      },
      {
        name: '@x/hybrid-client set (fallback)',
        ours: true,
        vs: 'bentocache set (L1)',
        body: async (k) => {
          for (let i = 0; i < k; i++) sink = await hybrid.set(KEYS[i % len]!, VALUE);
        },
      },
      {
        name: '@x/hybrid-client getOrSet hit (fallback)',
        ours: true,
        vs: 'bentocache getOrSet hit (L1)',
        body: async (k) => {
          for (let i = 0; i < k; i++) sink = await hybrid.getOrSet(KEYS[i % len]!, loader);
        },
      },
      {
        name: 'bentocache get (L1 hit)',
        ours: false,
        body: async (k) => {
          for (let i = 0; i < k; i++) sink = await bento.get({ key: KEYS[i % len]! });
        },
      },
      {
        name: 'bentocache set (L1)',
        ours: false,
        body: async (k) => {
          for (let i = 0; i < k; i++) sink = await bento.set({ key: KEYS[i % len]!, value: VALUE });
        },
      },
      {
        name: 'bentocache getOrSet hit (L1)',
        ours: false,
        body: async (k) => {
          for (let i = 0; i < k; i++)
            sink = await bento.getOrSet({ key: KEYS[i % len]!, factory: bentoFactory });
        },
      },
      {
        name: 'lru-cache get (sync)',
        ours: false,
        body: (k) => {
          for (let i = 0; i < k; i++) sink = lru.get(KEYS[i % len]!);
        },
      },
      {
        name: '@x/local-cache get (sync, info)',
        ours: false,
        body: (k) => {
          for (let i = 0; i < k; i++) sink = local.get(KEYS[i % len]!);
        },
      },
    ];
    const baseline: LoopBody = (k) => {
      for (let i = 0; i < k; i++) sink = KEYS[i % len];
    };

    const { base, totals } = await compareLoops(
      baseline,
      subjects.map((s) => s.body),
      // Micro loops are cheap: more rounds make the median robust to a busy machine.
      { rounds: ctx.rounds + 1, targetMs: ctx.quick ? 20 : 60 },
    );
    const backend = hybrid.activeBackend;
    await hybrid.close();
    await bento.disconnect();
    local.close();
    void sink;

    const cost = totals.map((t) => median(t.map((v, r) => v - base[r]!)));
    const best = totals.map((t) => Math.min(...t.map((v, r) => v - base[r]!)));
    const rows: Row[] = subjects.map((s, i) => {
      const peer = s.vs === undefined ? -1 : subjects.findIndex((p) => p.name === s.vs);
      const ratio = peer < 0 ? undefined : median(totals[peer]!) / median(totals[i]!);
      return {
        case: CASE,
        subject: s.name,
        opsPerSec: 1e9 / median(totals[i]!),
        nsPerOp: cost[i]!,
        ratio,
        bar: s.ours ? `≤ ${BAR_NS} ns per call` : undefined,
        met: s.ours ? cost[i]! <= BAR_NS && backend === 'fallback' : undefined,
        note: `${s.ours ? `ratio vs ${s.vs}; ` : ''}best round ${Math.round(best[i]!)} ns`,
      };
    });
    return { rows };
  },
};
