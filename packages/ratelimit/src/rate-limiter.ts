import type { Breaker, BreakerOptions, Guard, RedisClient, RedisSource } from './_internal/deps.js';
import { createGuard, isCluster, resolveRedis, whenReady } from './_internal/deps.js';
import { LocalLimiter } from './_internal/local-limiter.js';
import { LuaScript } from './_internal/redis.js';
import { FIXED_WINDOW, GCRA, SLIDING_WINDOW, TOKEN_BUCKET } from './_internal/scripts.js';
import { RateLimitOptionsError, RateLimitUnavailableError } from './errors.js';
import type {
  RateLimitAlgorithm,
  RateLimitFallback,
  RateLimitResult,
  RateLimitSource,
} from './types.js';

/** A change of where decisions come from, reported to {@link RateLimiterOptions.onSourceChange}. */
export interface RateLimitSourceChange {
  from: RateLimitSource;
  to: RateLimitSource;
  /** The Redis failure that caused a switch away from `'redis'`. */
  error?: unknown;
}

/** Options of {@link createRateLimiter}. */
export interface RateLimiterOptions {
  /**
   * Redis: a `redis://` / `rediss://` URL, a config from `@x/config`, or an existing ioredis client
   * (`Redis` or `Cluster`). A client passed in is never closed by the limiter. When that client
   * has `autoResendUnfulfilledCommands` on (the ioredis default), the limiter talks through one
   * duplicate of it with resend off (and closes that duplicate on `close()`), so a decision in
   * flight during a reconnect can never be counted twice.
   */
  redis: RedisSource;
  /** The algorithm; every one returns the same {@link RateLimitResult}. */
  algorithm: RateLimitAlgorithm;
  /** Requests (units of cost) admitted per window; for `token-bucket` and `gcra` also the burst. An integer >= 1. */
  limit: number;
  /** The window in milliseconds (for `token-bucket` / `gcra`: `limit` tokens refill per `windowMs`). An integer >= 1. */
  windowMs: number;
  /**
   * Prefix of every Redis key.
   * @default 'x:rl:'
   */
  prefix?: string;
  /**
   * What to do when Redis is down, frozen past `timeoutMs`, or the breaker is open: `'local'`
   * decides with an in-process limiter of the same algorithm, `'open'` admits, `'closed'` refuses.
   * Decisions go back to Redis by themselves once it answers again (the breaker's half-open probe).
   * @default 'local'
   */
  fallback?: RateLimitFallback;
  /**
   * With `fallback: 'local'`: how many instances share the limit; each one's local limit is
   * `max(1, floor(limit / instances))`, so the fleet stays near the global limit during an outage.
   * @default 1
   */
  instances?: number;
  /**
   * With `fallback: 'local'`: most keys the local limiter keeps (least recently used evicted first).
   * @default 10000
   */
  localMaxKeys?: number;
  /**
   * Hard deadline of one Redis decision in milliseconds; past it the fallback decides.
   * @default 500
   */
  timeoutMs?: number;
  /**
   * The circuit breaker in front of Redis: options for `createBreaker` from `@x/breaker`, an
   * existing breaker (to share one), or `false` for a deadline only.
   * @default { maxFailures: 5, resetTimeout: 5000 }
   */
  breaker?: BreakerOptions | Breaker | false;
  /** Called when decisions start coming from another source (e.g. `'redis'` -> `'local'` and back). */
  onSourceChange?: (change: RateLimitSourceChange) => void;
}

/** A rate limiter; see {@link createRateLimiter}. */
export interface RateLimiter {
  /** The algorithm in use. */
  readonly algorithm: RateLimitAlgorithm;
  /** The configured (global) limit. */
  readonly limit: number;
  /** The configured window in milliseconds. */
  readonly windowMs: number;
  /** Where the latest decision came from. */
  readonly source: RateLimitSource;
  /**
   * Charges `cost` (default 1) to `key` if the limit allows it; a rejected request is never
   * charged. Never rejects because Redis is unavailable: the fallback decides (see `source`).
   * Throws {@link RateLimitOptionsError} for a cost that is not an integer from 1 to `limit`.
   */
  consume(key: string, cost?: number): Promise<RateLimitResult>;
  /** Reports the state of `key` without charging it (`allowed`: whether a cost of 1 would pass). */
  peek(key: string): Promise<RateLimitResult>;
  /**
   * Forgets `key` (in Redis and in the local limiter). Rejects with
   * {@link RateLimitUnavailableError} when Redis cannot be reached (the local state is still reset).
   */
  reset(key: string): Promise<void>;
  /** Stops timers and closes the Redis connection if the limiter created it. Idempotent. */
  close(): Promise<void>;
}

const SCRIPTS: Record<RateLimitAlgorithm, string> = {
  'fixed-window': FIXED_WINDOW,
  'sliding-window': SLIDING_WINDOW,
  'token-bucket': TOKEN_BUCKET,
  gcra: GCRA,
};

const ALGORITHMS = Object.keys(SCRIPTS) as RateLimitAlgorithm[];
const FALLBACKS: readonly RateLimitFallback[] = ['local', 'open', 'closed'];
const CIRCUIT_OPEN = new Error('[@x/ratelimit] circuit open: Redis skipped');
const DEFAULT_BREAKER: BreakerOptions = { maxFailures: 5, resetTimeout: 5000 };

function positiveInteger(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new RateLimitOptionsError(field, value, 'an integer >= 1');
  }
  return value;
}

class RedisRateLimiter implements RateLimiter {
  readonly algorithm: RateLimitAlgorithm;
  readonly limit: number;
  readonly windowMs: number;
  readonly #prefix: string;
  readonly #fallback: RateLimitFallback;
  readonly #timeoutMs: number;
  readonly #script: LuaScript;
  readonly #guard: Guard;
  readonly #breaker: Breaker | undefined;
  readonly #client: RedisClient;
  readonly #owned: boolean;
  readonly #local: LocalLimiter | undefined;
  readonly #onSourceChange: ((change: RateLimitSourceChange) => void) | undefined;
  // The script's constant arguments, converted once.
  readonly #limitArg: string;
  readonly #windowArg: string;
  // Turns what the guard settled with into a result; created once, shared by every call.
  readonly #settle = (reply: number[] | RateLimitResult): RateLimitResult =>
    Array.isArray(reply) ? this.#fromRedis(reply) : reply;
  #source: RateLimitSource = 'redis';
  #closed = false;

  constructor(options: RateLimiterOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new RateLimitOptionsError('options', options, 'an object');
    }
    if (!ALGORITHMS.includes(options.algorithm)) {
      throw new RateLimitOptionsError('algorithm', options.algorithm, ALGORITHMS.join(' | '));
    }
    this.algorithm = options.algorithm;
    this.limit = positiveInteger('limit', options.limit);
    this.windowMs = positiveInteger('windowMs', options.windowMs);
    const prefix = options.prefix ?? 'x:rl:';
    if (typeof prefix !== 'string') throw new RateLimitOptionsError('prefix', prefix, 'a string');
    this.#prefix = prefix;
    const fallback = options.fallback ?? 'local';
    if (!FALLBACKS.includes(fallback)) {
      throw new RateLimitOptionsError('fallback', fallback, FALLBACKS.join(' | '));
    }
    this.#fallback = fallback;
    const instances = positiveInteger('instances', options.instances ?? 1);
    const maxKeys = positiveInteger('localMaxKeys', options.localMaxKeys ?? 10_000);
    this.#timeoutMs = positiveInteger('timeoutMs', options.timeoutMs ?? 500);
    if (options.onSourceChange !== undefined && typeof options.onSourceChange !== 'function') {
      throw new RateLimitOptionsError('onSourceChange', options.onSourceChange, 'a function');
    }
    this.#onSourceChange = options.onSourceChange;
    if (options.redis === undefined || options.redis === null) {
      throw new RateLimitOptionsError(
        'redis',
        options.redis,
        'a URL, a config or an ioredis client',
      );
    }
    this.#local =
      fallback === 'local'
        ? new LocalLimiter({
            algorithm: this.algorithm,
            limit: Math.max(1, Math.floor(this.limit / instances)),
            windowMs: this.windowMs,
            maxKeys,
          })
        : undefined;
    this.#limitArg = String(this.limit);
    this.#windowArg = String(this.windowMs);
    this.#guard = createGuard({
      timeoutMs: this.#timeoutMs,
      breaker: options.breaker === undefined ? DEFAULT_BREAKER : options.breaker,
    });
    this.#breaker = this.#guard.breaker;
    const resolved = resolveRedis(options.redis);
    const safe = withoutResend(resolved.client, resolved.owned);
    this.#client = safe.client;
    this.#owned = safe.owned;
    this.#script = new LuaScript(SCRIPTS[this.algorithm], safe.client);
  }

  get source(): RateLimitSource {
    return this.#source;
  }

  consume(key: string, cost = 1): Promise<RateLimitResult> {
    if (typeof key !== 'string') {
      return Promise.reject(new RateLimitOptionsError('key', key, 'a string'));
    }
    if (!Number.isSafeInteger(cost) || cost < 1 || cost > this.limit) {
      return Promise.reject(
        new RateLimitOptionsError('cost', cost, `an integer from 1 to ${this.limit}`),
      );
    }
    return this.#skipRedis() ? this.#fallbackNow(key, cost) : this.#decide(key, cost);
  }

  peek(key: string): Promise<RateLimitResult> {
    if (typeof key !== 'string') {
      return Promise.reject(new RateLimitOptionsError('key', key, 'a string'));
    }
    return this.#skipRedis() ? this.#fallbackNow(key, 0) : this.#decide(key, 0);
  }

  async reset(key: string): Promise<void> {
    if (typeof key !== 'string') throw new RateLimitOptionsError('key', key, 'a string');
    this.#local?.delete(key);
    const client = this.#client;
    const fullKey = this.#prefix + key;
    try {
      await this.#guard.execute(async () => {
        const ready = whenReady(client);
        if (ready !== undefined) await ready;
        return client.del(fullKey);
      });
    } catch (error) {
      throw new RateLimitUnavailableError('reset', error);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#local?.clear();
    if (this.#owned) await closeClient(this.#client);
  }

  // While the circuit is open the guard would refuse anyway: deciding here directly keeps the
  // fallback path as cheap as the local limiter itself. The breaker's own timer moves it to
  // half-open, and the guard's probe then brings decisions back to Redis.
  #skipRedis(): boolean {
    const state = this.#breaker?.state;
    return state === 'open' || state === 'isolated';
  }

  #fallbackNow(key: string, cost: number): Promise<RateLimitResult> {
    return Promise.resolve(this.#fallbackDecision(key, cost, CIRCUIT_OPEN));
  }

  // Only a command error (e.g. WRONGTYPE on a key used by something else) rejects here.
  #decide(key: string, cost: number): Promise<RateLimitResult> {
    return this.#guard
      .execute<number[] | RateLimitResult>(
        () => this.#redis(key, cost),
        (error) => this.#fallbackDecision(key, cost, error),
      )
      .then(this.#settle);
  }

  #fromRedis(reply: number[]): RateLimitResult {
    if (this.#source !== 'redis') this.#changeSource('redis', undefined);
    return {
      allowed: reply[0] === 1,
      limit: this.limit,
      remaining: reply[1]!,
      resetAt: reply[2]!,
      retryAfterMs: reply[3]!,
      source: 'redis',
    };
  }

  #redis(key: string, cost: number): Promise<number[]> {
    const ready = whenReady(this.#client);
    if (ready === undefined) {
      return this.#script.run(this.#prefix + key, this.#limitArg, this.#windowArg, cost);
    }
    return this.#redisWhenReady(ready, key, cost);
  }

  async #redisWhenReady(ready: Promise<void>, key: string, cost: number): Promise<number[]> {
    const started = performance.now();
    await ready;
    // The deadline passed while connecting: the fallback has decided already, so sending now
    // would count this request a second time.
    if (performance.now() - started >= this.#timeoutMs) {
      throw new Error('Connection is closed (ready after the deadline)');
    }
    return await this.#script.run(this.#prefix + key, this.#limitArg, this.#windowArg, cost);
  }

  #fallbackDecision(key: string, cost: number, error: unknown): RateLimitResult {
    const fallback = this.#fallback;
    if (fallback === 'local') {
      if (this.#source !== 'local') this.#changeSource('local', error);
      return this.#local!.decide(key, cost);
    }
    if (this.#source !== fallback) this.#changeSource(fallback, error);
    const now = Date.now();
    if (fallback === 'open') {
      return {
        allowed: true,
        limit: this.limit,
        remaining: this.limit,
        resetAt: now + this.windowMs,
        retryAfterMs: 0,
        source: 'open',
      };
    }
    return {
      allowed: false,
      limit: this.limit,
      remaining: 0,
      resetAt: now + this.windowMs,
      retryAfterMs: this.windowMs,
      source: 'closed',
    };
  }

  #changeSource(to: RateLimitSource, error: unknown): void {
    const from = this.#source;
    this.#source = to;
    const listener = this.#onSourceChange;
    if (listener === undefined) return;
    try {
      listener(error === undefined ? { from, to } : { from, to, error });
    } catch {
      // A throwing listener must not turn a decision into an error.
    }
  }
}

/**
 * Makes sure no command of this limiter is ever re-sent automatically after a reconnect: a client
 * created here already has resend off; an injected one with resend on is duplicated with it off.
 */
function withoutResend(
  client: RedisClient,
  owned: boolean,
): { client: RedisClient; owned: boolean } {
  if (isCluster(client)) {
    if (client.options.redisOptions?.autoResendUnfulfilledCommands === false) {
      return { client, owned };
    }
    const copy = client.duplicate(undefined, {
      redisOptions: { ...client.options.redisOptions, autoResendUnfulfilledCommands: false },
    });
    copy.on('error', noop);
    if (owned) void closeClient(client);
    return { client: copy, owned: true };
  }
  if (client.options.autoResendUnfulfilledCommands === false) return { client, owned };
  const copy = client.duplicate({ autoResendUnfulfilledCommands: false });
  // Errors surface as rejected commands; an 'error' listener keeps ioredis from logging them.
  copy.on('error', noop);
  if (owned) void closeClient(client);
  return { client: copy, owned: true };
}

function noop(): void {}

async function closeClient(client: RedisClient): Promise<void> {
  if (client.status === 'end') return;
  // QUIT waits for a reply a frozen server never sends: bound it, then drop the socket.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.quit().catch(() => undefined),
    new Promise((resolve) => {
      timer = setTimeout(resolve, 200);
    }),
  ]);
  clearTimeout(timer);
  client.disconnect();
}

/**
 * Creates a rate limiter backed by Redis: each decision is one atomic Lua script (EVALSHA,
 * reloaded after `NOSCRIPT`) timed by the Redis server's clock. When Redis is unavailable the
 * `fallback` decides, and `source` in every result says which.
 *
 * @example
 * const limiter = createRateLimiter({ redis: 'redis://127.0.0.1:6379', algorithm: 'gcra', limit: 10, windowMs: 1000 });
 * const { allowed, retryAfterMs } = await limiter.consume(`ip:${ip}`);
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  return new RedisRateLimiter(options);
}
