import { EventEmitter } from 'node:events';
import {
  type Breaker,
  type CircuitState,
  createGuard,
  type Guard,
  type GuardOperation,
} from '@x/breaker';
import {
  type CredentialsRefreshFailure,
  type CredentialsTracker,
  isCluster,
  type RedisClient,
  resolveRedis,
  trackCredentials,
  whenReady,
} from '@x/config';
import type { ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { probeProtocol } from './_internal/protocol-probe.js';
import {
  type ConnectionCallContext,
  type ConnectionState,
  connectionCallChannel as callChannel,
  problemChannel,
  stateChannel,
} from './channels.js';
import { closeClient } from './close.js';
import {
  type DiagnoseContext,
  diagnose,
  type Finding,
  noAnswer,
  type Problem,
  toProblem,
} from './diagnosis.js';
import { ConnectionClosedError, RedisMisconfiguredError, RedisUnavailableError } from './errors.js';
import { type Log, toLog } from './logger.js';
import { type ConnectionOptions, resolveConnectionOptions } from './options.js';
import { OutageWatch } from './outage-watch.js';
import { ClientScript, type Script } from './script.js';

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
  /** Why: `'connect_failed'`, `'connection_lost'`, `'breaker_open'`, `'health_check_failed'`, `'misconfigured'`, or what a package passed to `markUnusable`. */
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

// A call of `execute`: runs the caller's function once the client is ready (within the deadline).
const EXECUTE: GuardOperation<unknown, ManagedConnection, (client: RedisClient) => unknown> = {
  run: (self, fn) => self.run(fn),
};
const EXECUTE_WITH_FALLBACK: GuardOperation<
  unknown,
  ManagedConnection,
  (client: RedisClient) => unknown,
  (error: unknown) => unknown
> = {
  run: (self, fn) => self.run(fn),
  fallback: (error, _self, _fn, fallback) => fallback(error),
};

// A call-level problem (not a broken connection) is the current one for this long.
const CALL_PROBLEM_MS = 60_000;
// At most one protocol probe (TLS or not?) per this long.
const PROTOCOL_PROBE_EVERY_MS = 30_000;
// Owned clients reconnect at least this often during an outage.
const MAX_RECONNECT_DELAY_MS = 250;

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
  timer: NodeJS.Timeout;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  started: number;
  timeoutMs: number;
}

class ManagedConnection extends EventEmitter<ConnectionEvents> implements Connection {
  readonly name: string;
  readonly client: RedisClient;
  readonly owned: boolean;
  readonly isCluster: boolean;
  readonly guard: Guard;
  readonly breaker: Breaker | undefined;
  readonly timeoutMs: number;
  readonly probeIntervalMs: number;
  readonly startupProbeTimeoutMs: number;
  readonly #log: Log;
  readonly #watch: OutageWatch;
  readonly #ctx: Target;
  readonly #scripts = new Map<string, Script>();
  readonly #duplicates = new Set<RedisClient>();
  readonly #listeners: [string, (...args: unknown[]) => void][] = [];
  readonly #waiters = new Set<Waiter>();
  #problem: Problem | null = null;
  // When the current problem was found on a call while the connection was ready (it then expires).
  #problemFromCallAt = 0;
  // A misconfiguration seen during the current connection's handshake (db out of range...).
  #handshakeFinding: Finding | undefined;
  // The last problem a call showed while the connection was ready (used if the breaker opens).
  #lastCallFinding: Finding | undefined;
  #epoch = 0;
  #verifiedEpoch = -1;
  #logged = new Set<string>();
  #protocolProbeAt = -Infinity;
  #closing: Promise<void> | undefined;
  // Credential trackers: the ones the connection started (closed with it), and the client's own
  // when it was given (only observed).
  readonly #trackers: { tracker: CredentialsTracker; own: boolean }[] = [];
  readonly #credentialsRefreshMs: number | undefined;

  constructor(options: ConnectionOptions) {
    super();
    const optionError =
      typeof options === 'object' && options !== null ? options.optionError : undefined;
    const o = asPackageOptionError(() => resolveConnectionOptions(options), optionError);
    this.name = o.name;
    this.timeoutMs = o.timeoutMs;
    this.probeIntervalMs = o.probeIntervalMs;
    this.startupProbeTimeoutMs = o.startupProbeTimeoutMs;
    this.#log = toLog(o.logger);
    // The guard first: invalid breaker options throw before a client is created.
    this.guard = asPackageOptionError(
      () =>
        createGuard({
          timeoutMs: o.timeoutMs,
          breaker: o.breaker,
          onFailure: (error) => this.#onCallFailure(error),
        }),
      optionError,
    );
    this.breaker = this.guard.breaker;
    // maxRetriesPerRequest 0: commands in flight when the link drops fail at once instead of
    // waiting through reconnection attempts. failoverDetector: on Sentinel, drop the link to a
    // demoted primary as soon as the sentinels announce the switch.
    const { client, owned } = resolveRedis(o.redis, {
      ioredis: { maxRetriesPerRequest: 0, failoverDetector: true, ...o.ioredis },
    });
    this.client = client;
    this.owned = owned || o.owned === true;
    this.isCluster = isCluster(client);
    this.#ctx = describeTarget(client, o.timeoutMs);
    if (owned)
      capReconnectDelay(
        client,
        this.isCluster,
        Math.min(MAX_RECONNECT_DELAY_MS, o.probeIntervalMs),
      );
    this.#watch = new OutageWatch({
      client,
      owned: this.owned,
      timeoutMs: o.timeoutMs,
      probeIntervalMs: o.probeIntervalMs,
      healthCheckIntervalMs: o.healthCheckIntervalMs,
      verify: () => this.#verify(),
      changed: (from, to, reason, error) => this.#changed(from, to, reason, error),
    });
    this.#listen('error', (error) => this.#onClientError(error));
    this.#listen('node error', (error) => this.#onClientError(error));
    this.#listen('connect', () => {
      this.#epoch++;
      this.#handshakeFinding = undefined;
    });
    this.#listen('ready', () => this.#watch.onReady());
    this.#listen('close', () => this.#watch.onLinkLost());
    this.#listen('end', () => this.#watch.onLinkLost());
    this.breaker?.on('open', this.#onBreakerOpen);
    this.#credentialsRefreshMs = o.credentialsRefreshMs;
    // A client that authenticates through a credentials provider: its re-authentication goes
    // through the guard (deadline and breaker) when the connection owns it, and a failed refresh
    // becomes the diagnosis (the connection keeps serving on its current credentials).
    this.#trackCredentials(client, this.owned);
    const status = client.status;
    if (status === 'ready') this.#watch.onReady();
    else if (status === 'end' || status === 'close') this.#watch.onLinkLost();
  }

  get state(): ConnectionState {
    return this.#watch.state;
  }

  ready(options: ReadyOptions = {}): Promise<void> {
    const state = this.#watch.state;
    if (state === 'ready') return Promise.resolve();
    if (state === 'closed') return Promise.reject(new ConnectionClosedError());
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const problem = this.#problem;
    if (problem?.misconfiguration) return Promise.reject(new RedisMisconfiguredError(problem));
    const timeoutMs = options.timeoutMs ?? this.startupProbeTimeoutMs;
    if (this.client.status === 'wait') {
      this.client.connect().catch(noop);
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: undefined,
        started: performance.now(),
        timeoutMs,
        timer: setTimeout(() => {
          // Nothing said more than silence: that is the problem (a frozen or blackholed server).
          if (this.#problem === null) this.#setProblem(noAnswer(timeoutMs, this.#ctx), false);
          const problem = this.#problem ?? { ...noAnswer(timeoutMs, this.#ctx), since: Date.now() };
          this.#settleWaiter(waiter, new RedisUnavailableError(problem, timeoutMs));
        }, timeoutMs),
      };
      waiter.timer.unref();
      if (signal !== undefined) {
        waiter.onAbort = () => this.#settleWaiter(waiter, signal.reason);
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#waiters.add(waiter);
    });
  }

  execute<T>(
    fn: (client: RedisClient) => T | PromiseLike<T>,
    options?: ExecuteOptions<T>,
  ): Promise<T> {
    const fallback = options?.fallback;
    if (!callChannel.hasSubscribers) return this.#execute(fn, fallback);
    const context: ConnectionCallContext = {
      connection: this.name,
      operation: options?.operation ?? 'call',
    };
    // Observed: say on the trace when the fallback served the call instead of Redis.
    const served =
      fallback === undefined
        ? undefined
        : (error: unknown): T | PromiseLike<T> => {
            context.fallback = true;
            return fallback(error);
          };
    return callChannel.tracePromise(() => this.#execute(fn, served), context) as Promise<T>;
  }

  #execute<T>(
    fn: (client: RedisClient) => T | PromiseLike<T>,
    fallback: ((error: unknown) => T | PromiseLike<T>) | undefined,
  ): Promise<T> {
    if (this.#closing !== undefined) return Promise.reject(new ConnectionClosedError());
    if (fallback === undefined) {
      return this.guard.execute(
        EXECUTE,
        this,
        fn as (client: RedisClient) => unknown,
      ) as Promise<T>;
    }
    return this.guard.execute(
      EXECUTE_WITH_FALLBACK,
      this,
      fn as (client: RedisClient) => unknown,
      fallback as (error: unknown) => unknown,
    ) as Promise<T>;
  }

  /** @internal The body of a guarded call: at once when ready, else after connecting in time. */
  run(fn: (client: RedisClient) => unknown): unknown {
    const ready = whenReady(this.client);
    if (ready === undefined) return fn(this.client);
    const started = performance.now();
    return ready.then(() => {
      // The deadline passed while connecting: the caller was answered already, so sending now
      // could apply a write the caller believes failed.
      if (performance.now() - started >= this.timeoutMs) {
        throw new Error('Connection is closed (ready after the deadline)');
      }
      return fn(this.client);
    });
  }

  script(source: string): Script {
    if (typeof source !== 'string' || source === '') {
      throw new TypeError(
        '[@x/connection] script(source): the Lua source must be a non-empty string',
      );
    }
    let script = this.#scripts.get(source);
    if (script === undefined) {
      script = new ClientScript(this.client, source);
      this.#scripts.set(source, script);
    }
    return script;
  }

  duplicate(purpose: string, overrides: DuplicateOptions = {}): RedisClient {
    if (this.#closing !== undefined) throw new ConnectionClosedError();
    const named: DuplicateOptions =
      overrides.connectionName === undefined && !this.isCluster
        ? { connectionName: `${this.name}:${purpose}`.replace(/\s/g, '_'), ...overrides }
        : overrides;
    const dup = this.isCluster
      ? (this.client as import('ioredis').Cluster).duplicate([], named as ClusterOptions)
      : (this.client as Redis).duplicate(named as RedisOptions);
    this.#trackCredentials(dup, true);
    dup.on('error', (error: unknown) => this.#onClientError(error));
    dup.on('node error', (error: unknown) => this.#onClientError(error));
    this.#duplicates.add(dup);
    dup.once('end', () => this.#duplicates.delete(dup));
    return dup;
  }

  markUnusable(reason: string, error?: unknown): void {
    if (this.#closing !== undefined) return;
    if (error !== undefined) {
      const found = diagnose(error, this.#ctx);
      if (found !== undefined) this.#setProblem(found, false);
    }
    this.#watch.markUnusable(reason, error);
  }

  report(error: unknown): void {
    // Like a failed call: a misconfiguration is kept (and logged once) without making a usable
    // connection unusable; anything else only counts while Redis is not usable anyway.
    this.#onCallFailure(error);
  }

  diagnosis(): Problem | null {
    const problem = this.#problem;
    if (
      problem !== null &&
      this.#problemFromCallAt !== 0 &&
      Date.now() - this.#problemFromCallAt > CALL_PROBLEM_MS
    ) {
      this.#clearProblem();
      return null;
    }
    return problem;
  }

  stats(): RedisStats {
    const g = this.guard.stats();
    return {
      name: this.name,
      state: this.#watch.state,
      calls: g.requests,
      successes: g.successes,
      failures: g.failures,
      timeouts: g.timeouts,
      rejects: g.rejects,
      fallbacks: g.fallbacks,
      breaker: this.breaker?.state,
      problem: this.diagnosis(),
      outages: this.#watch.outages,
      unusableMs: this.#watch.unusableMs,
      latencyMs: this.#watch.latency(),
    };
  }

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    const closed = new ConnectionClosedError();
    for (const waiter of [...this.#waiters]) this.#settleWaiter(waiter, closed);
    this.#watch.stop();
    this.breaker?.off('open', this.#onBreakerOpen);
    for (const { tracker, own } of this.#trackers) {
      tracker.off('refresh-failed', this.#onRefreshFailed);
      if (own) tracker.close();
    }
    this.#trackers.length = 0;
    for (const [event, fn] of this.#listeners) this.client.off(event, fn);
    this.#listeners.length = 0;
    if (this.owned) this.client.on('error', noop);
    const capMs = Math.min(Math.max(this.timeoutMs, 100), 1_000);
    const work: Promise<void>[] = [];
    for (const dup of this.#duplicates) {
      dup.removeAllListeners('error');
      dup.on('error', noop);
      work.push(closeClient(dup, capMs));
    }
    this.#duplicates.clear();
    if (this.owned) work.push(closeClient(this.client, capMs));
    this.#closing = Promise.all(work).then(noop);
    return this.#closing;
  }

  // ---- state ----------------------------------------------------------------------------------

  #changed(from: ConnectionState, to: ConnectionState, reason: string, error: unknown): void {
    if (to === 'ready') {
      this.#lastCallFinding = undefined;
      if (
        this.breaker !== undefined &&
        this.breaker.state !== 'closed' &&
        this.breaker.state !== 'isolated'
      ) {
        this.breaker.reset();
      }
      this.#clearProblem();
      for (const waiter of [...this.#waiters]) this.#settleWaiter(waiter, undefined);
    } else if (to === 'unusable' && this.#problem === null) {
      const found =
        (error === undefined ? undefined : diagnose(error, this.#ctx)) ??
        this.#lastCallFinding ??
        (reason === 'connection_lost' ? this.#linkClosed() : undefined);
      if (found !== undefined) this.#setProblem(found, false);
    }
    const problem = this.#problem;
    if (stateChannel.hasSubscribers) {
      stateChannel.publish({ connection: this.name, from, to, reason, problem });
    }
    this.#emit('state', { from, to, reason });
    if (to === 'unusable') this.#emit('unusable', { reason, error, problem });
    else if (to === 'ready') {
      this.#emit('usable', {
        reason: reason === 'ready' ? 'ready' : 'recovered',
        outageMs: from === 'unusable' ? this.#watch.lastOutageMs : 0,
      });
    }
  }

  /**
   * Follows the credentials of `client` when it authenticates through `@x/config`'s credentials
   * provider (does nothing otherwise). `own`: replace its tracker with one whose `AUTH` goes
   * through the guard.
   */
  #trackCredentials(client: RedisClient, own: boolean): void {
    let tracker: CredentialsTracker;
    try {
      tracker = trackCredentials(client);
    } catch {
      return; // no credentials provider: nothing to refresh
    }
    if (own) {
      tracker.close();
      tracker = trackCredentials(client, {
        refreshMs: this.#credentialsRefreshMs,
        authenticate: (connection, credentials) =>
          this.guard.execute(() =>
            credentials.username === undefined
              ? connection.call('AUTH', credentials.password)
              : connection.call('AUTH', credentials.username, credentials.password),
          ),
      });
    }
    tracker.on('refresh-failed', this.#onRefreshFailed);
    this.#trackers.push({ tracker, own });
  }

  readonly #onRefreshFailed = (failure: CredentialsRefreshFailure): void => {
    this.report(failure.error);
  };

  /** What is known when the link closed without an error: the reconnection attempts say more. */
  #linkClosed(): Finding {
    const at = this.#ctx.address === undefined ? '' : ` to ${this.#ctx.address}`;
    return {
      kind: 'refused',
      message: `the connection${at} was closed`,
      hint: 'the server restarted, was killed, or closed the connection (CLIENT KILL, timeout, maxclients): reconnecting',
      misconfiguration: false,
    };
  }

  readonly #onBreakerOpen = (): void => {
    this.#watch.markUnusable('breaker_open', undefined);
  };

  #onCallFailure(error: unknown): void {
    const found = diagnose(error, this.#ctx);
    if (found === undefined) return;
    if (this.#watch.state === 'ready' && !found.misconfiguration) {
      // One slow call is not the connection's problem: kept in case the breaker opens.
      this.#lastCallFinding = found;
      return;
    }
    this.#setProblem(found, this.#watch.state === 'ready');
  }

  #onClientError(error: unknown): void {
    const found = diagnose(error, this.#ctx);
    if (found === undefined) return;
    // A setup error of the connection itself (not of one call): Redis is not usable with it, even
    // when ioredis goes on to report `ready` (a db index out of range falls back to db 0).
    if (found.misconfiguration) this.#handshakeFinding = found;
    this.#setProblem(found, false);
    if (!found.misconfiguration) this.#maybeProbeProtocol(found);
  }

  #setProblem(found: Finding, fromCall: boolean): void {
    const previous = this.#problem ?? undefined;
    // A setup error of the connection stays the diagnosis until Redis is usable again: the resets
    // and refusals that follow it are its consequences, not a new problem.
    if (previous?.misconfiguration && this.#problemFromCallAt === 0 && !found.misconfiguration) {
      return;
    }
    const problem = toProblem(found, previous);
    this.#problemFromCallAt = fromCall ? Date.now() : 0;
    if (problem === previous) return;
    this.#problem = problem;
    if (problemChannel.hasSubscribers) problemChannel.publish({ connection: this.name, problem });
    this.#emit('problem', problem);
    if (!problem.misconfiguration) return;
    const key = `${problem.kind}\n${problem.message}`;
    if (!this.#logged.has(key)) {
      this.#logged.add(key);
      this.#log(
        'error',
        `[${this.name}] Redis is misconfigured (${problem.kind}): ${problem.message}. To fix: ${problem.hint}`,
        {
          reason: 'misconfigured',
          kind: problem.kind,
          message: problem.message,
          hint: problem.hint,
          address: this.#ctx.address,
        },
      );
    }
    const misconfigured = new RedisMisconfiguredError(problem);
    for (const waiter of [...this.#waiters]) this.#settleWaiter(waiter, misconfigured);
    // A setup that is wrong makes Redis unusable even when the link is up (db out of range...).
    if (!fromCall && this.#watch.state !== 'closed')
      this.#watch.markUnusable('misconfigured', undefined);
  }

  #clearProblem(): void {
    if (this.#problem === null) return;
    this.#problem = null;
    this.#problemFromCallAt = 0;
    this.#logged.clear();
    if (problemChannel.hasSubscribers)
      problemChannel.publish({ connection: this.name, problem: null });
    this.#emit('problem', null);
  }

  /**
   * What a PING cannot tell, checked before Redis is called usable: a misconfiguration seen during
   * this connection's handshake, and (once per connection, standalone clients) the server's mode:
   * a Cluster node or a Sentinel answers PING but not the commands of a standalone client.
   */
  async #verify(): Promise<boolean> {
    if (this.#handshakeFinding !== undefined) {
      this.#setProblem(this.#handshakeFinding, false);
      return false;
    }
    // The PING answered, but the link may have dropped since (Redis killed right after).
    if (this.client.status !== 'ready') return false;
    if (this.isCluster || this.#verifiedEpoch === this.#epoch) return true;
    const epoch = this.#epoch;
    let info: string | undefined;
    try {
      info = await withDeadline((this.client as Redis).info('server'), this.timeoutMs);
    } catch (error) {
      // INFO may be forbidden by an ACL: the mode cannot be checked, Redis is usable. Any other
      // failure (the link dropped, no answer) is not a verdict: the watch probes again.
      return /^NOPERM/.test((error as Error | undefined)?.message ?? '') && this.#epoch === epoch;
    }
    if (this.#epoch !== epoch || this.client.status !== 'ready') return false;
    const mode = /redis_mode:(\w+)/.exec(info ?? '')?.[1];
    if (mode === 'cluster' || mode === 'sentinel') {
      const found = diagnose(
        mode === 'cluster'
          ? 'MOVED: this server runs in cluster mode (redis_mode:cluster)'
          : 'ERR unknown command: this address is a sentinel (redis_mode:sentinel)',
        this.#ctx,
      );
      if (found !== undefined) {
        this.#handshakeFinding = found;
        this.#setProblem(found, false);
      }
      return false;
    }
    this.#verifiedEpoch = epoch;
    return true;
  }

  /**
   * A reset right after connecting (plain client) or a handshake that never completes (TLS client)
   * also happen when only one side speaks TLS: ask the server which it speaks, once in a while, so
   * that a TLS mismatch is reported as such rather than as an outage.
   */
  #maybeProbeProtocol(found: Finding): void {
    const ctx = this.#ctx;
    // Only while Redis is not usable (also after it once was: the server may have been switched
    // to TLS, or off it, behind the same address).
    if (this.isCluster || ctx.host === undefined || ctx.port === undefined) return;
    if (this.#watch.state === 'ready' || this.#watch.state === 'closed') return;
    const suspicious =
      (found.kind === 'refused' && !ctx.tls && /ECONNRESET|EPIPE/.test(found.message)) ||
      (found.kind === 'timeout' && ctx.tls === true);
    if (!suspicious) return;
    const t = performance.now();
    if (t - this.#protocolProbeAt < PROTOCOL_PROBE_EVERY_MS) return;
    this.#protocolProbeAt = t;
    const clientTls = ctx.tls === true;
    void probeProtocol(ctx.host, ctx.port, clientTls, this.timeoutMs).then((spoken) => {
      if (this.#closing !== undefined || this.#watch.state === 'ready') return;
      if (!clientTls && spoken === 'tls') {
        this.#setProblem(
          {
            kind: 'tls',
            message: `the server at ${ctx.address} speaks TLS and closed the plain-text connection`,
            hint: 'use a rediss:// URL (or REDIS_TLS=true) to connect with TLS',
            misconfiguration: true,
          },
          false,
        );
      } else if (clientTls && spoken === 'plain') {
        this.#setProblem(
          {
            kind: 'tls',
            message: `the server at ${ctx.address} does not speak TLS (it answered in plain text)`,
            hint: 'use redis:// instead of rediss:// (or turn REDIS_TLS off), or connect to the TLS port of the server',
            misconfiguration: true,
          },
          false,
        );
      }
    });
  }

  #settleWaiter(waiter: Waiter, error: unknown): void {
    if (!this.#waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    if (error === undefined) waiter.resolve();
    else waiter.reject(error);
  }

  #listen(event: string, fn: (...args: unknown[]) => void): void {
    const client = this.client;
    // Many x instances may share one given client: each adds its listeners, not a leak.
    const max = client.getMaxListeners();
    if (max !== 0 && client.listenerCount(event) >= max - 1) client.setMaxListeners(max + 10);
    client.on(event, fn);
    this.#listeners.push([event, fn]);
  }

  #emit<E extends keyof ConnectionEvents>(event: E, ...args: ConnectionEvents[E]): void {
    try {
      (this.emit as (event: string, ...a: unknown[]) => boolean)(event, ...args);
    } catch (error) {
      // A throwing listener must not break the watch or surface from a timer.
      process.emitWarning(`[@x/connection] a '${event}' listener threw: ${String(error)}`);
    }
  }
}

/** Where the client points: for hints, and for the protocol probe (standalone only). */
type Target = DiagnoseContext & { host?: string; port?: number };

function describeTarget(client: RedisClient, timeoutMs: number): Target {
  if (isCluster(client)) {
    const nodes = (client as unknown as { startupNodes?: { host?: string; port?: number }[] })
      .startupNodes;
    const first = Array.isArray(nodes) ? nodes[0] : undefined;
    const tls = (client.options as ClusterOptions).redisOptions?.tls !== undefined;
    return {
      cluster: true,
      tls,
      timeoutMs,
      address: first?.host !== undefined ? `${first.host}:${first.port ?? 6379}` : undefined,
    };
  }
  const o = client.options as RedisOptions;
  const host = o.host ?? '127.0.0.1';
  const port = o.port ?? 6379;
  const sentinel = Array.isArray(o.sentinels) && o.sentinels.length > 0;
  return {
    cluster: false,
    tls: o.tls !== undefined,
    timeoutMs,
    db: o.db,
    address: sentinel ? `sentinel master "${o.name ?? ''}"` : (o.path ?? `${host}:${port}`),
    ...(sentinel || o.path ? {} : { host, port }),
  };
}

/** Bounds an owned client's reconnection delay so recovery is not held back by a long backoff. */
function capReconnectDelay(client: RedisClient, cluster: boolean, cap: number): void {
  const opts = client.options as { retryStrategy?: unknown; clusterRetryStrategy?: unknown };
  const key = cluster ? 'clusterRetryStrategy' : 'retryStrategy';
  const base = opts[key] as
    | ((times: number, ...rest: unknown[]) => number | null | undefined)
    | undefined;
  opts[key] = (times: number, ...rest: unknown[]): number | null => {
    const delay = typeof base === 'function' ? base(times, ...rest) : undefined;
    // A strategy that gives up (null) is respected only for clients that were told so; ours never do.
    return typeof delay === 'number' ? Math.min(delay, cap) : cap;
  };
}

/**
 * Runs `make`; an invalid option (of the connection, or of the breaker it creates: named
 * `breaker.<field>`) is reported with the package's own error when it gave `optionError`.
 */
function asPackageOptionError<T>(
  make: () => T,
  optionError: ((field: string, value: unknown, expected: string) => Error) | undefined,
): T {
  try {
    return make();
  } catch (error) {
    if (optionError === undefined) throw error;
    const code = (error as { code?: unknown } | null)?.code;
    if (code !== 'E_CONNECTION_OPTIONS' && code !== 'E_BREAKER_OPTIONS') throw error;
    const e = error as { field: string; value: unknown; expected?: string };
    const field =
      code === 'E_BREAKER_OPTIONS' && e.field !== 'breaker' ? `breaker.${e.field}` : e.field;
    throw optionError(field, e.value, e.expected ?? 'a valid value');
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  promise.catch(noop);
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function noop(): void {}
