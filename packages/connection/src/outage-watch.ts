import { classifyRedisError } from '@x/breaker';
import type { RedisClient } from '@x/config';
import { createHealthChecker, type HealthChecker, type HealthCheckResult } from '@x/health';
import type { ConnectionState } from './channels.js';
import { resetSockets } from './ioredis-adapter.js';

/** What the watch needs from its connection. */
export interface WatchHost {
  readonly client: RedisClient;
  /** Whether the connection created the client (only then may the watch reset its sockets). */
  readonly owned: boolean;
  /** Deadline of one PING, ms. */
  readonly timeoutMs: number;
  /** Longest gap between two recovery probes, ms. */
  readonly probeIntervalMs: number;
  /** Time between two health PINGs while usable, ms (0: none). */
  readonly healthCheckIntervalMs: number;
  /**
   * Checks what a PING cannot tell (the setup: handshake errors, the server's mode) before Redis
   * is called usable. Resolves `true` when it is.
   */
  verify(): Promise<boolean>;
  /** The state changed; `error` is what caused it, when there is one. */
  changed(from: ConnectionState, to: ConnectionState, reason: string, error: unknown): void;
}

const now = (): number => performance.now();
const noop = (): void => {};

/**
 * The outage watch of a connection: decides whether Redis is usable, and brings it back.
 *
 * - `connecting` → `ready` once the client is ready, a PING answered within the deadline and the
 *   setup is verified; → `unusable` when the first attempt fails.
 * - `ready` → `unusable` when the link is lost, the breaker opens, a health PING misses its
 *   deadline (a frozen server is noticed on an idle connection too), or the user of the
 *   connection says so ({@link OutageWatch.markUnusable}).
 * - `unusable` → `ready` by the probes: one PING kept in flight (on a frozen server it answers the
 *   moment the server resumes), a probe at least every `probeIntervalMs` and at every `ready` of
 *   the client; an owned client that stays stuck (a PING unanswered for a whole probe interval, or
 *   a handshake that never completes) is reset, so that a blackholed link is replaced.
 */
export class OutageWatch {
  readonly #host: WatchHost;
  readonly #checker: HealthChecker;
  #state: ConnectionState = 'connecting';
  #since = now();
  #stopped = false;
  #probing = false;
  #pingSince = 0;
  #stuckTicks = 0;
  #timer: NodeJS.Timeout | undefined;
  #outages = 0;
  #unusableMs = 0;
  #lastOutageMs = 0;

  constructor(host: WatchHost) {
    this.#host = host;
    // One PING with a hard deadline per check; an unanswered PING is reused by the next check
    // instead of piling up on a frozen server.
    this.#checker = createHealthChecker({
      client: host.client,
      intervalMs: host.healthCheckIntervalMs > 0 ? host.healthCheckIntervalMs : 2_147_483_647,
      timeoutMs: host.timeoutMs,
      failureThreshold: 1,
      recoveryThreshold: 1,
      autoStart: false,
    });
    this.#checker.on('check', this.#onHealthCheck);
  }

  /** The current verdict. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** Times Redis became unusable after having been usable (or never usable at start). */
  get outages(): number {
    return this.#outages;
  }

  /** Total ms spent unusable, the current outage included. */
  get unusableMs(): number {
    return Math.round(this.#unusableMs + (this.#state === 'unusable' ? now() - this.#since : 0));
  }

  /** How long the last outage that ended lasted, ms (0 before the first one ended). */
  get lastOutageMs(): number {
    return Math.round(this.#lastOutageMs);
  }

  /** ms since the current state began. */
  get stateMs(): number {
    return now() - this.#since;
  }

  /** PING latency figures of the health checks and probes. */
  latency(): { p50: number | null; p99: number | null; last: number | null } {
    return this.#checker.stats().latency;
  }

  /** The client reported `ready`. */
  onReady(): void {
    this.#stuckTicks = 0;
    if (this.#state === 'connecting' || this.#state === 'unusable') this.#probe();
  }

  /** The client lost its link (`close` / `end`). */
  onLinkLost(error?: unknown): void {
    if (this.#state === 'ready') this.markUnusable('connection_lost', error);
    else if (this.#state === 'connecting') this.markUnusable('connect_failed', error);
  }

  /**
   * Redis is not usable for now (the breaker opened, a write timed out, a reconciliation failed,
   * a misconfiguration was found...): the watch probes until it is again. Idempotent while
   * unusable (the probes keep running).
   */
  markUnusable(reason: string, error?: unknown): void {
    if (this.#stopped) return;
    if (this.#state === 'unusable') {
      this.#scheduleProbe();
      return;
    }
    this.#move('unusable', reason, error);
    this.#checker.stop();
    this.#pingSince = 0;
    this.#stuckTicks = 0;
    this.#scheduleProbe();
    // A PING right away: on a frozen server it stays in flight and answers when it resumes.
    setImmediate(() => this.#probe());
  }

  /** Probes now (e.g. the client was told to connect). No-op unless unusable or connecting. */
  probeNow(): void {
    this.#probe();
  }

  /** Stops every timer; the state becomes `closed`. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#checker.stop();
    this.#checker.off('check', this.#onHealthCheck);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#move('closed', 'closed', undefined);
  }

  #move(to: ConnectionState, reason: string, error: unknown): void {
    const from = this.#state;
    if (from === to) return;
    const t = now();
    if (from === 'unusable') {
      this.#lastOutageMs = t - this.#since;
      this.#unusableMs += this.#lastOutageMs;
    }
    if (to === 'unusable') this.#outages++;
    this.#state = to;
    this.#since = t;
    this.#host.changed(from, to, reason, error);
  }

  #scheduleProbe(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    this.#timer = setTimeout(this.#onTimer, this.#host.probeIntervalMs);
    this.#timer.unref();
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    if (this.#stopped || this.#state !== 'unusable') return;
    this.#probe();
    this.#scheduleProbe();
  };

  /** One recovery attempt: a PING when the link is up, else (owned client) a reconnection. */
  #probe(): void {
    if (this.#stopped || this.#state === 'ready' || this.#state === 'closed') return;
    const { client, owned } = this.#host;
    if (this.#probing) {
      // A PING is in flight. Left alone it answers as soon as a frozen server resumes; but after a
      // whole probe interval the link may be dead (a blackhole drops bytes): an owned client
      // starts afresh; a client passed in is not ours to reset.
      if (owned && this.#pingSince !== 0 && now() - this.#pingSince >= this.#host.probeIntervalMs) {
        this.#pingSince = 0;
        resetSockets(client);
      }
      return;
    }
    const status = client.status;
    if (status === 'ready') {
      this.#probing = true;
      if (this.#pingSince === 0) this.#pingSince = now();
      this.#checker.check().then(this.#onProbe, noop);
      return;
    }
    this.#pingSince = 0;
    if (!owned) return;
    if (status === 'reconnecting') {
      // ioredis reconnects by itself (the connection caps its delay); a connect() now would leave
      // its pending reconnection timer behind, to fire even after close().
      this.#stuckTicks = 0;
    } else if (status === 'end' || status === 'close' || status === 'wait') {
      this.#stuckTicks = 0;
      client.connect().catch(noop);
    } else if (this.#state === 'unusable' && ++this.#stuckTicks >= 2) {
      // Connected but never ready (the handshake is lost in a blackhole): start over.
      this.#stuckTicks = 0;
      resetSockets(client);
    }
  }

  readonly #onProbe = (result: HealthCheckResult): void => {
    this.#probing = false;
    if (this.#stopped || this.#state === 'ready') return;
    if (result.healthy) {
      this.#pingSince = 0;
      this.#host.verify().then((usable) => {
        if (usable && !this.#stopped && this.#state !== 'ready') this.#becomeReady();
      }, noop);
      return;
    }
    // Keep one PING in flight: a timed-out check is replaced at once (the checker reuses the
    // unanswered PING, so nothing piles up); other errors wait for the next tick or `ready`.
    if (classifyRedisError(result.error) === 'timeout') setImmediate(() => this.#probe());
    else this.#pingSince = 0;
  };

  #becomeReady(): void {
    const from = this.#state;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#move('ready', from === 'connecting' ? 'ready' : 'recovered', undefined);
    if (this.#host.healthCheckIntervalMs > 0) this.#checker.start();
  }

  readonly #onHealthCheck = (result: HealthCheckResult): void => {
    // Only the periodic checks of a usable connection decide here; probes decide in #onProbe.
    if (this.#state !== 'ready' || result.healthy || this.#stopped) return;
    this.markUnusable('health_check_failed', result.error);
  };
}
