import type { Breaker, BreakerOptions } from '@x/breaker';
import { isRedisClient, type RedisSource, toConfig } from '@x/config';
import type { RedisOptions } from 'ioredis';
import { ConnectionOptionsError } from './errors.js';
import { isLogger, type Logger } from './logger.js';

/** Options of `createConnection`. */
export interface ConnectionOptions {
  /**
   * Where Redis is: a `redis://` / `rediss://` URL, a config of `@x/config` (validated or not), or
   * an existing ioredis `Redis` / `Cluster`. A given client is used as is and never closed; a
   * client created here is closed by `close()`.
   */
  redis: RedisSource;
  /**
   * Whether the connection owns the client: then it closes it in `close()`, caps its reconnection
   * delay and may reset its sockets (a blackholed link). A client created from a URL or config is
   * always owned; a given client is borrowed unless `owned: true` hands it over (e.g. a duplicate
   * made for this connection alone).
   * @default true for a URL or config, false for a given client
   */
  owned?: boolean | undefined;
  /**
   * ioredis options for a client created from a URL or config (ignored for a given client),
   * applied after the fail-fast choices of `@x/config`.
   * @default undefined
   */
  ioredis?: Partial<RedisOptions> | undefined;
  /**
   * Deadline of one guarded call, in ms: a call never waits longer, also when Redis is frozen.
   * Also the deadline of the watch's PINGs.
   * @default 1000
   */
  timeoutMs?: number | undefined;
  /**
   * The circuit breaker of the guard: options for a new one, an existing `Breaker` of
   * `@x/breaker` (shareable between connections and packages), or `false` for a deadline only.
   * @default { maxFailures: 5, resetTimeout: 5000 }
   */
  breaker?: Breaker | BreakerOptions | false | undefined;
  /**
   * Where the connection logs a misconfiguration (once, at error level): a pino-compatible
   * logger, `console`, a function `(msg, fields) => void`, or `false`.
   * @default console
   */
  logger?: Logger | undefined;
  /**
   * How the package using the connection reports an invalid option, so that its users meet its own
   * error class: called with the option's name (`breaker.<field>` for a field of the breaker
   * options), the value and what was expected. A `ConfigError` (an invalid URL or config) is thrown
   * as it is.
   * @default a ConnectionOptionsError
   */
  optionError?: ((field: string, value: unknown, expected: string) => Error) | undefined;
  /**
   * Who uses this connection, e.g. `'@x/lock'`: starts its log lines, names it in `stats()` and in
   * the diagnostics channel messages.
   * @default '@x/connection'
   */
  name?: string | undefined;
  /**
   * Longest gap between two recovery probes while Redis is unusable, in ms. Recovery is also driven
   * by the client's `ready` event and by a PING kept in flight, so it usually happens sooner.
   * @default the config's `probeIntervalMs` (`REDIS_PROBE_INTERVAL`), else 5000
   */
  probeIntervalMs?: number | undefined;
  /**
   * Time between two health PINGs while Redis is usable, in ms (a frozen server is noticed on an
   * idle connection too); `0` turns them off.
   * @default the config's `healthCheckIntervalMs` (`REDIS_HEALTH_CHECK_INTERVAL`), else 30000
   */
  healthCheckIntervalMs?: number | undefined;
  /**
   * Default deadline of `ready()`, in ms.
   * @default the config's `startupProbeTimeoutMs` (`REDIS_STARTUP_PROBE_TIMEOUT`), else 1000
   */
  startupProbeTimeoutMs?: number | undefined;
  /**
   * Sentinel only: Redis is unusable from the first step of a failover that a sentinel announces
   * (`+try-failover`, before the replica is promoted) until the sentinels name the new primary
   * (`+switch-master`) and the client has left the old one. Replication is asynchronous and the
   * old primary keeps accepting writes for about a second after its replica was promoted; those
   * writes are lost (and reads there see the data of a primary that is going away). The
   * connection subscribes to every sentinel for it. Turn it off only where a short outage during
   * a failover is worse than lost writes and stale reads. No effect on a standalone or Cluster
   * client.
   * @default true
   */
  failoverFence?: boolean | undefined;
}

/** @internal Every option with its default, computed once. */
export interface ResolvedConnectionOptions {
  redis: RedisSource;
  ioredis: Partial<RedisOptions> | undefined;
  timeoutMs: number;
  breaker: Breaker | BreakerOptions | false;
  logger: Logger | undefined;
  owned: boolean | undefined;
  name: string;
  probeIntervalMs: number;
  healthCheckIntervalMs: number;
  startupProbeTimeoutMs: number;
  failoverFence: boolean;
  /** The config's `credentialsRefreshMs`, for the trackers of the connection's duplicates. */
  credentialsRefreshMs: number | undefined;
}

/** The defaults used when neither the options nor the config say otherwise. */
export const CONNECTION_DEFAULTS = Object.freeze({
  timeoutMs: 1_000,
  breaker: Object.freeze({ maxFailures: 5, resetTimeout: 5_000 }) as BreakerOptions,
  name: '@x/connection',
  probeIntervalMs: 5_000,
  healthCheckIntervalMs: 30_000,
  startupProbeTimeoutMs: 1_000,
});

/**
 * Validates the options and fills in every default once: explicit options first, then the values
 * of the config when `redis` is a config (so `REDIS_PROBE_INTERVAL` and friends reach every
 * package), then {@link CONNECTION_DEFAULTS}.
 * @throws ConnectionOptionsError naming the invalid option; ConfigError for an invalid config.
 */
export function resolveConnectionOptions(options: ConnectionOptions): ResolvedConnectionOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConnectionOptionsError('options', options, 'an object with `redis`');
  }
  if (options.optionError !== undefined && typeof options.optionError !== 'function') {
    throw new ConnectionOptionsError('optionError', options.optionError, 'a function');
  }
  const { redis } = options;
  if (
    redis === undefined ||
    redis === null ||
    (typeof redis !== 'string' && typeof redis !== 'object')
  ) {
    throw new ConnectionOptionsError('redis', redis, 'a URL, a config or an ioredis client');
  }
  const fromConfig = isRedisClient(redis) ? undefined : toConfig(redis);
  const ioredis = options.ioredis;
  if (ioredis !== undefined && (typeof ioredis !== 'object' || ioredis === null)) {
    throw new ConnectionOptionsError('ioredis', ioredis, 'an object of ioredis options');
  }
  const breaker = options.breaker ?? CONNECTION_DEFAULTS.breaker;
  if (breaker !== false && (typeof breaker !== 'object' || breaker === null)) {
    throw new ConnectionOptionsError('breaker', breaker, 'breaker options, a Breaker or false');
  }
  if (options.logger !== undefined && !isLogger(options.logger)) {
    throw new ConnectionOptionsError(
      'logger',
      options.logger,
      'a function (msg, fields), a pino or console-like logger, or false',
    );
  }
  const owned = options.owned;
  if (owned !== undefined && typeof owned !== 'boolean') {
    throw new ConnectionOptionsError('owned', owned, 'a boolean');
  }
  if (owned === false && !isRedisClient(redis)) {
    throw new ConnectionOptionsError(
      'owned',
      owned,
      'true or undefined: a client created from a URL or config is always owned',
    );
  }
  const failoverFence = options.failoverFence ?? true;
  if (typeof failoverFence !== 'boolean') {
    throw new ConnectionOptionsError('failoverFence', failoverFence, 'a boolean');
  }
  const name = options.name ?? CONNECTION_DEFAULTS.name;
  if (typeof name !== 'string' || name === '') {
    throw new ConnectionOptionsError('name', name, 'a non-empty string');
  }
  return {
    redis,
    ioredis,
    timeoutMs: ms('timeoutMs', options.timeoutMs, CONNECTION_DEFAULTS.timeoutMs, 1),
    breaker,
    logger: options.logger,
    owned,
    name,
    probeIntervalMs: ms(
      'probeIntervalMs',
      options.probeIntervalMs,
      fromConfig?.probeIntervalMs ?? CONNECTION_DEFAULTS.probeIntervalMs,
      1,
    ),
    healthCheckIntervalMs: ms(
      'healthCheckIntervalMs',
      options.healthCheckIntervalMs,
      fromConfig?.healthCheckIntervalMs ?? CONNECTION_DEFAULTS.healthCheckIntervalMs,
      0,
    ),
    startupProbeTimeoutMs: ms(
      'startupProbeTimeoutMs',
      options.startupProbeTimeoutMs,
      fromConfig?.startupProbeTimeoutMs ?? CONNECTION_DEFAULTS.startupProbeTimeoutMs,
      1,
    ),
    failoverFence,
    credentialsRefreshMs: fromConfig?.credentialsRefreshMs,
  };
}

function ms(field: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new ConnectionOptionsError(field, value, `an integer >= ${min} (ms)`);
  }
  return value;
}
