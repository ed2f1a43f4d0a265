import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { toRetryStrategy } from '@x/reconnect';
import { Cluster, type ClusterNode, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { FailFastCluster, FailFastRedis } from './_internal/fail-fast-client.js';
import type { RedisConfig, RedisConfigInput, RedisTlsConfig } from './config.js';
import { credentialsConnector } from './credentials.js';
import { trackCredentials } from './credentials-tracker.js';
import { ConfigError } from './errors.js';
import { isValidatedConfig, validateConfig } from './validate-config.js';

/** An ioredis client: a `Redis` (standalone or Sentinel) or a `Cluster`. */
export type RedisClient = Redis | Cluster;

/**
 * What every package of this project accepts as its `redis` option: a URL, a config (validated
 * or not), or an existing ioredis client.
 */
export type RedisSource = string | RedisConfig | RedisConfigInput | RedisClient;

/**
 * Extra ioredis options, applied last (they win over the mapping). For a Cluster they go to
 * `redisOptions` (every node), and the cluster-level ones (`enableOfflineQueue`,
 * `enableReadyCheck`, `enableAutoPipelining`, `lazyConnect`, `retryStrategy` as
 * `clusterRetryStrategy`) to the Cluster itself.
 */
export type RedisClientOverrides = Partial<RedisOptions>;

/** Options of {@link resolveRedis}. */
export interface ResolveRedisOptions {
  /** ioredis options for a client that `resolveRedis` creates (ignored for a given client). */
  ioredis?: RedisClientOverrides;
}

/** The startup nodes and options of `new Cluster(startupNodes, options)`. */
export interface ClusterClientOptions {
  readonly startupNodes: ClusterNode[];
  readonly options: ClusterOptions;
}

/**
 * Turns a config into a validated {@link RedisConfig}.
 * @throws ConfigError listing every problem.
 */
export function toConfig(source: RedisConfig | RedisConfigInput | string): RedisConfig {
  if (isValidatedConfig(source)) return source;
  const result = validateConfig(typeof source === 'string' ? { url: source } : source);
  if (!result.ok) throw new ConfigError(result.issues);
  return result.config;
}

/**
 * The ioredis options for `config`, with the fail-fast choices below. For a Cluster these are
 * the per-node options (see {@link toClusterOptions}). TLS files are read here.
 * @throws ConfigError when the config is invalid or a TLS file cannot be read.
 */
export function toIORedisOptions(config: RedisConfig | RedisConfigInput | string): RedisOptions {
  const c = toConfig(config);
  const options: RedisOptions = {
    // With a credentials provider the connector authenticates each connection (see below), and
    // ioredis must not send an AUTH of its own.
    username: c.credentials ? undefined : c.username,
    password: c.credentials ? undefined : c.password,
    // Bounded connect: a server that accepts TCP but never answers (frozen, blackholed) fails
    // the attempt after this long instead of hanging until the OS gives up (minutes).
    connectTimeout: c.connectTimeoutMs,
    // Bounded commands: every command rejects after this long, also when the server is frozen
    // (SIGSTOP) and the socket stays open. ioredis has no deadline by default.
    commandTimeout: c.commandTimeoutMs,
    // TCP keep-alive probes detect a dead peer on an idle connection.
    keepAlive: c.keepAliveMs,
    noDelay: true,
    // No offline queue: a command while disconnected rejects at once ("Stream isn't writeable")
    // instead of piling up in memory and waiting for a reconnection that may never come.
    enableOfflineQueue: false,
    // An in-flight command waits through at most this many reconnection attempts (ioredis' own
    // default is 20, which with its backoff means tens of seconds).
    maxRetriesPerRequest: c.maxRetries,
    // Never resend commands that were sent but not answered when the connection dropped: they
    // may have run (INCR, LPUSH), and replaying them would apply them twice.
    autoResendUnfulfilledCommands: false,
    // Wait for INFO to report the server loaded before marking the client ready, so a server
    // still loading its dataset does not answer LOADING errors to the first commands.
    enableReadyCheck: true,
    // disconnect() waits this long for a socket that may already be gone (default 2 s); a short
    // wait keeps a process that closes its client while Redis is down from lingering.
    disconnectTimeout: 200,
    // Short, jittered reconnection (full jitter 50..500 ms by default): a restarted Redis is
    // picked up within about half a second, and a fleet of clients does not reconnect in
    // lockstep. Never gives up (the attempt count is unbounded) so the client recovers by itself.
    retryStrategy: toRetryStrategy(c.reconnect),
    // After a failover behind one address, the old primary answers READONLY to writes:
    // reconnect (without resending) to reach the new primary.
    reconnectOnError: reconnectOnReadonly,
    enableAutoPipelining: c.enableAutoPipelining,
  };
  // Rotating credentials: every new connection (also Sentinel-resolved nodes, Cluster nodes and
  // duplicates, which copy the options) calls the provider and authenticates before ioredis
  // takes the socket.
  if (c.credentials) {
    options.Connector = credentialsConnector(c.credentials, { username: c.username });
  }
  const tls = c.tls ? readTls(c.tls) : undefined;
  if (tls) options.tls = tls;
  if (c.mode === 'sentinel') {
    options.sentinels = c.sentinels.map((s) => ({ host: s.host, port: s.port }));
    options.name = c.sentinelName;
    options.role = 'master';
    options.db = c.db;
    if (c.sentinelUsername) options.sentinelUsername = c.sentinelUsername;
    if (c.sentinelPassword) options.sentinelPassword = c.sentinelPassword;
    // A rediss:// sentinel URL: TLS to the sentinels too, with the same CA and client certificate.
    if (c.sentinelTls) options.sentinelTLS = { ...(tls ?? {}) };
    // Same short jittered delays when every Sentinel is unreachable (default: up to 1 s, no jitter).
    options.sentinelRetryStrategy = toRetryStrategy(c.reconnect);
    // Subscribe to Sentinel's +switch-master so a failover moves the client to the new primary at
    // once, instead of staying on the demoted node until it notices READONLY.
    options.failoverDetector = true;
    // With TLS, ioredis only encrypts the data connection in Sentinel mode when asked to.
    if (c.tls) options.enableTLSForSentinelMode = true;
  } else if (c.mode === 'standalone') {
    options.host = c.host;
    options.port = c.port;
    options.db = c.db;
  }
  return options;
}

/**
 * The `new Cluster(startupNodes, options)` arguments for a cluster-mode config: per-node options
 * from {@link toIORedisOptions} (auth, TLS, timeouts) in `redisOptions`, no offline queue,
 * jittered `clusterRetryStrategy`, and `scaleReads: 'slave'` when `readReplicas` is on.
 * @throws ConfigError when the config is invalid or not in cluster mode.
 */
export function toClusterOptions(
  config: RedisConfig | RedisConfigInput | string,
  overrides: RedisClientOverrides = {},
): ClusterClientOptions {
  const c = toConfig(config);
  if (c.mode !== 'cluster') {
    throw new ConfigError([
      { path: 'mode', message: `must be 'cluster' for a Cluster client, got '${c.mode}'` },
    ]);
  }
  const node = toIORedisOptions(c);
  const {
    retryStrategy: nodeRetry,
    enableOfflineQueue,
    enableReadyCheck,
    enableAutoPipelining,
    lazyConnect,
    ...nodeOverrides
  } = overrides;
  const { retryStrategy: _ignored, reconnectOnError: _none, ...redisOptions } = node;
  const options: ClusterOptions = {
    redisOptions: { ...redisOptions, ...nodeOverrides },
    // As for a standalone client: reject commands at once while the cluster is not ready.
    enableOfflineQueue: enableOfflineQueue ?? false,
    enableReadyCheck: enableReadyCheck ?? true,
    enableAutoPipelining: enableAutoPipelining ?? c.enableAutoPipelining,
    // Jittered, short and unbounded, like the standalone retryStrategy.
    clusterRetryStrategy:
      (nodeRetry as ClusterOptions['clusterRetryStrategy']) ?? toRetryStrategy(c.reconnect),
    // Reads on replicas only when asked for: a replica may lag behind its master.
    scaleReads: c.readReplicas ? 'slave' : 'master',
    // Bound the slot refresh so a dead node cannot stall topology updates.
    slotsRefreshTimeout: Math.min(c.connectTimeoutMs, 2_000),
  };
  if (lazyConnect !== undefined) options.lazyConnect = lazyConnect;
  return {
    startupNodes: c.clusterNodes.map((n) => ({ host: n.host, port: n.port })),
    options,
  };
}

/**
 * Creates an ioredis client for a URL or config: `Redis` (standalone or Sentinel) or `Cluster`,
 * with the fail-fast options of {@link toIORedisOptions}. Never throws because Redis is down
 * and never blocks: the connection is made in the background, and commands issued before it is
 * ready reject at once (no offline queue) with a `RedisNotConnectedError` (`E_REDIS_NOT_CONNECTED`)
 * whose `cause` is the error of the last failed connection attempt (`WRONGPASS`, `ECONNREFUSED`,
 * a TLS error...) and whose message says what to check. The client is ioredis' own class (a
 * subclass that only explains those rejections); its `duplicate()`s are too.
 *
 * An `error` listener is attached that records the last connection error (without one an ioredis
 * client that cannot connect prints every error, and a Cluster may crash the process with an
 * unhandled `'error'` event). Add your own listener to log errors.
 *
 * With `credentials` in the config, every connection authenticates with the provider's
 * credentials and a tracker re-authenticates open connections before they expire
 * (`trackCredentials(client)` returns it).
 * @throws ConfigError when the config is invalid (every problem listed, secrets redacted) or a
 * TLS file cannot be read.
 * @example
 * const redis = createRedisClient(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
 */
export function createRedisClient(
  config: RedisConfig | RedisConfigInput | string,
  overrides: RedisClientOverrides = {},
): RedisClient {
  const c = toConfig(config);
  let client: RedisClient;
  if (c.mode === 'cluster') {
    const { startupNodes, options } = toClusterOptions(c, overrides);
    client = new FailFastCluster(startupNodes, options);
  } else {
    client = new FailFastRedis({ ...toIORedisOptions(c), ...overrides });
  }
  if (c.credentials) trackCredentials(client, { refreshMs: c.credentialsRefreshMs });
  return client;
}

/**
 * Resolves the `redis` option every package accepts: an existing client is used as is
 * (`owned: false`: never close it); anything else creates a client with
 * {@link createRedisClient} (`owned: true`: the caller closes it).
 * @throws ConfigError when `source` is an invalid config or URL.
 */
export function resolveRedis(
  source: RedisSource,
  options: ResolveRedisOptions = {},
): { client: RedisClient; owned: boolean } {
  if (isRedisClient(source)) return { client: source, owned: false };
  return { client: createRedisClient(source, options.ioredis), owned: true };
}

/**
 * True for an ioredis `Redis` or `Cluster` instance, also one from another installed copy of
 * ioredis (checked by shape, not only `instanceof`).
 */
export function isRedisClient(value: unknown): value is RedisClient {
  if (value instanceof Redis || value instanceof Cluster) return true;
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.sendCommand === 'function' &&
    typeof v.on === 'function' &&
    typeof v.status === 'string' &&
    typeof v.isCluster === 'boolean'
  );
}

/** True when `client` is an ioredis `Cluster`. */
export function isCluster(client: unknown): client is Cluster {
  return (
    client instanceof Cluster ||
    (typeof client === 'object' &&
      client !== null &&
      (client as { isCluster?: unknown }).isCluster === true)
  );
}

function reconnectOnReadonly(error: Error): 1 | false {
  return error.message.startsWith('READONLY') ? 1 : false;
}

function readTls(tls: RedisTlsConfig): ConnectionOptions {
  const out: ConnectionOptions = {};
  const issues: { path: string; message: string }[] = [];
  const read = (path: string, file: string | undefined): Buffer | undefined => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (error) {
      issues.push({
        path,
        message: `cannot read ${JSON.stringify(file)}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      });
      return undefined;
    }
  };
  const ca = read('tls.caFile', tls.caFile);
  const cert = read('tls.certFile', tls.certFile);
  const key = read('tls.keyFile', tls.keyFile);
  if (issues.length > 0) throw new ConfigError(issues);
  if (ca) out.ca = ca;
  if (cert) out.cert = cert;
  if (key) out.key = key;
  if (tls.skipVerify) out.rejectUnauthorized = false;
  if (tls.servername) out.servername = tls.servername;
  return out;
}
