/** The rate-limiting algorithms, all with the same result type. */
export type RateLimitAlgorithm = 'fixed-window' | 'sliding-window' | 'token-bucket' | 'gcra';

/**
 * Where a decision came from: `'redis'` (the shared limit), `'local'` (the in-process fallback
 * limiter), `'open'` (Redis unavailable, request admitted without counting) or `'closed'` (Redis
 * unavailable, request refused).
 */
export type RateLimitSource = 'redis' | 'local' | 'open' | 'closed';

/** What to do when Redis is down, frozen past the deadline, or the breaker is open. */
export type RateLimitFallback = 'local' | 'open' | 'closed';

/** The outcome of `consume()` or `peek()`, the same for every algorithm. */
export interface RateLimitResult {
  /** Whether the request is admitted (for `peek()`: whether a request of cost 1 would be). */
  allowed: boolean;
  /** The limit that applied (the local limit when `source` is `'local'`). */
  limit: number;
  /** Requests (units of cost) still available now, never negative. */
  remaining: number;
  /** Epoch milliseconds at which the quota is fully available again (window end / bucket full). */
  resetAt: number;
  /** Milliseconds to wait before the same request can succeed; 0 when allowed. */
  retryAfterMs: number;
  /** Where the decision came from. */
  source: RateLimitSource;
}
