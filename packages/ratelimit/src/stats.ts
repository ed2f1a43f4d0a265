import type { RedisStats } from '@x/connection';
import type { RateLimitSource } from './types.js';

/** Outcomes of the `consume` decisions of one source (monotonic counters). */
export interface DecisionOutcomes {
  /** Requests admitted (and charged). */
  allowed: number;
  /** Requests refused (never charged). */
  refused: number;
}

/**
 * Counters and state of a limiter: monotonic counters (read by `@x/otel` at collection time, so
 * counting costs nothing on the hot path) and gauges.
 */
export interface RateLimiterStats {
  /** The connection's block, as in every x package: state, calls, failures, breaker, problem... */
  redis: RedisStats;
  /** Where decisions come from now (see `RateLimiter.source`). */
  source: RateLimitSource;
  /**
   * `consume` decisions by source and outcome: `redis` (the shared limit), `local` (the
   * in-process fallback limiter), `open` (admitted uncounted), `closed` (refused uncounted).
   */
  decisions: Record<RateLimitSource, DecisionOutcomes>;
  /** `peek` calls answered (by any source). */
  peeks: number;
  /** `reset` calls that reached Redis. */
  resets: number;
  /** `reset` calls rejected because Redis was unavailable (the local state was reset all the same). */
  resetFailures: number;
  /** Times decisions changed source (`'redis'` → fallback and back: two). */
  sourceChanges: number;
  /** Keys the local limiter holds now (0 unless `fallback: 'local'`). */
  localKeys: number;
}

/** @internal The counters behind {@link RateLimiterStats}: plain fields, incremented in place. */
export class DecisionCounts {
  redisAllowed = 0;
  redisRefused = 0;
  localAllowed = 0;
  localRefused = 0;
  openAllowed = 0;
  closedRefused = 0;
  peeks = 0;
  resets = 0;
  resetFailures = 0;
  sourceChanges = 0;

  /** Counts a `consume` decided by a fallback. */
  fallback(source: RateLimitSource, allowed: boolean): void {
    if (source === 'local') {
      if (allowed) this.localAllowed++;
      else this.localRefused++;
    } else if (source === 'open') this.openAllowed++;
    else if (source === 'closed') this.closedRefused++;
  }

  /** The `decisions` block of the stats. */
  decisions(): Record<RateLimitSource, DecisionOutcomes> {
    return {
      redis: { allowed: this.redisAllowed, refused: this.redisRefused },
      local: { allowed: this.localAllowed, refused: this.localRefused },
      open: { allowed: this.openAllowed, refused: 0 },
      closed: { allowed: 0, refused: this.closedRefused },
    };
  }
}
