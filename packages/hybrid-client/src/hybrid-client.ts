import { EventEmitter } from 'node:events';
import {
  type BreakerOptions,
  classifyRedisError,
  createGuard,
  type Guard,
  type GuardOperation,
  type GuardSendOperation,
  isBreakerOpenError,
} from '@x/breaker';
import { isCluster, type RedisClient, type RedisSource, resolveRedis } from '@x/config';
import {
  createLocalCache,
  type LocalCache,
  type LocalCacheOptions,
  type LocalCacheStats,
} from '@x/local-cache';
import { Command, Redis, type RedisOptions } from 'ioredis';
import {
  argumentError,
  firstInvalid,
  invalid,
  rejectArgument,
  rejectItem,
} from './_internal/args.js';
import { Journal, type JournalEntry, KEEP_EXPIRY } from './_internal/journal.js';
import { HybridClientError } from './errors.js';
import { createKeys, type KeyHelper } from './keys.js';
import { adaptLogger, type HybridLogger, type Log } from './logger.js';

/** Which store serves calls right now. */
export type ActiveBackend = 'primary' | 'fallback';

/**
 * What to do on recovery with the keys written or deleted in memory during the outage.
 * - `'invalidate'`: delete them in Redis, so values older than the outage cannot resurface.
 * - `'replay'`: write memory's values to Redis (with their remaining TTL); keys deleted or
 *   expired in memory are deleted in Redis.
 * - `'none'`: leave Redis as it is (only keys whose Redis write timed out are deleted).
 */
export type RecoveryPolicy = 'none' | 'invalidate' | 'replay';

/** Options of {@link createHybridClient}. */
export interface HybridClientOptions {
  /**
   * Redis: a `redis://` / `rediss://` URL, a config of `@x/config`, or an existing ioredis client
   * (`Redis` or `Cluster`; used as is and never closed). Omit it for a memory-only client.
   * @default undefined (memory only)
   */
  redis?: RedisSource;
  /**
   * ioredis options for a client created from a URL or config (ignored for a given client).
   * Applied after this package's own choices (`maxRetriesPerRequest: 0`).
   * @default undefined
   */
  ioredis?: Partial<RedisOptions>;
  /**
   * Serve from memory while Redis is unusable. With `false` calls go to Redis only and reject
   * (with the guard's typed errors) while it is down.
   * @default true
   */
  failover?: boolean;
  /**
   * Deadline of every Redis call, in ms. A call never waits longer: at the deadline it is served
   * from memory (or rejects with `failover: false`).
   * @default 250
   */
  operationTimeoutMs?: number;
  /**
   * Longest gap between two recovery probes while in fallback, in ms. Recovery is also driven
   * by the client's `ready` event and by a PING kept in flight, so it usually happens sooner.
   * @default 5000
   */
  probeIntervalMs?: number;
  /**
   * How long `await createHybridClient()` waits for Redis before serving from memory, in ms.
   * @default 1000
   */
  startupProbeTimeoutMs?: number;
  /**
   * Reconciliation on recovery (see {@link RecoveryPolicy}).
   * @default 'invalidate'
   */
  onRecovery?: RecoveryPolicy;
  /**
   * Most keys the outage journal holds; beyond it the oldest entries are dropped (and the
   * recovery log line and event say so).
   * @default 10000
   */
  journalMaxKeys?: number;
  /**
   * Breaker options of the guard (see `@x/breaker`): after `maxFailures` consecutive failures the
   * client stops sending to Redis and serves from memory until a probe succeeds.
   * @default { maxFailures: 5 }
   */
  breaker?: BreakerOptions;
  /**
   * Options of the in-memory store (`@x/local-cache`).
   * @default { maxBytes: 100 MB }
   */
  local?: LocalCacheOptions;
  /**
   * Prefix of `client.keys.of(...)`. Keys are not rewritten behind your back: the key you pass is
   * the key stored (as shown by redis-cli and in log lines).
   * @default ''
   */
  keyPrefix?: string;
  /**
   * Where the few lines the client logs go: `(msg, fields) => void`, pino, console, or `false`.
   * @default console
   */
  logger?: HybridLogger;
}

/** Options of {@link HybridClient.set}. */
export interface HybridSetOptions {
  /** Time to live in ms (a positive integer). */
  ttl?: number;
  /** Only set if the key does not exist. */
  nx?: boolean;
  /** Only set if the key exists. */
  xx?: boolean;
}

/** Options of operations that only take a TTL. */
export interface HybridTtlOptions {
  /** Time to live in ms (a positive integer). */
  ttl?: number;
}

/** Payload of the `failover` event. */
export interface FailoverEvent {
  reason: 'primary_unavailable';
  /** What made the client switch. */
  cause: 'startup' | 'connection_lost' | 'breaker_open' | 'write_timeout' | 'write_failed';
  /** The error that triggered it, when there is one. */
  error: unknown;
}

/** Payload of the `recover` event. */
export interface RecoverEvent {
  reason: 'primary_healthy';
  /** Time spent in fallback, ms. */
  outageMs: number;
  policy: RecoveryPolicy;
  /** Keys reconciled in Redis. */
  reconciledKeys: number;
  /** True when the journal dropped keys during the outage (the policy was applied to the rest). */
  journalOverflowed: boolean;
  /** Keys the journal dropped. */
  journalDropped: number;
}

/** Events of a {@link HybridClient}. */
export interface HybridClientEvents {
  failover: [event: FailoverEvent];
  recover: [event: RecoverEvent];
}

/** Counters of a {@link HybridClient}. */
export interface HybridClientStats {
  activeBackend: ActiveBackend;
  /** `'hybrid'`, `'redis-only'` (`failover: false`) or `'memory-only'` (no `redis`). */
  mode: 'hybrid' | 'redis-only' | 'memory-only';
  /** Calls sent to Redis, and those of them that ended in memory (failure, timeout). */
  primary: { calls: number; failures: number };
  /** Calls served by memory (including primary failures). */
  fallback: { calls: number };
  /** Times the client switched to memory (a start without Redis counts). */
  failovers: number;
  /** Times the client switched back to Redis. */
  recoveries: number;
  /** Total ms spent in fallback, the current outage included. */
  fallbackMs: number;
  journal: { size: number; maxKeys: number; overflowed: boolean; dropped: number };
  /** State of the guard's breaker (`undefined` without Redis). */
  breaker: string | undefined;
  local: LocalCacheStats;
}

/**
 * Redis first, memory when Redis is down, back to Redis by itself. Every call resolves within
 * `operationTimeoutMs`; a miss is `null`. Create one with {@link createHybridClient}.
 */
export interface HybridClient {
  /** `'primary'` (Redis) or `'fallback'` (memory). */
  readonly activeBackend: ActiveBackend;
  /** Key names with this client's prefix: `keys.of('user', 1)` → `'app:user:1'`. */
  readonly keys: KeyHelper;
  get(key: string): Promise<string | null>;
  /** `true` when written (`false` when `nx` / `xx` prevented it). */
  set(key: string, value: string, options?: HybridSetOptions): Promise<boolean>;
  del(...keys: string[]): Promise<number>;
  exists(...keys: string[]): Promise<number>;
  setNX(key: string, value: string, options?: HybridTtlOptions): Promise<boolean>;
  incrBy(key: string, by: number): Promise<number>;
  expire(key: string, ttlMs: number): Promise<boolean>;
  /** `-2` missing, `-1` no TTL, else remaining ms. */
  ttl(key: string): Promise<number>;
  mget(keys: readonly string[]): Promise<(string | null)[]>;
  mset(
    entries: Record<string, string> | readonly (readonly [string, string])[],
    options?: HybridTtlOptions,
  ): Promise<void>;
  hget(key: string, field: string): Promise<string | null>;
  hset(key: string, field: string, value: string): Promise<number>;
  hset(key: string, record: Record<string, string>): Promise<number>;
  hgetall(key: string): Promise<Record<string, string>>;
  hdel(key: string, ...fields: string[]): Promise<number>;
  lpush(key: string, ...values: string[]): Promise<number>;
  rpush(key: string, ...values: string[]): Promise<number>;
  lrange(key: string, start: number, stop: number): Promise<string[]>;
  /**
   * The value of `key`, else `loader()`'s value, stored with `ttl`. Concurrent callers of the
   * same key share one load (single-flight); a loader error reaches every waiter.
   */
  getOrSet(
    key: string,
    loader: () => string | Promise<string>,
    options?: HybridTtlOptions,
  ): Promise<string>;
  /** `'PONG'` from the active backend. */
  ping(): Promise<string>;
  stats(): HybridClientStats;
  /** Stops every timer, removes its listeners, closes the Redis client only if it created it. */
  close(): Promise<void>;
  on<E extends keyof HybridClientEvents>(
    event: E,
    listener: (...args: HybridClientEvents[E]) => void,
  ): this;
  once<E extends keyof HybridClientEvents>(
    event: E,
    listener: (...args: HybridClientEvents[E]) => void,
  ): this;
  off<E extends keyof HybridClientEvents>(
    event: E,
    listener: (...args: HybridClientEvents[E]) => void,
  ): this;
}

const DEFAULTS = {
  operationTimeoutMs: 250,
  probeIntervalMs: 5_000,
  startupProbeTimeoutMs: 1_000,
  journalMaxKeys: 10_000,
} as const;

/** In fallback, a call is routed through a macrotask at least this often (ms), so that loops
 * whose awaits only ever resolve as microtasks cannot starve timers and I/O (probe, reconnect). */
const YIELD_EVERY_MS = 5;
/** Owned clients reconnect at least this often during an outage (ms). */
const MAX_RECONNECT_DELAY_MS = 250;
const POLICIES: readonly RecoveryPolicy[] = ['none', 'invalidate', 'replay'];
const PREFIX = '[@x/hybrid-client]';

const now = (): number => performance.now();
const isOk = (reply: unknown): boolean => reply === 'OK';
const noop = (): void => {};
const sum = (counts: number[]): number => {
  let n = 0;
  for (const c of counts) n += c;
  return n;
};

interface Resolved {
  redis: RedisSource | undefined;
  ioredis: Partial<RedisOptions> | undefined;
  failover: boolean;
  operationTimeoutMs: number;
  probeIntervalMs: number;
  startupProbeTimeoutMs: number;
  onRecovery: RecoveryPolicy;
  journalMaxKeys: number;
  breaker: BreakerOptions | undefined;
  local: LocalCacheOptions | undefined;
  keyPrefix: string;
  log: Log;
}

function optionError(field: string, value: unknown, expected: string): HybridClientError {
  const shown =
    typeof value === 'function' ? 'a function' : (JSON.stringify(value) ?? String(value));
  return new HybridClientError('E_OPTIONS', `option ${field} must be ${expected}, got ${shown}`, {
    field,
    value,
  });
}

function positiveInt(
  options: HybridClientOptions,
  field: keyof HybridClientOptions,
  fallback: number,
): number {
  const value = options[field];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw optionError(field, value, 'an integer >= 1 (ms)');
  }
  return value;
}

function resolveOptions(options: HybridClientOptions): Resolved {
  if (typeof options !== 'object' || options === null)
    throw optionError('options', options, 'an object');
  const failover = options.failover ?? true;
  if (typeof failover !== 'boolean') throw optionError('failover', failover, 'a boolean');
  const onRecovery = options.onRecovery ?? 'invalidate';
  if (!POLICIES.includes(onRecovery))
    throw optionError('onRecovery', onRecovery, `one of ${POLICIES.join(', ')}`);
  const redis = options.redis;
  if (
    redis !== undefined &&
    typeof redis !== 'string' &&
    (typeof redis !== 'object' || redis === null)
  ) {
    throw optionError('redis', redis, 'a URL, a config or an ioredis client');
  }
  if (redis === undefined && !failover) {
    throw optionError(
      'failover',
      failover,
      'true when no redis is given (memory is the only backend)',
    );
  }
  const logger = options.logger;
  if (logger !== undefined && logger !== false && typeof logger !== 'function') {
    const l = logger as unknown as Record<string, unknown>;
    if (
      typeof logger !== 'object' ||
      typeof l.warn !== 'function' ||
      typeof l.info !== 'function' ||
      typeof l.error !== 'function'
    ) {
      throw optionError(
        'logger',
        logger,
        'a function (msg, fields), a pino or console-like logger, or false',
      );
    }
  }
  const keyPrefix = options.keyPrefix ?? '';
  if (typeof keyPrefix !== 'string') throw optionError('keyPrefix', keyPrefix, 'a string');
  for (const field of ['breaker', 'local', 'ioredis'] as const) {
    const v = options[field];
    if (v !== undefined && (typeof v !== 'object' || v === null))
      throw optionError(field, v, 'an object');
  }
  return {
    redis,
    ioredis: options.ioredis,
    failover,
    operationTimeoutMs: positiveInt(options, 'operationTimeoutMs', DEFAULTS.operationTimeoutMs),
    probeIntervalMs: positiveInt(options, 'probeIntervalMs', DEFAULTS.probeIntervalMs),
    startupProbeTimeoutMs: positiveInt(
      options,
      'startupProbeTimeoutMs',
      DEFAULTS.startupProbeTimeoutMs,
    ),
    onRecovery,
    journalMaxKeys: positiveInt(options, 'journalMaxKeys', DEFAULTS.journalMaxKeys),
    breaker: options.breaker,
    local: options.local,
    keyPrefix,
    log: adaptLogger(logger),
  };
}

/** A result waiting for one event-loop turn (see YIELD_EVERY_MS). */
interface Deferred {
  value: unknown;
  resolve: (value: unknown) => void;
}

let capturedResolve: (value: unknown) => void = noop;
function capture(resolve: (value: unknown) => void): void {
  capturedResolve = resolve;
}

// Errors after which the command certainly did not reach Redis.
function notSent(error: unknown): boolean {
  if (isBreakerOpenError(error)) return true;
  const message = error instanceof Error ? error.message : '';
  return message.includes("isn't writeable") || message.startsWith('Connection is closed');
}

class HybridClientImpl extends EventEmitter implements HybridClient {
  readonly keys: KeyHelper;
  readonly #o: Resolved;
  readonly #local: LocalCache;
  readonly #journal: Journal;
  readonly #log: Log;
  #client: RedisClient | undefined;
  #owned = false;
  #cluster = false;
  // True when GET / SET are sent as ioredis commands the guard rejects itself at the deadline
  // (see #directCommands).
  #direct = false;
  // The options the client's own methods give their commands (shared: a Command only reads them).
  #commandOptions: { keyPrefix?: string; replyEncoding: 'utf8' } = { replyEncoding: 'utf8' };
  #guard: Guard | undefined;
  #mode: HybridClientStats['mode'];
  // Routing flag of the hot path: true = Redis.
  #primary = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  // 0 = never defer; else the time from which memory results wait one event-loop turn.
  #gateAt = 0;
  #deferred: Deferred[] = [];
  #immediate: NodeJS.Immediate | undefined;
  #probeTimer: NodeJS.Timeout | undefined;
  #probeSentAt = 0;
  #probeGeneration = 0;
  #stuckTicks = 0;
  #recovering = false;
  // True from a failover (or a start without Redis) until the switch back: probes only then.
  #outage = false;
  #fallbackSince = 0;
  #fallbackMsTotal = 0;
  #failovers = 0;
  #recoveries = 0;
  #primaryCalls = 0;
  #primaryFailures = 0;
  #fallbackCalls = 0;
  #flights = new Map<string, Promise<string>>();
  readonly #listeners: [string, (...args: unknown[]) => void][] = [];

  constructor(o: Resolved) {
    super();
    this.#o = o;
    this.#log = o.log;
    this.keys = createKeys(o.keyPrefix);
    this.#local = createLocalCache(o.local);
    this.#journal = new Journal(o.journalMaxKeys);
    this.#mode = o.redis === undefined ? 'memory-only' : o.failover ? 'hybrid' : 'redis-only';
    if (o.redis !== undefined) {
      // Synchronous on purpose: an invalid URL or config throws from createHybridClient itself.
      // maxRetriesPerRequest 0: commands in flight when the link drops fail at once (served from
      // memory) instead of waiting for reconnection attempts. failoverDetector: on Sentinel, drop
      // the link to a demoted primary as soon as the sentinels announce the switch.
      const ioredis = {
        maxRetriesPerRequest: 0,
        failoverDetector: true,
        ...o.ioredis,
      } as Partial<RedisOptions>;
      // The guard first: invalid breaker options throw before a client is created.
      this.#guard = createGuard({ timeoutMs: o.operationTimeoutMs, breaker: o.breaker ?? {} });
      const { client, owned } = resolveRedis(o.redis, { ioredis });
      this.#client = client;
      this.#owned = owned;
      this.#cluster = isCluster(client);
      this.#directCommands(client);
      if (owned) this.#capReconnectDelay(client);
    }
  }

  get activeBackend(): ActiveBackend {
    return this.#primary ? 'primary' : 'fallback';
  }

  // ---------------------------------------------------------------- start-up

  async start(): Promise<this> {
    const o = this.#o;
    const client = this.#client;
    if (client === undefined) return this;
    this.#listen('ready', () => this.#onReady());
    this.#listen('close', () => this.#onConnectionLost());
    const error = await this.#startupProbe(client);
    if (this.#closed) return this;
    if (error === undefined || !o.failover) {
      // Redis only: calls go to Redis whatever the probe said (and reject while it is down).
      this.#primary = true;
      return this;
    }
    this.#failovers++;
    this.#outage = true;
    this.#fallbackSince = now();
    this.#gateAt = this.#fallbackSince + YIELD_EVERY_MS;
    this.#log('warn', `${PREFIX} Redis unavailable at start-up, serving from memory`, {
      reason: 'primary_unavailable',
      cause: 'startup',
      backend: 'fallback',
      error: describe(error),
    });
    this.#scheduleProbe();
    return this;
  }

  #listen(event: string, fn: (...args: unknown[]) => void): void {
    this.#client!.on(event, fn);
    this.#listeners.push([event, fn]);
  }

  // Bounds an owned client's reconnection delay so recovery is not held back by a long backoff.
  #capReconnectDelay(client: RedisClient): void {
    const opts = client.options as { retryStrategy?: unknown; clusterRetryStrategy?: unknown };
    const key = this.#cluster ? 'clusterRetryStrategy' : 'retryStrategy';
    const base = opts[key] as
      | ((times: number, ...rest: unknown[]) => number | null | undefined)
      | undefined;
    const cap = Math.min(MAX_RECONNECT_DELAY_MS, this.#o.probeIntervalMs);
    opts[key] = (times: number, ...rest: unknown[]): number => {
      const delay = typeof base === 'function' ? base(times, ...rest) : undefined;
      return typeof delay === 'number' ? Math.min(delay, cap) : cap;
    };
  }

  /** Resolves `undefined` once Redis answered, else the reason, within startupProbeTimeoutMs. */
  #startupProbe(client: RedisClient): Promise<unknown> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (error: unknown): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        client.off('ready', onReady);
        resolve(error);
      };
      const onReady = (): void => {
        client.ping().then(() => finish(undefined), finish);
      };
      const timer = setTimeout(
        () => finish(new Error(`no answer within ${this.#o.startupProbeTimeoutMs} ms`)),
        this.#o.startupProbeTimeoutMs,
      );
      timer.unref();
      if (client.status === 'ready' || client.status === 'wait') onReady();
      else client.on('ready', onReady);
    });
  }

  // ---------------------------------------------------------------- state changes

  #onConnectionLost(): void {
    if (this.#primary && !this.#closed) this.#enterFallback('connection_lost', undefined);
  }

  #onReady(): void {
    this.#stuckTicks = 0;
    if (this.#outage && !this.#closed) this.#probe();
  }

  /** A call sent to Redis ended in memory: decides whether to stop sending to Redis. */
  #failed(error: unknown, write: boolean): void {
    this.#primaryFailures++;
    // Redis only: the guard rejects the call with this error; once the breaker is open, probe so
    // that it closes as soon as Redis answers (not only after its resetTimeout).
    if (!this.#o.failover) {
      if (!this.#outage && this.#guard!.breaker?.state === 'open') this.#watchRedisOnly(error);
      throw error;
    }
    this.#fallbackCalls++;
    if (!this.#primary) return;
    const kind = classifyRedisError(error);
    if (kind === 'connection' || kind === 'network') {
      this.#enterFallback(isBreakerOpenError(error) ? 'breaker_open' : 'connection_lost', error);
    } else if (this.#guard!.breaker?.state === 'open') {
      this.#enterFallback('breaker_open', error);
    } else if (write) {
      // A write that timed out may still run when Redis answers again, and one that failed left
      // Redis without the value: either way Redis is not trusted again before reconciliation.
      this.#enterFallback(kind === 'timeout' ? 'write_timeout' : 'write_failed', error);
    }
  }

  #watchRedisOnly(error: unknown): void {
    this.#outage = true;
    this.#fallbackSince = now();
    this.#log('warn', `${PREFIX} Redis unavailable, calls fail fast (failover is off)`, {
      reason: 'primary_unavailable',
      cause: 'breaker_open',
      backend: 'primary',
      error: describe(error),
    });
    this.#scheduleProbe();
    setImmediate(() => this.#probe());
  }

  #enterFallback(cause: FailoverEvent['cause'], error: unknown): void {
    if (!this.#primary || this.#closed || !this.#o.failover) return;
    this.#primary = false;
    this.#outage = true;
    this.#failovers++;
    this.#fallbackSince = now();
    this.#gateAt = this.#fallbackSince + YIELD_EVERY_MS;
    this.#probeSentAt = 0;
    this.#stuckTicks = 0;
    this.#log('warn', `${PREFIX} Redis unavailable, serving from memory`, {
      reason: 'primary_unavailable',
      cause,
      backend: 'fallback',
      error: describe(error),
    });
    this.emit('failover', { reason: 'primary_unavailable', cause, error } satisfies FailoverEvent);
    this.#scheduleProbe();
    // A PING right away: on a frozen server it stays in flight and answers the moment it resumes.
    setImmediate(() => this.#probe());
  }

  #scheduleProbe(): void {
    if (this.#probeTimer !== undefined || this.#closed) return;
    this.#probeTimer = setTimeout(() => {
      this.#probeTimer = undefined;
      if (!this.#outage || this.#closed) return;
      this.#probe();
      this.#scheduleProbe();
    }, this.#o.probeIntervalMs);
    this.#probeTimer.unref();
  }

  /** One recovery attempt: a PING when the link is up, else (owned client) a reconnection. */
  #probe(): void {
    if (!this.#outage || this.#closed || this.#recovering) return;
    const client = this.#client!;
    const status = client.status;
    if (this.#probeSentAt !== 0) {
      // A PING is in flight. Left alone it answers as soon as a frozen server resumes; but after
      // a whole probe interval the link may be lost (a blackhole drops bytes): an owned client
      // starts afresh, a client passed in gets one more PING (it is not ours to reset).
      if (now() - this.#probeSentAt < this.#o.probeIntervalMs) return;
      if (this.#owned) {
        this.#resetConnection();
        return;
      }
    }
    if (status === 'ready') {
      const generation = ++this.#probeGeneration;
      this.#probeSentAt = now();
      client.ping().then(
        () => {
          if (generation === this.#probeGeneration) this.#probeSentAt = 0;
          void this.#recover();
        },
        (error: unknown) => {
          if (generation !== this.#probeGeneration) return;
          this.#probeSentAt = 0;
          // Keep one PING in flight: a timed-out PING is replaced at once, other errors wait.
          if (classifyRedisError(error) === 'timeout') setImmediate(() => this.#probe());
        },
      );
      return;
    }
    if (!this.#owned) return;
    if (status === 'reconnecting' || status === 'end' || status === 'close' || status === 'wait') {
      this.#stuckTicks = 0;
      client.connect().catch(noop);
    } else if (++this.#stuckTicks >= 2) {
      // Connected but never ready (the ready check is lost): start over.
      this.#stuckTicks = 0;
      this.#resetConnection();
    }
  }

  /** Drops an owned client's connection(s) with a TCP reset; ioredis reconnects. */
  #resetConnection(): void {
    this.#probeSentAt = 0;
    const client = this.#client!;
    const nodes = this.#cluster ? (client as { nodes(): unknown[] }).nodes() : [client];
    for (const node of nodes) {
      const stream = (node as { stream?: { resetAndDestroy?: () => void; destroy(): void } })
        .stream;
      if (stream === undefined) continue;
      if (typeof stream.resetAndDestroy === 'function') stream.resetAndDestroy();
      else stream.destroy();
    }
  }

  async #recover(): Promise<void> {
    if (!this.#outage || this.#closed || this.#recovering) return;
    if (!this.#o.failover) {
      const outageMs = Math.round(now() - this.#fallbackSince);
      this.#outage = false;
      this.#guard!.breaker?.reset();
      this.#log('info', `${PREFIX} Redis healthy again`, {
        reason: 'primary_healthy',
        backend: 'primary',
        outageMs,
      });
      return;
    }
    this.#recovering = true;
    let reconciled = 0;
    let overflowed = false;
    let dropped = 0;
    try {
      for (let round = 0; ; round++) {
        const batch = this.#journal.drain(now());
        overflowed ||= batch.overflowed;
        dropped += batch.dropped;
        if (batch.entries.length === 0) break;
        if (round >= 4) {
          // Writes keep coming: switch now and invalidate the rest (no memory value needed).
          this.#switchToPrimary(reconciled, overflowed, dropped);
          const rest = this.#o.onRecovery === 'none' ? 'none' : 'invalidate';
          void this.#reconcile(batch.entries, rest).catch(noop);
          return;
        }
        try {
          reconciled += await this.#reconcile(batch.entries, this.#o.onRecovery);
        } catch (error) {
          this.#journal.restore(batch, now());
          this.#log('warn', `${PREFIX} recovery reconciliation failed, staying on memory`, {
            reason: 'reconciliation_failed',
            backend: 'fallback',
            error: describe(error),
          });
          return;
        }
        if (this.#closed) return;
      }
      this.#switchToPrimary(reconciled, overflowed, dropped);
    } finally {
      this.#recovering = false;
    }
  }

  #switchToPrimary(reconciled: number, overflowed: boolean, dropped: number): void {
    const outageMs = Math.round(now() - this.#fallbackSince);
    this.#fallbackMsTotal += outageMs;
    this.#outage = false;
    this.#primary = true;
    this.#gateAt = 0;
    this.#guard!.breaker?.reset();
    // Memory only holds outage data: once reconciled it must not resurface in a later outage.
    this.#local.clear();
    this.#recoveries++;
    this.#flushDeferred();
    const policy = this.#o.onRecovery;
    this.#log(
      'info',
      `${PREFIX} Redis healthy again, back on Redis${overflowed ? ` (journal overflowed: ${dropped} keys dropped)` : ''}`,
      {
        reason: 'primary_healthy',
        backend: 'primary',
        outageMs,
        policy,
        reconciledKeys: reconciled,
        journalOverflowed: overflowed,
        journalDropped: dropped,
      },
    );
    this.emit('recover', {
      reason: 'primary_healthy',
      outageMs,
      policy,
      reconciledKeys: reconciled,
      journalOverflowed: overflowed,
      journalDropped: dropped,
    } satisfies RecoverEvent);
  }

  /** Applies `policy` to journaled keys in Redis, under one deadline. Returns the keys touched. */
  async #reconcile(entries: [string, JournalEntry][], policy: RecoveryPolicy): Promise<number> {
    const client = this.#client!;
    const work: Promise<unknown>[] = [];
    for (const [key, entry] of entries) {
      if (policy === 'invalidate' || (policy === 'none' && entry.uncertain))
        work.push(client.del(key));
      else if (policy === 'replay') work.push(this.#replay(client, key));
    }
    if (work.length === 0) return 0;
    let timer: NodeJS.Timeout | undefined;
    const limit = Math.max(1_000, this.#o.operationTimeoutMs * 4);
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`reconciliation took longer than ${limit} ms`)),
        limit,
      );
      timer.unref();
    });
    try {
      await Promise.race([Promise.all(work), deadline]);
    } finally {
      clearTimeout(timer);
    }
    return work.length;
  }

  #replay(client: RedisClient, key: string): Promise<unknown> {
    const local = this.#local;
    const type = local.type(key);
    if (type === 'none') return client.del(key);
    const ttl = local.ttl(key);
    if (type === 'string') {
      const value = local.get(key)!;
      return ttl > 0 ? client.set(key, value, 'PX', ttl) : client.set(key, value);
    }
    const tx = client.multi().del(key);
    if (type === 'hash') tx.hset(key, local.hgetall(key));
    else tx.rpush(key, ...local.lrange(key, 0, -1));
    if (ttl > 0) tx.pexpire(key, ttl);
    return tx.exec().then((results) => {
      for (const [error] of results ?? []) if (error) throw error;
    });
  }

  // ---------------------------------------------------------------- memory path

  /** Counts a memory-served call and hands out its result, through a macrotask when due. */
  #out<T>(value: T): Promise<T> {
    this.#fallbackCalls++;
    if (this.#gateAt !== 0 && now() >= this.#gateAt) return this.#defer(value) as Promise<T>;
    return Promise.resolve(value);
  }

  /** {@link #out} for a write: journals `keys` (when Redis is configured) with one clock read. */
  #outWrite<T>(
    value: T,
    key: string,
    keys: readonly string[] | undefined,
    ttl: number | undefined,
    expiresAt: number,
  ): Promise<T> {
    this.#fallbackCalls++;
    if (this.#client === undefined) return Promise.resolve(value);
    const t = now();
    const at = ttl !== undefined && ttl > 0 ? t + ttl : expiresAt;
    if (keys === undefined) this.#journal.record(key, at, false, t);
    else for (const k of keys) this.#journal.record(k, at, false, t);
    if (this.#gateAt !== 0 && t >= this.#gateAt) return this.#defer(value) as Promise<T>;
    return Promise.resolve(value);
  }

  #defer(value: unknown): Promise<unknown> {
    const promise = new Promise(capture);
    this.#deferred.push({ value, resolve: capturedResolve });
    if (this.#immediate === undefined) this.#immediate = setImmediate(this.#onImmediate);
    return promise;
  }

  readonly #onImmediate = (): void => {
    this.#immediate = undefined;
    if (this.#gateAt !== 0) this.#gateAt = now() + YIELD_EVERY_MS;
    this.#flushDeferred();
  };

  #flushDeferred(): void {
    const queue = this.#deferred;
    if (queue.length === 0) return;
    this.#deferred = [];
    for (const d of queue) d.resolve(d.value);
  }

  #closedError(): Promise<never> {
    return Promise.reject(new HybridClientError('E_CLOSED', 'the client is closed'));
  }

  /** Journals the key of a Redis write that ended in memory (uncertain unless never sent). */
  #journalFailed(error: unknown, key: string, expiresAt: number): void {
    this.#journal.record(key, expiresAt, !notSent(error), now());
  }

  // ---------------------------------------------------------------- operations

  // The two hot operations run through the guard with these preallocated operations: no closure
  // and no `.then` layer per call on this side (see the guard's `call` and `send`).
  static readonly #GET: GuardOperation<string | null, HybridClientImpl, string> = {
    run: (self, key) => self.#client!.get(key),
    fallback: (error, self, key) => {
      self.#failed(error, false);
      return self.#local.get(key);
    },
  };

  static readonly #SET: GuardOperation<
    boolean,
    HybridClientImpl,
    string,
    string,
    HybridSetOptions | undefined,
    string | null
  > = {
    run: (self, key, value, options) => self.#redisSet(key, value, options),
    map: isOk,
    fallback: (error, self, key, value, options) => {
      self.#failed(error, true);
      const written = self.#local.set(key, value, options);
      self.#journalFailed(error, key, expiry(options?.ttl));
      return written;
    },
  };

  // The same two operations as commands sent by hand (what `client.get` / `client.set` do), so
  // that the caller's promise is the command's own, chained once (Guard.send).
  static readonly #SEND_GET: GuardSendOperation<string | null, HybridClientImpl, string> = {
    start: (self, key) => self.#send('get', [key]),
    fallback: HybridClientImpl.#GET.fallback,
  };

  static readonly #SEND_SET: GuardSendOperation<
    boolean,
    HybridClientImpl,
    string,
    string,
    HybridSetOptions | undefined,
    string | null
  > = {
    start: (self, key, value, options) => self.#send('set', setArguments(key, value, options)),
    map: isOk,
    fallback: HybridClientImpl.#SET.fallback,
  };

  /**
   * Sends commands by hand only where that is exactly what the client's own methods do: a
   * standalone `Redis` of this package's copy of ioredis, without auto-pipelining or friendly
   * error stacks (each needs ioredis' own command path).
   */
  #directCommands(client: RedisClient): void {
    if (this.#cluster || !(client instanceof Redis)) return;
    const options = client.options as RedisOptions | undefined;
    if (
      options === undefined ||
      options.enableAutoPipelining === true ||
      options.showFriendlyErrorStack === true
    ) {
      return;
    }
    this.#direct = true;
    if (typeof options.keyPrefix === 'string' && options.keyPrefix !== '') {
      this.#commandOptions = { keyPrefix: options.keyPrefix, replyEncoding: 'utf8' };
    }
  }

  #send(name: string, args: (string | number)[]): Command {
    const command = new Command(name, args, this.#commandOptions);
    (this.#client as Redis).sendCommand(command);
    return command;
  }

  get(key: string): Promise<string | null> {
    if (invalid(key)) return rejectArgument('key', key);
    if (this.#primary) {
      this.#primaryCalls++;
      if (this.#direct) {
        return this.#guard!.send(HybridClientImpl.#SEND_GET, this, key);
      }
      return this.#guard!.call(HybridClientImpl.#GET, this, key);
    }
    if (this.#closed) return this.#closedError();
    let value: string | null;
    try {
      value = this.#local.get(key);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#out(value);
  }

  set(key: string, value: string, options?: HybridSetOptions): Promise<boolean> {
    if (invalid(key)) return rejectArgument('key', key);
    if (invalid(value)) return rejectArgument('value', value);
    if (options !== undefined && options.nx === true && options.xx === true) {
      // Checked before either backend: a Redis error here would count as a failure.
      return Promise.reject(
        new HybridClientError('E_ARGUMENT', 'nx and xx are mutually exclusive', { field: 'nx' }),
      );
    }
    if (this.#primary) {
      this.#primaryCalls++;
      if (this.#direct) {
        return this.#guard!.send(HybridClientImpl.#SEND_SET, this, key, value, options);
      }
      return this.#guard!.call(HybridClientImpl.#SET, this, key, value, options);
    }
    if (this.#closed) return this.#closedError();
    let written: boolean;
    try {
      written = this.#local.set(key, value, options);
    } catch (error) {
      return Promise.reject(error);
    }
    return written ? this.#outWrite(true, key, undefined, options?.ttl, 0) : this.#out(false);
  }

  /** The SET command for these options; its reply is `'OK'`, or `null` when nx / xx prevented it. */
  #redisSet(key: string, value: string, o: HybridSetOptions | undefined): Promise<string | null> {
    const c = this.#client!;
    if (o === undefined || (o.ttl === undefined && o.nx !== true && o.xx !== true)) {
      return c.set(key, value);
    }
    const ttl = o.ttl;
    if (o.nx === true)
      return ttl === undefined ? c.set(key, value, 'NX') : c.set(key, value, 'PX', ttl, 'NX');
    if (o.xx === true)
      return ttl === undefined ? c.set(key, value, 'XX') : c.set(key, value, 'PX', ttl, 'XX');
    return c.set(key, value, 'PX', ttl!);
  }

  setNX(key: string, value: string, options?: HybridTtlOptions): Promise<boolean> {
    return this.set(key, value, { ttl: options?.ttl, nx: true });
  }

  /** Generic path for the less hot operations. */
  #run<T>(
    write: boolean,
    key: string,
    expiresAt: number,
    redisOp: (client: RedisClient) => Promise<T>,
    memoryOp: (local: LocalCache) => T,
  ): Promise<T> {
    if (this.#primary) {
      this.#primaryCalls++;
      return this.#guard!.execute(
        () => redisOp(this.#client!),
        (error) => {
          this.#failed(error, write);
          const result = memoryOp(this.#local);
          if (write) this.#journalFailed(error, key, expiresAt);
          return result;
        },
      );
    }
    if (this.#closed) return this.#closedError();
    let result: T;
    try {
      result = memoryOp(this.#local);
    } catch (error) {
      return Promise.reject(error);
    }
    return write ? this.#outWrite(result, key, undefined, undefined, expiresAt) : this.#out(result);
  }

  /** Like #run for operations on several keys (each key journaled). */
  #runMany<T>(
    write: boolean,
    keys: readonly string[],
    expiresAt: number,
    redisOp: (client: RedisClient) => Promise<T>,
    memoryOp: (local: LocalCache) => T,
  ): Promise<T> {
    if (this.#primary) {
      this.#primaryCalls++;
      return this.#guard!.execute(
        () => redisOp(this.#client!),
        (error) => {
          this.#failed(error, write);
          const result = memoryOp(this.#local);
          if (write) for (const key of keys) this.#journalFailed(error, key, expiresAt);
          return result;
        },
      );
    }
    if (this.#closed) return this.#closedError();
    let result: T;
    try {
      result = memoryOp(this.#local);
    } catch (error) {
      return Promise.reject(error);
    }
    return write ? this.#outWrite(result, '', keys, undefined, expiresAt) : this.#out(result);
  }

  del(...keys: string[]): Promise<number> {
    const bad = firstInvalid(keys);
    if (bad !== -1) return rejectItem('keys', keys, bad);
    if (keys.length === 0) return this.#closed ? this.#closedError() : Promise.resolve(0);
    return this.#runMany(
      true,
      keys,
      0,
      (c) =>
        this.#cluster && keys.length > 1
          ? Promise.all(keys.map((k) => c.del(k))).then(sum)
          : c.del(...keys),
      (l) => l.del(...keys),
    );
  }

  exists(...keys: string[]): Promise<number> {
    const bad = firstInvalid(keys);
    if (bad !== -1) return rejectItem('keys', keys, bad);
    if (keys.length === 0) return this.#closed ? this.#closedError() : Promise.resolve(0);
    return this.#runMany(
      false,
      keys,
      0,
      (c) =>
        this.#cluster && keys.length > 1
          ? Promise.all(keys.map((k) => c.exists(k))).then(sum)
          : c.exists(...keys),
      (l) => l.exists(...keys),
    );
  }

  incrBy(key: string, by: number): Promise<number> {
    if (invalid(key)) return rejectArgument('key', key);
    return this.#run(
      true,
      key,
      KEEP_EXPIRY,
      (c) => c.incrby(key, by),
      (l) => l.incrBy(key, by),
    );
  }

  expire(key: string, ttlMs: number): Promise<boolean> {
    if (invalid(key)) return rejectArgument('key', key);
    return this.#run(
      true,
      key,
      ttlMs > 0 ? now() + ttlMs : 0,
      (c) => c.pexpire(key, ttlMs).then((n) => n === 1),
      (l) => l.expire(key, ttlMs),
    );
  }

  ttl(key: string): Promise<number> {
    if (invalid(key)) return rejectArgument('key', key);
    return this.#run(
      false,
      key,
      0,
      (c) => c.pttl(key),
      (l) => l.ttl(key),
    );
  }

  mget(keys: readonly string[]): Promise<(string | null)[]> {
    if (!Array.isArray(keys)) return rejectArgument('keys', keys);
    const bad = firstInvalid(keys);
    if (bad !== -1) return rejectItem('keys', keys, bad);
    if (keys.length === 0) return this.#closed ? this.#closedError() : Promise.resolve([]);
    return this.#runMany(
      false,
      keys,
      0,
      (c) =>
        this.#cluster && keys.length > 1 ? Promise.all(keys.map((k) => c.get(k))) : c.mget(...keys),
      (l) => l.mget(keys),
    );
  }

  mset(
    entries: Record<string, string> | readonly (readonly [string, string])[],
    options?: HybridTtlOptions,
  ): Promise<void> {
    if (typeof entries !== 'object' || entries === null) return rejectArgument('entries', entries);
    const list: readonly (readonly [string, string])[] = Array.isArray(entries)
      ? entries
      : Object.entries(entries);
    // Every entry is checked before anything is sent: a bad one writes nothing anywhere.
    for (let i = 0; i < list.length; i++) {
      const pair = list[i] as unknown;
      if (!Array.isArray(pair)) return rejectArgument(`entries[${i}]`, pair);
      if (invalid(pair[0])) return rejectArgument(`entries[${i}][0]`, pair[0]);
      if (invalid(pair[1])) return rejectArgument(`entries[${i}][1]`, pair[1]);
    }
    const ttl = options?.ttl;
    const keys = list.map((e) => e[0]);
    return this.#runMany(
      true,
      keys,
      expiry(ttl),
      async (c) => {
        if (list.length === 0) return;
        if (this.#cluster || ttl !== undefined) {
          if (this.#cluster) {
            await Promise.all(
              list.map(([k, v]) => (ttl === undefined ? c.set(k, v) : c.set(k, v, 'PX', ttl))),
            );
            return;
          }
          const tx = c.multi();
          for (const [k, v] of list) tx.set(k, v, 'PX', ttl!);
          const results = await tx.exec();
          for (const [error] of results ?? []) if (error) throw error;
          return;
        }
        await c.mset(list.flat());
      },
      (l) => l.mset(list, options),
    );
  }

  hget(key: string, field: string): Promise<string | null> {
    if (invalid(key)) return rejectArgument('key', key);
    if (invalid(field)) return rejectArgument('field', field);
    return this.#run(
      false,
      key,
      0,
      (c) => c.hget(key, field),
      (l) => l.hget(key, field),
    );
  }

  hset(
    key: string,
    fieldOrRecord: string | Record<string, string>,
    value?: string,
  ): Promise<number> {
    if (invalid(key)) return rejectArgument('key', key);
    if (typeof fieldOrRecord === 'string') {
      if (invalid(fieldOrRecord)) return rejectArgument('field', fieldOrRecord);
      if (invalid(value)) return rejectArgument('value', value);
      const v = value!;
      return this.#run(
        true,
        key,
        KEEP_EXPIRY,
        (c) => c.hset(key, fieldOrRecord, v),
        (l) => l.hset(key, fieldOrRecord, v),
      );
    }
    if (typeof fieldOrRecord !== 'object' || fieldOrRecord === null) {
      return rejectArgument('field', fieldOrRecord);
    }
    for (const field of Object.keys(fieldOrRecord)) {
      if (invalid(field)) return rejectArgument('field', field);
      const v: unknown = fieldOrRecord[field];
      if (invalid(v)) return rejectArgument(`record[${JSON.stringify(field)}]`, v);
    }
    return this.#run(
      true,
      key,
      KEEP_EXPIRY,
      (c) => c.hset(key, fieldOrRecord),
      (l) => l.hset(key, fieldOrRecord),
    );
  }

  hgetall(key: string): Promise<Record<string, string>> {
    if (invalid(key)) return rejectArgument('key', key);
    return this.#run(
      false,
      key,
      0,
      (c) => c.hgetall(key),
      (l) => l.hgetall(key),
    );
  }

  hdel(key: string, ...fields: string[]): Promise<number> {
    if (invalid(key)) return rejectArgument('key', key);
    const bad = firstInvalid(fields);
    if (bad !== -1) return rejectItem('fields', fields, bad);
    return this.#run(
      true,
      key,
      KEEP_EXPIRY,
      (c) => c.hdel(key, ...fields),
      (l) => l.hdel(key, ...fields),
    );
  }

  lpush(key: string, ...values: string[]): Promise<number> {
    if (invalid(key)) return rejectArgument('key', key);
    const bad = firstInvalid(values);
    if (bad !== -1) return rejectItem('values', values, bad);
    return this.#run(
      true,
      key,
      KEEP_EXPIRY,
      (c) => c.lpush(key, ...values),
      (l) => l.lpush(key, ...values),
    );
  }

  rpush(key: string, ...values: string[]): Promise<number> {
    if (invalid(key)) return rejectArgument('key', key);
    const bad = firstInvalid(values);
    if (bad !== -1) return rejectItem('values', values, bad);
    return this.#run(
      true,
      key,
      KEEP_EXPIRY,
      (c) => c.rpush(key, ...values),
      (l) => l.rpush(key, ...values),
    );
  }

  lrange(key: string, start: number, stop: number): Promise<string[]> {
    if (invalid(key)) return rejectArgument('key', key);
    return this.#run(
      false,
      key,
      0,
      (c) => c.lrange(key, start, stop),
      (l) => l.lrange(key, start, stop),
    );
  }

  getOrSet(
    key: string,
    loader: () => string | Promise<string>,
    options?: HybridTtlOptions,
  ): Promise<string> {
    if (invalid(key)) return rejectArgument('key', key);
    if (typeof loader !== 'function') {
      return Promise.reject(
        new HybridClientError('E_ARGUMENT', 'the loader of getOrSet must be a function', {
          field: 'loader',
          value: loader,
        }),
      );
    }
    if (!this.#primary && !this.#closed) {
      // Memory hit: no single-flight bookkeeping on the fast path.
      let hit: string | null;
      try {
        hit = this.#local.get(key);
      } catch (error) {
        return Promise.reject(error);
      }
      if (hit !== null) return this.#out(hit);
    }
    const flight = this.#flights.get(key);
    if (flight !== undefined) return flight;
    const load = this.#load(key, loader, options);
    this.#flights.set(key, load);
    return load;
  }

  async #load(
    key: string,
    loader: () => string | Promise<string>,
    options: HybridTtlOptions | undefined,
  ): Promise<string> {
    try {
      const hit = await this.get(key);
      if (hit !== null) return hit;
      const value: unknown = await loader();
      // Checked here (not only by set) so that a bad value is never handed to the callers.
      if (invalid(value)) throw argumentError('loader', value, 'the value the loader resolved to');
      const text = value as string;
      await this.set(key, text, options?.ttl === undefined ? undefined : { ttl: options.ttl });
      return text;
    } finally {
      this.#flights.delete(key);
    }
  }

  ping(): Promise<string> {
    return this.#run(
      false,
      '',
      0,
      (c) => c.ping(),
      () => 'PONG',
    );
  }

  stats(): HybridClientStats {
    const current = this.#outage && this.#o.failover ? now() - this.#fallbackSince : 0;
    return {
      activeBackend: this.activeBackend,
      mode: this.#mode,
      primary: { calls: this.#primaryCalls, failures: this.#primaryFailures },
      fallback: { calls: this.#fallbackCalls },
      failovers: this.#failovers,
      recoveries: this.#recoveries,
      fallbackMs: Math.round(this.#fallbackMsTotal + current),
      journal: {
        size: this.#journal.size,
        maxKeys: this.#journal.max,
        overflowed: this.#journal.overflowed,
        dropped: this.#journal.dropped,
      },
      breaker: this.#guard?.breaker?.state,
      local: this.#local.stats(),
    };
  }

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    if (this.#outage) this.#fallbackMsTotal += now() - this.#fallbackSince;
    this.#outage = false;
    this.#primary = false;
    this.#gateAt = 0;
    if (this.#probeTimer !== undefined) clearTimeout(this.#probeTimer);
    this.#probeTimer = undefined;
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#immediate = undefined;
    this.#flushDeferred();
    const client = this.#client;
    if (client !== undefined) for (const [event, fn] of this.#listeners) client.off(event, fn);
    this.#listeners.length = 0;
    this.#local.close();
    this.#journal.clear();
    this.#closing = client !== undefined && this.#owned ? quit(client) : Promise.resolve();
    return this.#closing;
  }
}

/** Closes an owned client: QUIT when it answers soon, else a hard disconnect. */
async function quit(client: RedisClient): Promise<void> {
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.quit().catch(noop),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 500);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
  client.disconnect();
}

/** The arguments of SET for these options (nx with xx is rejected before). */
function setArguments(
  key: string,
  value: string,
  o: HybridSetOptions | undefined,
): (string | number)[] {
  if (o === undefined) return [key, value];
  const ttl = o.ttl;
  const args: (string | number)[] = ttl === undefined ? [key, value] : [key, value, 'PX', ttl];
  if (o.nx === true) args.push('NX');
  else if (o.xx === true) args.push('XX');
  return args;
}

function expiry(ttl: number | undefined): number {
  return ttl !== undefined && ttl > 0 ? now() + ttl : 0;
}

function describe(error: unknown): string | undefined {
  if (error === undefined) return undefined;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Creates a client that uses Redis first and memory while Redis is unusable, and goes back to
 * Redis by itself. The promise settles once the start-up probe has decided (within
 * `startupProbeTimeoutMs`) and never rejects because Redis is unreachable.
 * @param options see {@link HybridClientOptions}
 * @throws {HybridClientError} `E_OPTIONS` (synchronously) naming the invalid option
 * @throws ConfigError of `@x/config` (synchronously) for an invalid URL or config
 * @example
 * const cache = await createHybridClient({ redis: process.env.REDIS_URL, keyPrefix: 'app' });
 * await cache.set(cache.keys.of('user', 1), 'Ada', { ttl: 60_000 });
 */
export function createHybridClient(options: HybridClientOptions = {}): Promise<HybridClient> {
  const client = new HybridClientImpl(resolveOptions(options));
  return client.start();
}
