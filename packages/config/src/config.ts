import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { Jitter } from '@x/reconnect';
import {
  checkEndpoint,
  ENDPOINT_FORMS,
  type EndpointEntry,
  formatHostPort,
  splitList,
} from './_internal/endpoint.js';
import { hideSecrets, REDACTED, redactUrl } from './_internal/redact.js';
import type { CredentialsProvider } from './credentials.js';
import { describeValue, parseDuration } from './duration.js';
import type { ConfigIssue } from './errors.js';
import { checkRedisUrl } from './redis-url.js';

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
const TLS_KEYS = new Set(['enabled', 'caFile', 'certFile', 'keyFile', 'skipVerify', 'servername']);
const MODES: readonly RedisMode[] = ['standalone', 'sentinel', 'cluster'];
const JITTERS: readonly Jitter[] = ['none', 'full', 'equal', 'decorrelated'];
const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

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

/** A {@link RedisConfig} with every secret replaced by `'***'`, safe to log. */
export type RedactedRedisConfig = { readonly [K in keyof RedisConfig]: RedisConfig[K] };

/**
 * Returns a plain copy of `config` (or of a config input) with passwords replaced by `'***'`
 * and credentials inside URLs redacted (`redis://user:***@host`). Safe to log or serialise.
 */
export function redactConfig(config: RedisConfig | RedisConfigInput): RedactedRedisConfig {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (key === 'password' || key === 'sentinelPassword') {
      out[key] = value === undefined ? undefined : REDACTED;
    } else if (key === 'url' && typeof value === 'string') {
      out[key] = redactUrl(value);
    } else if (key === 'readReplicaUrls' || key === 'clusterNodes' || key === 'sentinels') {
      // Lists may hold URLs with credentials; each entry is redacted on its own.
      out[key] =
        typeof value === 'string'
          ? value.split(',').map(redactUrl).join(',')
          : Array.isArray(value)
            ? value.map((u) =>
                typeof u === 'string'
                  ? redactUrl(u)
                  : typeof u === 'object' && u !== null
                    ? { ...u }
                    : u,
              )
            : value;
    } else if (Array.isArray(value)) {
      out[key] = value.map((e) => (typeof e === 'object' && e !== null ? { ...e } : e));
    } else if (typeof value === 'object' && value !== null) {
      out[key] = { ...value };
    } else {
      out[key] = value;
    }
  }
  return out as unknown as RedactedRedisConfig;
}

function readTls(
  v: Reader,
  value: unknown,
  fromUrl: boolean,
  add: (path: string, message: string) => void,
): RedisTlsConfig | undefined {
  let enabled: boolean | undefined;
  let settings: Record<string, unknown> = {};
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    settings = value as Record<string, unknown>;
    for (const key of Object.keys(settings)) {
      if (!TLS_KEYS.has(key) && settings[key] !== undefined)
        add(`tls.${key}`, unknownOption(key, TLS_KEYS));
    }
    // The object form (also a validated RedisTlsConfig) means TLS unless it says `enabled: false`.
    enabled = settings.enabled === undefined ? true : v.bool('tls.enabled', settings.enabled);
  } else if (value !== undefined) {
    enabled = v.bool('tls', value);
  }
  const caFile = v.file('tls.caFile', settings.caFile);
  const certFile = v.file('tls.certFile', settings.certFile);
  const keyFile = v.file('tls.keyFile', settings.keyFile);
  const skipVerify = v.bool('tls.skipVerify', settings.skipVerify) ?? false;
  const servername = v.string('tls.servername', settings.servername);
  if (isEmpty(settings.certFile) !== isEmpty(settings.keyFile)) {
    add(
      isEmpty(settings.certFile) ? 'tls.certFile' : 'tls.keyFile',
      'certFile and keyFile go together (mutual TLS): give both, or neither',
    );
  }
  const on = enabled ?? (fromUrl || caFile !== undefined || certFile !== undefined || skipVerify);
  if (!on) return undefined;
  return Object.freeze({ caFile, certFile, keyFile, skipVerify, servername });
}

function readReconnect(
  v: Reader,
  value: unknown,
  add: (path: string, message: string) => void,
): RedisReconnectConfig {
  const d = CONFIG_DEFAULTS.reconnect;
  if (value === undefined) return d;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    add(
      'reconnect',
      `must be an object { jitter, minDelayMs, maxDelayMs }, got ${describeValue(value)}`,
    );
    return d;
  }
  const r = value as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (!['jitter', 'minDelayMs', 'maxDelayMs'].includes(key) && r[key] !== undefined)
      add(`reconnect.${key}`, 'unknown option');
  }
  let jitter = d.jitter;
  if (r.jitter !== undefined) {
    if (JITTERS.includes(r.jitter as Jitter)) jitter = r.jitter as Jitter;
    else
      add(
        'reconnect.jitter',
        `must be one of ${JITTERS.join(', ')}, got ${describeValue(r.jitter)}`,
      );
  }
  const minDelayMs = v.duration('reconnect.minDelayMs', r.minDelayMs, false) ?? d.minDelayMs;
  const maxDelayMs =
    v.duration('reconnect.maxDelayMs', r.maxDelayMs, false) ?? Math.max(d.maxDelayMs, minDelayMs);
  if (maxDelayMs < minDelayMs) {
    add(
      'reconnect.maxDelayMs',
      `must be >= reconnect.minDelayMs (${minDelayMs}), got ${maxDelayMs}`,
    );
  }
  return Object.freeze({ jitter, minDelayMs, maxDelayMs });
}

/** A parsed list entry and its field path (`clusterNodes[1]`). */
interface IndexedEntry {
  readonly path: string;
  readonly entry: EndpointEntry;
}

interface EntryScheme {
  readonly path: string;
  readonly scheme: 'redis' | 'rediss';
}

function toEndpoint({ entry }: IndexedEntry): RedisEndpoint {
  return Object.freeze({ host: entry.host, port: entry.port });
}

/**
 * The user and password of a list of URLs: the first URL with credentials gives them, every other
 * URL with credentials must say the same, and so must the explicit fields when both are given.
 */
function mergeCredentials(
  entries: readonly IndexedEntry[],
  given: { username: string | undefined; password: string | undefined },
  fields: { username: string; password: string },
  rule: string,
  add: (path: string, message: string) => void,
): { username: string | undefined; password: string | undefined } {
  let first: IndexedEntry | undefined;
  for (const item of entries) {
    const { username, password } = item.entry;
    if (username === undefined && password === undefined) continue;
    if (first === undefined) {
      first = item;
    } else if (username !== first.entry.username || password !== first.entry.password) {
      add(item.path, `user or password differs from ${first.path}: ${rule}`);
    }
  }
  if (first === undefined) return given;
  const { username, password } = first.entry;
  if (given.password !== undefined && password !== undefined && given.password !== password) {
    add(
      first.path,
      `the password in this URL differs from ${fields.password}: give it once (in ${fields.password} or in the URLs)`,
    );
  }
  if (given.username !== undefined && username !== undefined && given.username !== username) {
    add(
      first.path,
      `the user ${describeValue(username)} in this URL differs from ${fields.username} ${describeValue(given.username)}: give it once`,
    );
  }
  return { username: given.username ?? username, password: given.password ?? password };
}

/** The scheme of the first URL in a list (bare `host:port` entries say nothing); all must agree. */
function firstScheme(
  entries: readonly IndexedEntry[],
  what: string,
  add: (path: string, message: string) => void,
): EntryScheme | undefined {
  let first: EntryScheme | undefined;
  for (const { path, entry } of entries) {
    if (entry.scheme === undefined) continue;
    if (first === undefined) first = { path, scheme: entry.scheme };
    else if (entry.scheme !== first.scheme) {
      add(
        path,
        `${entry.scheme}:// differs from ${first.scheme}:// in ${first.path}: ${what} uses TLS, or none does`,
      );
    }
  }
  return first;
}

/** "unknown option", with the closest known name when it looks like a typo. */
function unknownOption(key: string, known: ReadonlySet<string>): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of known) {
    const d = distance(key.toLowerCase(), name.toLowerCase());
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best === undefined
    ? 'unknown option (not a field of RedisConfigInput): remove it'
    : `unknown option: did you mean ${best}?`;
}

/** Levenshtein distance (short strings only). */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

function isEmpty(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    (typeof value === 'string' && value.trim() === '') ||
    (Array.isArray(value) && value.length === 0)
  );
}

/** Field readers: each returns `undefined` for an absent or invalid value (and records the issue). */
class Reader {
  readonly #add: (path: string, message: string) => void;

  constructor(add: (path: string, message: string) => void) {
    this.#add = add;
  }

  string(path: string, value: unknown): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') {
      this.#add(path, `must be a string, got ${describeValue(value)}`);
      return undefined;
    }
    return value === '' ? undefined : value;
  }

  /** Like `string` but never echoes the value. */
  secret(path: string, value: unknown): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') {
      this.#add(path, `must be a string, got a ${typeof value}`);
      return undefined;
    }
    return value === '' ? undefined : value;
  }

  int(path: string, value: unknown, min: number, max: number): number | undefined {
    if (value === undefined || value === null || value === '') return undefined;
    const n = typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `${min}..${max}`;
      this.#add(path, `must be an integer ${range}, got ${describeValue(value)}`);
      return undefined;
    }
    return n;
  }

  bool(path: string, value: unknown): boolean | undefined {
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value === 'boolean') return value;
    if (typeof value === 'string') {
      const s = value.trim().toLowerCase();
      if (TRUE.has(s)) return true;
      if (FALSE.has(s)) return false;
    }
    this.#add(
      path,
      `must be a boolean (true/false/1/0/yes/no/on/off), got ${describeValue(value)}`,
    );
    return undefined;
  }

  duration(path: string, value: unknown, positive: boolean): number | undefined {
    if (value === undefined || value === null || value === '') return undefined;
    let ms: number;
    try {
      ms = parseDuration(value as number | string);
    } catch {
      this.#add(
        path,
        `must be a duration (ms, or e.g. '500ms', '5s', '10m', '24h'), got ${describeValue(value)}`,
      );
      return undefined;
    }
    if (ms < 0 || (positive && ms === 0)) {
      this.#add(
        path,
        `must be ${positive ? 'a positive' : 'a non-negative'} duration, got ${describeValue(value)}`,
      );
      return undefined;
    }
    return ms;
  }

  file(path: string, value: unknown): string | undefined {
    const file = this.string(path, value);
    if (file === undefined) return undefined;
    let isFile = false;
    try {
      isFile = statSync(file).isFile();
    } catch {
      isFile = false;
    }
    if (!isFile) {
      this.#add(
        path,
        `file not found: ${JSON.stringify(file)}${isAbsolute(file) ? '' : ` (relative to the working directory ${process.cwd()})`}`,
      );
      return undefined;
    }
    return file;
  }

  /**
   * A list of endpoints: `'a:1,b:2'`, or an array of strings / `{ host, port }` objects. Strings
   * may be `host:port`, `[ipv6]:port` or `redis://` / `rediss://` URLs (with credentials).
   */
  endpoints(path: string, value: unknown, defaultPort: number): IndexedEntry[] {
    if (value === undefined || value === null || value === '') return [];
    if (typeof value !== 'string' && !Array.isArray(value)) {
      this.#add(
        path,
        `must be a comma-separated list (${ENDPOINT_FORMS}) or an array, got ${describeValue(value)}`,
      );
      return [];
    }
    const items: unknown[] =
      typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value;
    const out: IndexedEntry[] = [];
    items.forEach((item, i) => {
      const at = `${path}[${i}]`;
      if (typeof item === 'object' && item !== null) {
        const { host, port } = item as Partial<RedisEndpoint>;
        const p = this.int(`${at}.port`, port ?? defaultPort, 1, 65535);
        if (typeof host !== 'string' || host === '')
          this.#add(`${at}.host`, `must be a host name, got ${describeValue(host)}`);
        else if (p !== undefined)
          out.push({
            path: at,
            entry: {
              host,
              port: p,
              scheme: undefined,
              username: undefined,
              password: undefined,
              db: undefined,
            },
          });
        return;
      }
      if (typeof item !== 'string' || item === '') {
        this.#add(at, `must be ${ENDPOINT_FORMS}, got ${describeValue(item)}`);
        return;
      }
      const entry = checkEndpoint(item, defaultPort);
      if (typeof entry === 'string') this.#add(at, entry);
      else out.push({ path: at, entry });
    });
    return out;
  }

  /**
   * Replica addresses: a comma-separated string or an array of `redis://` / `rediss://` URLs or
   * `host:port` (turned into `redis://host:port`, which takes credentials and TLS from the config).
   */
  urls(path: string, value: unknown): string[] {
    if (value === undefined || value === null || value === '') return [];
    if (typeof value !== 'string' && !Array.isArray(value)) {
      this.#add(
        path,
        `must be a comma-separated list (${ENDPOINT_FORMS}) or an array, got ${describeValue(value)}`,
      );
      return [];
    }
    const items: unknown[] = typeof value === 'string' ? splitList(value) : value;
    const out: string[] = [];
    items.forEach((item, i) => {
      const at = `${path}[${i}]`;
      if (typeof item !== 'string' || item.trim() === '') {
        this.#add(at, `must be ${ENDPOINT_FORMS}, got ${describeValue(item)}`);
        return;
      }
      const entry = checkEndpoint(item, 6379);
      if (typeof entry === 'string') this.#add(at, entry);
      else if (entry.scheme === undefined)
        out.push(`redis://${formatHostPort(entry.host, entry.port)}`);
      else out.push(item.trim());
    });
    return out;
  }
}
