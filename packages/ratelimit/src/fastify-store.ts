import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import {
  checkCall,
  checkLimiter,
  checkSettings,
  hitsOf,
  resetInMs,
  usedOf,
} from './framework-mapping.js';
import type { RateLimiter } from './rate-limiter.js';
import type { RateLimitResult } from './types.js';

/** Options of {@link createFastifyRateLimitStore}. */
export interface FastifyRateLimitStoreOptions {
  /**
   * The limiter that decides (from `createRateLimiter`: its algorithm, Redis, fallback, breaker).
   * Give @fastify/rate-limit the same `max` and `timeWindow` (in ms); the store checks it when the
   * plugin and each route with its own `config.rateLimit` are registered. Never closed by the store.
   */
  limiter: RateLimiter;
}

/** What @fastify/rate-limit hands to the store: its options, merged with a route's. */
interface PluginParams {
  max?: unknown;
  timeWindow?: unknown;
  ban?: unknown;
  continueExceeding?: unknown;
  exponentialBackoff?: unknown;
}

type IncrCallback = (error: Error | null, result?: { current: number; ttl: number }) => void;

/**
 * Creates the `store` option of @fastify/rate-limit (v11): a store class bound to `limiter`, so
 * decisions come from a limiter of this package (one atomic script per request on Redis, any of
 * the four algorithms, and while Redis is unavailable the limiter's `fallback`: `'local'` keeps
 * limits enforced in the process).
 *
 * @fastify/rate-limit refuses when the store's `current` exceeds `max`: an admitted decision is
 * reported as `max - remaining` (at least 1), a refused one as `max + 1`, and `ttl` is when the
 * whole quota is back (admitted) or when the request can pass again (refused), so the framework's
 * headers (`x-ratelimit-*` or the draft `ratelimit-*`, and `retry-after`) are right.
 *
 * Checked when the plugin is registered and for each route with its own `config.rateLimit`
 * (registration fails with `RateLimitOptionsError`): `max` and `timeWindow` equal the limiter's
 * limit and window; `ban`, `continueExceeding` and `exponentialBackoff` are unset (the limiter does
 * not count refused requests). `max` / `timeWindow` given as functions are checked on each request
 * (a mismatch fails that request with the same error, HTTP 500). One store serves one limit: for
 * another limit, register the plugin in an encapsulated context with a store on another limiter.
 * @throws RateLimitOptionsError (`E_RATELIMIT_OPTIONS`) when `limiter` is not a limiter.
 * @example
 * const limiter = createRateLimiter({ redis, algorithm: 'gcra', limit: 100, windowMs: 60_000 });
 * await app.register(fastifyRateLimit, { store: createFastifyRateLimitStore({ limiter }), max: 100, timeWindow: 60_000 });
 */
export function createFastifyRateLimitStore(
  options: FastifyRateLimitStoreOptions,
): FastifyRateLimitStoreCtor {
  checkLimiter(options?.limiter);
  const limiter = options.limiter;

  function check(params: PluginParams | undefined): void {
    checkSettings(limiter, {
      limitField: 'max',
      limit: params?.max,
      windowField: 'timeWindow',
      windowMs: params?.timeWindow,
      perRequest: true,
      unsupported: {
        ban: {
          value: params?.ban,
          // The plugin sets -1 when `ban` is not given.
          set: typeof params?.ban === 'number' && params.ban >= 0,
          why: 'refused requests are not counted, so there is no count to ban on',
        },
        continueExceeding: {
          value: params?.continueExceeding,
          why: 'a refused request never extends the window (it is not charged)',
        },
        exponentialBackoff: {
          value: params?.exponentialBackoff,
          why: 'a refused request never extends the window (it is not charged)',
        },
      },
    });
  }

  function settle(
    decision: Promise<RateLimitResult>,
    callback: IncrCallback,
    report: (result: RateLimitResult) => number,
  ): void {
    decision.then(
      (result) => {
        const ttl = resetInMs(result, Date.now());
        // Outside the promise chain: a throwing callback is not turned into a rejection.
        process.nextTick(callback, null, { current: report(result), ttl });
      },
      (error: Error) => process.nextTick(callback, error),
    );
  }

  class XFastifyRateLimitStore implements FastifyRateLimitStore {
    /** Called by @fastify/rate-limit with its options when the plugin is registered. */
    constructor(params?: PluginParams) {
      check(params);
    }

    /** Charges one request to `key` (the limiter's `consume`). */
    incr(key: string, callback: IncrCallback, timeWindow: number, max: number): void {
      const mismatch = checkCall(limiter, 'max', max, 'timeWindow', timeWindow);
      if (mismatch !== undefined) {
        process.nextTick(callback, mismatch);
        return;
      }
      settle(limiter.consume(String(key)), callback, (result) => hitsOf(result, limiter.limit));
    }

    /** The state of `key` without charging it (the limiter's `peek`), for `{ increment: false }`. */
    read(key: string, callback: IncrCallback, _timeWindow?: number, _max?: number): void {
      settle(limiter.peek(String(key)), callback, (result) => usedOf(result, limiter.limit));
    }

    /** A route with its own `config.rateLimit`: checked against the limiter, same decisions. */
    // Typed as the plugin declares it; at run time it is the plugin's options merged with the
    // route's `config.rateLimit`.
    child(routeOptions: object): XFastifyRateLimitStore {
      return new XFastifyRateLimitStore(routeOptions as PluginParams);
    }
  }

  return XFastifyRateLimitStore as unknown as FastifyRateLimitStoreCtor;
}
