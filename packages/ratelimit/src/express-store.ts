import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import {
  checkLimiter,
  checkSettings,
  hitsOf,
  limiterPrefix,
  resetInMs,
  usedOf,
} from './framework-mapping.js';
import type { RateLimiter } from './rate-limiter.js';

/** Options of {@link createExpressRateLimitStore}. */
export interface ExpressRateLimitStoreOptions {
  /**
   * The limiter that decides (from `createRateLimiter`: its algorithm, Redis, fallback, breaker).
   * Pass express-rate-limit the same `limit` and `windowMs`; the store checks it at start-up.
   * The store never closes it.
   */
  limiter: RateLimiter;
}

/**
 * An express-rate-limit (v8) `Store` whose decisions come from a limiter of this package: one
 * atomic script per request on Redis, any of the four algorithms, and while Redis is unavailable
 * the limiter's `fallback` (`'local'` keeps limits enforced in the process, not just failed open).
 *
 * express-rate-limit refuses when the store's `totalHits` exceeds its `limit`: an admitted
 * decision is reported as `limit - remaining` hits (at least 1), a refused one as `limit + 1`, so
 * the framework admits and refuses exactly as the limiter decided. `resetTime` is when the whole
 * quota is back (admitted) or when the request can pass again (refused), so the `Retry-After` and
 * reset headers express-rate-limit sets (`standardHeaders`, `legacyHeaders`) are right.
 *
 * At start-up (`init`, called by express-rate-limit) the store checks that `limit` and `windowMs`
 * equal the limiter's and that `skipFailedRequests` / `skipSuccessfulRequests` are off (a decision
 * of the limiter is never refunded). On a mismatch express-rate-limit logs the error, and every
 * request then fails with it (HTTP 500 through Express' error handling), rather than enforce
 * limits nobody configured.
 */
export class ExpressRateLimitStore implements Store {
  /** Keys are not local to this instance: stores on one limiter (and processes on one Redis) share them. */
  readonly localKeys = false;
  /**
   * A prefix unique to the limiter, read by express-rate-limit's double-count check: two stores
   * on one limiter charging one key in one request are reported; two limiters are not confused.
   */
  readonly prefix: string;
  readonly #limiter: RateLimiter;
  #initError: Error | undefined;

  /** Prefer {@link createExpressRateLimitStore}. */
  constructor(options: ExpressRateLimitStoreOptions) {
    checkLimiter(options?.limiter);
    this.#limiter = options.limiter;
    this.prefix = limiterPrefix(options.limiter);
  }

  /**
   * Called once by express-rate-limit with its options.
   * @throws RateLimitOptionsError when they disagree with the limiter (logged by express-rate-limit;
   * every request then fails with the same error).
   */
  init(options: Options): void {
    try {
      checkSettings(this.#limiter, {
        limitField: 'limit',
        limit: options.limit,
        windowField: 'windowMs',
        windowMs: options.windowMs,
        perRequest: false,
        unsupported: {
          skipFailedRequests: {
            value: options.skipFailedRequests,
            why: 'the limiter never refunds a decision',
          },
          skipSuccessfulRequests: {
            value: options.skipSuccessfulRequests,
            why: 'the limiter never refunds a decision',
          },
        },
      });
      this.#initError = undefined;
    } catch (error) {
      this.#initError = error as Error;
      throw error;
    }
  }

  /** Charges one request to `key` (the limiter's `consume`). */
  async increment(key: string): Promise<ClientRateLimitInfo> {
    if (this.#initError !== undefined) throw this.#initError;
    const limit = this.#limiter.limit;
    const result = await this.#limiter.consume(key);
    const now = Date.now();
    return { totalHits: hitsOf(result, limit), resetTime: new Date(now + resetInMs(result, now)) };
  }

  /**
   * Does nothing: the limiter never refunds a decision (`skipFailedRequests` and
   * `skipSuccessfulRequests`, which call it, are refused at start-up).
   */
  async decrement(_key: string): Promise<void> {}

  /** Forgets `key` (the limiter's `reset`); rejects with `RateLimitUnavailableError` when Redis is down. */
  async resetKey(key: string): Promise<void> {
    await this.#limiter.reset(key);
  }

  /** What `key` has used, without charging it (the limiter's `peek`). */
  async get(key: string): Promise<ClientRateLimitInfo> {
    const result = await this.#limiter.peek(key);
    const now = Date.now();
    return {
      totalHits: usedOf(result, this.#limiter.limit),
      resetTime: new Date(now + Math.max(result.resetAt - now, 0)),
    };
  }
}

/**
 * Creates an express-rate-limit store backed by `limiter`.
 * @throws RateLimitOptionsError (`E_RATELIMIT_OPTIONS`) when `limiter` is not a limiter.
 * @example
 * const limiter = createRateLimiter({ redis, algorithm: 'sliding-window', limit: 100, windowMs: 60_000 });
 * app.use(rateLimit({ store: createExpressRateLimitStore({ limiter }), limit: 100, windowMs: 60_000, standardHeaders: 'draft-8' }));
 */
export function createExpressRateLimitStore(
  options: ExpressRateLimitStoreOptions,
): ExpressRateLimitStore {
  return new ExpressRateLimitStore(options);
}
