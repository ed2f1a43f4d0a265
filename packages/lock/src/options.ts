import type { ConnectionOptions, Logger } from '@x/connection';
import { LockOptionsError } from './errors.js';

/** Where a Redis server is: a URL, a config of `@x/config`, or an ioredis `Redis` / `Cluster`. */
export type RedisSource = ConnectionOptions['redis'];

/** How `acquire` waits for a lock held by someone else. */
export interface LockRetryOptions {
  /**
   * Timed retries after the first try; `0` tries once. A wake-up because this process released
   * the key does not use up an attempt, so `acquire` waits at most about
   * `attempts * (delayMs + jitter)` ms.
   * @default 10
   */
  attempts?: number;
  /**
   * Milliseconds between timed retries (never longer than the holder's remaining TTL).
   * @default 50
   */
  delayMs?: number;
  /**
   * Up to this many milliseconds, chosen at random, are added to each delay so that waiting
   * processes do not retry in lockstep.
   * @default 50
   */
  jitter?: number;
}

/** Options of `acquire`. */
export interface AcquireOptions {
  /**
   * Lock time to live in milliseconds: the lock expires by itself if not released or extended.
   * @default the manager's ttlMs
   */
  ttlMs?: number;
  /** Waiting policy. @default the manager's retry */
  retry?: LockRetryOptions;
  /** Aborts the wait; `acquire` then rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** Options of `tryAcquire` (one try, no waiting). */
export interface TryAcquireOptions {
  /** Lock time to live in milliseconds. @default the manager's ttlMs */
  ttlMs?: number;
  /** Rejects with `signal.reason` when already aborted. */
  signal?: AbortSignal;
}

/** Options of `withLock`. */
export interface WithLockOptions extends AcquireOptions {
  /**
   * Cap on the total time the lock is held, in milliseconds: past it the lock is no longer
   * extended, its `signal` aborts with a `LockLostError` and `withLock` rejects with it.
   * @default 60000
   */
  maxHoldMs?: number;
}

/** Options of `createLockManager`. */
export interface LockManagerOptions {
  /**
   * Redis: a URL, a config from `@x/config`, or an existing ioredis client (never closed by the
   * manager). An array of several independent servers enables quorum mode (Redlock): a lock is
   * held when a majority of them granted it, within its validity time.
   */
  redis: RedisSource | readonly RedisSource[];
  /**
   * ioredis options for the clients the manager creates from a URL or config (ignored for a
   * given client).
   * @default undefined
   */
  ioredis?: ConnectionOptions['ioredis'];
  /**
   * Prefix of every Redis key. A lock `k` uses `<keyPrefix>{k}` and `<keyPrefix>{k}:fence` (one
   * hash slot on Cluster). The fence key has no TTL: it keeps fencing tokens increasing.
   * @default 'x:lock:'
   */
  keyPrefix?: string;
  /**
   * Default lock TTL in milliseconds.
   * @default 10000
   */
  ttlMs?: number;
  /** Default waiting policy of `acquire` and `withLock`. @default { attempts: 10, delayMs: 50, jitter: 50 } */
  retry?: LockRetryOptions;
  /**
   * Hard deadline of each call to each server, in milliseconds (a frozen server counts as down).
   * A new manager's first call also waits up to this long for the first connection.
   * @default 500
   */
  timeoutMs?: number;
  /**
   * Circuit breaker per server: options for `createBreaker` from `@x/breaker`, an existing
   * `Breaker` (single server only: in quorum mode each server needs its own), or `false` for a
   * deadline only.
   * @default { maxFailures: 5, resetTimeout: 5000 }
   */
  breaker?: ConnectionOptions['breaker'];
  /**
   * What to do when Redis is unusable. Only `'none'`: the call rejects with
   * `LockUnavailableError`. A lock never falls back to memory, because two processes that both
   * believe they hold it are worse than an error.
   * @default 'none'
   */
  fallback?: 'none';
  /**
   * Where the connections log a misconfiguration (once, at error level): a pino-compatible
   * logger, `console`, a function `(msg, fields) => void`, or `false`.
   * @default console
   */
  logger?: Logger;
  /**
   * Clock drift allowance as a fraction of the TTL (plus 2 ms), subtracted from a lock's validity.
   * @default 0.01
   */
  driftFactor?: number;
  /**
   * Announce releases with Redis pub/sub, so waiters in other processes are woken at once instead
   * of at their next retry. Costs a PUBLISH per release and, while this manager has waiters, one
   * subscriber connection (a duplicate of the first server's). Inside one process waiters are
   * always woken directly, with or without this option.
   * @default false
   */
  notify?: boolean;
}

/** A waiting policy with every field filled in. */
export interface Retry {
  attempts: number;
  delayMs: number;
  jitter: number;
}

/** @internal The options of a manager, validated, with every default filled in once. */
export interface ResolvedLockOptions {
  sources: readonly RedisSource[];
  ioredis: ConnectionOptions['ioredis'];
  keyPrefix: string;
  ttlMs: number;
  retry: Retry;
  timeoutMs: number;
  breaker: NonNullable<ConnectionOptions['breaker']>;
  logger: Logger | undefined;
  driftFactor: number;
  notify: boolean;
}

/** The defaults of {@link LockManagerOptions}. */
export const LOCK_DEFAULTS = Object.freeze({
  keyPrefix: 'x:lock:',
  ttlMs: 10_000,
  retry: Object.freeze({ attempts: 10, delayMs: 50, jitter: 50 }) as Retry,
  timeoutMs: 500,
  breaker: Object.freeze({ maxFailures: 5, resetTimeout: 5_000 }),
  driftFactor: 0.01,
  maxHoldMs: 60_000,
});

/**
 * Validates the options of a manager and fills in the defaults.
 * @throws LockOptionsError naming the invalid option and its value.
 */
export function resolveLockOptions(options: LockManagerOptions): ResolvedLockOptions {
  if (typeof options !== 'object' || options === null) {
    throw new LockOptionsError('options', options, 'an object with `redis`');
  }
  const sources: readonly RedisSource[] = Array.isArray(options.redis)
    ? options.redis
    : [options.redis as RedisSource];
  // Each source, `ioredis`, `breaker` and `logger` are validated by `createConnection` (reported as
  // LockOptionsError through its optionError); an empty list is the lock's own concern.
  if (sources.length === 0) {
    throw new LockOptionsError(
      'redis',
      options.redis,
      'a URL, a config, an ioredis client, or a non-empty array of them',
    );
  }
  const keyPrefix = options.keyPrefix ?? LOCK_DEFAULTS.keyPrefix;
  if (typeof keyPrefix !== 'string' || keyPrefix.includes('{')) {
    throw new LockOptionsError('keyPrefix', keyPrefix, 'a string without "{"');
  }
  if (options.fallback !== undefined && options.fallback !== 'none') {
    throw new LockOptionsError(
      'fallback',
      options.fallback,
      "'none': a lock never falls back to memory, two processes that both hold it are worse than an error",
    );
  }
  const driftFactor = options.driftFactor ?? LOCK_DEFAULTS.driftFactor;
  if (typeof driftFactor !== 'number' || !(driftFactor >= 0 && driftFactor < 0.5)) {
    throw new LockOptionsError('driftFactor', driftFactor, 'a number from 0 to 0.5');
  }
  if (options.notify !== undefined && typeof options.notify !== 'boolean') {
    throw new LockOptionsError('notify', options.notify, 'a boolean');
  }
  const breaker = options.breaker ?? LOCK_DEFAULTS.breaker;
  if (
    sources.length > 1 &&
    typeof breaker === 'object' &&
    breaker !== null &&
    typeof (breaker as { execute?: unknown }).execute === 'function'
  ) {
    throw new LockOptionsError(
      'breaker',
      'a Breaker instance',
      'breaker options or false in quorum mode (one breaker per server)',
    );
  }
  return {
    sources,
    ioredis: options.ioredis,
    keyPrefix,
    ttlMs: integer('ttlMs', options.ttlMs ?? LOCK_DEFAULTS.ttlMs, 1),
    retry: resolveRetry('retry', options.retry, LOCK_DEFAULTS.retry),
    timeoutMs: integer('timeoutMs', options.timeoutMs ?? LOCK_DEFAULTS.timeoutMs, 1),
    breaker,
    logger: options.logger,
    driftFactor,
    notify: options.notify === true,
  };
}

/**
 * `value` as an integer of at least `min`.
 * @throws LockOptionsError naming `field` otherwise.
 */
export function integer(field: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new LockOptionsError(field, value, `an integer >= ${min}`);
  }
  return value;
}

/**
 * A waiting policy: `value`'s fields over `base` (the same object when `value` is undefined).
 * @throws LockOptionsError naming the invalid field.
 */
export function resolveRetry(field: string, value: unknown, base: Retry): Retry {
  if (value === undefined) return base;
  if (typeof value !== 'object' || value === null) {
    throw new LockOptionsError(field, value, 'an object { attempts, delayMs, jitter }');
  }
  const v = value as LockRetryOptions;
  return {
    attempts:
      v.attempts === undefined ? base.attempts : integer(`${field}.attempts`, v.attempts, 0),
    delayMs: v.delayMs === undefined ? base.delayMs : integer(`${field}.delayMs`, v.delayMs, 0),
    jitter: v.jitter === undefined ? base.jitter : integer(`${field}.jitter`, v.jitter, 0),
  };
}
