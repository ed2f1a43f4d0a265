import type { GuardOperation } from '@x/breaker';
import type { RedisClient } from '@x/config';
import {
  announceInstance,
  type Connection,
  closeClient,
  connectionCallChannel,
  corkUntilNextTick,
  createConnection,
  diagnose,
  type Problem,
  type Script,
  toLog,
} from '@x/connection';
import { LocalLimiter } from './_internal/local-limiter.js';
import { NO_RESEND, withoutResend } from './_internal/no-resend.js';
import { FIXED_WINDOW, GCRA, SLIDING_WINDOW, TOKEN_BUCKET } from './_internal/scripts.js';
import { DecisionSource } from './decision-source.js';
import {
  RateLimitClosedError,
  RateLimitOptionsError,
  RateLimitUnavailableError,
} from './errors.js';
import { type RateLimiterOptions, resolveRateLimiterOptions } from './options.js';
import { DecisionCounts, type RateLimiterStats } from './stats.js';
import type {
  RateLimitAlgorithm,
  RateLimitFallback,
  RateLimitResult,
  RateLimitSource,
} from './types.js';

const PKG = '@x/ratelimit';

/** A rate limiter; see {@link createRateLimiter}. */
export interface RateLimiter {
  /** The algorithm in use. */
  readonly algorithm: RateLimitAlgorithm;
  /** The configured (global) limit. */
  readonly limit: number;
  /** The configured window in milliseconds. */
  readonly windowMs: number;
  /**
   * Where decisions come from now: `'redis'`, or the fallback while Redis is unusable (it follows
   * the connection's outage watch and the calls themselves).
   */
  readonly source: RateLimitSource;
  /**
   * Charges `cost` (default 1) to `key` if the limit allows it; a rejected request is never
   * charged. Settles within `timeoutMs` whatever Redis does, and never rejects because Redis is
   * unavailable: the fallback decides (see `source` in the result).
   * @throws RateLimitOptionsError for a key that is not a string or a cost that is not an
   * integer from 1 to `limit`; RateLimitClosedError after `close()`; a command error such as
   * `WRONGTYPE` (a key prefix shared with something else) as it is.
   */
  consume(key: string, cost?: number): Promise<RateLimitResult>;
  /**
   * Reports the state of `key` without charging it (`allowed`: whether a cost of 1 would pass).
   * Settles within `timeoutMs`; the fallback answers while Redis is unavailable.
   */
  peek(key: string): Promise<RateLimitResult>;
  /**
   * Forgets `key`, in Redis and in the local limiter. Settles within `timeoutMs`.
   * @throws RateLimitUnavailableError (`E_RATELIMIT_UNAVAILABLE`, with the diagnosis in
   * `problem`) when Redis is unavailable (the local state is reset all the same): at once while
   * the connection is unusable or misconfigured, at the deadline when Redis is frozen.
   */
  reset(key: string): Promise<void>;
  /** Counters and state, with the connection's `redis` block. */
  stats(): RateLimiterStats;
  /**
   * Stops every timer and closes the Redis connection if the limiter created it (a client passed
   * in is left open). Idempotent; settles within about `timeoutMs` (at most 1 s), also when Redis
   * is frozen.
   */
  close(): Promise<void>;
}

/** The reply of every limiter script: allowed (0|1), remaining, resetAt, retryAfterMs. */
type Reply = [number, number, number, number];
type Decide = GuardOperation<RateLimitResult, RedisRateLimiter, string, number, undefined, Reply>;

const SCRIPTS: Record<RateLimitAlgorithm, string> = {
  'fixed-window': FIXED_WINDOW,
  'sliding-window': SLIDING_WINDOW,
  'token-bucket': TOKEN_BUCKET,
  gcra: GCRA,
};

// Only sent on a ready client: a script must never wait in a queue and leave after the fallback
// decided (it would charge the request twice).
const NOT_READY = new Error('Connection is closed (the client is not ready)');
// Why the limiter decided without calling Redis: the connection is unusable or the circuit open.
const SKIPPED = new Error('Redis skipped: the connection is unusable or the circuit is open');

const sendDecision = (rl: RedisRateLimiter, key: string, cost: number): Promise<Reply> =>
  rl.send(key, cost);
const decideByFallback = (
  error: unknown,
  rl: RedisRateLimiter,
  key: string,
  cost: number,
): RateLimitResult => rl.fallbackDecision(key, cost, error);

class RedisRateLimiter implements RateLimiter {
  readonly algorithm: RateLimitAlgorithm;
  readonly limit: number;
  readonly windowMs: number;
  readonly #connection: Connection;
  readonly #client: RedisClient;
  /** A duplicate of a given client with resend off, created (and closed) here. */
  readonly #duplicate: RedisClient | undefined;
  readonly #script: Script;
  readonly #keyPrefix: string;
  readonly #fallback: RateLimitFallback;
  readonly #local: LocalLimiter | undefined;
  readonly #counts = new DecisionCounts();
  readonly #source: DecisionSource;
  /** Cork the socket per tick: only on a standalone client created here. */
  readonly #cork: boolean;
  // The script's constant arguments, converted once.
  readonly #limitArg: string;
  readonly #windowArg: string;
  // One operation per kind of call, created once: the hot path makes no closure per call.
  readonly #consumeOp: Decide;
  readonly #peekOp: Decide;
  #closing: Promise<void> | undefined;

  constructor(options: RateLimiterOptions) {
    const o = resolveRateLimiterOptions(options);
    this.algorithm = o.algorithm;
    this.limit = o.limit;
    this.windowMs = o.windowMs;
    this.#keyPrefix = o.keyPrefix;
    this.#fallback = o.fallback;
    this.#limitArg = String(o.limit);
    this.#windowArg = String(o.windowMs);
    const target = withoutResend(o.redis);
    try {
      this.#connection = createConnection({
        redis: target.redis,
        ioredis: { ...o.ioredis, ...NO_RESEND },
        timeoutMs: o.timeoutMs,
        breaker: o.breaker,
        logger: o.logger,
        name: PKG,
        optionError: (field, value, expected) => new RateLimitOptionsError(field, value, expected),
      });
    } catch (error) {
      target.duplicate?.disconnect();
      throw error;
    }
    const connection = this.#connection;
    this.#duplicate = target.duplicate;
    this.#client = connection.client;
    this.#cork = !connection.isCluster && (connection.owned || target.duplicate !== undefined);
    this.#script = connection.script(SCRIPTS[o.algorithm]);
    this.#local =
      o.fallback === 'local'
        ? new LocalLimiter({
            algorithm: o.algorithm,
            limit: o.localLimit,
            windowMs: o.windowMs,
            maxKeys: o.maxLocalKeys,
          })
        : undefined;
    this.#consumeOp = {
      run: sendDecision,
      map: (reply) => this.#fromRedis(reply, true),
      fallback: decideByFallback,
    };
    this.#peekOp = {
      run: sendDecision,
      map: (reply) => this.#fromRedis(reply, false),
      fallback: decideByFallback,
    };
    this.#source = new DecisionSource({
      connection,
      fallback: o.fallback,
      localLimit: o.localLimit,
      log: toLog(o.logger),
      counts: this.#counts,
      onSourceChange: o.onSourceChange,
    });
    announceInstance(PKG, 'open', this);
  }

  get source(): RateLimitSource {
    return this.#source.current;
  }

  consume(key: string, cost = 1): Promise<RateLimitResult> {
    if (this.#closing !== undefined) return Promise.reject(new RateLimitClosedError());
    if (typeof key !== 'string') {
      return Promise.reject(new RateLimitOptionsError('key', key, 'a string'));
    }
    if (!Number.isSafeInteger(cost) || cost < 1 || cost > this.limit) {
      return Promise.reject(
        new RateLimitOptionsError('cost', cost, `an integer from 1 to ${this.limit}`),
      );
    }
    return this.#decide(this.#consumeOp, key, cost, 'consume');
  }

  peek(key: string): Promise<RateLimitResult> {
    if (this.#closing !== undefined) return Promise.reject(new RateLimitClosedError());
    if (typeof key !== 'string') {
      return Promise.reject(new RateLimitOptionsError('key', key, 'a string'));
    }
    return this.#decide(this.#peekOp, key, 0, 'peek');
  }

  async reset(key: string): Promise<void> {
    if (this.#closing !== undefined) throw new RateLimitClosedError();
    if (typeof key !== 'string') throw new RateLimitOptionsError('key', key, 'a string');
    this.#local?.delete(key);
    const connection = this.#connection;
    if (!this.#usable()) {
      // Unusable (link down, frozen, misconfigured, circuit open): fail at once; the connection's
      // watch brings Redis back. A misconfigured server is not written to (a wrong db...).
      this.#counts.resetFailures++;
      throw this.#unavailable('reset', SKIPPED);
    }
    const fullKey = this.#keyPrefix + key;
    try {
      await connection.execute((client) => client.del(fullKey), { operation: 'reset' });
    } catch (error) {
      this.#counts.resetFailures++;
      throw this.#unavailable('reset', error);
    }
    this.#counts.resets++;
  }

  stats(): RateLimiterStats {
    const counts = this.#counts;
    return {
      redis: this.#connection.stats(),
      source: this.#source.current,
      decisions: counts.decisions(),
      peeks: counts.peeks,
      resets: counts.resets,
      resetFailures: counts.resetFailures,
      sourceChanges: counts.sourceChanges,
      localKeys: this.#local?.size ?? 0,
    };
  }

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#source.detach();
    this.#local?.clear();
    const duplicate = this.#duplicate;
    const connection = this.#connection;
    this.#closing = connection
      .close()
      .then(() =>
        duplicate === undefined
          ? undefined
          : closeClient(duplicate, Math.min(Math.max(connection.timeoutMs, 100), 1_000)),
      );
    announceInstance(PKG, 'close', this);
    return this.#closing;
  }

  /**
   * @internal Sends the decision script now (the client is ready: checked here), the writes of
   * one tick leaving together on a client created here.
   */
  send(key: string, cost: number): Promise<Reply> {
    const client = this.#client;
    if (client.status !== 'ready') return Promise.reject(NOT_READY);
    if (this.#cork) corkUntilNextTick(client);
    return this.#script.run(
      1,
      this.#keyPrefix + key,
      this.#limitArg,
      this.#windowArg,
      cost,
    ) as Promise<Reply>;
  }

  /** @internal A decision of the fallback (Redis failed, timed out, or was skipped). */
  fallbackDecision(key: string, cost: number, error: unknown): RateLimitResult {
    const fallback = this.#fallback;
    if (this.#source.current !== fallback) {
      this.#source.toFallback(error === SKIPPED ? undefined : error);
    }
    let result: RateLimitResult;
    if (fallback === 'local') result = this.#local!.decide(key, cost);
    else if (fallback === 'open') {
      result = {
        allowed: true,
        limit: this.limit,
        remaining: this.limit,
        resetAt: Date.now() + this.windowMs,
        retryAfterMs: 0,
        source: 'open',
      };
    } else {
      result = {
        allowed: false,
        limit: this.limit,
        remaining: 0,
        resetAt: Date.now() + this.windowMs,
        retryAfterMs: this.windowMs,
        source: 'closed',
      };
    }
    if (cost === 0) this.#counts.peeks++;
    else this.#counts.fallback(result.source, result.allowed);
    return result;
  }

  // Usable: straight through the guard (deadline + breaker) with no closure, unless someone
  // traces calls. Connecting: through `execute`, which waits for the first connection inside the
  // deadline. Unusable or circuit open: the fallback decides at once, without the guard; the
  // connection's watch brings Redis back (and says so with `usable`). Only a command error (e.g.
  // WRONGTYPE on a key used by something else) rejects.
  #decide(op: Decide, key: string, cost: number, operation: string): Promise<RateLimitResult> {
    const connection = this.#connection;
    const state = connection.state;
    if ((state === 'ready' || state === 'connecting') && !this.#circuitOpen()) {
      if (state === 'ready' && !connectionCallChannel.hasSubscribers) {
        return connection.guard.execute(op, this, key, cost);
      }
      return connection.execute(
        () => this.send(key, cost).then(op.map as (reply: Reply) => RateLimitResult),
        { fallback: (error) => this.fallbackDecision(key, cost, error), operation },
      );
    }
    return Promise.resolve(this.fallbackDecision(key, cost, SKIPPED));
  }

  #fromRedis(reply: Reply, consume: boolean): RateLimitResult {
    const source = this.#source;
    if (source.current !== 'redis') source.answered();
    const allowed = reply[0] === 1;
    const counts = this.#counts;
    if (!consume) counts.peeks++;
    else if (allowed) counts.redisAllowed++;
    else counts.redisRefused++;
    return {
      allowed,
      limit: this.limit,
      remaining: reply[1],
      resetAt: reply[2],
      retryAfterMs: reply[3],
      source: 'redis',
    };
  }

  #circuitOpen(): boolean {
    const state = this.#connection.breaker?.state;
    return state === 'open' || state === 'isolated';
  }

  #usable(): boolean {
    const state = this.#connection.state;
    return (state === 'ready' || state === 'connecting') && !this.#circuitOpen();
  }

  #unavailable(operation: 'reset', error: unknown): RateLimitUnavailableError {
    const connection = this.#connection;
    let problem: Problem | undefined =
      (error as { problem?: Problem } | null)?.problem ?? connection.diagnosis() ?? undefined;
    if (problem === undefined && error !== SKIPPED) {
      const found = diagnose(error, { timeoutMs: connection.timeoutMs });
      if (found !== undefined) problem = { ...found, since: Date.now() };
    }
    return new RateLimitUnavailableError(operation, error, problem);
  }
}

/**
 * Creates a rate limiter on Redis: each decision is one atomic Lua script (`EVALSHA`, reloaded
 * after `NOSCRIPT`) timed by the Redis server's clock, run through one managed connection of
 * `@x/connection` (deadline, breaker, outage watch, diagnosis). While Redis is unusable the
 * `fallback` decides, and `source` in every result says which. Synchronous and non-blocking:
 * Redis being down never throws here.
 * @throws RateLimitOptionsError (`E_RATELIMIT_OPTIONS`) naming the invalid option; ConfigError of
 * `@x/config` for an invalid URL or config.
 * @example
 * const limiter = createRateLimiter({ redis: 'redis://127.0.0.1:6379', algorithm: 'gcra', limit: 10, windowMs: 1000 });
 * const { allowed, retryAfterMs } = await limiter.consume(`ip:${ip}`);
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  return new RedisRateLimiter(options);
}
