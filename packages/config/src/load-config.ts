import type { RedisConfig, RedisConfigInput } from './config.js';
import { parseDuration } from './duration.js';
import { ConfigError } from './errors.js';
import { validateWithSources } from './validate-config.js';

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Where to read the `REDIS_*` variables from. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Values that win over the environment (same shape as `validateConfig`'s input). An `url`
   * here also replaces `REDIS_HOST/PORT/USERNAME/PASSWORD/DB` from the environment.
   */
  overrides?: RedisConfigInput;
}

/**
 * The environment variables read by {@link loadConfig}, each with the field it sets. Where two
 * names set one field, the first one set wins (`REDIS_CONNECT_TIMEOUT` over `REDIS_DIAL_TIMEOUT`);
 * `REDIS_READ_TIMEOUT`/`REDIS_WRITE_TIMEOUT` together give the larger of the two.
 */
export const ENV_VARS = Object.freeze({
  REDIS_URL: 'url',
  REDIS_HOST: 'host',
  REDIS_PORT: 'port',
  REDIS_USERNAME: 'username',
  REDIS_PASSWORD: 'password',
  REDIS_DB: 'db',
  REDIS_CONNECT_TIMEOUT: 'connectTimeoutMs',
  REDIS_DIAL_TIMEOUT: 'connectTimeoutMs',
  REDIS_COMMAND_TIMEOUT: 'commandTimeoutMs',
  REDIS_READ_TIMEOUT: 'commandTimeoutMs',
  REDIS_WRITE_TIMEOUT: 'commandTimeoutMs',
  REDIS_KEEP_ALIVE: 'keepAliveMs',
  REDIS_MAX_RETRIES: 'maxRetries',
  REDIS_MIN_RETRY_BACKOFF: 'minRetryBackoffMs',
  REDIS_MAX_RETRY_BACKOFF: 'maxRetryBackoffMs',
  REDIS_POOL_SIZE: 'poolSize',
  REDIS_MIN_IDLE_CONNS: 'minIdleConns',
  REDIS_ENABLE_AUTO_PIPELINING: 'enableAutoPipelining',
  REDIS_TLS: 'tls.enabled',
  REDIS_TLS_CA_FILE: 'tls.caFile',
  REDIS_TLS_CERT_FILE: 'tls.certFile',
  REDIS_TLS_KEY_FILE: 'tls.keyFile',
  REDIS_TLS_SKIP_VERIFY: 'tls.skipVerify',
  REDIS_TLS_SERVERNAME: 'tls.servername',
  REDIS_CLUSTER_MODE: 'clusterMode',
  REDIS_CLUSTER_NODES: 'clusterNodes',
  REDIS_SENTINELS: 'sentinels',
  REDIS_SENTINEL_NAME: 'sentinelName',
  REDIS_SENTINEL_USERNAME: 'sentinelUsername',
  REDIS_SENTINEL_PASSWORD: 'sentinelPassword',
  REDIS_READ_REPLICAS: 'readReplicas',
  REDIS_READ_REPLICA_URLS: 'readReplicaUrls',
  REDIS_HEALTH_CHECK_INTERVAL: 'healthCheckIntervalMs',
  REDIS_PROBE_INTERVAL: 'probeIntervalMs',
  REDIS_STARTUP_PROBE_TIMEOUT: 'startupProbeTimeoutMs',
} as const);

const URL_PARTS = ['host', 'port', 'username', 'password', 'db'] as const;

/**
 * Reads the `REDIS_*` environment variables (see {@link ENV_VARS}), applies `overrides`,
 * validates the result and fills the defaults. Empty variables count as unset.
 * @throws ConfigError (`E_CONFIG`) listing every problem; messages name the variable and never
 * contain a secret.
 * @example
 * const config = loadConfig(); // REDIS_URL=redis://:secret@cache:6379/1
 * const redis = createRedisClient(config);
 */
export function loadConfig(options: LoadConfigOptions = {}): RedisConfig {
  const env = options.env ?? process.env;
  const input: Record<string, unknown> = {};
  const tls: Record<string, unknown> = {};
  const sources: Record<string, string> = {};

  for (const [name, field] of Object.entries(ENV_VARS)) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') continue;
    const value = field.endsWith('Password') || field === 'password' ? raw : raw.trim();
    if (field.startsWith('tls.')) {
      const key = field.slice(4);
      if (tls[key] === undefined) {
        tls[key] = value;
        sources[field] = name;
      }
      continue;
    }
    if (input[field] === undefined) {
      input[field] = value;
      sources[field] = name;
    } else if (name === 'REDIS_WRITE_TIMEOUT' && sources[field] === 'REDIS_READ_TIMEOUT') {
      // One ioredis deadline covers both directions: keep the larger.
      if (largerDuration(value, input[field] as string) === value) {
        input[field] = value;
        sources[field] = name;
      }
    }
  }
  if (Object.keys(tls).length > 0) {
    if (
      tls.enabled === undefined &&
      tls.caFile === undefined &&
      tls.certFile === undefined &&
      tls.keyFile === undefined &&
      !/^(true|1|yes|on)$/i.test(String(tls.skipVerify ?? ''))
    ) {
      // Only REDIS_TLS_SERVERNAME / REDIS_TLS_SKIP_VERIFY=false: they tune TLS, not enable it.
      tls.enabled = /^rediss:/i.test(String(input.url ?? ''));
    }
    // A CA/cert/key file without REDIS_TLS enables TLS: the file would be useless otherwise.
    input.tls = tls;
  }

  const overrides = options.overrides ?? {};
  if (overrides.url !== undefined) {
    for (const part of URL_PARTS) {
      delete input[part];
      delete sources[part];
    }
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (
      key === 'tls' &&
      typeof value === 'object' &&
      value !== null &&
      typeof input.tls === 'object'
    ) {
      input.tls = { ...(input.tls as object), ...value };
      for (const k of Object.keys(value)) delete sources[`tls.${k}`];
    } else {
      input[key] = value;
      delete sources[key];
    }
  }

  const result = validateWithSources(input, sources);
  if (!result.ok) throw new ConfigError(result.issues);
  return result.config;
}

function largerDuration(a: string, b: string): string {
  try {
    return parseDuration(a) >= parseDuration(b) ? a : b;
  } catch {
    // Keep the unparsable one so that validation reports it.
    try {
      parseDuration(a);
      return b;
    } catch {
      return a;
    }
  }
}
