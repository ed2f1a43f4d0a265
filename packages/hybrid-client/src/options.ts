import type { Breaker, BreakerOptions } from '@x/breaker';
import type { RedisSource } from '@x/config';
import { isLogger, type Logger } from '@x/connection';
import type { LocalCacheOptions } from '@x/local-cache';
import type { RedisOptions } from 'ioredis';
import { HybridOptionsError } from './errors.js';

/**
 * What to do on recovery with the keys written or deleted in memory during the outage.
 * - `'invalidate'`: delete them in Redis, so values older than the outage cannot resurface.
 * - `'replay'`: write memory's values to Redis (with their remaining TTL); keys deleted or
 *   expired in memory are deleted in Redis.
 * - `'none'`: leave Redis as it is (only keys whose Redis write timed out are deleted).
 */
export type RecoveryPolicy = 'none' | 'invalidate' | 'replay';

/**
 * What the client does while Redis is unusable.
 * - `'memory'`: serve every call from the in-process store, reconcile on recovery.
 * - `'none'`: calls go to Redis only and reject with `HybridUnavailableError` while it is down.
 */
export type HybridFallback = 'memory' | 'none';

/**
 * Options of the near cache (`nearCache: { ... }`).
 */
export interface NearCacheOptions {
  /**
   * Fresh copies older than this (ms since they were read from Redis) are not served: a bound on
   * how long a copy lives even if an invalidation were lost. Costs one clock read per hit.
   * @default undefined (no limit: a copy lives until Redis invalidates it or it is evicted)
   */
  maxAgeMs?: number | undefined;
  /**
   * How Redis tracks: `'default'` remembers, per client, the keys it read (server memory per key
   * read, see `tracking-table-max-keys`); `'broadcast'` sends every write of a key under one of
   * `prefixes` (no server memory per key, more invalidation traffic), and only keys under those
   * prefixes are cached.
   * @default 'default'
   */
  mode?: 'default' | 'broadcast' | undefined;
  /**
   * Broadcast mode: the key prefixes to track (keys as you pass them to the client); `[]` tracks
   * every key. Ignored in default mode.
   * @default []
   */
  prefixes?: readonly string[] | undefined;
}

/** Options of `createHybridClient`. */
export interface HybridClientOptions {
  /**
   * Redis: a `redis://` / `rediss://` URL, a config of `@x/config`, or an existing ioredis client
   * (`Redis` or `Cluster`; used as is and never closed). Omit it for a memory-only client.
   * @default undefined (memory only)
   */
  redis?: RedisSource | undefined;
  /**
   * ioredis options for a client created from a URL or config (ignored for a given client),
   * applied after the fail-fast choices of `@x/config` and `@x/connection`.
   * @default undefined
   */
  ioredis?: Partial<RedisOptions> | undefined;
  /**
   * What serves calls while Redis is unusable: `'memory'` (the in-process store) or `'none'`
   * (calls reject with `HybridUnavailableError`, carrying the diagnosis).
   * @default 'memory'
   */
  fallback?: HybridFallback | undefined;
  /**
   * Deadline of every Redis call, in ms. A call never waits longer: at the deadline it is served
   * from memory (or rejects with `fallback: 'none'`).
   * @default 250
   */
  timeoutMs?: number | undefined;
  /**
   * Longest gap between two recovery probes while Redis is unusable, in ms. Recovery is also
   * driven by the client's `ready` event and by a PING kept in flight, so it usually happens
   * sooner.
   * @default the config's `probeIntervalMs` (`REDIS_PROBE_INTERVAL`) when `redis` is a config, else 5000
   */
  probeIntervalMs?: number | undefined;
  /**
   * Time between two health PINGs while Redis is usable, in ms (a frozen server is noticed on an
   * idle client too); `0` turns them off.
   * @default the config's `healthCheckIntervalMs` (`REDIS_HEALTH_CHECK_INTERVAL`), else 30000
   */
  healthCheckIntervalMs?: number | undefined;
  /**
   * How long `await createHybridClient()` waits for Redis before serving from memory, in ms. A
   * misconfiguration (wrong password, TLS mismatch, unknown host...) does not wait for it.
   * @default the config's `startupProbeTimeoutMs` (`REDIS_STARTUP_PROBE_TIMEOUT`), else 1000
   */
  startupProbeTimeoutMs?: number | undefined;
  /**
   * Reconciliation on recovery (see {@link RecoveryPolicy}).
   * @default 'invalidate'
   */
  onRecovery?: RecoveryPolicy | undefined;
  /**
   * Most keys the outage journal holds; beyond it the oldest entries are dropped (and the
   * recovery log line and event say so).
   * @default 10000
   */
  maxJournalKeys?: number | undefined;
  /**
   * The circuit breaker of the connection's guard: options, a `Breaker` of `@x/breaker` (shareable
   * with other packages), or `false`. After `maxFailures` consecutive failures the client stops
   * sending to Redis and serves from memory until a probe succeeds.
   * @default { maxFailures: 5, resetTimeout: 5000 } (the connection's)
   */
  breaker?: Breaker | BreakerOptions | false | undefined;
  /**
   * Options of the in-memory store (`@x/local-cache`: `maxBytes`, `maxEntries`,
   * `janitorIntervalMs`).
   * @default { maxBytes: 104857600 } (100 MB)
   */
  local?: LocalCacheOptions | undefined;
  /**
   * The near cache: reads are served from the in-process store when it holds a copy that Redis
   * tracks for this client (`CLIENT TRACKING`), and every write by any client invalidates it.
   * `false` turns it off (every read goes to Redis, and nothing is kept for the fail-safe).
   * @default true
   */
  nearCache?: boolean | NearCacheOptions | undefined;
  /**
   * While Redis is unusable, a copy is served (marked stale) until this long after it was last
   * known to be Redis' value (when tracking stopped); `0` serves no copy. Needs the near cache.
   * @default 600000 (10 min)
   */
  failSafeMaxAgeMs?: number | undefined;
  /**
   * Prefix of `client.keys.of(...)`. Keys are not rewritten behind your back: the key you pass is
   * the key stored (as shown by redis-cli and in log lines).
   * @default ''
   */
  keyPrefix?: string | undefined;
  /**
   * Where the few lines the client logs go: a pino-compatible logger, `console`, a function
   * `(msg, fields) => void`, or `false`.
   * @default console
   */
  logger?: Logger | undefined;
}

/** The defaults of the options that are the hybrid client's own. */
export const HYBRID_DEFAULTS = Object.freeze({
  fallback: 'memory' as HybridFallback,
  timeoutMs: 250,
  onRecovery: 'invalidate' as RecoveryPolicy,
  maxJournalKeys: 10_000,
  keyPrefix: '',
  failSafeMaxAgeMs: 600_000,
});

/** @internal The near cache's options, resolved; `undefined` when it is off. */
export interface ResolvedNearOptions {
  maxAgeMs: number;
  mode: 'default' | 'broadcast';
  prefixes: readonly string[];
}

/** @internal Every option validated, with its default, computed once. */
export interface ResolvedHybridOptions {
  redis: RedisSource | undefined;
  ioredis: Partial<RedisOptions> | undefined;
  fallback: HybridFallback;
  timeoutMs: number;
  /** `undefined`: the connection takes the config's value, else its default. */
  probeIntervalMs: number | undefined;
  healthCheckIntervalMs: number | undefined;
  startupProbeTimeoutMs: number | undefined;
  onRecovery: RecoveryPolicy;
  maxJournalKeys: number;
  breaker: Breaker | BreakerOptions | false | undefined;
  local: LocalCacheOptions | undefined;
  keyPrefix: string;
  logger: Logger | undefined;
  /** `undefined`: off (or no Redis). */
  nearCache: ResolvedNearOptions | undefined;
  failSafeMaxAgeMs: number;
}

const POLICIES: readonly RecoveryPolicy[] = ['none', 'invalidate', 'replay'];
const FALLBACKS: readonly HybridFallback[] = ['memory', 'none'];

/**
 * Validates the options and fills in every default once. The options that reach the connection
 * are checked here too, so that a memory-only client rejects the same bad values.
 * @throws HybridOptionsError (`E_HYBRID_OPTIONS`) naming the field and the value.
 */
export function resolveHybridOptions(options: HybridClientOptions): ResolvedHybridOptions {
  if (typeof options !== 'object' || options === null) {
    throw new HybridOptionsError('options', options, 'an object');
  }
  const redis = options.redis;
  if (
    redis !== undefined &&
    typeof redis !== 'string' &&
    (typeof redis !== 'object' || redis === null)
  ) {
    throw new HybridOptionsError('redis', redis, 'a URL, a config or an ioredis client');
  }
  const fallback = options.fallback ?? HYBRID_DEFAULTS.fallback;
  if (!FALLBACKS.includes(fallback)) {
    throw new HybridOptionsError('fallback', fallback, `one of ${FALLBACKS.join(', ')}`);
  }
  if (redis === undefined && fallback === 'none') {
    throw new HybridOptionsError(
      'fallback',
      fallback,
      "'memory' when no redis is given (memory is the only backend)",
    );
  }
  const onRecovery = options.onRecovery ?? HYBRID_DEFAULTS.onRecovery;
  if (!POLICIES.includes(onRecovery)) {
    throw new HybridOptionsError('onRecovery', onRecovery, `one of ${POLICIES.join(', ')}`);
  }
  if (options.logger !== undefined && !isLogger(options.logger)) {
    throw new HybridOptionsError(
      'logger',
      options.logger,
      'a function (msg, fields), a pino or console-like logger, or false',
    );
  }
  const keyPrefix = options.keyPrefix ?? HYBRID_DEFAULTS.keyPrefix;
  if (typeof keyPrefix !== 'string')
    throw new HybridOptionsError('keyPrefix', keyPrefix, 'a string');
  const breaker = options.breaker;
  if (
    breaker !== undefined &&
    breaker !== false &&
    (typeof breaker !== 'object' || breaker === null)
  ) {
    throw new HybridOptionsError('breaker', breaker, 'breaker options, a Breaker or false');
  }
  for (const field of ['local', 'ioredis'] as const) {
    const v = options[field];
    if (v !== undefined && (typeof v !== 'object' || v === null)) {
      throw new HybridOptionsError(field, v, 'an object');
    }
  }
  return {
    nearCache: redis === undefined ? undefined : resolveNear(options.nearCache),
    failSafeMaxAgeMs:
      integer('failSafeMaxAgeMs', options.failSafeMaxAgeMs, 0) ?? HYBRID_DEFAULTS.failSafeMaxAgeMs,
    redis,
    ioredis: options.ioredis,
    fallback,
    timeoutMs: integer('timeoutMs', options.timeoutMs, 1) ?? HYBRID_DEFAULTS.timeoutMs,
    probeIntervalMs: integer('probeIntervalMs', options.probeIntervalMs, 1),
    healthCheckIntervalMs: integer('healthCheckIntervalMs', options.healthCheckIntervalMs, 0),
    startupProbeTimeoutMs: integer('startupProbeTimeoutMs', options.startupProbeTimeoutMs, 1),
    onRecovery,
    maxJournalKeys:
      integer('maxJournalKeys', options.maxJournalKeys, 1) ?? HYBRID_DEFAULTS.maxJournalKeys,
    breaker,
    local: options.local,
    keyPrefix,
    logger: options.logger,
  };
}

const MODES = ['default', 'broadcast'] as const;

/** `nearCache` validated: `undefined` when off. */
function resolveNear(value: HybridClientOptions['nearCache']): ResolvedNearOptions | undefined {
  if (value === false) return undefined;
  if (value === undefined || value === true) return { maxAgeMs: 0, mode: 'default', prefixes: [] };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HybridOptionsError(
      'nearCache',
      value,
      'true, false or { maxAgeMs?, mode?, prefixes? }',
    );
  }
  const mode = value.mode ?? 'default';
  if (!MODES.includes(mode)) {
    throw new HybridOptionsError('nearCache.mode', mode, `one of ${MODES.join(', ')}`);
  }
  const prefixes = value.prefixes ?? [];
  if (
    !Array.isArray(prefixes) ||
    prefixes.some((p: unknown) => typeof p !== 'string' || p === '')
  ) {
    throw new HybridOptionsError('nearCache.prefixes', prefixes, 'an array of non-empty strings');
  }
  return {
    maxAgeMs: integer('nearCache.maxAgeMs', value.maxAgeMs, 1) ?? 0,
    mode,
    prefixes: [...prefixes],
  };
}

/** An integer option `>= min`, or `undefined` when not given. */
function integer(field: string, value: unknown, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new HybridOptionsError(field, value, `an integer >= ${min}`);
  }
  return value;
}
