import { type BackoffOptions, computeDelay, resolveBackoffOptions } from './backoff.js';

/** The shape of ioredis' `retryStrategy` / `clusterRetryStrategy` option. */
export type RetryStrategy = (times: number) => number | null;

/**
 * Turns backoff options into an ioredis `retryStrategy`: ioredis calls it with the number of
 * reconnection attempts since the last successful connection (1, 2, ...) and waits the returned
 * number of ms, or stops reconnecting (status `end`) on `null`.
 *
 * Each call of `toRetryStrategy` returns an independent function: give every client its own
 * (the `'decorrelated'` jitter remembers the previous delay).
 * @example
 * new Redis({ retryStrategy: toRetryStrategy({ jitter: 'full', minDelayMs: 50, maxDelayMs: 500 }) });
 * @throws ReconnectOptionsError when an option is invalid.
 */
export function toRetryStrategy(options: BackoffOptions = {}): RetryStrategy {
  const resolved = resolveBackoffOptions(options);
  let previous = resolved.minDelayMs;
  return (times: number): number | null => {
    const attempt = Number.isFinite(times) && times >= 1 ? Math.floor(times) : 1;
    if (attempt > resolved.maxAttempts) return null;
    // ioredis restarts `times` at 1 after a successful connection: start the sequence over.
    if (attempt === 1) previous = resolved.minDelayMs;
    previous = computeDelay(attempt, resolved, previous);
    return previous;
  };
}
