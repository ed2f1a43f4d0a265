import type { Jitter } from '@x/reconnect';
import type { CredentialsProvider } from './credentials.js';
import type { ConfigIssue } from './errors.js';

/** How the deployment is reached. */
export type RedisMode = 'standalone' | 'sentinel' | 'cluster';

/** A `host:port` pair (a Cluster startup node or a Sentinel). */
export interface RedisEndpoint {
  readonly host: string;
  readonly port: number;
}

/** A duration: ms as a number, or a string such as `'500ms'`, `'5s'`, `'10m'`, `'24h'`. */
export type DurationInput = number | string;
/** A boolean, or one of `true/false/1/0/yes/no/on/off` (any case). */
export type BooleanInput = boolean | string;
/**
 * Endpoints as a comma-separated string or a list of strings / `{ host, port }` objects. Each
 * string is `host:port`, `[ipv6]:port` or a `redis://` / `rediss://` URL (with user and
 * password): `'10.0.0.1:6379,redis://:secret@10.0.0.2:6379'`.
 */
export type EndpointsInput = string | readonly (string | RedisEndpoint)[];

/** TLS settings of a validated config. Files are read when a client is created. */
export interface RedisTlsConfig {
  /** PEM file of the CA that signed the server certificate (`REDIS_TLS_CA_FILE`). */
  readonly caFile: string | undefined;
  /** Client certificate for mutual TLS (`REDIS_TLS_CERT_FILE`). */
  readonly certFile: string | undefined;
  /** Key of the client certificate (`REDIS_TLS_KEY_FILE`). */
  readonly keyFile: string | undefined;
  /** Accept any server certificate (`REDIS_TLS_SKIP_VERIFY`). For development only. @default false */
  readonly skipVerify: boolean;
  /** SNI / certificate host name, when it differs from `host` (`REDIS_TLS_SERVERNAME`). */
  readonly servername: string | undefined;
}

/** TLS input: `true`/`'true'` to enable with defaults, or the settings. */
export interface RedisTlsInput {
  /** @default true when the object is given */
  enabled?: BooleanInput;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** @default false */
  skipVerify?: BooleanInput;
  servername?: string;
}

/** Reconnection backoff (passed to `toRetryStrategy` of `@x/reconnect`). */
export interface RedisReconnectConfig {
  /** @default 'full' */
  readonly jitter: Jitter;
  /** @default 50 */
  readonly minDelayMs: number;
  /** @default 500 */
  readonly maxDelayMs: number;
}

/**
 * A validated description of a Redis deployment, as returned by `loadConfig` / `validateConfig`.
 * Frozen. `JSON.stringify`, `String()` and `util.inspect` show it with secrets replaced by `***`.
 */
export interface RedisConfig {
  /** `'cluster'` with `clusterMode`, `'sentinel'` with `sentinels`, else `'standalone'`. */
  readonly mode: RedisMode;
  /** @default '127.0.0.1' */
  readonly host: string;
  /** @default 6379 */
  readonly port: number;
  /** ACL user name (Redis 6+). */
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** Logical database, 0..15 (always 0 in cluster mode). @default 0 */
  readonly db: number;
  /** `undefined` for plain TCP. */
  readonly tls: RedisTlsConfig | undefined;
  /** Deadline to establish a connection (ms). @default 5_000 */
  readonly connectTimeoutMs: number;
  /** Deadline of every command (ms). @default 3_000 */
  readonly commandTimeoutMs: number;
  /** TCP keep-alive initial delay (ms); detects dead peers on idle connections. @default 10_000 */
  readonly keepAliveMs: number;
  /** Reconnections an in-flight command may wait through (ioredis `maxRetriesPerRequest`). @default 3 */
  readonly maxRetries: number;
  /** Smallest delay between per-command retries (for `retry()` of `@x/reconnect`). @default 1_000 */
  readonly minRetryBackoffMs: number;
  /** Largest delay between per-command retries. @default 3_000 */
  readonly maxRetryBackoffMs: number;
  /** Reconnection delays. @default { jitter: 'full', minDelayMs: 50, maxDelayMs: 500 } */
  readonly reconnect: RedisReconnectConfig;
  /** Connections of `createClientPool`. @default 10 */
  readonly poolSize: number;
  /** Connections a pool keeps open at least (<= poolSize). @default 5 */
  readonly minIdleConns: number;
  /** ioredis auto-pipelining. @default false */
  readonly enableAutoPipelining: boolean;
  /** Cluster startup nodes (cluster mode). */
  readonly clusterNodes: readonly RedisEndpoint[];
  /** Sentinel addresses (sentinel mode). */
  readonly sentinels: readonly RedisEndpoint[];
  /** Name of the monitored master (sentinel mode). */
  readonly sentinelName: string | undefined;
  /** ACL user of the sentinels (`REDIS_SENTINEL_USERNAME`, or the user of a sentinel URL). */
  readonly sentinelUsername: string | undefined;
  /** Password of the sentinels (`REDIS_SENTINEL_PASSWORD`, or the password of a sentinel URL). */
  readonly sentinelPassword: string | undefined;
  /**
   * TLS to the sentinels (a `rediss://` sentinel URL), with the CA/cert/key of `tls`.
   * @default false
   */
  readonly sentinelTls: boolean;
  /** Route reads to replicas. @default false (true when `readReplicaUrls` is given) */
  readonly readReplicas: boolean;
  /** Replica URLs (standalone mode). */
  readonly readReplicaUrls: readonly string[];
  /**
   * Rotating credentials: called for every new connection and reconnection, and before the
   * credentials of open connections expire (see the README, "Rotating credentials"). Replaces
   * `password`; `username` is used when the provider returns none. Never read from the
   * environment.
   */
  readonly credentials: CredentialsProvider | undefined;
  /**
   * With `credentials`: re-authenticate every open connection at least this often (ms), also
   * when the credentials carry no `expiresAt`. @default undefined (only before `expiresAt`)
   */
  readonly credentialsRefreshMs: number | undefined;
  /** Interval of background health checks (ms). @default 30_000 */
  readonly healthCheckIntervalMs: number;
  /** Interval of recovery probes while failed over (ms). @default 5_000 */
  readonly probeIntervalMs: number;
  /** How long start-up waits for a first answer (ms). @default 1_000 */
  readonly startupProbeTimeoutMs: number;
}

/**
 * Input of `validateConfig` / `createRedisClient` / `loadConfig({ overrides })`: every field of
 * {@link RedisConfig} is optional and may be given as a string (as read from the environment),
 * plus `url`, `clusterMode` and the short `tls` form. A `RedisConfig` is a valid input.
 * Explicit fields win over the parts of `url`.
 */
export interface RedisConfigInput {
  /** `redis://[user[:password]@]host[:port][/db]`; `rediss://` enables TLS. */
  url?: string;
  mode?: RedisMode;
  host?: string;
  port?: number | string;
  username?: string;
  password?: string;
  db?: number | string;
  tls?: BooleanInput | RedisTlsInput | RedisTlsConfig;
  connectTimeoutMs?: DurationInput;
  commandTimeoutMs?: DurationInput;
  keepAliveMs?: DurationInput;
  maxRetries?: number | string;
  minRetryBackoffMs?: DurationInput;
  maxRetryBackoffMs?: DurationInput;
  reconnect?: { jitter?: Jitter; minDelayMs?: DurationInput; maxDelayMs?: DurationInput };
  poolSize?: number | string;
  minIdleConns?: number | string;
  enableAutoPipelining?: BooleanInput;
  /** Shorthand for `mode: 'cluster'`. */
  clusterMode?: BooleanInput;
  clusterNodes?: EndpointsInput;
  sentinels?: EndpointsInput;
  sentinelName?: string;
  sentinelUsername?: string;
  sentinelPassword?: string;
  /** TLS to the sentinels; also set by `rediss://` sentinel URLs. @default false */
  sentinelTls?: BooleanInput;
  readReplicas?: BooleanInput;
  /** Replica URLs or `host:port`, a list or a comma-separated string. */
  readReplicaUrls?: string | readonly string[];
  /** A function returning `{ username?, password, expiresAt? }`, sync or async. */
  credentials?: CredentialsProvider;
  credentialsRefreshMs?: DurationInput;
  healthCheckIntervalMs?: DurationInput;
  probeIntervalMs?: DurationInput;
  startupProbeTimeoutMs?: DurationInput;
}

/** Result of {@link validateConfig}. */
export type ConfigValidation =
  | { readonly ok: true; readonly config: RedisConfig }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

/** The defaults, from the systems this package replaces. */
export const CONFIG_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 6379,
  db: 0,
  connectTimeoutMs: 5_000,
  commandTimeoutMs: 3_000,
  keepAliveMs: 10_000,
  maxRetries: 3,
  minRetryBackoffMs: 1_000,
  maxRetryBackoffMs: 3_000,
  reconnect: Object.freeze({ jitter: 'full' as Jitter, minDelayMs: 50, maxDelayMs: 500 }),
  poolSize: 10,
  minIdleConns: 5,
  enableAutoPipelining: false,
  healthCheckIntervalMs: 30_000,
  probeIntervalMs: 5_000,
  startupProbeTimeoutMs: 1_000,
});
