import type { Breaker, BreakerOptions } from '@x/breaker';
import type { RedisSource } from '@x/config';
import type { Logger } from '@x/connection';
import type { RedisOptions } from 'ioredis';
import { SessionOptionsError } from './errors.js';

/** What the store does while Redis is unavailable: fail closed, or serve from memory. */
export type SessionFallback = 'none' | 'memory';

/** Options of `createSessionStore`. */
export interface SessionStoreOptions {
  /**
   * Where Redis is: a `redis://` / `rediss://` URL, a config of `@x/config`, or an existing ioredis
   * `Redis` / `Cluster`. A given client is used as is and never closed; a client created from a
   * URL or config is closed by `close()`.
   */
  redis: RedisSource;
  /**
   * ioredis options for the client created from a URL or config (ignored for a given client).
   * @default undefined
   */
  ioredis?: Partial<RedisOptions> | undefined;
  /**
   * Idle lifetime in ms: a session expires this long after its creation or its last `touch`.
   * @default 86_400_000 (24 h)
   */
  ttlMs?: number | undefined;
  /**
   * Absolute lifetime in ms: no `touch` extends a session past `createdAt + absoluteTtlMs`.
   * @default undefined (no absolute limit)
   */
  absoluteTtlMs?: number | undefined;
  /**
   * Prefix of every key. Must not contain `{` or `}` (the hash tag is added by the store).
   * @default 'sess:'
   */
  keyPrefix?: string | undefined;
  /**
   * Deadline of every store call in ms, also when Redis is frozen: a call (all of its Redis round
   * trips, and the replay of changes it waits for after an outage) settles within it.
   * @default 1000
   */
  timeoutMs?: number | undefined;
  /**
   * Circuit breaker: options for a new one, an existing `Breaker` of `@x/breaker` (shareable
   * between packages), or `false`. While it is open, calls fail at once (or go to memory with
   * `fallback: 'memory'`).
   * @default { maxFailures: 5, resetTimeout: 5000 }
   */
  breaker?: Breaker | BreakerOptions | false | undefined;
  /**
   * What to do when Redis is unavailable: `'none'` fails closed with `SessionUnavailableError`;
   * `'memory'` serves from an in-process store, and once Redis is usable again replays into it
   * what happened there: destroys first (a logout made during the outage wins), then copies of
   * the sessions written there, never overwriting a record Redis already has. See the README
   * ("Reconciliation") for the exact rules and limits.
   * @default 'none'
   */
  fallback?: SessionFallback | undefined;
  /**
   * With `fallback: 'memory'`: most keys the memory fallback holds (least recently used evicted
   * first), and most changes waiting to be replayed into Redis (beyond it the oldest pending copy
   * is dropped first; counted in `stats().reconcileDropped`).
   * @default 10_000
   */
  maxEntries?: number | undefined;
  /**
   * Random bytes in a session id (from `crypto.randomBytes`): at least 16 (128 bits), at most 128.
   * @default 24
   */
  idBytes?: number | undefined;
  /**
   * Where the store logs (Redis unusable and usable again, once each per outage) and where its
   * connection logs a misconfiguration (once, error level): a pino-compatible logger, `console`,
   * a function `(msg, fields) => void`, or `false`.
   * @default console
   */
  logger?: Logger | undefined;
}

/** @internal Every option of `createSessionStore` with its default, computed once. */
export interface ResolvedSessionOptions {
  redis: RedisSource;
  ioredis: Partial<RedisOptions> | undefined;
  ttlMs: number;
  /** 0: no absolute limit. */
  absoluteTtlMs: number;
  keyPrefix: string;
  timeoutMs: number;
  breaker: Breaker | BreakerOptions | false | undefined;
  fallback: SessionFallback;
  maxEntries: number;
  idBytes: number;
  logger: Logger | undefined;
}

/** The defaults of `createSessionStore`. */
export const SESSION_DEFAULTS = Object.freeze({
  ttlMs: 86_400_000,
  keyPrefix: 'sess:',
  timeoutMs: 1_000,
  fallback: 'none' as SessionFallback,
  maxEntries: 10_000,
  idBytes: 24,
});

/**
 * Validates the options that are the store's own and fills in the defaults (`redis`, `ioredis`,
 * `breaker` and `logger` are validated by `createConnection`, which reports them as `SessionOptionsError`).
 * @throws SessionOptionsError naming the invalid option and its value.
 */
export function resolveSessionOptions(options: SessionStoreOptions): ResolvedSessionOptions {
  if (typeof options !== 'object' || options === null) {
    throw new SessionOptionsError('options', options, 'an object with `redis`');
  }
  if (options.redis === undefined || options.redis === null) {
    throw new SessionOptionsError('redis', options.redis, 'a URL, a config or an ioredis client');
  }
  const keyPrefix = options.keyPrefix ?? SESSION_DEFAULTS.keyPrefix;
  if (typeof keyPrefix !== 'string' || /[{}]/.test(keyPrefix)) {
    throw new SessionOptionsError('keyPrefix', keyPrefix, 'a string without { or }');
  }
  const fallback = options.fallback ?? SESSION_DEFAULTS.fallback;
  if (fallback !== 'none' && fallback !== 'memory') {
    throw new SessionOptionsError('fallback', fallback, "'none' or 'memory'");
  }
  const idBytes = int('idBytes', options.idBytes, SESSION_DEFAULTS.idBytes, 16);
  if (idBytes > 128) throw new SessionOptionsError('idBytes', idBytes, 'an integer from 16 to 128');
  return {
    redis: options.redis,
    ioredis: options.ioredis,
    ttlMs: int('ttlMs', options.ttlMs, SESSION_DEFAULTS.ttlMs, 1),
    absoluteTtlMs: int('absoluteTtlMs', options.absoluteTtlMs, 0, 1),
    keyPrefix,
    timeoutMs: int('timeoutMs', options.timeoutMs, SESSION_DEFAULTS.timeoutMs, 1),
    breaker: options.breaker,
    fallback,
    maxEntries: int('maxEntries', options.maxEntries, SESSION_DEFAULTS.maxEntries, 1),
    idBytes,
    logger: options.logger,
  };
}

/** An integer option of at least `min`; `fallback` when not given. */
function int(field: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new SessionOptionsError(field, value, `an integer >= ${min}`);
  }
  return value;
}
