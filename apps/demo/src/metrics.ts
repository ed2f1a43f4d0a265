import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Where the cache read was answered from, as reported to clients and metrics. */
export type Backend = 'primary' | 'fallback';
/** Outcome of one cache operation. */
export type Outcome = 'hit' | 'miss' | 'error';

/** Breaker states exported as a one-hot gauge (`x_breaker_state{state="open"} 1`). */
const BREAKER_STATES = ['closed', 'open', 'half-open', 'isolated'] as const;
const BACKENDS: readonly Backend[] = ['primary', 'fallback'];

/** Live readings the gauges sample at scrape time (nothing is polled in the background). */
export interface MetricsProbes {
  activeBackend(): Backend;
  breakerState(): string;
  /** Redis `used_memory` in bytes, or `undefined` (exported as 0) when Redis is not configured or unreachable. */
  redisUsedMemory(): Promise<number | undefined>;
}

/** Counters the status page shows. */
export interface MetricsSnapshot {
  hits: number;
  misses: number;
  errors: number;
  fallbackHits: number;
  failovers: number;
  recoveries: number;
  allowed: number;
  rejected: number;
  /** Decisions made by the in-process limiter (Redis unavailable or not configured). */
  localDecisions: number;
}

/** The demo's Prometheus metrics (own registry, so several apps can live in one process). */
export interface Metrics {
  readonly registry: Registry;
  /** Records one cache operation: its backend, outcome and duration. */
  operation(operation: string, backend: Backend, outcome: Outcome, seconds: number): void;
  failover(): void;
  recovery(): void;
  /** A read served from memory while Redis was unavailable. */
  fallbackHit(): void;
  rateLimitDecision(policy: string, allowed: boolean, source: string): void;
  /** Plain counters for the status page (the same numbers the metrics export). */
  snapshot(): MetricsSnapshot;
  /** Prometheus text exposition. */
  render(): Promise<string>;
  readonly contentType: string;
}

/** Creates the registry and every metric the demo exports. */
export function createMetrics(probes: MetricsProbes): Metrics {
  const registry = new Registry();
  const registers = [registry];

  const operations = new Counter({
    name: 'x_operations_total',
    help: 'Cache operations by backend (primary = Redis, fallback = memory) and outcome.',
    labelNames: ['operation', 'backend', 'outcome'] as const,
    registers,
  });
  const latency = new Histogram({
    name: 'x_operation_duration_seconds',
    help: 'Latency of cache operations, including the source load on a miss.',
    labelNames: ['operation', 'backend'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  new Gauge({
    name: 'x_breaker_state',
    help: 'Circuit breaker state in front of Redis (1 for the current state, 0 otherwise).',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const current = probes.breakerState();
      for (const state of BREAKER_STATES) this.set({ state }, state === current ? 1 : 0);
    },
  });
  new Gauge({
    name: 'x_active_backend',
    help: 'Backend serving the cache (1 for the active one): primary = Redis, fallback = memory.',
    labelNames: ['backend'] as const,
    registers,
    collect() {
      const current = probes.activeBackend();
      for (const backend of BACKENDS) this.set({ backend }, backend === current ? 1 : 0);
    },
  });
  const failovers = new Counter({
    name: 'x_failovers_total',
    help: 'Switches from Redis to memory.',
    registers,
  });
  const recoveries = new Counter({
    name: 'x_recoveries_total',
    help: 'Switches from memory back to Redis.',
    registers,
  });
  const fallbackHits = new Counter({
    name: 'x_fallback_hits_total',
    help: 'Cache reads answered from memory while Redis was unavailable or not configured.',
    registers,
  });
  const decisions = new Counter({
    name: 'x_ratelimit_decisions_total',
    help: 'Rate-limit decisions by policy, decision and where it was made (redis or local).',
    labelNames: ['policy', 'decision', 'source'] as const,
    registers,
  });
  new Gauge({
    name: 'x_redis_used_memory_bytes',
    help: 'Redis INFO used_memory in bytes (0 when Redis is not configured or unreachable).',
    registers,
    async collect() {
      const bytes = await probes.redisUsedMemory();
      if (bytes === undefined) this.reset();
      else this.set(bytes);
    },
  });

  const counts: MetricsSnapshot = {
    hits: 0,
    misses: 0,
    errors: 0,
    fallbackHits: 0,
    failovers: 0,
    recoveries: 0,
    allowed: 0,
    rejected: 0,
    localDecisions: 0,
  };

  return {
    registry,
    contentType: registry.contentType,
    operation(operation, backend, outcome, seconds) {
      operations.inc({ operation, backend, outcome });
      if (outcome === 'hit') counts.hits += 1;
      else if (outcome === 'miss') counts.misses += 1;
      else counts.errors += 1;
      latency.observe({ operation, backend }, seconds);
    },
    failover() {
      failovers.inc();
      counts.failovers += 1;
    },
    recovery() {
      recoveries.inc();
      counts.recoveries += 1;
    },
    fallbackHit() {
      fallbackHits.inc();
      counts.fallbackHits += 1;
    },
    rateLimitDecision(policy, allowed, source) {
      if (allowed) counts.allowed += 1;
      else counts.rejected += 1;
      if (source !== 'redis') counts.localDecisions += 1;
      decisions.inc({ policy, decision: allowed ? 'allowed' : 'rejected', source });
    },
    snapshot: () => ({ ...counts }),
    render: () => registry.metrics(),
  };
}
