import { loadConfig, parseDuration } from '@x/config';
import type { DemoOptions, PolicyName, RateLimitPolicy } from './options';
import { DemoOptionsError } from './options';

/** Where to listen and how to build the app, read from the environment. */
export interface DemoEnv {
  port: number;
  host: string;
  options: DemoOptions;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Any of these makes the demo use Redis (through `@x/config`'s `loadConfig`). */
const REDIS_MARKERS = ['REDIS_URL', 'REDIS_HOST', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'];

/**
 * Reads `PORT` (default 3000), `HOST` (default 127.0.0.1), the `REDIS_*` variables of
 * `@x/config` (Redis is used only when one of REDIS_URL / REDIS_HOST / REDIS_SENTINELS /
 * REDIS_CLUSTER_NODES is set) and the `DEMO_*` knobs listed in the README.
 * @throws ConfigError (from `@x/config`) or DemoOptionsError naming the bad variable.
 */
export function loadDemoEnv(env: Env = process.env): DemoEnv {
  const options: DemoOptions = {};
  const useRedis = REDIS_MARKERS.some((name) => (env[name] ?? '').trim() !== '');
  if (useRedis) {
    const config = loadConfig({ env });
    options.redis = config;
    options.probeIntervalMs = config.probeIntervalMs;
    options.startupProbeTimeoutMs = config.startupProbeTimeoutMs;
  }
  const durations = {
    DEMO_PROBE_INTERVAL: 'probeIntervalMs',
    DEMO_OPERATION_TIMEOUT: 'operationTimeoutMs',
    DEMO_HEALTH_INTERVAL: 'healthIntervalMs',
    DEMO_HEALTH_TIMEOUT: 'healthTimeoutMs',
    DEMO_ITEM_TTL: 'itemTtlMs',
    DEMO_SOURCE_DELAY: 'sourceDelayMs',
    DEMO_JOB_DURATION: 'jobDurationMs',
    DEMO_LOCK_TTL: 'lockTtlMs',
    DEMO_SESSION_TTL: 'sessionTtlMs',
  } as const;
  for (const [name, field] of Object.entries(durations)) {
    const raw = env[name]?.trim();
    if (!raw) continue;
    try {
      options[field] = parseDuration(raw);
    } catch {
      throw new DemoOptionsError(name, raw, 'a duration such as 500ms, 5s or 1m');
    }
  }
  const fallback = env.DEMO_SESSION_FALLBACK?.trim();
  if (fallback) {
    if (fallback !== 'memory' && fallback !== 'none') {
      throw new DemoOptionsError('DEMO_SESSION_FALLBACK', fallback, "'memory' | 'none'");
    }
    options.sessionFallback = fallback;
  }
  if (env.DEMO_PASSWORD) options.demoPassword = env.DEMO_PASSWORD;
  if (env.DEMO_SESSION_SECRET) options.sessionSecret = env.DEMO_SESSION_SECRET;
  if (env.DEMO_SECURE_COOKIE === 'true' || env.DEMO_SECURE_COOKIE === '1') {
    options.secureCookie = true;
  }
  const limits: Partial<Record<PolicyName, Partial<RateLimitPolicy>>> = {};
  for (const [name, policy] of [
    ['DEMO_RATE_LIMIT', 'api'],
    ['DEMO_LOGIN_RATE_LIMIT', 'auth'],
    ['DEMO_OPS_RATE_LIMIT', 'ops'],
  ] as const) {
    const raw = env[name]?.trim();
    if (raw) limits[policy] = parsePolicy(name, raw);
  }
  if (Object.keys(limits).length > 0) options.rateLimits = limits;
  const level = env.LOG_LEVEL?.trim();
  options.logger = { level: level || 'info' };

  return {
    port: parsePort(env.PORT),
    host: env.HOST?.trim() || '127.0.0.1',
    options,
  };
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return 3000;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new DemoOptionsError('PORT', raw, 'an integer from 0 to 65535');
  }
  return port;
}

/** `"100/1m"` -> 100 requests per minute. */
function parsePolicy(name: string, raw: string): RateLimitPolicy {
  const match = /^(\d+)\s*\/\s*(.+)$/.exec(raw);
  if (match) {
    try {
      const limit = Number(match[1]);
      const windowMs = parseDuration(match[2]!);
      if (limit >= 1 && windowMs >= 1) return { limit, windowMs };
    } catch {
      // reported below
    }
  }
  throw new DemoOptionsError(name, raw, 'LIMIT/WINDOW such as 100/1m');
}
