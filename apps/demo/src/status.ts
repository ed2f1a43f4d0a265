import type { HealthChecker } from '@x/health';
import type { HybridClient } from '@x/hybrid-client';
import type { RateLimiter } from '@x/ratelimit';
import type { Diagnosis } from './diagnosis';
import type { DemoEvent, EventBus } from './events';
import type { ItemStats } from './item-stats';

/** One PING of the health checker, for the sparkline (`latencyMs: null` = failed). */
export interface LatencySample {
  at: number;
  latencyMs: number | null;
}

/** The last PINGs, bounded. */
export interface LatencyHistory {
  push(sample: LatencySample): void;
  samples(): LatencySample[];
}

/** A ring of at most `size` samples. */
export function createLatencyHistory(size = 60): LatencyHistory {
  const ring: LatencySample[] = [];
  return {
    push(sample) {
      ring.push(sample);
      if (ring.length > size) ring.shift();
    },
    samples: () => ring.slice(),
  };
}

/** How each feature runs right now, in words (shown on the status page). */
export interface Modes {
  cache: string;
  sessions: string;
  locks: string;
  rateLimit: string;
  events: string;
}

/** What `/status` reads. */
export interface StatusSources {
  startedAt: number;
  /** Redacted Redis address, or `undefined` without Redis. */
  redisUrl: string | undefined;
  cache: HybridClient;
  /** The rate limiters of every policy. */
  limiters: readonly RateLimiter[];
  health: HealthChecker | undefined;
  history: LatencyHistory;
  items: ItemStats;
  /** The connection's diagnosis, or `null` when nothing is wrong (or there is no Redis). */
  diagnosis(): Diagnosis | null;
  modes(): Modes;
  events: EventBus;
}

/** The `/status` document. */
export interface StatusDocument {
  /** `'primary'` (Redis) or `'fallback'` (memory). */
  activeBackend: 'primary' | 'fallback';
  /** The breaker in front of Redis (`closed`, `open`, `half-open`, `isolated`); `null` without Redis. */
  breaker: string | null;
  instance: string;
  uptimeSeconds: number;
  redis: {
    configured: boolean;
    url: string | null;
    /** The connection's state (`connecting`, `ready`, `unusable`, `closed`); `null` without Redis. */
    state: string | null;
    health: string;
    latencyMs: number | null;
    p99LatencyMs: number | null;
    latencyHistory: LatencySample[];
  };
  /** What is wrong with Redis, when something is: kind, the server's words, the hint, since when. */
  problem: Diagnosis | null;
  cache: {
    hitRatio: number | null;
    /** The latest answer of `GET /items/:id` (any client), or `null` before the first. */
    lastAnswer: { from: string; tookMs: number; at: string; ageMs: number } | null;
  };
  counters: {
    hits: number;
    misses: number;
    /** Item answers served from memory (Redis unavailable or not configured). */
    fallbackHits: number;
    failovers: number;
    recoveries: number;
    rateLimitAllowed: number;
    rateLimitRejected: number;
    /** Rate-limit decisions made by the in-process limiter (Redis unavailable or not configured). */
    rateLimitLocal: number;
  };
  modes: Modes;
  events: DemoEvent[];
}

/** Builds the `/status` document (cheap: no Redis call, safe to poll every 500 ms). */
export function buildStatus(sources: StatusSources): StatusDocument {
  const items = sources.items.counts();
  const cache = sources.cache.stats();
  const health = sources.health?.stats();
  const hits = items.redis + items.memory;
  const lookups = hits + items.source;
  const samples = sources.history.samples();
  const last = sources.items.lastAnswer();
  const now = Date.now();
  let allowed = 0;
  let rejected = 0;
  let local = 0;
  for (const limiter of sources.limiters) {
    for (const [source, outcomes] of Object.entries(limiter.stats().decisions)) {
      allowed += outcomes.allowed;
      rejected += outcomes.refused;
      if (source !== 'redis') local += outcomes.allowed + outcomes.refused;
    }
  }
  return {
    activeBackend: cache.activeBackend,
    breaker: cache.redis?.breaker ?? null,
    instance: sources.events.instance,
    uptimeSeconds: Math.round((now - sources.startedAt) / 1000),
    redis: {
      configured: sources.redisUrl !== undefined,
      url: sources.redisUrl ?? null,
      state: cache.redis?.state ?? null,
      health: health ? health.status : 'not configured',
      // The latest check's latency: `null` while the latest PING failed.
      latencyMs: round(samples.at(-1)?.latencyMs ?? null),
      p99LatencyMs: round(health?.latency.p99 ?? null),
      latencyHistory: samples,
    },
    problem: sources.diagnosis(),
    cache: {
      hitRatio: lookups === 0 ? null : hits / lookups,
      lastAnswer: last && {
        from: last.from,
        tookMs: last.tookMs,
        at: new Date(last.at).toISOString(),
        ageMs: now - last.at,
      },
    },
    counters: {
      hits,
      misses: items.source,
      fallbackHits: items.memory,
      failovers: cache.failovers,
      recoveries: cache.recoveries,
      rateLimitAllowed: allowed,
      rateLimitRejected: rejected,
      rateLimitLocal: local,
    },
    modes: sources.modes(),
    events: sources.events.recent().slice(-20),
  };
}

function round(value: number | null): number | null {
  return value === null ? null : Math.round(value * 1000) / 1000;
}
