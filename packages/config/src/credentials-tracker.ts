import { EventEmitter } from 'node:events';
import { createBackoff } from '@x/reconnect';
import type { Cluster, Redis } from 'ioredis';
import { formatHostPort } from './_internal/endpoint.js';
import type { RedisClient } from './client.js';
import {
  type ConnectorSource,
  callProvider,
  connectionAuth,
  connectorSource,
  recordConnectionAuth,
  serverHasNoPassword,
  toEpoch,
} from './credentials.js';
import { ConfigError, CredentialsError, isCredentialsError } from './errors.js';

/** Options of {@link trackCredentials}. */
export interface CredentialsTrackerOptions {
  /**
   * Re-authenticate every open connection at least this often (ms), also when the credentials
   * carry no `expiresAt` (e.g. a password rotated on a schedule).
   * @default undefined: only before `expiresAt`
   */
  refreshMs?: number | undefined;
  /**
   * Deadline of one call of the provider and of one `AUTH` (ms).
   * @default the client's `connectTimeout`, else 10_000
   */
  timeoutMs?: number | undefined;
  /**
   * Sends `AUTH` on one open connection. Replace it to route the call through a guard (deadline
   * and breaker); it must reject when Redis refuses the credentials.
   * @default `connection.call('AUTH', [username,] password)`
   */
  authenticate?:
    | ((
        connection: Redis,
        credentials: { readonly username: string | undefined; readonly password: string },
      ) => Promise<unknown>)
    | undefined;
}

/** Payload of the tracker's `refresh` event. */
export interface CredentialsRefresh {
  /** Connections that authenticated again. */
  readonly connections: number;
  /**
   * RESP2 subscriber (and monitor) connections left alone: Redis refuses `AUTH` on them. They
   * stay authenticated and take fresh credentials when they reconnect.
   */
  readonly skipped: number;
  /** Epoch ms when the new credentials expire (`undefined`: no expiry given). */
  readonly expiresAt: number | undefined;
}

/** Payload of the tracker's `refresh-failed` event. */
export interface CredentialsRefreshFailure {
  /**
   * `E_CREDENTIALS_PROVIDER` (the provider threw or timed out) or `E_CREDENTIALS_REJECTED`
   * (Redis refused `AUTH`; `serverMessage` has its words), or a connection error of the `AUTH`.
   */
  readonly error: Error;
  /** Consecutive failed rounds. */
  readonly attempt: number;
  /** When the next round runs. */
  readonly retryInMs: number;
}

/** Counters of a {@link CredentialsTracker}. */
export interface CredentialsTrackerStats {
  /** Rounds that re-authenticated every open connection. */
  readonly refreshes: number;
  /** Rounds that failed (provider, `AUTH` refused or not answered). */
  readonly failures: number;
  /** The error of the last failed round, until a round succeeds. */
  readonly lastError: Error | undefined;
  /** Epoch ms of the last successful round. */
  readonly lastRefreshAt: number | undefined;
  /** Epoch ms of the next round (`undefined`: none planned: no expiry, no `refreshMs`). */
  readonly nextRefreshAt: number | undefined;
  /** RESP2 subscriber connections skipped by rounds, in total. */
  readonly skippedSubscribers: number;
}

/**
 * Keeps the open connections of a client authenticated with fresh credentials (see
 * {@link trackCredentials}). Events: `refresh` ({@link CredentialsRefresh}) after each successful
 * round, `refresh-failed` ({@link CredentialsRefreshFailure}) after each failed one.
 */
export interface CredentialsTracker {
  on(event: 'refresh', listener: (event: CredentialsRefresh) => void): this;
  on(event: 'refresh-failed', listener: (event: CredentialsRefreshFailure) => void): this;
  once(event: 'refresh', listener: (event: CredentialsRefresh) => void): this;
  once(event: 'refresh-failed', listener: (event: CredentialsRefreshFailure) => void): this;
  off(event: 'refresh', listener: (event: CredentialsRefresh) => void): this;
  off(event: 'refresh-failed', listener: (event: CredentialsRefreshFailure) => void): this;
  /** Runs a round now (also when none is due): provider once, `AUTH` on every open connection. */
  refresh(): Promise<void>;
  stats(): CredentialsTrackerStats;
  /** Stops the timer and removes every listener from the client. Idempotent. */
  close(): void;
  /** True once closed (explicitly, or because the client ended). */
  readonly closed: boolean;
}

// Re-authenticate when 80 % of the lifetime of the credentials has passed, and at the latest one
// minute before they expire.
const LIFETIME_SHARE = 0.2;
const MAX_MARGIN_MS = 60_000;
// Never two rounds closer than this (credentials that expire at once would spin otherwise).
const MIN_DELAY_MS = 50;
// setTimeout fires at once beyond this (about 24.8 days).
const MAX_TIMER_MS = 2_147_483_647;

const trackers = new WeakMap<object, Tracker>();

/**
 * Re-authenticates every open connection of `client` (a `Redis`, or every node of a `Cluster`,
 * followed through its `+node` / `-node` events) with fresh credentials from its provider:
 * before the credentials of a connection expire (after 80 % of their lifetime, at the latest one
 * minute before `expiresAt`), and every `refreshMs` when given. One round calls the provider once
 * and sends `AUTH` on each open connection, pipelined with the traffic (nothing waits for it).
 *
 * The client must authenticate through {@link credentialsConnector} (clients from
 * `createRedisClient` with `credentials` do, and so do their `duplicate()`s); new connections and
 * reconnections get fresh credentials from the connector itself. `createRedisClient` starts a
 * tracker for the clients it makes: `trackCredentials(client)` returns that one (one tracker per
 * client). Call it for the duplicates you make (subscriber, invalidation connections).
 *
 * A failed round (provider error, `AUTH` refused or unanswered) is reported with a
 * `refresh-failed` event and retried with backoff; the connections keep serving, still
 * authenticated with their previous credentials. RESP2 subscriber connections are skipped (Redis
 * refuses `AUTH` in RESP2 subscribed state; RESP3 subscribers of ioredis 6 are re-authenticated).
 * Timers are `unref()`ed; the tracker stops when the client ends or on `close()`.
 * @throws ConfigError when `client` does not authenticate through `credentialsConnector`, or an
 * option is invalid.
 * @example
 * const tracker = trackCredentials(subscriber);
 * tracker.on('refresh-failed', ({ error }) => log.error(error.message));
 */
export function trackCredentials(
  client: RedisClient,
  options: CredentialsTrackerOptions = {},
): CredentialsTracker {
  const existing = trackers.get(client);
  if (existing !== undefined && !existing.closed) return existing;
  const isCluster = (client as { isCluster?: boolean }).isCluster === true;
  const connector = isCluster
    ? (client as Cluster).options.redisOptions?.Connector
    : (client as Redis).options.Connector;
  const source = connectorSource(connector);
  if (source === undefined) {
    throw new ConfigError([
      {
        path: 'client',
        message:
          'does not authenticate through credentialsConnector(): create it with createRedisClient({ ..., credentials }) or give it Connector: credentialsConnector(provider)',
      },
    ]);
  }
  const { refreshMs, timeoutMs, authenticate } = options;
  for (const [field, value] of [
    ['refreshMs', refreshMs],
    ['timeoutMs', timeoutMs],
  ] as const) {
    if (
      value !== undefined &&
      (typeof value !== 'number' || !(value > 0) || value > MAX_TIMER_MS)
    ) {
      throw new ConfigError([
        { path: field, message: `must be a positive number of ms, got ${String(value)}` },
      ]);
    }
  }
  if (authenticate !== undefined && typeof authenticate !== 'function') {
    throw new ConfigError([{ path: 'authenticate', message: 'must be a function' }]);
  }
  const connectTimeout = isCluster
    ? (client as Cluster).options.redisOptions?.connectTimeout
    : (client as Redis).options.connectTimeout;
  const tracker = new Tracker(client, isCluster, source, {
    refreshMs,
    timeoutMs: timeoutMs ?? (connectTimeout || 10_000),
    authenticate: authenticate ?? defaultAuthenticate,
  });
  trackers.set(client, tracker);
  return tracker;
}

function defaultAuthenticate(
  connection: Redis,
  { username, password }: { readonly username: string | undefined; readonly password: string },
): Promise<unknown> {
  return username === undefined
    ? connection.call('AUTH', password)
    : connection.call('AUTH', username, password);
}

class Tracker extends EventEmitter implements CredentialsTracker {
  readonly #client: RedisClient;
  readonly #cluster: boolean;
  readonly #source: ConnectorSource;
  readonly #refreshMs: number | undefined;
  readonly #timeoutMs: number;
  readonly #authenticate: NonNullable<CredentialsTrackerOptions['authenticate']>;
  readonly #backoff = createBackoff({ jitter: 'full', minDelayMs: 200, maxDelayMs: 10_000 });
  #timer: NodeJS.Timeout | undefined;
  #nextAt: number | undefined;
  #running: Promise<void> | undefined;
  #closed = false;
  #refreshes = 0;
  #failures = 0;
  #attempt = 0;
  #skipped = 0;
  #lastError: Error | undefined;
  #lastRefreshAt: number | undefined;
  // Set while rounds fail: the next round runs then, whatever is due.
  #retryAt: number | undefined;
  readonly #onReady = (): void => this.#schedule();
  readonly #onEnd = (): void => this.close();
  readonly #onAddNode = (node: Redis): void => {
    node.on('ready', this.#onReady);
    this.#schedule();
  };
  readonly #onRemoveNode = (node: Redis): void => {
    node.off('ready', this.#onReady);
  };

  constructor(
    client: RedisClient,
    cluster: boolean,
    source: ConnectorSource,
    options: {
      refreshMs: number | undefined;
      timeoutMs: number;
      authenticate: NonNullable<CredentialsTrackerOptions['authenticate']>;
    },
  ) {
    super();
    this.#client = client;
    this.#cluster = cluster;
    this.#source = source;
    this.#refreshMs = options.refreshMs;
    this.#timeoutMs = options.timeoutMs;
    this.#authenticate = options.authenticate;
    client.on('ready', this.#onReady);
    client.on('end', this.#onEnd);
    if (cluster) {
      const c = client as Cluster;
      c.on('+node', this.#onAddNode);
      c.on('-node', this.#onRemoveNode);
      for (const node of c.nodes('all')) node.on('ready', this.#onReady);
    }
    this.#schedule();
  }

  get closed(): boolean {
    return this.#closed;
  }

  refresh(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#running ??= this.#round().finally(() => {
      this.#running = undefined;
      this.#schedule();
    });
    return this.#running;
  }

  stats(): CredentialsTrackerStats {
    return {
      refreshes: this.#refreshes,
      failures: this.#failures,
      lastError: this.#lastError,
      lastRefreshAt: this.#lastRefreshAt,
      nextRefreshAt: this.#nextAt,
      skippedSubscribers: this.#skipped,
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#nextAt = undefined;
    const client = this.#client;
    client.off('ready', this.#onReady);
    client.off('end', this.#onEnd);
    if (this.#cluster) {
      const c = client as Cluster;
      c.off('+node', this.#onAddNode);
      c.off('-node', this.#onRemoveNode);
      for (const node of c.nodes('all')) node.off('ready', this.#onReady);
    }
    if (trackers.get(client) === this) trackers.delete(client);
  }

  /** The connections of the client that are open (`ready`). */
  #connections(): Redis[] {
    const all = this.#cluster ? (this.#client as Cluster).nodes('all') : [this.#client as Redis];
    return all.filter((c) => c.status === 'ready');
  }

  /** Plans the next round: the earliest due time over the open connections. */
  #schedule(): void {
    if (this.#closed || this.#running !== undefined) return;
    const now = Date.now();
    let due: number | undefined = this.#retryAt;
    if (due === undefined) {
      for (const connection of this.#connections()) {
        const auth = connectionAuth(connection.options);
        if (auth === undefined) continue;
        const at = dueAt(auth.at, auth.expiresAt, this.#refreshMs);
        if (at !== undefined && (due === undefined || at < due)) due = at;
      }
    }
    if (due === this.#nextAt && this.#timer !== undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#nextAt = due;
    if (due === undefined) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(MIN_DELAY_MS, due - now));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.refresh();
    }, delay);
    this.#timer.unref();
  }

  async #round(): Promise<void> {
    const connections = this.#connections();
    if (connections.length === 0) return;
    const first = connections[0]!;
    const address = formatHostPort(first.options.host ?? '127.0.0.1', first.options.port ?? 6379);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.#timeoutMs);
    timer.unref();
    let failure: Error | undefined;
    let done = 0;
    let skipped = 0;
    let expiresAt: number | undefined;
    try {
      const credentials = await callProvider(
        this.#source.provider,
        { address, signal: controller.signal },
        this.#timeoutMs,
        controller.signal,
      );
      const username = credentials.username ?? this.#source.username;
      expiresAt = toEpoch(credentials.expiresAt);
      const password = credentials.password;
      await Promise.all(
        connections.map(async (connection) => {
          // Redis refuses AUTH in RESP2 subscribed state, and ioredis refuses it client-side;
          // such a connection stays authenticated and gets fresh credentials when it reconnects.
          if (connection.mode !== 'normal') {
            skipped += 1;
            return;
          }
          try {
            await withDeadline(
              this.#authenticate(connection, { username, password }),
              this.#timeoutMs,
            );
            recordConnectionAuth(connection.options, { at: Date.now(), expiresAt, username });
            done += 1;
          } catch (error) {
            failure ??= authFailure(error, connection, username);
          }
        }),
      );
    } catch (error) {
      failure = error as Error;
    } finally {
      clearTimeout(timer);
    }
    this.#skipped += skipped;
    if (failure === undefined) {
      this.#refreshes += 1;
      this.#attempt = 0;
      this.#backoff.reset();
      this.#lastError = undefined;
      this.#retryAt = undefined;
      this.#lastRefreshAt = Date.now();
      safeEmit(this, 'refresh', { connections: done, skipped, expiresAt });
      return;
    }
    this.#failures += 1;
    this.#attempt += 1;
    this.#lastError = failure;
    const retryInMs = this.#backoff.next() ?? 10_000;
    this.#retryAt = Date.now() + retryInMs;
    safeEmit(this, 'refresh-failed', { error: failure, attempt: this.#attempt, retryInMs });
  }
}

/** When a connection authenticated at `at` with credentials expiring at `expiresAt` is due. */
export function dueAt(
  at: number,
  expiresAt: number | undefined,
  refreshMs: number | undefined,
): number | undefined {
  let due: number | undefined;
  if (expiresAt !== undefined) {
    const lifetime = Math.max(0, expiresAt - at);
    due = expiresAt - Math.min(MAX_MARGIN_MS, lifetime * LIFETIME_SHARE);
  }
  if (refreshMs !== undefined) due = Math.min(due ?? Number.POSITIVE_INFINITY, at + refreshMs);
  return due;
}

function authFailure(error: unknown, connection: Redis, username: string | undefined): Error {
  if (isCredentialsError(error)) return error;
  const address = formatHostPort(
    connection.options.host ?? '127.0.0.1',
    connection.options.port ?? 6379,
  );
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error && error.name === 'ReplyError' && !serverHasNoPassword(message)) {
    return new CredentialsError(
      'E_CREDENTIALS_REJECTED',
      `Redis at ${address} refused the refreshed credentials${username ? ` (user ${JSON.stringify(username)})` : ''}: ${message} (the connection stays authenticated with its previous credentials; the refresh is retried)`,
      { address, serverMessage: message, cause: error },
    );
  }
  return error instanceof Error ? error : new Error(message);
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          Object.assign(new Error(`Command timed out (AUTH not answered within ${ms} ms)`), {
            code: 'ETIMEDOUT',
          }),
        ),
      ms,
    );
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        // A server without a password answers AUTH with an error, and the connection works.
        if (error instanceof Error && serverHasNoPassword(error.message)) resolve(undefined as T);
        else reject(error);
      },
    );
  });
}

function safeEmit(emitter: EventEmitter, event: string, payload: unknown): void {
  try {
    emitter.emit(event, payload);
  } catch {
    // A throwing listener must not break the refresh loop.
  }
}
