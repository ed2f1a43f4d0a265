import { type AuthFigures, authChecks } from './auth-invariants';
import { type CoherenceFigures, checkCoherence, type WriteLog } from './coherence';
import type { RotationFigures } from './credential-rotator';
import type { LockInterval, WorkerSummary } from './protocol';
import type { Scenario } from './scenarios';

/** The stated bound on heap growth over a scenario (after GC, end vs start). */
export const HEAP_FACTOR = 3;
/**
 * The stated bound on heap creep in a soak: the heap floor (lowest sample) of the second half of
 * the run after warm-up, over the floor of the first half. A leak raises the floor cycle after
 * cycle; caches that fill up do so during warm-up.
 */
export const SOAK_HEAP_TREND = 1.5;
/** Share of a soak treated as warm-up (caches filling, JIT) before the heap trend is measured. */
export const SOAK_WARMUP = 0.2;
/** Margin on top of the deadline that a cache call may take (timer and scheduling slack). */
export const DEADLINE_MARGIN_MS = 50;

/** The figures of one scenario, one table row. */
export interface Figures {
  crashes: number;
  unhandled: number;
  cacheOps: number;
  cacheFailures: number;
  cacheMaxMs: number;
  cacheOverDeadline: number;
  lockHolds: number;
  lockOverlaps: number;
  lockTokensMonotonic: boolean;
  lockUnavailable: number;
  rateMaxRedisWindow: number;
  rateLimit: number;
  rateMaxLocalWindow: number;
  rateLocalBound: number;
  sessionOk: number;
  sessionFailClosed: number;
  sessionBad: number;
  sessionIntact: string;
  heapFactor: number;
  /** Soak only: heap floor of the late half over the early half (see {@link SOAK_HEAP_TREND}). */
  heapTrend?: number;
  /** Fault/heal pairs measured for failover and recovery times. */
  outages: number;
  failoverMs: number | undefined;
  recoveryMs: number | undefined;
  /** Scenario `credential-rotation` only: credential failures, rotations, kills (auth-invariants.ts). */
  auth?: AuthFigures;
  /** The near-cache invariant (coherence.ts); absent when no write log was given. */
  coherence?: CoherenceFigures;
}

/** What the controller hands to {@link evaluate}. */
export interface Observations {
  scenario: Scenario;
  summaries: WorkerSummary[];
  intervals: LockInterval[];
  crashes: string[];
  faultTimes: number[];
  healTimes: number[];
  operationTimeoutMs: number;
  workers: number;
  rateLimit?: number;
  /** What the controller's credential rotation did (scenario `credential-rotation`). */
  rotation?: RotationFigures;
  /** The acknowledged writes of the shared keys (coherence.ts); the controller always gives it. */
  writeLog?: WriteLog;
}

function lockChecks(intervals: LockInterval[]): { overlaps: number; monotonic: boolean } {
  const sorted = [...intervals].sort((a, b) => a.enter - b.enter);
  let overlaps = 0;
  let monotonic = true;
  let latestExit = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < sorted.length; i++) {
    const cur = sorted[i]!;
    if (cur.enter < latestExit) overlaps++;
    latestExit = Math.max(latestExit, cur.exit);
    if (i > 0 && cur.token <= sorted[i - 1]!.token) monotonic = false;
  }
  return { overlaps, monotonic };
}

function firstBetween(times: number[], from: number, to: number): number | undefined {
  return times.filter((t) => t >= from && t < to).sort((a, b) => a - b)[0];
}

/** Late-half heap floor over early-half floor, after warm-up; undefined with too few samples. */
export function heapTrend(samples: [number, number][], durationMs: number): number | undefined {
  const from = durationMs * SOAK_WARMUP;
  const mid = from + (durationMs - from) / 2;
  const early = samples.filter(([t]) => t >= from && t < mid).map(([, h]) => h);
  const late = samples.filter(([t]) => t >= mid).map(([, h]) => h);
  if (early.length < 5 || late.length < 5) return undefined;
  return Math.min(...late) / Math.min(...early);
}

/** Computes the figures and lists every invariant that broke. */
export function evaluate(o: Observations): { figures: Figures; violations: string[] } {
  const v: string[] = [];
  const sum = (f: (s: WorkerSummary) => number) =>
    o.summaries.reduce((acc, s) => acc + (Number(f(s)) || 0), 0);
  const max = (f: (s: WorkerSummary) => number) =>
    o.summaries.reduce((acc, s) => Math.max(acc, Number(f(s)) || 0), 0);

  const missing = o.workers - o.summaries.filter((s) => s.cache).length;
  const crashes = o.crashes.length + missing;
  const unhandled = o.summaries.reduce((acc, s) => acc + (s.unhandled?.length ?? 0), 0);
  if (crashes) v.push(`crashes: ${o.crashes.join('; ') || `${missing} worker(s) sent no summary`}`);
  if (unhandled)
    v.push(
      `unhandled: ${o.summaries
        .flatMap((s) => s.unhandled ?? [])
        .slice(0, 3)
        .join(' | ')}`,
    );

  const ok = o.summaries.filter((s) => s.cache);
  const cacheFailures = sum((s) => s.cache.failures);
  const cacheOverDeadline = sum((s) => s.cache.overDeadline);
  if (cacheFailures)
    v.push(
      `cache failures: ${ok
        .flatMap((s) => s.cache.errors)
        .slice(0, 3)
        .join(' | ')}`,
    );
  if (cacheOverDeadline)
    v.push(`${cacheOverDeadline} cache call(s) over deadline + ${DEADLINE_MARGIN_MS} ms`);

  const { overlaps, monotonic } = lockChecks(o.intervals);
  if (overlaps) v.push(`${overlaps} overlapping lock hold(s)`);
  if (!monotonic) v.push('fencing tokens did not strictly increase');
  const lockErrors = ok.flatMap((s) => s.lock.errors);
  if (lockErrors.length) v.push(`unexpected lock errors: ${lockErrors.slice(0, 3).join(' | ')}`);

  const limit = o.rateLimit ?? 60;
  let maxRedis = 0;
  let maxLocal = 0;
  const redisWindows = new Map<number, number>();
  for (const s of ok) {
    for (const [source, resetAt, admitted] of s.rate.windows) {
      if (source === 'redis')
        redisWindows.set(resetAt, (redisWindows.get(resetAt) ?? 0) + admitted);
      if (source === 'local') maxLocal = Math.max(maxLocal, admitted);
    }
  }
  for (const n of redisWindows.values()) maxRedis = Math.max(maxRedis, n);
  const localBound = max((s) => s.rate.localLimit) || Math.ceil(limit / o.workers);
  if (maxRedis > limit)
    v.push(`rate limit: ${maxRedis} admitted in one Redis window (limit ${limit})`);
  if (maxLocal > localBound)
    v.push(`rate limit: ${maxLocal} admitted in one local window (bound ${localBound})`);
  const rateErrors = ok.flatMap((s) => s.rate.errors);
  if (rateErrors.length) v.push(`rate limit errors: ${rateErrors.slice(0, 3).join(' | ')}`);

  const sessionBad =
    sum((s) => s.session.wrongData) + ok.reduce((a, s) => a + s.session.errors.length, 0);
  if (sessionBad)
    v.push(
      `sessions: ${
        ok
          .flatMap((s) => s.session.errors)
          .slice(0, 3)
          .join(' | ') || 'wrong data'
      }`,
    );
  const intact = sum((s) => s.session.intact);
  const checked = sum((s) => s.session.checked);
  if (intact < checked) v.push(`sessions: only ${intact}/${checked} intact after the run`);

  const heapFactor = ok.reduce(
    (acc, s) => Math.max(acc, s.heap.before > 0 ? s.heap.after / s.heap.before : 0),
    0,
  );
  if (heapFactor > HEAP_FACTOR)
    v.push(`heap grew ${heapFactor.toFixed(2)}× (bound ${HEAP_FACTOR}×)`);

  let trend: number | undefined;
  if (o.scenario.soak) {
    for (const w of ok) {
      const t = heapTrend(w.heap.samples ?? [], o.scenario.durationMs);
      if (t === undefined) v.push(`worker ${w.id}: too few heap samples for the soak trend`);
      else trend = Math.max(trend ?? 0, t);
    }
    if (trend !== undefined && trend > SOAK_HEAP_TREND)
      v.push(`heap floor rose ${trend.toFixed(2)}× over the soak (bound ${SOAK_HEAP_TREND}×)`);
  }

  // Each fault is paired with the heal that follows it: the first failover between the two is
  // its failover time, the first recovery between the heal and the next fault its recovery time.
  let failoverMs: number | undefined;
  let recoveryMs: number | undefined;
  const outages = o.scenario.outage ? Math.min(o.faultTimes.length, o.healTimes.length) : 0;
  for (let k = 0; k < outages; k++) {
    const fault = o.faultTimes[k]!;
    const heal = o.healTimes[k]!;
    const next = o.faultTimes[k + 1] ?? Number.POSITIVE_INFINITY;
    for (const s of ok) {
      const f = firstBetween(s.failovers, fault - 50, heal);
      const r = firstBetween(s.recoveries, heal, next);
      if (f === undefined) v.push(`worker ${s.id} never failed over after fault ${k + 1}`);
      else failoverMs = Math.max(failoverMs ?? 0, f - fault);
      if (r === undefined) v.push(`worker ${s.id} never recovered after heal ${k + 1}`);
      else recoveryMs = Math.max(recoveryMs ?? 0, r - heal);
    }
  }
  if (o.scenario.outage && outages === 0) v.push('the outage scenario ran no fault/heal pair');

  // ---- credential-rotation: no failure for credentials (auth-invariants.ts) ----
  const auth = authChecks(o.scenario, o.summaries, o.rotation, v);
  // ---- end credential-rotation ----

  // ---- coherence: no read older than the invalidation bound, but the fail-safe's (coherence.ts) ----
  const coherence =
    o.writeLog === undefined
      ? undefined
      : checkCoherence(
          ok.map((s) => ({ id: s.id, reads: s.coherence })),
          o.writeLog,
          v,
        );
  // ---- end coherence ----

  return {
    figures: {
      crashes,
      unhandled,
      cacheOps: sum((s) => s.cache.ops),
      cacheFailures,
      cacheMaxMs: Math.round(max((s) => s.cache.maxLatencyMs)),
      cacheOverDeadline,
      lockHolds: o.intervals.length,
      lockOverlaps: overlaps,
      lockTokensMonotonic: monotonic,
      lockUnavailable: sum((s) => s.lock.unavailable),
      rateMaxRedisWindow: maxRedis,
      rateLimit: limit,
      rateMaxLocalWindow: maxLocal,
      rateLocalBound: localBound,
      sessionOk: sum((s) => s.session.ok),
      sessionFailClosed: sum((s) => s.session.unavailable),
      sessionBad,
      sessionIntact: `${intact}/${checked}`,
      heapFactor: Number(heapFactor.toFixed(2)),
      ...(trend === undefined ? {} : { heapTrend: Number(trend.toFixed(2)) }),
      outages,
      failoverMs,
      recoveryMs,
      ...(auth ? { auth } : {}),
      ...(coherence ? { coherence } : {}),
    },
    violations: v,
  };
}
