import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { SampleRing } from './_internal/samples.js';
import { HealthOptionsError, HealthReplyError, HealthTimeoutError } from './errors.js';

/** Health of the Redis connection, with hysteresis. */
export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

/**
 * The part of an ioredis client (`Redis` or `Cluster`) the checker uses: only `ping()`.
 * Any ioredis client fits.
 */
export interface PingableClient {
  ping(): Promise<string>;
  /** ioredis connection status; while (re)connecting the check waits for `ready` within its deadline. */
  readonly status?: string;
  once?(event: 'ready', listener: () => void): unknown;
  removeListener?(event: 'ready', listener: () => void): unknown;
}

/** Options of {@link createHealthChecker}. */
export interface HealthCheckerOptions {
  /** The client to check. It is never closed by the checker (it is not the checker's). */
  client: PingableClient;
  /**
   * Time between the starts of two scheduled checks, in ms. Checks never overlap: when one
   * takes longer than the interval, the next starts right after it.
   * @default 30_000
   */
  intervalMs?: number;
  /**
   * Hard deadline of one PING, in ms. The check settles by then even when the server is frozen
   * (SIGSTOP, blackholed network) and the socket stays open.
   * @default 1_000
   */
  timeoutMs?: number;
  /**
   * Consecutive failed checks after which the status becomes `'unhealthy'`. The first failure
   * already turns `'healthy'` into `'degraded'`.
   * @default 3
   */
  failureThreshold?: number;
  /**
   * Consecutive successful checks after which a `'degraded'` or `'unhealthy'` status returns to
   * `'healthy'`.
   * @default 2
   */
  recoveryThreshold?: number;
  /**
   * Start the periodic checks at once (the first check runs immediately). When false, call
   * `start()` or run checks yourself with `check()`.
   * @default true
   */
  autoStart?: boolean;
  /**
   * Status before the first check. `'unhealthy'` makes a caller wait for
   * `recoveryThreshold` successful checks before trusting Redis.
   * @default 'healthy'
   */
  initialStatus?: HealthStatus;
}

/** Outcome of one check. */
export interface HealthCheckResult {
  /** True when the PING answered `PONG` within the deadline. */
  healthy: boolean;
  /** Time until the answer (or until the failure), in ms. */
  latencyMs: number;
  /** Why the check failed: a {@link HealthTimeoutError}, a {@link HealthReplyError} or the client's error. */
  error?: Error;
}

/** Payload of the `change` event. */
export interface HealthChangeEvent {
  from: HealthStatus;
  to: HealthStatus;
  /** The check that caused the change. */
  result: HealthCheckResult;
}

/** Snapshot returned by `stats()`. */
export interface HealthStats {
  status: HealthStatus;
  /** Checks run so far. */
  checks: number;
  /** Failed checks so far. */
  failures: number;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  /**
   * PING latency of successful checks, in ms, over the last 1024 of them; `null` before the
   * first successful check. `last` is the latest successful check's latency.
   */
  latency: { p50: number | null; p99: number | null; last: number | null };
  /** Successful checks / checks (1 before the first check: nothing has failed yet). */
  uptimeRatio: number;
  /** When the last check settled (epoch ms), `null` before the first. */
  lastCheckAt: number | null;
  /** Message of the latest failure, if any check has failed. */
  lastError?: string;
}

/** Watches one Redis client with periodic, deadline-bounded PINGs. Create with {@link createHealthChecker}. */
export interface HealthChecker {
  /** Current status (with hysteresis). */
  readonly status: HealthStatus;
  /** True while the periodic checks are scheduled. */
  readonly running: boolean;
  /**
   * Runs one check now and updates the status. Never rejects. While a check is in flight,
   * returns that check's promise instead of starting another.
   */
  check(): Promise<HealthCheckResult>;
  /** Counters, latency percentiles and the current status. */
  stats(): HealthStats;
  /** Starts the periodic checks (the first one at once). Idempotent. */
  start(): void;
  /** Stops the periodic checks; no timer is left. An in-flight check still settles. Idempotent. */
  stop(): void;
  /**
   * `change`: the status changed. `check`: a check settled. `error`: a `change` / `check`
   * listener threw (never a failed check; without an `error` listener it becomes a process
   * warning).
   */
  on(event: 'change', listener: (event: HealthChangeEvent) => void): this;
  on(event: 'check', listener: (result: HealthCheckResult) => void): this;
  on(event: 'error', listener: (error: unknown) => void): this;
  once(event: 'change', listener: (event: HealthChangeEvent) => void): this;
  once(event: 'check', listener: (result: HealthCheckResult) => void): this;
  once(event: 'error', listener: (error: unknown) => void): this;
  off(event: 'change', listener: (event: HealthChangeEvent) => void): this;
  off(event: 'check', listener: (result: HealthCheckResult) => void): this;
  off(event: 'error', listener: (error: unknown) => void): this;
}

const STATUSES: readonly HealthStatus[] = ['healthy', 'degraded', 'unhealthy'];
const LATENCY_SAMPLES = 1024;
/** ioredis statuses of a connection attempt under way (`ready` is about to come or not). */
const CONNECTING: ReadonlySet<string> = new Set(['connecting', 'connect']);

class Checker extends EventEmitter implements HealthChecker {
  readonly #client: PingableClient;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #failureThreshold: number;
  readonly #recoveryThreshold: number;
  readonly #latency = new SampleRing(LATENCY_SAMPLES);

  #status: HealthStatus;
  #checks = 0;
  #failures = 0;
  #consecutiveFailures = 0;
  #consecutiveSuccesses = 0;
  #lastLatency: number | null = null;
  #lastCheckAt: number | null = null;
  #lastError: string | undefined;

  #running = false;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<HealthCheckResult> | undefined;
  /** A PING sent by an earlier check that has not settled yet (frozen server): reused, never piled up. */
  #pendingPing: Promise<unknown> | undefined;
  #pingStartedAt = 0;

  constructor(options: Required<Omit<HealthCheckerOptions, 'autoStart'>>) {
    super();
    this.#client = options.client;
    this.#intervalMs = options.intervalMs;
    this.#timeoutMs = options.timeoutMs;
    this.#failureThreshold = options.failureThreshold;
    this.#recoveryThreshold = options.recoveryThreshold;
    this.#status = options.initialStatus;
  }

  get status(): HealthStatus {
    return this.#status;
  }

  get running(): boolean {
    return this.#running;
  }

  check(): Promise<HealthCheckResult> {
    if (this.#inFlight) return this.#inFlight;
    const run = this.#run();
    this.#inFlight = run;
    return run;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  stop(): void {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  stats(): HealthStats {
    const stats: HealthStats = {
      status: this.#status,
      checks: this.#checks,
      failures: this.#failures,
      consecutiveFailures: this.#consecutiveFailures,
      consecutiveSuccesses: this.#consecutiveSuccesses,
      latency: {
        p50: this.#latency.percentile(50),
        p99: this.#latency.percentile(99),
        last: this.#lastLatency,
      },
      uptimeRatio: this.#checks === 0 ? 1 : (this.#checks - this.#failures) / this.#checks,
      lastCheckAt: this.#lastCheckAt,
    };
    if (this.#lastError !== undefined) stats.lastError = this.#lastError;
    return stats;
  }

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(this.#tick, delayMs);
    this.#timer.unref();
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    if (!this.#running) return;
    const startedAt = performance.now();
    // check() never rejects; the then() only reschedules, so a failing check cannot throw here.
    void this.check().then(() => {
      if (!this.#running || this.#timer) return;
      const elapsed = performance.now() - startedAt;
      this.#schedule(Math.max(0, this.#intervalMs - elapsed));
    });
  };

  async #run(): Promise<HealthCheckResult> {
    const startedAt = performance.now();
    this.#pingStartedAt = startedAt;
    let result: HealthCheckResult;
    try {
      const reply = await this.#pingWithDeadline();
      // A success measures the PING alone, not the wait for a connection under way.
      const latencyMs = performance.now() - this.#pingStartedAt;
      result =
        reply === 'PONG'
          ? { healthy: true, latencyMs }
          : { healthy: false, latencyMs, error: new HealthReplyError(reply) };
    } catch (error) {
      result = {
        healthy: false,
        latencyMs: performance.now() - startedAt,
        error: error instanceof Error ? error : new Error(String(error)),
      };
    }
    this.#inFlight = undefined;
    this.#record(result);
    return result;
  }

  /**
   * One PING under one deadline timer. A client in the middle of a connection attempt gets until
   * the deadline to become ready first: a fail-fast client (offline queue off) would otherwise fail
   * its very first check. A PING left unanswered by an earlier check is awaited instead of
   * sending another, so a frozen server never collects a pile of PINGs.
   */
  #pingWithDeadline(): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const client = this.#client;
      let settled = false;
      const onReady = (): void => {
        client.removeListener?.('ready', onReady);
        if (settled) return;
        connecting = false;
        this.#pingStartedAt = performance.now();
        this.#awaitPing().then(finish, fail);
      };
      let connecting = false;
      const timer = setTimeout(() => {
        client.removeListener?.('ready', onReady);
        fail(new HealthTimeoutError(this.#timeoutMs, connecting ? 'connect' : 'ping'));
      }, this.#timeoutMs);
      timer.unref();
      function finish(value: unknown): void {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      }
      function fail(error: unknown): void {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(error);
      }
      if (!this.#pendingPing && CONNECTING.has(client.status ?? '') && client.once) {
        connecting = true;
        client.once('ready', onReady);
      } else {
        this.#awaitPing().then(finish, fail);
      }
    });
  }

  #awaitPing(): Promise<unknown> {
    if (this.#pendingPing) return this.#pendingPing;
    let sent: Promise<unknown>;
    try {
      sent = this.#client.ping();
    } catch (error) {
      return Promise.reject(error);
    }
    const tracked = Promise.resolve(sent).finally(() => {
      if (this.#pendingPing === tracked) this.#pendingPing = undefined;
    });
    // The deadline may win the race; the late settlement must never become unhandled.
    tracked.catch(noop);
    this.#pendingPing = tracked;
    return tracked;
  }

  #record(result: HealthCheckResult): void {
    this.#checks += 1;
    this.#lastCheckAt = Date.now();
    const from = this.#status;
    if (result.healthy) {
      this.#consecutiveSuccesses += 1;
      this.#consecutiveFailures = 0;
      this.#lastLatency = result.latencyMs;
      this.#latency.push(result.latencyMs);
      if (from !== 'healthy' && this.#consecutiveSuccesses >= this.#recoveryThreshold) {
        this.#status = 'healthy';
      }
    } else {
      this.#failures += 1;
      this.#consecutiveFailures += 1;
      this.#consecutiveSuccesses = 0;
      this.#lastError = result.error?.message ?? 'unknown error';
      if (this.#consecutiveFailures >= this.#failureThreshold) this.#status = 'unhealthy';
      else if (from === 'healthy') this.#status = 'degraded';
    }
    this.#emitSafely('check', result);
    if (this.#status !== from) this.#emitSafely('change', { from, to: this.#status, result });
  }

  /**
   * A throwing listener must neither break the checker nor crash the process from its timer:
   * the exception goes to the `error` listeners when there are some, else to a process warning.
   */
  #emitSafely(event: string, payload: unknown): void {
    try {
      this.emit(event, payload);
    } catch (error) {
      try {
        if (this.listenerCount('error') > 0) {
          this.emit('error', error);
          return;
        }
      } catch {
        // An 'error' listener that throws falls through to the warning.
      }
      process.emitWarning(`[@x/health] a '${event}' listener threw: ${String(error)}`);
    }
  }
}

function noop(): void {}

function positiveInteger(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new HealthOptionsError(field, value, 'a positive integer');
  }
  return value;
}

/**
 * Creates a health checker: a PING with a hard deadline every `intervalMs`, with hysteresis
 * (`healthy` → `degraded` on the first failure → `unhealthy` after `failureThreshold`
 * consecutive failures; back to `healthy` after `recoveryThreshold` consecutive successes).
 *
 * @throws {HealthOptionsError} when an option is invalid (code `'E_HEALTH_OPTIONS'`).
 * @example
 * const checker = createHealthChecker({ client: new Redis(url), intervalMs: 5_000 });
 * checker.on('change', ({ from, to }) => log.warn({ from, to }, 'redis health changed'));
 */
export function createHealthChecker(options: HealthCheckerOptions): HealthChecker {
  if (typeof options !== 'object' || options === null) {
    throw new HealthOptionsError('options', options, 'an object');
  }
  const { client } = options;
  if (typeof client !== 'object' || client === null || typeof client.ping !== 'function') {
    throw new HealthOptionsError('client', client, 'an ioredis client (Redis or Cluster)');
  }
  const initialStatus = options.initialStatus ?? 'healthy';
  if (!STATUSES.includes(initialStatus)) {
    throw new HealthOptionsError('initialStatus', initialStatus, STATUSES.join(' | '));
  }
  if (options.autoStart !== undefined && typeof options.autoStart !== 'boolean') {
    throw new HealthOptionsError('autoStart', options.autoStart, 'a boolean');
  }
  const checker = new Checker({
    client,
    intervalMs: positiveInteger('intervalMs', options.intervalMs, 30_000),
    timeoutMs: positiveInteger('timeoutMs', options.timeoutMs, 1_000),
    failureThreshold: positiveInteger('failureThreshold', options.failureThreshold, 3),
    recoveryThreshold: positiveInteger('recoveryThreshold', options.recoveryThreshold, 2),
    initialStatus,
  });
  if (options.autoStart !== false) checker.start();
  return checker;
}
