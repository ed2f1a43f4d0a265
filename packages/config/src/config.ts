import { statSync } from 'node:fs';
import type { Jitter } from '@x/reconnect';
import { hideSecrets, REDACTED, redactUrl } from './_internal/redact.js';
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
/** Endpoints as `'host:port,host:port'` or a list of `'host:port'` strings / objects. */
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
  readonly sentinelUsername: string | undefined;
  readonly sentinelPassword: string | undefined;
  /** Route reads to replicas. @default false (true when `readReplicaUrls` is given) */
  readonly readReplicas: boolean;
  /** Replica URLs (standalone mode). */
  readonly readReplicaUrls: readonly string[];
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
  readReplicas?: BooleanInput;
  /** Replica URLs, a list or a comma-separated string. */
  readReplicaUrls?: string | readonly string[];
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
  'readReplicas',
  'readReplicaUrls',
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
    if (!KNOWN_KEYS.has(key) && raw[key] !== undefined) add(key, 'unknown option');
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
  const username = v.string('username', raw.username) ?? fromUrl?.username;
  const password = v.secret('password', raw.password) ?? fromUrl?.password;
  const dbGiven = v.int('db', raw.db, 0, Number.MAX_SAFE_INTEGER) ?? fromUrl?.db;

  // Topology.
  const clusterMode = v.bool('clusterMode', raw.clusterMode);
  let explicitMode: RedisMode | undefined;
  if (raw.mode !== undefined) {
    if (MODES.includes(raw.mode as RedisMode)) explicitMode = raw.mode as RedisMode;
    else add('mode', `must be one of ${MODES.join(', ')}, got ${describeValue(raw.mode)}`);
  }
  const clusterNodes = v.endpoints('clusterNodes', raw.clusterNodes, 6379);
  const sentinels = v.endpoints('sentinels', raw.sentinels, 26379);
  const sentinelName = v.string('sentinelName', raw.sentinelName);
  const sentinelUsername = v.string('sentinelUsername', raw.sentinelUsername);
  const sentinelPassword = v.secret('sentinelPassword', raw.sentinelPassword);

  const wantsCluster = explicitMode === 'cluster' || clusterMode === true;
  const wantsSentinel = explicitMode === 'sentinel' || !isEmpty(raw.sentinels);
  let mode: RedisMode = explicitMode ?? 'standalone';
  if (wantsCluster && wantsSentinel) {
    add('sentinels', 'cluster mode and sentinels cannot both be set');
    mode = 'cluster';
  } else if (wantsCluster) mode = 'cluster';
  else if (wantsSentinel) mode = 'sentinel';
  if (explicitMode === 'standalone' && (clusterMode === true || sentinels.length > 0)) {
    add('mode', `is 'standalone' but ${clusterMode ? 'clusterMode' : 'sentinels'} is set`);
  }

  if (mode === 'cluster' && clusterNodes.length === 0 && isEmpty(raw.clusterNodes)) {
    add('clusterNodes', 'required in cluster mode (e.g. "10.0.0.1:6379,10.0.0.2:6379")');
  }
  if (mode !== 'cluster' && clusterNodes.length > 0) {
    add('clusterNodes', 'only used in cluster mode (set clusterMode)');
  }
  if (mode === 'sentinel') {
    if (sentinels.length === 0 && isEmpty(raw.sentinels))
      add('sentinels', 'required in sentinel mode');
    if (sentinelName === undefined)
      add('sentinelName', 'required with sentinels (the monitored master name)');
  } else if (sentinelName !== undefined && !wantsSentinel) {
    add('sentinelName', 'only used with sentinels');
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

  // TLS.
  const tls = readTls(v, raw.tls, fromUrl?.tls === true, add);

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
    add('readReplicaUrls', 'required when readReplicas is on in standalone mode');
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
    readReplicas,
    readReplicaUrls: Object.freeze(readReplicaUrls),
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
    } else if (key === 'readReplicaUrls') {
      out[key] =
        typeof value === 'string'
          ? redactUrl(value)
          : Array.isArray(value)
            ? value.map((u) => (typeof u === 'string' ? redactUrl(u) : u))
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
      if (!TLS_KEYS.has(key) && settings[key] !== undefined) add(`tls.${key}`, 'unknown option');
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
      'certFile and keyFile go together (mutual TLS)',
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
      this.#add(path, `file not found: ${JSON.stringify(file)}`);
      return undefined;
    }
    return file;
  }

  endpoints(path: string, value: unknown, defaultPort: number): RedisEndpoint[] {
    if (value === undefined || value === null || value === '') return [];
    const items: unknown[] =
      typeof value === 'string'
        ? value.split(',').map((s) => s.trim())
        : Array.isArray(value)
          ? value
          : [value];
    if (typeof value !== 'string' && !Array.isArray(value)) {
      this.#add(path, `must be "host:port,host:port" or a list, got ${describeValue(value)}`);
      return [];
    }
    const out: RedisEndpoint[] = [];
    items.forEach((item, i) => {
      const at = `${path}[${i}]`;
      if (typeof item === 'object' && item !== null) {
        const { host, port } = item as Partial<RedisEndpoint>;
        const p = this.int(`${at}.port`, port ?? defaultPort, 1, 65535);
        if (typeof host !== 'string' || host === '')
          this.#add(`${at}.host`, `must be a host name, got ${describeValue(host)}`);
        else if (p !== undefined) out.push(Object.freeze({ host, port: p }));
        return;
      }
      if (typeof item !== 'string' || item === '') {
        this.#add(at, `must be "host:port", got ${describeValue(item)}`);
        return;
      }
      const match = /^(?:\[([^\]]+)\]|([^:\s/]+))(?::(\d+))?$/.exec(item);
      const port = match?.[3] === undefined ? defaultPort : Number(match[3]);
      if (!match || port < 1 || port > 65535) {
        this.#add(at, `must be "host:port" with a port 1..65535, got ${describeValue(item)}`);
        return;
      }
      out.push(Object.freeze({ host: (match[1] ?? match[2])!, port }));
    });
    return out;
  }

  urls(path: string, value: unknown): string[] {
    if (value === undefined || value === null || value === '') return [];
    const items: unknown[] =
      typeof value === 'string'
        ? value
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : Array.isArray(value)
          ? value
          : [];
    if (typeof value !== 'string' && !Array.isArray(value)) {
      this.#add(
        path,
        `must be a comma-separated list of URLs or an array, got ${describeValue(value)}`,
      );
    }
    const out: string[] = [];
    items.forEach((item, i) => {
      const parsed = checkRedisUrl(item);
      if (typeof parsed === 'string') this.#add(`${path}[${i}]`, parsed);
      else out.push((item as string).trim());
    });
    return out;
  }
}
