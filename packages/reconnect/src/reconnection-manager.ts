import { EventEmitter } from 'node:events';
import { type Backoff, type BackoffOptions, createBackoff } from './backoff.js';
import { ReconnectOptionsError } from './errors.js';
import type { RetryStrategy } from './retry-strategy.js';

/**
 * What the manager needs from a client: an event emitter with ioredis' connection events
 * (`connect`, `ready`, `close`, `reconnecting`, `end`, `error`). An ioredis `Redis` or `Cluster`
 * fits; typed structurally so this package does not need ioredis installed.
 */
export interface ReconnectableClient {
  on(event: string, listener: (...args: any[]) => void): unknown;
  removeListener(event: string, listener: (...args: any[]) => void): unknown;
  /** ioredis' connection status (`'ready'`, `'connecting'`, ...). */
  readonly status?: string;
  /** ioredis' options; only touched when `installRetryStrategy` is on. */
  options?: object;
}

/** Options of {@link createReconnectionManager}. */
export interface ReconnectionManagerOptions {
  /**
   * Delays between reconnection attempts, used by {@link ReconnectionManager.retryStrategy}.
   * Short by default so that a restarted Redis is picked up within about half a second.
   * @default { jitter: 'full', minDelayMs: 50, maxDelayMs: 500 }
   */
  backoff?: BackoffOptions;
  /**
   * How long (ms) a connection must stay up before the attempt counter and the backoff start
   * over. A link that flaps (connects, then drops at once) keeps backing off instead of
   * hammering the server with its shortest delay.
   * @default 5_000
   */
  stableAfterMs?: number;
  /**
   * Install {@link ReconnectionManager.retryStrategy} on the client
   * (`options.retryStrategy`, or `options.clusterRetryStrategy` for a Cluster); the previous
   * strategy is put back by `close()`. Without it the manager only observes the client's own
   * strategy and never emits `gave-up`.
   * @default false
   */
  installRetryStrategy?: boolean;
}

/** Connection state as seen by the manager. */
export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'gave-up' | 'ended';

/** Payloads of the manager's events. */
export interface ReconnectionEvents {
  /** A reconnection attempt was scheduled (`delayMs` is unknown for a Cluster's own strategy). */
  attempt: { attempt: number; delayMs: number | undefined };
  /** The client is ready again; `attempts` reconnection attempts were made since the last stable link. */
  connected: { attempts: number; downtimeMs: number | undefined };
  /** The connection was lost; `error` is the last error the client reported, if any. */
  disconnected: { error: Error | undefined };
  /** The manager's retry strategy returned `null` (maxAttempts reached): the client stops reconnecting. */
  'gave-up': { attempts: number; error: Error | undefined };
}

/** Counters of {@link ReconnectionManager.stats}. */
export interface ReconnectionStats {
  readonly state: ConnectionState;
  /** Attempts since the link was last stable (reset after `stableAfterMs` of connection). */
  readonly attempts: number;
  /** Every attempt since the manager was created. */
  readonly totalAttempts: number;
  /** Times the client became ready. */
  readonly connects: number;
  /** Times a ready connection was lost. */
  readonly disconnects: number;
  /** Errors the client emitted. */
  readonly errors: number;
  readonly lastError: Error | undefined;
  /** Epoch ms since the current connection is up, `undefined` while disconnected. */
  readonly connectedSince: number | undefined;
}

/** Watches a client's connection and reports attempts, losses and recoveries. */
export interface ReconnectionManager {
  /** A retry strategy backed by the manager's backoff, for ioredis' `retryStrategy`. */
  readonly retryStrategy: RetryStrategy;
  readonly state: ConnectionState;
  stats(): ReconnectionStats;
  on<E extends keyof ReconnectionEvents>(
    event: E,
    listener: (payload: ReconnectionEvents[E]) => void,
  ): this;
  once<E extends keyof ReconnectionEvents>(
    event: E,
    listener: (payload: ReconnectionEvents[E]) => void,
  ): this;
  off<E extends keyof ReconnectionEvents>(
    event: E,
    listener: (payload: ReconnectionEvents[E]) => void,
  ): this;
  /** Removes every listener from the client and stops the timer. Never closes the client. */
  close(): void;
}

class Manager extends EventEmitter implements ReconnectionManager {
  readonly retryStrategy: RetryStrategy;
  #client: ReconnectableClient;
  #backoff: Backoff;
  #stableAfterMs: number;
  #state: ConnectionState;
  #attempts = 0;
  #totalAttempts = 0;
  #connects = 0;
  #disconnects = 0;
  #errors = 0;
  #lastError: Error | undefined;
  #connectedSince: number | undefined;
  #disconnectedAt: number | undefined;
  #stableTimer: ReturnType<typeof setTimeout> | undefined;
  #pendingDelay: number | undefined;
  #installed: { key: string; previous: unknown } | undefined;
  #closed = false;
  #listeners: [string, (...args: any[]) => void][];

  constructor(client: ReconnectableClient, options: ReconnectionManagerOptions) {
    super();
    this.#client = client;
    this.#backoff = createBackoff(
      options.backoff ?? { jitter: 'full', minDelayMs: 50, maxDelayMs: 500 },
    );
    this.#stableAfterMs = options.stableAfterMs ?? 5_000;
    this.#state = client.status === 'ready' ? 'connected' : 'connecting';
    if (this.#state === 'connected') this.#connectedSince = Date.now();
    this.retryStrategy = (): number | null => this.#nextDelay();

    this.#listeners = [
      ['ready', () => this.#onReady()],
      ['close', () => this.#onClose()],
      ['reconnecting', (delay: unknown) => this.#onReconnecting(delay)],
      ['end', () => this.#onEnd()],
      ['error', (error: unknown) => this.#onError(error)],
    ];
    for (const [event, listener] of this.#listeners) client.on(event, listener);

    if (options.installRetryStrategy) {
      const opts = (client.options ?? {}) as Record<string, unknown>;
      const key = (client as { isCluster?: boolean }).isCluster
        ? 'clusterRetryStrategy'
        : 'retryStrategy';
      this.#installed = { key, previous: opts[key] };
      opts[key] = this.retryStrategy;
    }
  }

  get state(): ConnectionState {
    return this.#state;
  }

  stats(): ReconnectionStats {
    return {
      state: this.#state,
      attempts: this.#attempts,
      totalAttempts: this.#totalAttempts,
      connects: this.#connects,
      disconnects: this.#disconnects,
      errors: this.#errors,
      lastError: this.#lastError,
      connectedSince: this.#connectedSince,
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearStableTimer();
    for (const [event, listener] of this.#listeners) this.#client.removeListener(event, listener);
    if (this.#installed) {
      const opts = (this.#client.options ?? {}) as Record<string, unknown>;
      if (opts[this.#installed.key] === this.retryStrategy) {
        opts[this.#installed.key] = this.#installed.previous;
      }
      this.#installed = undefined;
    }
    this.removeAllListeners();
  }

  #nextDelay(): number | null {
    const delay = this.#backoff.next();
    if (delay === undefined) {
      this.#state = 'gave-up';
      this.emit('gave-up', { attempts: this.#attempts, error: this.#lastError });
      return null;
    }
    this.#attempts += 1;
    this.#totalAttempts += 1;
    this.#pendingDelay = delay;
    return delay;
  }

  #onReady(): void {
    if (this.#state === 'connected') return;
    const downtimeMs =
      this.#disconnectedAt === undefined ? undefined : Date.now() - this.#disconnectedAt;
    this.#state = 'connected';
    this.#connects += 1;
    this.#connectedSince = Date.now();
    this.#disconnectedAt = undefined;
    this.emit('connected', { attempts: this.#attempts, downtimeMs });
    this.#clearStableTimer();
    if (this.#stableAfterMs === 0) {
      this.#resetAttempts();
    } else {
      this.#stableTimer = setTimeout(() => {
        this.#stableTimer = undefined;
        this.#resetAttempts();
      }, this.#stableAfterMs);
      // Only watches: must not keep the process alive.
      this.#stableTimer.unref?.();
    }
  }

  #onClose(): void {
    this.#clearStableTimer();
    if (this.#state !== 'connected') return;
    this.#state = 'disconnected';
    this.#disconnects += 1;
    this.#connectedSince = undefined;
    this.#disconnectedAt = Date.now();
    this.emit('disconnected', { error: this.#lastError });
  }

  #onReconnecting(delay: unknown): void {
    if (this.#state === 'connecting' || this.#state === 'connected') this.#state = 'disconnected';
    let delayMs: number | undefined;
    if (this.#pendingDelay !== undefined) {
      // The manager's own strategy already counted this attempt.
      delayMs = this.#pendingDelay;
      this.#pendingDelay = undefined;
    } else {
      this.#attempts += 1;
      this.#totalAttempts += 1;
      delayMs = typeof delay === 'number' ? delay : undefined;
    }
    this.emit('attempt', { attempt: this.#attempts, delayMs });
  }

  #onEnd(): void {
    this.#clearStableTimer();
    if (this.#state !== 'gave-up') this.#state = 'ended';
    this.#connectedSince = undefined;
  }

  #onError(error: unknown): void {
    this.#errors += 1;
    this.#lastError = error instanceof Error ? error : new Error(String(error));
  }

  #resetAttempts(): void {
    this.#attempts = 0;
    this.#backoff.reset();
  }

  #clearStableTimer(): void {
    if (this.#stableTimer !== undefined) {
      clearTimeout(this.#stableTimer);
      this.#stableTimer = undefined;
    }
  }
}

/**
 * Watches an ioredis client (`Redis` or `Cluster`) and turns its connection events into typed
 * events (`attempt`, `connected`, `disconnected`, `gave-up`) and counters.
 *
 * The attempt counter and backoff start over only once the link stayed up for `stableAfterMs`.
 * The manager adds an `error` listener to the client (so the client's errors are recorded, not
 * printed); it never closes the client.
 * @example
 * const client = new Redis(url, { lazyConnect: true });
 * const manager = createReconnectionManager(client, { installRetryStrategy: true });
 * manager.on('attempt', ({ attempt, delayMs }) => log.warn({ attempt, delayMs }, 'reconnecting'));
 * await client.connect();
 * @throws ReconnectOptionsError when an option is invalid.
 */
export function createReconnectionManager(
  client: ReconnectableClient,
  options: ReconnectionManagerOptions = {},
): ReconnectionManager {
  if (
    typeof client !== 'object' ||
    client === null ||
    typeof client.on !== 'function' ||
    typeof client.removeListener !== 'function'
  ) {
    throw new ReconnectOptionsError(
      'client',
      client,
      'expected an ioredis client (an EventEmitter)',
    );
  }
  const { stableAfterMs } = options;
  if (
    stableAfterMs !== undefined &&
    (typeof stableAfterMs !== 'number' || !Number.isFinite(stableAfterMs) || stableAfterMs < 0)
  ) {
    throw new ReconnectOptionsError(
      'stableAfterMs',
      stableAfterMs,
      'expected a finite number >= 0',
    );
  }
  return new Manager(client, options);
}
