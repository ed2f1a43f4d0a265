import { setImmediate as nextTurn } from 'node:timers/promises';
import { createHybridClient, type HybridClient } from '@x/hybrid-client';
import type { RedisHandle } from '@x/testkit';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisDriver } from 'bentocache/drivers/redis';
import { AnswerProbe } from '../_internal/answer-probe';
import type { BenchCase, BenchContext, CaseResult } from '../_internal/context';
import { benchRedis, keys } from '../_internal/redis';
import type { FailoverRow, Row } from '../_internal/report';
import { LatencyRecorder } from '../_internal/stats';
import { WatchedRedis } from '../_internal/watched-redis';

const WORKERS = 50;
const KEYS = keys('f', 1_000);
const VALUE = 'v'.repeat(100);
const SLOT_MS = 100;
const SLOW_MS = 1_000;
/** After the end of the run, how long unfinished calls get before they count as stuck. */
const DRAIN_MS = 3_000;
const BARS = { kill: 100, freeze: 300, backOnRedis: 500 } as const;

type Fault = 'kill' | 'freeze';

interface Timeline {
  faultMs: number;
  recoverMs: number;
  totalMs: number;
}

interface Target {
  get(key: string): Promise<unknown>;
  set(key: string, value: string): Promise<unknown>;
  /** Called when Redis is restarted / resumed (performance.now()). */
  recovering?(at: number): void;
  /** When traffic was back on Redis after `recovering()`, if it was. */
  backOnRedis(): number | undefined;
  /** Called right before a call, for subjects that can tell which backend serves it. */
  onRedisNow?(): boolean;
  note(): string | undefined;
  close(): Promise<void>;
}

interface Subject {
  name: string;
  ours: boolean;
  /** Workers never yield to the event loop between calls. */
  tight: boolean;
  create(url: string): Promise<Target>;
}

function watched(url: string): WatchedRedis {
  // Default options: this is what a user of the peer gets without tuning.
  const client = new WatchedRedis(url);
  client.on('error', () => {});
  return client;
}

const rawIoredis: Subject = {
  name: 'raw ioredis (defaults)',
  ours: false,
  tight: false,
  async create(url) {
    const client = watched(url);
    await client.ping();
    return {
      get: (k) => client.get(k),
      set: (k, v) => client.set(k, v),
      recovering: (at) => client.watchFrom(at),
      backOnRedis: () => (client.firstReplyAfter >= 0 ? client.firstReplyAfter : undefined),
      note: () => undefined,
      async close() {
        client.disconnect();
      },
    };
  },
};

const bentocache: Subject = {
  name: 'bentocache L1+L2 (defaults)',
  ours: false,
  tight: false,
  async create(url) {
    const client = watched(url);
    await client.ping();
    const bento = new BentoCache({
      default: 'cache',
      stores: {
        cache: bentostore()
          .useL1Layer(memoryDriver())
          .useL2Layer(redisDriver({ connection: client })),
      },
    });
    return {
      get: (k) => bento.get({ key: k }),
      set: (k, v) => bento.set({ key: k, value: v }),
      recovering: (at) => client.watchFrom(at),
      backOnRedis: () => (client.firstReplyAfter >= 0 ? client.firstReplyAfter : undefined),
      note: () => undefined,
      async close() {
        client.disconnect();
      },
    };
  },
};

function hybrid(tight: boolean): Subject {
  return {
    name: `@x/hybrid-client (defaults)${tight ? ', tight loop' : ''}`,
    ours: true,
    tight,
    async create(url) {
      let logLines = 0;
      const client: HybridClient = await createHybridClient({
        redis: url,
        // Counted instead of printed: stdout carries the report.
        logger: () => {
          logLines++;
        },
      });
      if (client.activeBackend !== 'primary')
        throw new Error('hybrid client did not start on Redis');
      let failovers = 0;
      let recoveries = 0;
      let recoverAt = -1;
      client.on('failover', () => {
        failovers++;
      });
      client.on('recover', () => {
        recoveries++;
        recoverAt = performance.now();
      });
      return {
        get: (k) => client.get(k),
        set: (k, v) => client.set(k, v),
        onRedisNow: () => client.activeBackend === 'primary',
        backOnRedis: () => undefined,
        note: () =>
          `${failovers} failover / ${recoveries} recover events, ${logLines} log lines` +
          (recoverAt >= 0 ? '' : ', never recovered'),
        async close() {
          await client.close();
        },
      };
    },
  };
}

async function runOne(
  subject: Subject,
  fault: Fault,
  timeline: Timeline,
  probe: AnswerProbe,
): Promise<{ row: FailoverRow; latency: LatencyRecorder; elapsedMs: number }> {
  const redis: RedisHandle = await benchRedis();
  const target = await subject.create(redis.url);
  const latency = new LatencyRecorder();
  const slots = new Uint32Array(Math.ceil((timeline.totalMs + DRAIN_MS) / SLOT_MS) + 10);
  let errors = 0;
  let slow = 0;
  let ok = 0;
  let firstError: unknown;
  let done = 0;
  let step = 0;
  let recoverIssued = Number.POSITIVE_INFINITY;
  let answered: Promise<number> | undefined;
  let ourBackAt = Number.POSITIVE_INFINITY;
  // Worst call by the phase it started in: before the fault, during it, after the restart.
  const maxByPhase = [0, 0, 0];

  const t0 = performance.now();
  const faultAt = t0 + timeline.faultMs;
  const recoverAt = t0 + timeline.recoverMs;
  const end = t0 + timeline.totalMs;

  // Driven by a timer and after every call, so the schedule holds even when the workers starve
  // the event loop (the fault actions send their signal / spawn synchronously).
  const tick = (now: number): void => {
    if (step === 0 && now >= faultAt) {
      step = 1;
      void (fault === 'kill' ? redis.kill() : redis.freeze());
    } else if (step === 1 && now >= recoverAt) {
      step = 2;
      recoverIssued = performance.now();
      target.recovering?.(recoverIssued);
      answered = probe.watch(redis.port);
      void (fault === 'kill' ? redis.restart() : redis.resume());
    }
  };
  const timer = setInterval(() => tick(performance.now()), 5);

  const worker = async (w: number): Promise<void> => {
    for (let i = 0; ; i++) {
      const key = KEYS[(w * 37 + i) % KEYS.length]!;
      const onRedis = subject.ours ? target.onRedisNow!() : false;
      const start = performance.now();
      let succeeded = false;
      try {
        await ((i & 1) === 0 ? target.set(key, VALUE) : target.get(key));
        succeeded = true;
      } catch (error) {
        errors++;
        firstError ??= error;
      }
      const now = performance.now();
      const ms = now - start;
      latency.record(ms);
      const phase = start < faultAt ? 0 : start < recoverAt ? 1 : 2;
      if (ms > maxByPhase[phase]!) maxByPhase[phase] = ms;
      if (ms > SLOW_MS) slow++;
      if (succeeded) {
        ok++;
        slots[Math.floor((now - t0) / SLOT_MS)]!++;
        if (onRedis && start >= recoverIssued && now < ourBackAt) ourBackAt = now;
      }
      tick(now);
      if (now >= end) break;
      if (!subject.tight) await nextTurn();
    }
    done++;
  };
  const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
  let drainTimer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(workers),
    new Promise((resolve) => {
      drainTimer = setTimeout(resolve, Math.max(0, end - performance.now()) + DRAIN_MS);
    }),
  ]);
  clearTimeout(drainTimer);
  clearInterval(timer);
  const elapsedMs = performance.now() - t0;
  const stuck = WORKERS - done;
  for (let s = 0; s < stuck; s++) latency.record(elapsedMs);

  let answeredAt: number | undefined;
  if (answered) {
    answeredAt = await Promise.race([
      answered,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 2_000)),
    ]);
  }
  const backAt = subject.ours
    ? Number.isFinite(ourBackAt)
      ? ourBackAt
      : undefined
    : target.backOnRedis();
  const backOnRedisMs =
    backAt === undefined || answeredAt === undefined ? undefined : Math.max(0, backAt - answeredAt);

  const first = Math.floor(timeline.faultMs / SLOT_MS);
  const last = Math.floor(timeline.recoverMs / SLOT_MS);
  let up = 0;
  let inFault = 0;
  for (let s = first; s < last; s++) {
    if (slots[s]! > 0) up++;
    inFault += slots[s]!;
  }
  const total = latency.count;
  const summary = latency.summary();
  const why = firstError instanceof Error ? `${firstError.name}: ${firstError.message}` : undefined;
  const row: FailoverRow = {
    fault,
    subject: subject.name,
    ops: total,
    errors,
    slow: slow + stuck,
    maxMs: summary.max,
    successRate: total === 0 ? 0 : ok / total,
    availability: up / (last - first),
    faultOpsPerSec: inFault / ((timeline.recoverMs - timeline.faultMs) / 1000),
    backOnRedisMs,
    stuck,
    note:
      [
        `max before / during / after the fault: ${maxByPhase.map((m) => Math.round(m)).join(' / ')} ms`,
        target.note(),
        why?.slice(0, 90),
      ]
        .filter(Boolean)
        .join('; ') || undefined,
  };
  await Promise.race([target.close(), new Promise((resolve) => setTimeout(resolve, 1_000))]);
  await redis.stop();
  return { row, latency, elapsedMs };
}

/**
 * Case 6: 50 workers doing SET/GET for 12 s; Redis is SIGKILLed at 3 s and restarted at 7 s,
 * then the same with SIGSTOP / SIGCONT. Raw ioredis and bentocache with their defaults against
 * the hybrid client with its defaults, the latter also with workers that never yield between
 * calls. "Back on Redis" counts from the moment Redis answers PING again (seen from another
 * thread) to the first call served by Redis.
 */
export const failoverCase: BenchCase = {
  async run(ctx: BenchContext): Promise<CaseResult> {
    const timeline: Timeline = ctx.quick
      ? { faultMs: 1_500, recoverMs: 3_500, totalMs: 6_000 }
      : { faultMs: 3_000, recoverMs: 7_000, totalMs: 12_000 };
    const subjects = [rawIoredis, bentocache, hybrid(false), hybrid(true)];
    const probe = new AnswerProbe();
    const rows: Row[] = [];
    const failover: FailoverRow[] = [];
    try {
      for (const fault of ['kill', 'freeze'] as const) {
        const caseName = `6 failover (${fault === 'kill' ? 'SIGKILL + restart' : 'SIGSTOP + SIGCONT'})`;
        let peerOps: number | undefined;
        for (const subject of subjects) {
          ctx.log(`  ${fault}: ${subject.name}`);
          const { row, latency, elapsedMs } = await runOne(subject, fault, timeline, probe);
          failover.push(row);
          const s = latency.summary();
          const opsPerSec = (row.ops / elapsedMs) * 1000;
          if (subject === rawIoredis) peerOps = opsPerSec;
          const maxBar = BARS[fault];
          const misses: string[] = [];
          if (subject.ours) {
            if (row.errors > 0) misses.push(`${row.errors} errors`);
            if (row.stuck > 0) misses.push(`${row.stuck} stuck`);
            if (!(row.maxMs <= maxBar)) misses.push(`max ${Math.round(row.maxMs)} ms`);
            if (row.backOnRedisMs === undefined) misses.push('never back on Redis');
            else if (row.backOnRedisMs > BARS.backOnRedis)
              misses.push(`back on Redis after ${Math.round(row.backOnRedisMs)} ms`);
          }
          rows.push({
            case: caseName,
            subject: subject.name,
            opsPerSec,
            p50Ms: s.p50,
            p99Ms: s.p99,
            maxMs: s.max,
            ratio: subject.ours && peerOps ? opsPerSec / peerOps : undefined,
            bar: subject.ours
              ? `0 errors, max ≤ ${maxBar} ms, back on Redis ≤ ${BARS.backOnRedis} ms`
              : undefined,
            met: subject.ours ? misses.length === 0 : undefined,
            note: subject.ours
              ? misses.join(', ') || undefined
              : `${row.errors} errors, ${row.slow} calls > 1 s`,
          });
        }
      }
    } finally {
      await probe.close();
    }
    return { rows, failover };
  },
};
