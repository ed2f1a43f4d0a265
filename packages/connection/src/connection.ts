import type { EventEmitter } from 'node:events';
import type { Breaker, CircuitState, Guard } from '@x/breaker';
import type { RedisClient } from '@x/config';
import type { ClusterOptions, RedisOptions } from 'ioredis';
import type { ConnectionState } from './channels.js';
import type { Problem } from './diagnosis.js';
import { ManagedConnection } from './managed-connection.js';
import type { ConnectionOptions } from './options.js';
import type { Script } from './script.js';

/** Options of {@link Connection.ready}. */
export interface ReadyOptions {
  /** Give up after this long, in ms. @default the connection's `startupProbeTimeoutMs` */
  timeoutMs?: number;
  /** Stop waiting when aborted (rejects with `signal.reason`). */
  signal?: AbortSignal;
}

/** Options of {@link Connection.execute}. */
export interface ExecuteOptions<T> {
  /**
   * Served on timeout, open circuit or infrastructure error, with that error. Without it those
   * calls reject with the error.
   */
  fallback?: ((error: unknown) => T | PromiseLike<T>) | undefined;
  /**
   * What the call does, for tracing (`x:connection:call`), e.g. `'acquire'`. Low cardinality: never
   * a key.
   * @default 'call'
   */
  operation?: string | undefined;
}

/** ioredis options for a second connection (see {@link Connection.duplicate}). */
export type DuplicateOptions = Partial<RedisOptions> & Partial<ClusterOptions>;

/** Payload of the `unusable` event. */
export interface UnusableEvent {
  /** Why: `'connect_failed'`, `'connection_lost'`, `'breaker_open'`, `'health_check_failed'`, `'misconfigured'`, `'sentinel_failover'` (option `failoverFence`), or what a package passed to `markUnusable`. */
  reason: string;
  /** The error behind it, when there is one. */
  error: unknown;
  /** The diagnosis at that moment, `null` when nothing more precise is known. */
  problem: Problem | null;
}

/** Payload of the `usable` event. */
export interface UsableEvent {
  /** `'ready'` the first time, `'recovered'` after an outage. */
  reason: 'ready' | 'recovered';
  /** How long Redis was unusable, ms (0 the first time). */
  outageMs: number;
}

/** Events of a {@link Connection}. */
export interface ConnectionEvents {
  /** Every state change. */
  state: [change: { from: ConnectionState; to: ConnectionState; reason: string }];
  /** Redis became unusable: serve from memory, fail fast, or wait. */
  unusable: [event: UnusableEvent];
  /** Redis is usable (again). */
  usable: [event: UsableEvent];
  /** A new problem was found, or the problem cleared (`null`). */
  problem: [problem: Problem | null];
}

/** The `redis` block of every package's `stats()`. */
export interface RedisStats {
  /** The connection's name (the package using it). */
  name: string;
  /** See {@link Connection.state}. */
  state: ConnectionState;
  /** Guarded calls made. */
  calls: number;
  /** Calls that answered in time. */
  successes: number;
  /** Calls that failed with an infrastructure error (timeouts not included). */
  failures: number;
  /** Calls that hit their deadline. */
  timeouts: number;
  /** Calls refused by the open circuit without reaching Redis. */
  rejects: number;
  /** Fallbacks served instead of a Redis answer. */
  fallbacks: number;
  /** State of the breaker (`undefined` without one). */
  breaker: CircuitState | undefined;
  /** The current problem, `null` when there is none. */
  problem: Problem | null;
  /** Times Redis became unusable. */
  outages: number;
  /** Total ms spent unusable, the current outage included. */
  unusableMs: number;
  /** PING latency of the health checks and probes, ms. */
  latencyMs: { p50: number | null; p99: number | null; last: number | null };
}

/**
 * One managed Redis connection: the runtime every x feature package stands on. Create one with
 * {@link createConnection}.
 */
export interface Connection extends EventEmitter<ConnectionEvents> {
  /** Who uses it (the `name` option). */
  readonly name: string;
  /** The ioredis client (`Redis` or `Cluster`). */
  readonly client: RedisClient;
  /** True when the connection created the client (and closes it); false for a client passed in. */
  readonly owned: boolean;
  /** True for an ioredis `Cluster`. */
  readonly isCluster: boolean;
  /**
   * The guard every call goes through: the deadline (`timeoutMs`) and the breaker. Use
   * {@link Connection.execute} unless a hot path needs the guard's allocation-free operations.
   */
  readonly guard: Guard;
  /** The breaker of the guard, `undefined` with `breaker: false`. */
  readonly breaker: Breaker | undefined;
  /** Deadline of one call, ms. */
  readonly timeoutMs: number;
  /** Longest gap between two recovery probes, ms. */
  readonly probeIntervalMs: number;
  /** Default deadline of {@link Connection.ready}, ms. */
  readonly startupProbeTimeoutMs: number;
  /**
   * `'connecting'` before the first verdict, `'ready'` while Redis is usable, `'unusable'` during
   * an outage or a misconfiguration (probes run), `'closed'` after `close()`.
   */
  readonly state: ConnectionState;
  /**
   * Resolves once Redis is usable (at once if it is). Rejects with `RedisMisconfiguredError`
   * (`E_REDIS_MISCONFIGURED`) as soon as a misconfiguration is found (wrong password, TLS
   * mismatch, unknown host, Cluster vs standalone...), with `RedisUnavailableError`
   * (`E_REDIS_UNAVAILABLE`, carrying the diagnosis) at the deadline, with
   * `ConnectionClosedError` after `close()`, with `signal.reason` when aborted. The connection
   * keeps trying in the background after a rejection.
   */
  ready(options?: ReadyOptions): Promise<void>;
  /**
   * Runs `fn(client)` under the guard: settles within `timeoutMs` whatever Redis does. While the
   * client makes its first connection the call waits for it inside the deadline, and is never
   * sent after the deadline passed; while the link is down it fails at once (no offline queue).
   * Timeouts, open circuit and infrastructure errors go to `fallback` (or reject); command errors
   * (`WRONGTYPE`) are rethrown as they are.
   */
  execute<T>(
    fn: (client: RedisClient) => T | PromiseLike<T>,
    options?: ExecuteOptions<T>,
  ): Promise<T>;
  /** A Lua script bound to this connection's client (`EVALSHA`, reloaded after `NOSCRIPT`). */
  script(source: string): Script;
  /**
   * A second connection with the same options and credentials (subscriber, invalidation,
   * notifications), named `<name>:<purpose>` on the server (`CLIENT LIST`) unless `overrides`
   * names it. Its connection errors feed this connection's diagnosis; it is closed by `close()`.
   */
  duplicate(purpose: string, overrides?: DuplicateOptions): RedisClient;
  /**
   * Tells the outage watch that Redis is not usable for now (e.g. a write timed out and may still
   * run): it probes until a PING answers and the setup checks out, then emits `usable`.
   */
  markUnusable(reason: string, error?: unknown): void;
  /**
   * Feeds an error seen outside the guard (a subscriber connection, a background job) into the
   * diagnosis. Command errors are ignored.
   */
  report(error: unknown): void;
  /** The current problem: what is wrong, in the server's words, and what to do; `null` if none. */
  diagnosis(): Problem | null;
  /** The `redis` block of the package's `stats()`. */
  stats(): RedisStats;
  /**
   * Stops every timer, closes the duplicates, and closes the client if it was created here
   * (a bounded `QUIT`, then the socket). Idempotent; settles within about `timeoutMs` (at most
   * 1 s) even when Redis is frozen.
   */
  close(): Promise<void>;
}

/**
 * Creates a managed connection. Synchronous and non-blocking: an invalid URL or config throws
 * here; Redis being down never does (use {@link Connection.ready} to wait for it).
 * @throws ConnectionOptionsError (`E_CONNECTION_OPTIONS`) naming the invalid option; ConfigError
 * of `@x/config` for an invalid URL or config.
 * @example
 * const connection = createConnection({ redis: process.env.REDIS_URL, name: 'my-service', timeoutMs: 500 });
 * await connection.ready().catch((error) => console.warn(error.message));
 * const value = await connection.execute((redis) => redis.get('greeting'), { fallback: () => null });
 */
export function createConnection(options: ConnectionOptions): Connection {
  return new ManagedConnection(options);
}
