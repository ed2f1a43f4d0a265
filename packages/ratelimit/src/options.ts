import type { Breaker, BreakerOptions } from '@x/breaker';
import type { RedisSource } from '@x/config';
import type { Logger, Problem } from '@x/connection';
import type { RedisOptions } from 'ioredis';
import { RateLimitOptionsError } from './errors.js';
import type { RateLimitAlgorithm, RateLimitFallback, RateLimitSource } from './types.js';

/** A change of where decisions come from, reported to {@link RateLimiterOptions.onSourceChange}. */
export interface RateLimitSourceChange {
  /** Where decisions came from. */
  from: RateLimitSource;
  /** Where they come from now. */
  to: RateLimitSource;
  /**
   * The connection's diagnosis when decisions left Redis (what is wrong and what to do), `null`
   * when it had none or when decisions came back to Redis.
   */
  problem: Problem | null;
  /**
   * On a switch away from `'redis'`: the error behind it (the failed call's, or the connection's
   * when it became unusable; a `RateLimitUnavailableError` carrying `problem` when the connection
   * gave none). Absent on the way back.
   */
  error?: unknown;
}

/** Options of `createRateLimiter`. */
export interface RateLimiterOptions {
  /**
   * Where Redis is: a `redis://` / `rediss://` URL, a config of `@x/config`, or an existing
   * ioredis `Redis` / `Cluster`. A client passed in is never closed by the limiter. A decision
   * must never be re-sent after a reconnect (it would be charged twice): a client created here has
   * `autoResendUnfulfilledCommands` off; a client passed in with it on (the ioredis default) is
   * used through one duplicate connection with it off, which the limiter creates and closes; a
   * client passed in with it off is used as is.
   */
  redis: RedisSource;
  /**
   * ioredis options for the client created from a URL or config (ignored for a given client),
   * applied after the fail-fast choices of `@x/config`; `autoResendUnfulfilledCommands` stays off.
   * @default undefined
   */
  ioredis?: Partial<RedisOptions> | undefined;
  /** The algorithm; every one returns the same `RateLimitResult`. */
  algorithm: RateLimitAlgorithm;
  /**
   * Requests (units of cost) admitted per window; for `token-bucket` and `gcra` also the burst,
   * at most `4096 × windowMs` (their state is kept in 1/4096 ms). An integer >= 1.
   */
  limit: number;
  /**
   * The window in milliseconds (for `token-bucket` / `gcra`: `limit` tokens refill per
   * `windowMs`). An integer >= 1.
   */
  windowMs: number;
  /**
   * Prefix of every Redis key; give each limiter its own when keys could collide.
   * @default 'x:rl:'
   */
  keyPrefix?: string | undefined;
  /**
   * What decides while Redis is unusable (down, frozen past `timeoutMs`, misconfigured, circuit
   * open): `'local'` an in-process limiter of the same algorithm, `'open'` admits, `'closed'`
   * refuses. Decisions go back to Redis by themselves once it is usable again.
   * @default 'local'
   */
  fallback?: RateLimitFallback | undefined;
  /**
   * With `fallback: 'local'`: how many instances share the limit; each one's local limit is
   * `max(1, floor(limit / instances))`, so the fleet stays near the global limit during an outage.
   * @default 1
   */
  instances?: number | undefined;
  /**
   * With `fallback: 'local'`: most keys the local limiter keeps (least recently used evicted
   * first). An integer >= 1.
   * @default 10000
   */
  maxLocalKeys?: number | undefined;
  /**
   * Hard deadline of one Redis call in milliseconds (`consume`, `peek`, `reset`), also when Redis
   * is frozen; past it the fallback decides (`reset` rejects).
   * @default 500
   */
  timeoutMs?: number | undefined;
  /**
   * The circuit breaker in front of Redis: options for a new one, an existing `Breaker` of
   * `@x/breaker` (shareable between packages), or `false` for a deadline only. While it is open,
   * decisions skip Redis (as fast as the local limiter).
   * @default { maxFailures: 5, resetTimeout: 5000 }
   */
  breaker?: Breaker | BreakerOptions | false | undefined;
  /**
   * Where the limiter logs its source changes (once each way: `warn` when decisions leave Redis,
   * `info` when they are back) and where its connection logs a misconfiguration (once, `error`): a
   * pino-compatible logger, `console`, a function `(msg, fields) => void`, or `false`.
   * @default console
   */
  logger?: Logger | undefined;
  /**
   * Called when decisions start coming from another source (`'redis'` → `'local'` and back). A
   * listener that throws is ignored.
   * @default undefined
   */
  onSourceChange?: ((change: RateLimitSourceChange) => void) | undefined;
}

/** @internal Every option with its default, computed once. */
export interface ResolvedRateLimiterOptions {
  redis: RedisSource;
  ioredis: Partial<RedisOptions> | undefined;
  algorithm: RateLimitAlgorithm;
  limit: number;
  windowMs: number;
  keyPrefix: string;
  fallback: RateLimitFallback;
  /** The limit of the local limiter: `max(1, floor(limit / instances))`. */
  localLimit: number;
  maxLocalKeys: number;
  timeoutMs: number;
  breaker: Breaker | BreakerOptions | false | undefined;
  logger: Logger | undefined;
  onSourceChange: ((change: RateLimitSourceChange) => void) | undefined;
}

/** The defaults of `createRateLimiter`. */
export const RATELIMIT_DEFAULTS = Object.freeze({
  keyPrefix: 'x:rl:',
  fallback: 'local' as RateLimitFallback,
  instances: 1,
  maxLocalKeys: 10_000,
  timeoutMs: 500,
  breaker: Object.freeze({ maxFailures: 5, resetTimeout: 5_000 }) as BreakerOptions,
});

/**
 * `token-bucket` and `gcra` keep their time in 1/4096 ms: with more than this many requests per
 * millisecond one request would weigh less than that resolution and go uncounted.
 */
export const MAX_REQUESTS_PER_MS = 4096;

const ALGORITHMS: readonly RateLimitAlgorithm[] = [
  'fixed-window',
  'sliding-window',
  'token-bucket',
  'gcra',
];
const FALLBACKS: readonly RateLimitFallback[] = ['local', 'open', 'closed'];
// Names this package used before the vocabulary of the x packages: removed, not aliased.
const RENAMED: Readonly<Record<string, string>> = {
  prefix: 'keyPrefix',
  localMaxKeys: 'maxLocalKeys',
};

/**
 * Validates the options of `createRateLimiter` that are its own and fills in the defaults
 * (`redis`, `breaker` and `logger` are validated by `createConnection`, which reports them
 * as `RateLimitOptionsError` through its `optionError`).
 * @throws RateLimitOptionsError naming the invalid option and its value.
 */
export function resolveRateLimiterOptions(options: RateLimiterOptions): ResolvedRateLimiterOptions {
  if (typeof options !== 'object' || options === null) {
    throw new RateLimitOptionsError(
      'options',
      options,
      'an object with redis, algorithm, limit, windowMs',
    );
  }
  for (const [old, name] of Object.entries(RENAMED)) {
    const value = (options as unknown as Record<string, unknown>)[old];
    if (value !== undefined) {
      throw new RateLimitOptionsError(old, value, `no such option: it is called ${name}`);
    }
  }
  if (options.redis === undefined || options.redis === null) {
    throw new RateLimitOptionsError('redis', options.redis, 'a URL, a config or an ioredis client');
  }
  const { ioredis } = options;
  if (ioredis !== undefined && (typeof ioredis !== 'object' || ioredis === null)) {
    throw new RateLimitOptionsError('ioredis', ioredis, 'an object of ioredis options');
  }
  const { algorithm } = options;
  if (!ALGORITHMS.includes(algorithm)) {
    throw new RateLimitOptionsError('algorithm', algorithm, ALGORITHMS.join(' | '));
  }
  const limit = integer('limit', options.limit, undefined, 1);
  const windowMs = integer('windowMs', options.windowMs, undefined, 1);
  if (
    (algorithm === 'token-bucket' || algorithm === 'gcra') &&
    limit > MAX_REQUESTS_PER_MS * windowMs
  ) {
    throw new RateLimitOptionsError(
      'limit',
      limit,
      `at most ${MAX_REQUESTS_PER_MS} × windowMs = ${MAX_REQUESTS_PER_MS * windowMs} for ${algorithm}: its state is kept in 1/${MAX_REQUESTS_PER_MS} ms, so a request would weigh less than that and go uncounted; use a longer windowMs or fixed-window / sliding-window`,
    );
  }
  const keyPrefix = options.keyPrefix ?? RATELIMIT_DEFAULTS.keyPrefix;
  if (typeof keyPrefix !== 'string') {
    throw new RateLimitOptionsError('keyPrefix', keyPrefix, 'a string');
  }
  const fallback = options.fallback ?? RATELIMIT_DEFAULTS.fallback;
  if (!FALLBACKS.includes(fallback)) {
    throw new RateLimitOptionsError(
      'fallback',
      fallback,
      FALLBACKS.map((f) => `'${f}'`).join(' | '),
    );
  }
  const instances = integer('instances', options.instances, RATELIMIT_DEFAULTS.instances, 1);
  const maxLocalKeys = integer(
    'maxLocalKeys',
    options.maxLocalKeys,
    RATELIMIT_DEFAULTS.maxLocalKeys,
    1,
  );
  const timeoutMs = integer('timeoutMs', options.timeoutMs, RATELIMIT_DEFAULTS.timeoutMs, 1);
  const { onSourceChange } = options;
  if (onSourceChange !== undefined && typeof onSourceChange !== 'function') {
    throw new RateLimitOptionsError('onSourceChange', onSourceChange, 'a function');
  }
  return {
    redis: options.redis,
    ioredis,
    algorithm,
    limit,
    windowMs,
    keyPrefix,
    fallback,
    localLimit: Math.max(1, Math.floor(limit / instances)),
    maxLocalKeys,
    timeoutMs,
    breaker: options.breaker ?? RATELIMIT_DEFAULTS.breaker,
    logger: options.logger,
    onSourceChange,
  };
}

function integer(field: string, value: unknown, fallback: number | undefined, min: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new RateLimitOptionsError(field, value, `an integer >= ${min}`);
  }
  return value;
}
