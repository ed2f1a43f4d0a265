import type { RedisConfig, RedisConfigInput } from '@x/config';
import type { FastifyServerOptions } from 'fastify';

/** The rate-limit policies: each route group is limited by one of them (see README). */
export type PolicyName = 'api' | 'auth' | 'ops';

/** One policy: `limit` requests per `windowMs` per client IP. */
export interface RateLimitPolicy {
  limit: number;
  windowMs: number;
}

/** Options of `buildApp`. Durations are milliseconds. */
export interface DemoOptions {
  /**
   * Redis: a URL or a config from `@x/config`. Without it the demo runs on memory only (cache,
   * rate limits, sessions with the explicit memory fallback, single-instance locks, local events).
   * @default undefined (no Redis)
   */
  redis?: string | RedisConfig | RedisConfigInput | undefined;
  /**
   * Fastify's logger option (`false` silences it; `{ level, stream }` captures it).
   * @default { level: 'info' }
   */
  logger?: FastifyServerOptions['logger'];
  /**
   * How often the hybrid client probes Redis while failed over (and how soon a recovery shows).
   * @default 5_000 (or `probeIntervalMs` of the Redis config)
   */
  probeIntervalMs?: number;
  /**
   * How long start-up waits for Redis before serving from memory.
   * @default 1_000 (or `startupProbeTimeoutMs` of the Redis config)
   */
  startupProbeTimeoutMs?: number;
  /**
   * Deadline of every cache / rate-limit / lock call to Redis.
   * @default 250
   */
  operationTimeoutMs?: number;
  /**
   * Interval of the `@x/health` PING that feeds readiness and the status page's sparkline.
   * @default 1_000
   */
  healthIntervalMs?: number;
  /**
   * Deadline of one health PING.
   * @default 500
   */
  healthTimeoutMs?: number;
  /**
   * Consecutive failed health checks before Redis counts as unhealthy.
   * @default 2
   */
  healthFailureThreshold?: number;
  /**
   * Time to live of a cached item.
   * @default 60_000
   */
  itemTtlMs?: number;
  /**
   * How slow the fake source is.
   * @default 300
   */
  sourceDelayMs?: number;
  /**
   * How long the report job runs while holding its lock.
   * @default 2_000
   */
  jobDurationMs?: number;
  /**
   * TTL of the job lock (extended automatically while the job runs).
   * @default 10_000
   */
  lockTtlMs?: number;
  /**
   * Session lifetime.
   * @default 86_400_000 (24 h)
   */
  sessionTtlMs?: number;
  /**
   * `'memory'` keeps sessions working in memory while Redis is unavailable (an explicit opt-in:
   * sessions then do not survive a restart and are not shared); `'none'` fails closed with 503.
   * @default 'memory' without Redis, 'none' with Redis
   */
  sessionFallback?: 'memory' | 'none';
  /**
   * Password every demo user logs in with.
   * @default 'demo'
   */
  demoPassword?: string;
  /**
   * Secret that signs the session cookie (@fastify/session), at least 32 characters. Give every
   * instance the same one so a session cookie is valid on all of them and after a restart.
   * @default a random secret per process (sessions then end when the process restarts)
   */
  sessionSecret?: string;
  /**
   * Mark the session cookie `Secure` (serve over HTTPS then).
   * @default false
   */
  secureCookie?: boolean;
  /** Rate-limit policies (per client IP); see README. */
  rateLimits?: Partial<Record<PolicyName, Partial<RateLimitPolicy>>>;
  /**
   * Reconnection delay cap of the Redis connection (the demo keeps reconnecting forever).
   * @default the Redis config's (500)
   */
  reconnectMaxDelayMs?: number;
}

/** Default rate-limit policies: a generous one for pages and probes, a strict one for logins. */
export const DEFAULT_RATE_LIMITS: Readonly<Record<PolicyName, RateLimitPolicy>> = {
  api: { limit: 120, windowMs: 60_000 },
  auth: { limit: 10, windowMs: 60_000 },
  ops: { limit: 1_200, windowMs: 60_000 },
};

/** Thrown for an invalid option: names the field and the bad value. */
export class DemoOptionsError extends Error {
  override readonly name = 'DemoOptionsError';
  readonly code = 'E_DEMO_OPTIONS';
  constructor(
    readonly field: string,
    readonly value: unknown,
    expected: string,
  ) {
    super(`[@x/demo] invalid option ${field}: ${JSON.stringify(value)} (expected ${expected})`);
  }
}

/** Checks that every duration / count given is a positive integer. */
export function validateOptions(options: DemoOptions): void {
  const positive = [
    'probeIntervalMs',
    'startupProbeTimeoutMs',
    'operationTimeoutMs',
    'healthIntervalMs',
    'healthTimeoutMs',
    'healthFailureThreshold',
    'itemTtlMs',
    'jobDurationMs',
    'lockTtlMs',
    'sessionTtlMs',
    'reconnectMaxDelayMs',
  ] as const;
  for (const field of positive) {
    const value = options[field];
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) {
      throw new DemoOptionsError(field, value, 'an integer >= 1');
    }
  }
  const delay = options.sourceDelayMs;
  if (delay !== undefined && (!Number.isSafeInteger(delay) || delay < 0)) {
    throw new DemoOptionsError('sourceDelayMs', delay, 'an integer >= 0');
  }
  const fallback = options.sessionFallback;
  if (fallback !== undefined && fallback !== 'memory' && fallback !== 'none') {
    throw new DemoOptionsError('sessionFallback', fallback, "'memory' | 'none'");
  }
  if (options.demoPassword !== undefined && options.demoPassword.length === 0) {
    throw new DemoOptionsError('demoPassword', options.demoPassword, 'a non-empty string');
  }
  const secret = options.sessionSecret;
  if (secret !== undefined && (typeof secret !== 'string' || secret.length < 32)) {
    // Never echo a secret back: only its length.
    throw new DemoOptionsError(
      'sessionSecret',
      typeof secret === 'string' ? `<${secret.length} characters>` : secret,
      'a string of at least 32 characters',
    );
  }
  for (const [name, policy] of Object.entries(options.rateLimits ?? {})) {
    for (const field of ['limit', 'windowMs'] as const) {
      const value = policy?.[field];
      if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) {
        throw new DemoOptionsError(`rateLimits.${name}.${field}`, value, 'an integer >= 1');
      }
    }
  }
}
