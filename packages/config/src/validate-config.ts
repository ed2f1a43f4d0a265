import {
  type EntryScheme,
  firstScheme,
  isEmpty,
  mergeCredentials,
  Reader,
  readReconnect,
  readTls,
  toEndpoint,
  unknownOption,
} from './_internal/config-fields.js';
import { hideSecrets } from './_internal/redact.js';
import {
  CONFIG_DEFAULTS,
  type ConfigValidation,
  type RedisConfig,
  type RedisMode,
} from './config.js';
import type { CredentialsProvider } from './credentials.js';
import { describeValue } from './duration.js';
import type { ConfigIssue } from './errors.js';
import { redactConfig } from './redact-config.js';
import { checkRedisUrl } from './redis-url.js';

const KNOWN_KEYS = new Set([
  'url',
  'mode',
  'host',
  'port',
  'username',
  'password',
  'db',
  'tls',
  'connectTimeoutMs',
  'commandTimeoutMs',
  'keepAliveMs',
  'maxRetries',
  'minRetryBackoffMs',
  'maxRetryBackoffMs',
  'reconnect',
  'poolSize',
  'minIdleConns',
  'enableAutoPipelining',
  'clusterMode',
  'clusterNodes',
  'sentinels',
  'sentinelName',
  'sentinelUsername',
  'sentinelPassword',
  'sentinelTls',
  'readReplicas',
  'readReplicaUrls',
  'credentials',
  'credentialsRefreshMs',
  'healthCheckIntervalMs',
  'probeIntervalMs',
  'startupProbeTimeoutMs',
]);
const MODES: readonly RedisMode[] = ['standalone', 'sentinel', 'cluster'];

const VALIDATED: unique symbol = Symbol.for('@x/config.validated') as never;

/** True for a config returned by `validateConfig`/`loadConfig` (and not modified since: frozen). */
export function isValidatedConfig(value: unknown): value is RedisConfig {
  return typeof value === 'object' && value !== null && (value as never)[VALIDATED] === true;
}

/**
 * Validates an input and fills the defaults. Reports **every** problem at once, each with its
 * field path; messages never contain a secret.
 * @example
 * const result = validateConfig({ url: process.env.REDIS_URL, port: 70000 });
 * if (!result.ok) console.error(result.issues); // [{ path: 'port', message: 'must be ...' }]
 */
export function validateConfig(input: unknown): ConfigValidation {
  return validateWithSources(input, undefined);
}

/** @internal `sources` maps a top-level field to the environment variable it came from. */
export function validateWithSources(
  input: unknown,
  sources: Readonly<Record<string, string>> | undefined,
): ConfigValidation {
  const issues: ConfigIssue[] = [];
  const add = (path: string, message: string): void => {
    const root = path.replace(/[.[].*$/, '');
    const source = sources?.[path] ?? sources?.[root];
    issues.push({ path, message: source ? `${message} (from ${source})` : message });
  };
  if (typeof input === 'string') input = { url: input };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return {
      ok: false,
      issues: [{ path: '', message: `expected an object or a URL, got ${describeValue(input)}` }],
    };
  }
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!KNOWN_KEYS.has(key) && raw[key] !== undefined) add(key, unknownOption(key, KNOWN_KEYS));
  }
  const v = new Reader(add);

  // URL first; explicit fields override its parts.
  let fromUrl:
    | {
        tls: boolean;
        host: string;
        port: number;
        username?: string;
        password?: string;
        db?: number;
      }
    | undefined;
  if (raw.url !== undefined) {
    const parsed = checkRedisUrl(raw.url);
    if (typeof parsed === 'string') add('url', parsed);
    else fromUrl = parsed;
  }

  const host = v.string('host', raw.host) ?? fromUrl?.host ?? CONFIG_DEFAULTS.host;
  if (/[\s/]/.test(host))
    add('host', `must be a host name or IP address, got ${describeValue(host)}`);
  const port = v.int('port', raw.port, 1, 65535) ?? fromUrl?.port ?? CONFIG_DEFAULTS.port;
  const usernameGiven = v.string('username', raw.username) ?? fromUrl?.username;
  const passwordGiven = v.secret('password', raw.password) ?? fromUrl?.password;
  const dbGiven = v.int('db', raw.db, 0, Number.MAX_SAFE_INTEGER) ?? fromUrl?.db;

  // Topology.
  const clusterMode = v.bool('clusterMode', raw.clusterMode);
  let explicitMode: RedisMode | undefined;
  if (raw.mode !== undefined) {
    if (MODES.includes(raw.mode as RedisMode)) explicitMode = raw.mode as RedisMode;
    else add('mode', `must be one of ${MODES.join(', ')}, got ${describeValue(raw.mode)}`);
  }
  const clusterEntries = v.endpoints('clusterNodes', raw.clusterNodes, 6379);
  const sentinelEntries = v.endpoints('sentinels', raw.sentinels, 26379);
  const clusterNodes = clusterEntries.map(toEndpoint);
  const sentinels = sentinelEntries.map(toEndpoint);
  const sentinelName = v.string('sentinelName', raw.sentinelName);
  const sentinelUsernameGiven = v.string('sentinelUsername', raw.sentinelUsername);
  const sentinelPasswordGiven = v.secret('sentinelPassword', raw.sentinelPassword);
  const sentinelTlsGiven = v.bool('sentinelTls', raw.sentinelTls);

  const wantsCluster = explicitMode === 'cluster' || clusterMode === true;
  const wantsSentinel = explicitMode === 'sentinel' || !isEmpty(raw.sentinels);
  let mode: RedisMode = explicitMode ?? 'standalone';
  if (wantsCluster && wantsSentinel) {
    add(
      'sentinels',
      'cluster mode and sentinels cannot both be set: a deployment is either a Redis Cluster or a primary watched by Sentinel; remove one',
    );
    mode = 'cluster';
  } else if (wantsCluster) mode = 'cluster';
  else if (wantsSentinel) mode = 'sentinel';
  if (explicitMode === 'standalone' && (clusterMode === true || sentinels.length > 0)) {
    add(
      'mode',
      `is 'standalone' but ${clusterMode ? 'clusterMode' : 'sentinels'} is set: remove one of the two`,
    );
  }

  if (mode === 'cluster' && clusterNodes.length === 0 && isEmpty(raw.clusterNodes)) {
    add(
      'clusterNodes',
      'required in cluster mode (e.g. "10.0.0.1:6379,10.0.0.2:6379" or "redis://:password@node1:6379,redis://:password@node2:6379")',
    );
  }
  if (mode !== 'cluster' && clusterNodes.length > 0) {
    add(
      'clusterNodes',
      'only used in cluster mode: set clusterMode (REDIS_CLUSTER_MODE=true), or remove the nodes',
    );
  }
  if (mode === 'sentinel') {
    if (sentinels.length === 0 && isEmpty(raw.sentinels))
      add('sentinels', 'required in sentinel mode (e.g. "10.0.0.1:26379,10.0.0.2:26379")');
    if (sentinelName === undefined)
      add('sentinelName', 'required with sentinels (the monitored master name)');
  } else if (sentinelName !== undefined && !wantsSentinel) {
    add('sentinelName', 'only used with sentinels: set sentinels (REDIS_SENTINELS), or remove it');
  }

  let db = dbGiven ?? CONFIG_DEFAULTS.db;
  if (dbGiven !== undefined) {
    if (mode === 'cluster' && dbGiven !== 0) {
      add('db', `must be 0 in cluster mode (Redis Cluster has a single database), got ${dbGiven}`);
      db = 0;
    } else if (mode !== 'cluster' && dbGiven > 15) {
      add('db', `must be 0..15, got ${dbGiven}`);
    }
  }

  // Credentials and TLS written in the URLs of cluster nodes and sentinels (see the README).
  let username = usernameGiven;
  let password = passwordGiven;
  let nodesTls: EntryScheme | undefined;
  if (mode === 'cluster') {
    for (const { path, entry } of clusterEntries) {
      if (entry.db !== undefined && entry.db !== 0) {
        add(path, `a Cluster has a single database (0), got /${entry.db} in the URL`);
      }
    }
    ({ username, password } = mergeCredentials(
      clusterEntries,
      { username: usernameGiven, password: passwordGiven },
      { username: 'username', password: 'password' },
      'every node of a Cluster takes the same user and password',
      add,
    ));
    nodesTls = firstScheme(clusterEntries, 'every node of a Cluster', add);
  }
  let sentinelUsername = sentinelUsernameGiven;
  let sentinelPassword = sentinelPasswordGiven;
  let sentinelTls = sentinelTlsGiven ?? false;
  if (mode === 'sentinel') {
    for (const { path, entry } of sentinelEntries) {
      if (entry.db !== undefined) {
        add(
          path,
          `a Sentinel has no database: remove /${entry.db} from the URL and set the data database with db (REDIS_DB)`,
        );
      }
    }
    ({ username: sentinelUsername, password: sentinelPassword } = mergeCredentials(
      sentinelEntries,
      { username: sentinelUsernameGiven, password: sentinelPasswordGiven },
      { username: 'sentinelUsername', password: 'sentinelPassword' },
      'every Sentinel takes the same user and password',
      add,
    ));
    const scheme = firstScheme(sentinelEntries, 'every Sentinel', add);
    if (scheme !== undefined) {
      const urlTls = scheme.scheme === 'rediss';
      if (sentinelTlsGiven !== undefined && sentinelTlsGiven !== urlTls) {
        add(
          scheme.path,
          `${scheme.scheme}:// says TLS ${urlTls ? 'on' : 'off'} for the sentinels, but sentinelTls is ${sentinelTlsGiven}: say it once`,
        );
      }
      sentinelTls = urlTls;
    }
  }

  // TLS.
  const tls = readTls(v, raw.tls, fromUrl?.tls === true || nodesTls?.scheme === 'rediss', add);
  if (nodesTls !== undefined && (tls !== undefined) !== (nodesTls.scheme === 'rediss')) {
    add(
      nodesTls.path,
      nodesTls.scheme === 'rediss'
        ? 'rediss:// asks for TLS, but TLS is turned off (tls / REDIS_TLS): remove one of the two'
        : 'redis:// asks for plain TCP, but TLS is on (tls / REDIS_TLS / a rediss:// url): write rediss:// or host:port',
    );
  }

  // Timeouts and retries.
  const connectTimeoutMs =
    v.duration('connectTimeoutMs', raw.connectTimeoutMs, true) ?? CONFIG_DEFAULTS.connectTimeoutMs;
  const commandTimeoutMs =
    v.duration('commandTimeoutMs', raw.commandTimeoutMs, true) ?? CONFIG_DEFAULTS.commandTimeoutMs;
  const keepAliveMs =
    v.duration('keepAliveMs', raw.keepAliveMs, false) ?? CONFIG_DEFAULTS.keepAliveMs;
  const maxRetries = v.int('maxRetries', raw.maxRetries, 0, 1_000) ?? CONFIG_DEFAULTS.maxRetries;
  const minRetryBackoffMs =
    v.duration('minRetryBackoffMs', raw.minRetryBackoffMs, false) ??
    CONFIG_DEFAULTS.minRetryBackoffMs;
  const maxRetryBackoffMs =
    v.duration('maxRetryBackoffMs', raw.maxRetryBackoffMs, false) ??
    CONFIG_DEFAULTS.maxRetryBackoffMs;
  if (maxRetryBackoffMs < minRetryBackoffMs) {
    add(
      'maxRetryBackoffMs',
      `must be >= minRetryBackoffMs (${minRetryBackoffMs}), got ${maxRetryBackoffMs}`,
    );
  }
  const reconnect = readReconnect(v, raw.reconnect, add);

  const poolSize = v.int('poolSize', raw.poolSize, 1, 10_000) ?? CONFIG_DEFAULTS.poolSize;
  const minIdleGiven = v.int('minIdleConns', raw.minIdleConns, 0, 10_000);
  const minIdleConns = minIdleGiven ?? Math.min(CONFIG_DEFAULTS.minIdleConns, poolSize);
  if (minIdleGiven !== undefined && minIdleGiven > poolSize) {
    add('minIdleConns', `must be <= poolSize (${poolSize}), got ${minIdleGiven}`);
  }
  const enableAutoPipelining =
    v.bool('enableAutoPipelining', raw.enableAutoPipelining) ??
    CONFIG_DEFAULTS.enableAutoPipelining;

  // Replicas.
  const readReplicaUrls = v.urls('readReplicaUrls', raw.readReplicaUrls);
  const readReplicas = v.bool('readReplicas', raw.readReplicas) ?? readReplicaUrls.length > 0;
  if (readReplicaUrls.length > 0 && mode !== 'standalone') {
    add('readReplicaUrls', `only used in standalone mode (${mode} finds its replicas itself)`);
  }
  if (
    readReplicas &&
    mode === 'standalone' &&
    readReplicaUrls.length === 0 &&
    isEmpty(raw.readReplicaUrls)
  ) {
    add(
      'readReplicaUrls',
      'required when readReplicas is on in standalone mode: list the replicas (REDIS_READ_REPLICA_URLS), or turn readReplicas off',
    );
  }

  // Rotating credentials.
  let credentials: CredentialsProvider | undefined;
  if (raw.credentials !== undefined && raw.credentials !== null) {
    if (typeof raw.credentials === 'function') credentials = raw.credentials as CredentialsProvider;
    else
      add(
        'credentials',
        `must be a function returning { username?, password, expiresAt? } (sync or async), got ${describeValue(raw.credentials)}`,
      );
  }
  const credentialsRefreshMs = v.duration('credentialsRefreshMs', raw.credentialsRefreshMs, true);
  if (credentials !== undefined && password !== undefined) {
    add(
      'password',
      'is given together with credentials: the credentials provider supplies the password; remove the password (REDIS_PASSWORD, or the one in REDIS_URL / the node URLs)',
    );
  }
  if (
    credentialsRefreshMs !== undefined &&
    credentials === undefined &&
    raw.credentials === undefined
  ) {
    add('credentialsRefreshMs', 'only used with credentials (a credentials provider)');
  }

  const healthCheckIntervalMs =
    v.duration('healthCheckIntervalMs', raw.healthCheckIntervalMs, true) ??
    CONFIG_DEFAULTS.healthCheckIntervalMs;
  const probeIntervalMs =
    v.duration('probeIntervalMs', raw.probeIntervalMs, true) ?? CONFIG_DEFAULTS.probeIntervalMs;
  const startupProbeTimeoutMs =
    v.duration('startupProbeTimeoutMs', raw.startupProbeTimeoutMs, true) ??
    CONFIG_DEFAULTS.startupProbeTimeoutMs;

  if (issues.length > 0) return { ok: false, issues };

  const config: RedisConfig = {
    mode,
    host,
    port,
    username,
    password,
    db,
    tls,
    connectTimeoutMs,
    commandTimeoutMs,
    keepAliveMs,
    maxRetries,
    minRetryBackoffMs,
    maxRetryBackoffMs,
    reconnect,
    poolSize,
    minIdleConns,
    enableAutoPipelining,
    clusterNodes: Object.freeze(clusterNodes),
    sentinels: Object.freeze(sentinels),
    sentinelName,
    sentinelUsername,
    sentinelPassword,
    sentinelTls,
    readReplicas,
    readReplicaUrls: Object.freeze(readReplicaUrls),
    credentials,
    credentialsRefreshMs,
    healthCheckIntervalMs,
    probeIntervalMs,
    startupProbeTimeoutMs,
  };
  hideSecrets(config, redactConfig);
  Object.defineProperty(config, VALIDATED, { value: true });
  return { ok: true, config: Object.freeze(config) };
}
