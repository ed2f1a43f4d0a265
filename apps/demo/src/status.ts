import type { HealthChecker } from '@x/health';
import type { DemoEvent, EventBus } from './events';
import type { Backend, Metrics } from './metrics';

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
  activeBackend(): Backend;
  breakerState(): string;
  health: HealthChecker | undefined;
  history: LatencyHistory;
  metrics: Metrics;
  modes(): Modes;
  events: EventBus;
}

/** The `/status` document. */
export interface StatusDocument {
  activeBackend: Backend;
  breaker: string;
  instance: string;
  uptimeSeconds: number;
  redis: {
    configured: boolean;
    url: string | null;
    health: string;
    latencyMs: number | null;
    p99LatencyMs: number | null;
    latencyHistory: LatencySample[];
  };
  cache: { hitRatio: number | null };
  counters: {
    hits: number;
    misses: number;
    errors: number;
    fallbackHits: number;
    failovers: number;
    recoveries: number;
    rateLimitAllowed: number;
    rateLimitRejected: number;
    rateLimitLocal: number;
  };
  modes: Modes;
  events: DemoEvent[];
}

/** Builds the `/status` document (cheap: no Redis call, safe to poll every 500 ms). */
export function buildStatus(sources: StatusSources): StatusDocument {
  const counts = sources.metrics.snapshot();
  const health = sources.health?.stats();
  const lookups = counts.hits + counts.misses;
  const samples = sources.history.samples();
  return {
    activeBackend: sources.activeBackend(),
    breaker: sources.breakerState(),
    instance: sources.events.instance,
    uptimeSeconds: Math.round((Date.now() - sources.startedAt) / 1000),
    redis: {
      configured: sources.redisUrl !== undefined,
      url: sources.redisUrl ?? null,
      health: health ? health.status : 'not configured',
      // The latest check's latency: `null` while the latest PING failed.
      latencyMs: round(samples.at(-1)?.latencyMs ?? null),
      p99LatencyMs: round(health?.latency.p99 ?? null),
      latencyHistory: samples,
    },
    cache: { hitRatio: lookups === 0 ? null : counts.hits / lookups },
    counters: {
      hits: counts.hits,
      misses: counts.misses,
      errors: counts.errors,
      fallbackHits: counts.fallbackHits,
      failovers: counts.failovers,
      recoveries: counts.recoveries,
      rateLimitAllowed: counts.allowed,
      rateLimitRejected: counts.rejected,
      rateLimitLocal: counts.localDecisions,
    },
    modes: sources.modes(),
    events: sources.events.recent().slice(-20),
  };
}

function round(value: number | null): number | null {
  return value === null ? null : Math.round(value * 1000) / 1000;
}
