// Shared by the express-rate-limit store (express-store.ts) and the @fastify/rate-limit store
// (fastify-store.ts); not part of the public API (index.ts does not export it).
import { RateLimitOptionsError } from './errors.js';
import type { RateLimiter } from './rate-limiter.js';
import type { RateLimitResult } from './types.js';

/**
 * How a decision of the limiter is told to express-rate-limit and @fastify/rate-limit. Both count
 * hits and refuse when `hits > limit`, with the limit and window of their own options; the limiter
 * decides with its algorithm, so the count given to the framework is derived from the decision:
 *
 * - admitted: `limit - remaining`, at least 1 and at most `limit`, so the framework admits it and
 *   its `remaining` header (`limit - hits`) is the limiter's `remaining` (for a local fallback
 *   decision, what is left of the local share);
 * - refused: `limit + 1`, so the framework refuses it, whatever the algorithm.
 *
 * Times: the framework derives `Retry-After` and its reset header from one value. When refused,
 * that is `retryAfterMs` (a relative wait, free of clock skew), so `Retry-After` is exactly the
 * earliest time the request can pass and the reset header is never earlier than it. When admitted,
 * `resetAt` (the whole quota is back), never earlier than now.
 */

/** Hits to report for a decision (see the module comment). */
export function hitsOf(result: RateLimitResult, limit: number): number {
  if (!result.allowed) return limit + 1;
  return Math.min(limit, Math.max(1, limit - result.remaining));
}

/** Milliseconds from `now` until the time the framework should announce for a decision. */
export function resetInMs(result: RateLimitResult, now: number): number {
  if (!result.allowed) return Math.max(result.retryAfterMs, 1);
  return Math.max(result.resetAt - now, 0);
}

/** Hits to report for a `peek()` (what the key has used; 0 when untouched). */
export function usedOf(result: RateLimitResult, limit: number): number {
  return Math.min(limit, Math.max(0, limit - result.remaining));
}

/** The settings of a framework that must equal the limiter's, checked at start-up. */
export interface FrameworkSettings {
  /** The framework's name for the limit, e.g. `limit` or `max`. */
  limitField: string;
  limit: unknown;
  /** The framework's name for the window, e.g. `windowMs` or `timeWindow`. */
  windowField: string;
  windowMs: unknown;
  /**
   * Whether `limit` / `windowMs` may be functions of the request (checked on each call by the
   * store); when not, a function is refused: the store could never check what it returns.
   */
  perRequest: boolean;
  /**
   * Options the store cannot honour, by name: the value given, and whether it asks for the
   * feature (default: when the value is truthy).
   */
  unsupported: Record<string, { value: unknown; set?: boolean; why: string }>;
}

/**
 * Checks that the framework enforces the limiter's limit and window.
 * @throws RateLimitOptionsError naming the framework's option and the value to use instead.
 */
export function checkSettings(limiter: RateLimiter, settings: FrameworkSettings): void {
  for (const [field, value] of [
    [settings.limitField, settings.limit],
    [settings.windowField, settings.windowMs],
  ] as const) {
    if (typeof value === 'function' && !settings.perRequest) {
      throw new RateLimitOptionsError(
        field,
        value,
        'a number: a value computed per request cannot be checked against the limiter (use one limiter, and one store, per limit)',
      );
    }
  }
  if (typeof settings.limit !== 'function' && settings.limit !== limiter.limit) {
    throw new RateLimitOptionsError(
      settings.limitField,
      settings.limit,
      `${limiter.limit}, the limit of the limiter given to the store (give the framework and the limiter the same limit)`,
    );
  }
  if (typeof settings.windowMs !== 'function' && settings.windowMs !== limiter.windowMs) {
    throw new RateLimitOptionsError(
      settings.windowField,
      settings.windowMs,
      `${limiter.windowMs}, the windowMs of the limiter given to the store (give the framework and the limiter the same window)`,
    );
  }
  for (const [field, { value, set, why }] of Object.entries(settings.unsupported)) {
    if (set ?? Boolean(value)) throw new RateLimitOptionsError(field, value, `unset: ${why}`);
  }
}

/** The limit and window a framework passed on one call (when given as functions of the request). */
export function checkCall(
  limiter: RateLimiter,
  limitField: string,
  limit: number,
  windowField: string,
  windowMs: number,
): RateLimitOptionsError | undefined {
  if (limit !== limiter.limit) {
    return new RateLimitOptionsError(limitField, limit, `${limiter.limit}, the limiter's limit`);
  }
  if (windowMs !== limiter.windowMs) {
    return new RateLimitOptionsError(
      windowField,
      windowMs,
      `${limiter.windowMs}, the limiter's windowMs`,
    );
  }
  return undefined;
}

/** `limiter` must be a limiter from `createRateLimiter`. */
export function checkLimiter(limiter: unknown): asserts limiter is RateLimiter {
  const candidate = limiter as Partial<RateLimiter> | null | undefined;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.consume !== 'function' ||
    typeof candidate.peek !== 'function' ||
    typeof candidate.reset !== 'function' ||
    typeof candidate.limit !== 'number' ||
    typeof candidate.windowMs !== 'number'
  ) {
    throw new RateLimitOptionsError('limiter', limiter, 'a limiter from createRateLimiter');
  }
}

const ids = new WeakMap<RateLimiter, number>();
let lastId = 0;

/**
 * A key prefix unique to a limiter within this process: stores on one limiter share it (so
 * express-rate-limit's double-count check sees one limiter charged twice), stores on two
 * limiters differ (so it does not mistake two limiters for one).
 */
export function limiterPrefix(limiter: RateLimiter): string {
  let id = ids.get(limiter);
  if (id === undefined) {
    id = ++lastId;
    ids.set(limiter, id);
  }
  return `x-ratelimit-${id}:`;
}
