import { EventEmitter } from 'node:events';
import { type Breaker, createGuard, type Guard, type GuardOperation } from '@x/breaker';
import { isCluster, type RedisClient, resolveRedis, whenReady } from '@x/config';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import {
  capReconnectDelay,
  describeTarget,
  type Target,
  withDeadline,
} from './_internal/target.js';
import {
  type ConnectionCallContext,
  type ConnectionState,
  connectionCallChannel as callChannel,
  problemChannel,
  stateChannel,
} from './channels.js';
import { closeClient } from './close.js';
import { ClusterNodeSweeper } from './cluster-nodes.js';
import type {
  Connection,
  ConnectionEvents,
  DuplicateOptions,
  ExecuteOptions,
  ReadyOptions,
  RedisStats,
} from './connection.js';
import { CredentialTrackers } from './credential-trackers.js';
import { diagnose, type Problem } from './diagnosis.js';
import {
  ConnectionClosedError,
  RedisFailoverError,
  RedisMisconfiguredError,
  RedisUnavailableError,
} from './errors.js';
import { type FailoverFence, fenceFailovers } from './failover-fence.js';
import { remoteEndpoint, resetSockets } from './ioredis-adapter.js';
import { toLog } from './logger.js';
import { type ConnectionOptions, resolveConnectionOptions } from './options.js';
import { OutageWatch } from './outage-watch.js';
import { ProblemTracker } from './problem-tracker.js';
import { ReadyWaiters } from './ready-waiters.js';
import { ClientScript, type Script } from './script.js';

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

// Owned clients reconnect at least this often during an outage.
const MAX_RECONNECT_DELAY_MS = 250;

/**
 * The one implementation of {@link Connection}: a client (created or borrowed), its guard, the
 * outage watch, the diagnosis ({@link ProblemTracker}), the `ready()` waiters, scripts,
 * duplicates and credential trackers, tied together by the client's events.
 */
export class ManagedConnection extends EventEmitter<ConnectionEvents> implements Connection {
  readonly name: string;
  readonly client: RedisClient;
  readonly owned: boolean;
  readonly isCluster: boolean;
  readonly guard: Guard;
  readonly breaker: Breaker | undefined;
  readonly timeoutMs: number;
  readonly probeIntervalMs: number;
  readonly startupProbeTimeoutMs: number;
  readonly #watch: OutageWatch;
  readonly #problems: ProblemTracker;
  readonly #waiters = new ReadyWaiters();
  readonly #target: Target;
  readonly #credentials: CredentialTrackers;
  readonly #scripts = new Map<string, Script>();
  readonly #duplicates = new Set<RedisClient>();
  /** Cluster clients (the client, its duplicates): closes node connections their pool lost. */
  readonly #sweepers = new Map<RedisClient, ClusterNodeSweeper>();
  readonly #listeners: [string, (...args: unknown[]) => void][] = [];
  /** Sentinel, `failoverFence` on: keeps the connection off a primary being replaced. */
  readonly #fence: FailoverFence | undefined;
  // Connections of the client so far ('connect' events): the server's mode is checked once each.
  #epoch = 0;
  #verifiedEpoch = -1;
  #closing: Promise<void> | undefined;

  constructor(options: ConnectionOptions) {
    super();
    const optionError =
      typeof options === 'object' && options !== null ? options.optionError : undefined;
    const o = asPackageOptionError(() => resolveConnectionOptions(options), optionError);
    this.name = o.name;
    this.timeoutMs = o.timeoutMs;
    this.probeIntervalMs = o.probeIntervalMs;
    this.startupProbeTimeoutMs = o.startupProbeTimeoutMs;
    // The guard first: invalid breaker options throw before a client is created.
    this.guard = asPackageOptionError(
      () =>
        createGuard({
          timeoutMs: o.timeoutMs,
          breaker: o.breaker,
          onFailure: (error) => this.#problems.onCallFailure(error),
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
    if (this.isCluster) this.#sweepers.set(client, new ClusterNodeSweeper(client as Cluster));
    this.#target = describeTarget(client, o.timeoutMs);
    if (this.owned) capReconnectDelay(client, Math.min(MAX_RECONNECT_DELAY_MS, o.probeIntervalMs));
    this.#problems = new ProblemTracker({
      name: this.name,
      log: toLog(o.logger),
      target: this.#target,
      timeoutMs: o.timeoutMs,
      isCluster: this.isCluster,
      state: () => this.#watch.state,
      markUnusable: (reason) => this.#watch.markUnusable(reason, undefined),
      misconfigured: (problem) => this.#waiters.settleAll(new RedisMisconfiguredError(problem)),
      changed: (problem) => {
        if (problemChannel.hasSubscribers) {
          problemChannel.publish({ connection: this.name, problem });
        }
        this.#emit('problem', problem);
      },
    });
    this.#watch = new OutageWatch({
      client,
      owned: this.owned,
      timeoutMs: o.timeoutMs,
      probeIntervalMs: o.probeIntervalMs,
      healthCheckIntervalMs: o.healthCheckIntervalMs,
      verify: () => this.#verify(),
      changed: (from, to, reason, error) => this.#changed(from, to, reason, error),
    });
    this.#fence =
      o.failoverFence && !this.isCluster
        ? fenceFailovers(client as Redis, {
            started: () => this.#watch.markUnusable('sentinel_failover', undefined),
            ended: () => this.#watch.probeNow(),
          })
        : undefined;
    this.#listen('error', (error) => this.#problems.onClientError(error));
    this.#listen('node error', (error) => this.#problems.onClientError(error));
    this.#listen('connect', () => {
      this.#epoch++;
      this.#problems.onConnect();
    });
    this.#listen('ready', () => this.#watch.onReady());
    this.#listen('close', () => {
      this.#watch.onLinkLost();
      this.#problems.onLinkClosed();
    });
    this.#listen('end', () => this.#watch.onLinkLost());
    this.breaker?.on('open', this.#onBreakerOpen);
    this.#credentials = new CredentialTrackers(this.guard, o.credentialsRefreshMs, (error) =>
      this.report(error),
    );
    this.#credentials.follow(client, this.owned);
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
    const problem = this.#problems.current();
    if (problem?.misconfiguration) return Promise.reject(new RedisMisconfiguredError(problem));
    const timeoutMs = options.timeoutMs ?? this.startupProbeTimeoutMs;
    if (this.client.status === 'wait') this.client.connect().catch(noop);
    return this.#waiters.wait(
      timeoutMs,
      signal,
      () => new RedisUnavailableError(this.#problems.silence(timeoutMs), timeoutMs),
    );
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
    // Not sent to a primary that is being replaced: it would acknowledge the call and lose it.
    if (this.#fence?.active === true) throw new RedisFailoverError();
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
    this.#credentials.follow(dup, true);
    dup.on('error', (error: unknown) => this.#problems.onClientError(error));
    dup.on('node error', (error: unknown) => this.#problems.onClientError(error));
    this.#duplicates.add(dup);
    if (this.isCluster) this.#sweepers.set(dup, new ClusterNodeSweeper(dup as Cluster));
    dup.once('end', () => this.#duplicates.delete(dup));
    return dup;
  }

  markUnusable(reason: string, error?: unknown): void {
    if (this.#closing !== undefined) return;
    if (error !== undefined) {
      const found = diagnose(error, this.#target);
      if (found !== undefined) this.#problems.set(found, false);
    }
    this.#watch.markUnusable(reason, error);
  }

  report(error: unknown): void {
    // Like a failed call: a misconfiguration is kept (and logged once) without making a usable
    // connection unusable; anything else only counts while Redis is not usable anyway.
    this.#problems.onCallFailure(error);
  }

  diagnosis(): Problem | null {
    return this.#problems.current();
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
      problem: this.#problems.current(),
      outages: this.#watch.outages,
      unusableMs: this.#watch.unusableMs,
      latencyMs: this.#watch.latency(),
    };
  }

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#waiters.settleAll(new ConnectionClosedError());
    this.#watch.stop();
    this.#fence?.stop();
    this.breaker?.off('open', this.#onBreakerOpen);
    this.#credentials.close();
    for (const [event, fn] of this.#listeners) this.client.off(event, fn);
    this.#listeners.length = 0;
    if (this.owned) this.client.on('error', noop);
    const capMs = Math.min(Math.max(this.timeoutMs, 100), 1_000);
    const work: Promise<void>[] = [];
    for (const dup of this.#duplicates) {
      dup.removeAllListeners('error');
      dup.on('error', noop);
      work.push(this.#closeOwned(dup, capMs));
    }
    this.#duplicates.clear();
    if (this.owned) work.push(this.#closeOwned(this.client, capMs));
    else this.#sweepers.get(this.client)?.stop(false);
    this.#closing = Promise.all(work).then(noop);
    return this.#closing;
  }

  /** Closes a client of this connection, and for a Cluster every node connection it opened. */
  async #closeOwned(client: RedisClient, capMs: number): Promise<void> {
    await closeClient(client, capMs);
    this.#sweepers.get(client)?.stop(true);
    this.#sweepers.delete(client);
  }

  #changed(from: ConnectionState, to: ConnectionState, reason: string, error: unknown): void {
    if (to === 'ready') {
      const breaker = this.breaker;
      if (breaker !== undefined && breaker.state !== 'closed' && breaker.state !== 'isolated') {
        breaker.reset();
      }
      this.#problems.onReady();
      this.#waiters.settleAll();
    } else if (to === 'unusable') {
      this.#problems.onUnusable(reason, error);
    }
    const problem = this.#problems.current();
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

  readonly #onBreakerOpen = (): void => {
    this.#watch.markUnusable('breaker_open', undefined);
  };

  /**
   * What a PING cannot tell, checked before Redis is called usable: a misconfiguration seen during
   * this connection's handshake, and (once per connection, standalone clients) the server's mode:
   * a Cluster node or a Sentinel answers PING but not the commands of a standalone client.
   */
  async #verify(): Promise<boolean> {
    const handshake = this.#problems.handshake;
    if (handshake !== undefined) {
      this.#problems.set(handshake, false);
      return false;
    }
    // The PING answered, but the link may have dropped since (Redis killed right after).
    if (this.client.status !== 'ready') return false;
    const fence = this.#fence;
    if (fence !== undefined) {
      const verdict = fence.verdict(remoteEndpoint(this.client));
      if (verdict === 'fenced') return false;
      if (verdict === 'stale') {
        // Still on the primary the sentinels replaced (the switch was seen here first): a client
        // of ours is sent to the new one now; a given one moves by its own failover detector.
        if (this.owned) resetSockets(this.client);
        return false;
      }
    }
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
        this.#target,
      );
      if (found !== undefined) this.#problems.onHandshakeFinding(found);
      return false;
    }
    this.#verifiedEpoch = epoch;
    return true;
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

function noop(): void {}
