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

/**
 * The outcome of `consume()` or `peek()`, the same for every algorithm.
 *
 * Every field has one meaning, the same on Redis (`source: 'redis'`, times on the Redis server's
 * clock) and in the local fallback (`'local'`, the process clock). `now` below is the time the
 * decision was made; `cost` is the request's cost (1 for `peek()`, which charges nothing).
 *
 * - `allowed`: `consume()`: the request was admitted and charged. `peek()`: a request of cost 1
 *   would be admitted now.
 * - `remaining`: the largest cost a request made right after this decision would be admitted with
 *   (whole units, never negative): after the charge when admitted; nothing is charged when
 *   refused, so a refused request always has `remaining < cost` (`0` for a refused cost of 1).
 * - `retryAfterMs`: `0` when allowed. When refused: the earliest whole number of milliseconds
 *   after `now` at which the same request (same cost) is admitted if nothing else is charged to
 *   the key meanwhile, always `>= 1`; it is admitted at any later time as well. It is a wait, not
 *   a reservation: other requests can take the quota first.
 * - `resetAt`: epoch milliseconds from which, if nothing else is charged, the key's whole quota is
 *   available again (`remaining` back to `limit`). Never before `now`; when refused never before
 *   `now + retryAfterMs`.
 *
 * Per algorithm (`interval` = `windowMs / limit`):
 *
 * | algorithm | `remaining` | `resetAt` | `retryAfterMs` when refused |
 * | --- | --- | --- | --- |
 * | `fixed-window` | `limit` minus the count of the current window | the end of the current window (also for a key with no count yet) | `resetAt - now`: the next window |
 * | `sliding-window` | `limit - estimate`, rounded down; estimate = previous window's count × the share of it still inside the sliding window + current window's count | when the estimate is 0 again: the end of the next window while the current window has a count, else the end of the current window while the previous one still weighs, else `now` | until the estimate has decayed by enough for `cost`: within the current window (the previous count slides out) or in the next one (the current count slides out) |
 * | `token-bucket` | whole tokens in the bucket | when the bucket is full again | until `cost` tokens are in the bucket: `(cost - tokens) × interval` |
 * | `gcra` | `(windowMs - (tat - now)) / interval`, rounded down (`tat`: theoretical arrival time) | `tat` | until `tat + cost × interval - windowMs` |
 *
 * When Redis is unavailable with `fallback: 'open'`: `allowed: true`, `remaining: limit`,
 * `resetAt: now + windowMs`, `retryAfterMs: 0`; with `'closed'`: `allowed: false`,
 * `remaining: 0`, `resetAt: now + windowMs`, `retryAfterMs: windowMs`.
 *
 * Precision: `token-bucket` and `gcra` keep their time in 1/4096 ms, so with a `limit` above
 * 4096 × `windowMs` (an interval under 1/4096 ms) `remaining` is approximate by a few units.
 */
export interface RateLimitResult {
  /** Whether the request is admitted (for `peek()`: whether a request of cost 1 would be). */
  allowed: boolean;
  /** The limit that applied (the local limit when `source` is `'local'`). */
  limit: number;
  /**
   * The largest cost a request made right after this one would be admitted with (whole units,
   * never negative). Nothing is charged when refused, so a refused request has
   * `remaining < cost` (`0` for a refused cost of 1).
   */
  remaining: number;
  /**
   * Epoch milliseconds (on the clock that decided: the Redis server's for `source: 'redis'`) from
   * which, if nothing else is charged, the whole quota is available again. `fixed-window`: the
   * end of the current window. Never before the decision; when refused, never before
   * decision time + `retryAfterMs`. See {@link RateLimitResult} for each algorithm.
   */
  resetAt: number;
  /**
   * `0` when allowed. When refused: the earliest wait in whole milliseconds (`>= 1`) after which
   * the same request (same cost; cost 1 for `peek()`) is admitted if nothing else is charged to
   * the key meanwhile. Relative, so free of clock skew between hosts.
   */
  retryAfterMs: number;
  /** Where the decision came from. */
  source: RateLimitSource;
}
