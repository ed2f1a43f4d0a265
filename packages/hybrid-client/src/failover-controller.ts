import { classifyRedisError, isBreakerOpenError } from '@x/breaker';
import {
  type Connection,
  eventChannel,
  type Log,
  type Problem,
  type UnusableEvent,
} from '@x/connection';
import type { MemoryBackend } from './memory-backend.js';
import type { HybridFallback, RecoveryPolicy } from './options.js';
import type { Reconciler } from './reconciler.js';

/** Which store serves calls right now. */
export type ActiveBackend = 'primary' | 'fallback';

/**
 * Why the client left Redis:
 * - `'startup'`: Redis was not usable when the client started (refused, silent...);
 * - `'misconfigured'`: Redis answers, but the setup is wrong (wrong password, TLS mismatch, unknown
 *   host, standalone vs Cluster...): waiting does not fix it;
 * - `'connection_lost'`: the link dropped (killed, restarted, reset);
 * - `'breaker_open'`: too many calls failed or timed out in a row;
 * - `'health_check_failed'`: a health PING went unanswered (frozen server, idle client);
 * - `'write_timeout'` / `'write_failed'`: a write timed out or failed, so its outcome in Redis is
 *   unknown until reconciliation.
 */
export type FailoverCause =
  | 'startup'
  | 'misconfigured'
  | 'connection_lost'
  | 'breaker_open'
  | 'health_check_failed'
  | 'write_timeout'
  | 'write_failed';

/** Payload of the `failover` event. */
export interface FailoverEvent {
  /** `'primary_misconfigured'` when the setup is wrong, else `'primary_unavailable'`. */
  reason: 'primary_unavailable' | 'primary_misconfigured';
  /** What made the client switch. */
  cause: FailoverCause;
  /** The error that triggered it, when there is one. */
  error: unknown;
  /** The connection's diagnosis (kind, the server's words, a hint), `null` when none yet. */
  problem: Problem | null;
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

/** Events of a hybrid client. */
export interface HybridClientEvents {
  failover: [event: FailoverEvent];
  recover: [event: RecoverEvent];
}

/** Message of the `x:hybrid-client:failover` channel (no keys, no error object). */
export interface FailoverMessage {
  reason: FailoverEvent['reason'];
  cause: FailoverCause;
  problem: Problem | null;
}

/** The channels `@x/hybrid-client` publishes on (`node:diagnostics_channel`). */
export const HYBRID_CHANNELS = {
  /** The client left Redis ({@link FailoverMessage}). */
  failover: 'x:hybrid-client:failover',
  /** The client is back on Redis ({@link RecoverEvent}). */
  recover: 'x:hybrid-client:recover',
  /**
   * Near-cache copies started or stopped counting as fresh (`{ tracking, epoch }`): tracking
   * established or lost, Redis usable or not. Invalidations are counted in `stats().near`, not
   * published (one per written key would be too many).
   */
  tracking: 'x:hybrid-client:tracking',
} as const;

const failoverChannel = eventChannel<FailoverMessage>(HYBRID_CHANNELS.failover);
const recoverChannel = eventChannel<RecoverEvent>(HYBRID_CHANNELS.recover);

const PREFIX = '[@x/hybrid-client]';
const now = (): number => performance.now();

function describe(error: unknown): string | undefined {
  if (error === undefined) return undefined;
  return error instanceof Error ? error.message : String(error);
}

/** The cause of a failover for the reason the connection gave. */
function causeOf(event: UnusableEvent): FailoverCause {
  if (event.problem?.misconfiguration === true) return 'misconfigured';
  switch (event.reason) {
    case 'breaker_open':
    case 'health_check_failed':
    case 'write_timeout':
    case 'write_failed':
    case 'misconfigured':
      return event.reason;
    default:
      return 'connection_lost';
  }
}

/** What the controller needs from the client it steers. */
export interface ControllerHost {
  readonly log: Log;
  emit<E extends keyof HybridClientEvents>(event: E, ...args: HybridClientEvents[E]): void;
}

/**
 * Decides which backend serves calls. Starts on Redis when the connection is ready within the
 * start-up probe, else on memory; follows the connection's `unusable` / `usable` events (and the
 * failures its calls report) to switch to memory and back, logs one line each way per outage,
 * emits `failover` / `recover`, and reconciles the outage journal before switching back.
 *
 * With `fallback: 'none'` calls always go to Redis; the controller only logs when Redis becomes
 * unusable and usable again.
 */
export class FailoverController {
  /** The routing flag of the hot path: true = Redis. */
  primary = false;
  failovers = 0;
  recoveries = 0;
  readonly #connection: Connection | undefined;
  readonly #memory: MemoryBackend;
  readonly #reconciler: Reconciler | undefined;
  readonly #fallback: HybridFallback;
  readonly #host: ControllerHost;
  // True from a failover (or a start without Redis) until the switch back.
  #outage = false;
  #fallbackSince = 0;
  #fallbackMsTotal = 0;
  #recovering = false;
  // After a failed reconciliation, the next attempt waits until then (a probe interval).
  #retryAt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  // `fallback: 'none'`: Redis is unusable and that was logged (since #downSince).
  #down = false;
  #downSince = 0;
  #starting = true;
  #closed = false;

  constructor(
    connection: Connection | undefined,
    memory: MemoryBackend,
    reconciler: Reconciler | undefined,
    fallback: HybridFallback,
    host: ControllerHost,
  ) {
    this.#connection = connection;
    this.#memory = memory;
    this.#reconciler = reconciler;
    this.#fallback = fallback;
    this.#host = host;
  }

  /** Total ms spent serving from memory because of outages, the current one included. */
  get fallbackMs(): number {
    const current = this.#outage ? now() - this.#fallbackSince : 0;
    return Math.round(this.#fallbackMsTotal + current);
  }

  /**
   * Waits for the connection within the start-up probe (at once on a misconfiguration), then
   * picks the backend. Never rejects because of Redis.
   */
  async start(): Promise<void> {
    const connection = this.#connection;
    if (connection === undefined) {
      this.#starting = false;
      return;
    }
    connection.on('unusable', this.#onUnusable);
    connection.on('usable', this.#onUsable);
    let failure: unknown;
    try {
      await connection.ready();
    } catch (error) {
      failure = error;
    }
    this.#starting = false;
    if (this.#closed) return;
    // Ready, and still so (an `unusable` event in between was not followed: the start decides).
    if (failure === undefined && connection.state === 'ready') {
      this.primary = true;
      return;
    }
    const problem =
      (failure as { problem?: Problem } | undefined)?.problem ?? connection.diagnosis();
    const cause: FailoverCause = problem?.misconfiguration === true ? 'misconfigured' : 'startup';
    if (this.#fallback === 'none') {
      // Redis only: calls go to Redis whatever the start-up said (and reject while it is down).
      this.primary = true;
      this.#markDown(cause, failure, problem, true);
      return;
    }
    this.#enterFallback(cause, failure, problem, true);
    // Redis may have become usable between the deadline and now.
    if (connection.state === 'ready') void this.#recover();
  }

  /**
   * A call sent to Redis ended in memory: decides whether Redis stays trusted. Connection errors
   * and an open breaker end it; so does a write that timed out (it may still run when Redis
   * answers again) or failed (Redis lacks its value) until reconciliation. A read that timed out
   * is served from memory for that call only.
   */
  failed(error: unknown, write: boolean): void {
    if (!this.primary || this.#fallback === 'none') return;
    const kind = classifyRedisError(error);
    if (kind === 'connection' || kind === 'network') {
      this.#leave(isBreakerOpenError(error) ? 'breaker_open' : 'connection_lost', error);
    } else if (this.#connection!.breaker?.state === 'open') {
      this.#leave('breaker_open', error);
    } else if (write) {
      this.#leave(kind === 'timeout' ? 'write_timeout' : 'write_failed', error);
    }
  }

  /** Stops every timer and listener; calls are no longer routed to Redis. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#outage) this.#fallbackMsTotal += now() - this.#fallbackSince;
    this.#outage = false;
    this.primary = false;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#reconciler?.stop();
    this.#connection?.off('unusable', this.#onUnusable);
    this.#connection?.off('usable', this.#onUsable);
  }

  /** Tells the connection Redis is not trusted for now, and leaves it (the event may say more). */
  #leave(cause: FailoverCause, error: unknown): void {
    this.#connection!.markUnusable(cause, error);
    // The connection was unusable already (no event): switch here.
    if (this.primary) this.#enterFallback(cause, error, this.#connection!.diagnosis(), false);
  }

  readonly #onUnusable = (event: UnusableEvent): void => {
    if (this.#closed || this.#starting) return;
    if (this.#fallback === 'none') {
      this.#markDown(causeOf(event), event.error, event.problem, false);
      return;
    }
    // Already on memory (a failed reconciliation, a second reason): one line per outage.
    if (!this.primary) return;
    this.#enterFallback(causeOf(event), event.error, event.problem, false);
  };

  readonly #onUsable = (): void => {
    if (this.#closed || this.#starting) return;
    if (this.#fallback === 'none') {
      this.#markUp();
      return;
    }
    if (!this.primary) void this.#recover();
  };

  #enterFallback(
    cause: FailoverCause,
    error: unknown,
    problem: Problem | null,
    startup: boolean,
  ): void {
    if (this.#closed) return;
    this.primary = false;
    this.#outage = true;
    this.failovers++;
    this.#fallbackSince = now();
    this.#memory.startGating(this.#fallbackSince);
    const misconfigured = problem?.misconfiguration === true;
    const reason = misconfigured ? 'primary_misconfigured' : 'primary_unavailable';
    this.#host.log('warn', failoverMessage(problem, startup, 'serving from memory'), {
      reason,
      cause,
      backend: 'fallback',
      error: describe(error),
      problem: problem ?? undefined,
    });
    // At start-up nobody could listen to the event yet: the log line says it.
    if (!startup) this.#host.emit('failover', { reason, cause, error, problem });
    if (failoverChannel.hasSubscribers) failoverChannel.publish({ reason, cause, problem });
  }

  /** Reconciles the journal, then switches back to Redis. */
  async #recover(): Promise<void> {
    if (this.#recovering || this.#closed || this.primary || !this.#outage) return;
    const wait = this.#retryAt - now();
    if (wait > 0) {
      if (this.#retryTimer === undefined) {
        this.#retryTimer = setTimeout(this.#onRetry, wait);
        this.#retryTimer.unref();
      }
      return;
    }
    const reconciler = this.#reconciler!;
    const connection = this.#connection!;
    this.#recovering = true;
    try {
      const outcome = await reconciler.reconcile();
      if (this.#closed) return;
      // Lost again while reconciling: the next `usable` reconciles what was written since.
      if (connection.state !== 'ready') return;
      this.#switchToPrimary(outcome.reconciled, outcome.overflowed, outcome.dropped);
      if (outcome.rest !== undefined) reconciler.settleRest(outcome.rest);
    } catch (error) {
      if (this.#closed) return;
      this.#retryAt = now() + connection.probeIntervalMs;
      this.#host.log('warn', `${PREFIX} recovery reconciliation failed, staying on memory`, {
        reason: 'reconciliation_failed',
        backend: 'fallback',
        error: describe(error),
      });
      connection.markUnusable('reconciliation_failed', error);
    } finally {
      this.#recovering = false;
    }
  }

  readonly #onRetry = (): void => {
    this.#retryTimer = undefined;
    if (this.#connection?.state === 'ready') void this.#recover();
  };

  #switchToPrimary(reconciled: number, overflowed: boolean, dropped: number): void {
    const outageMs = Math.round(now() - this.#fallbackSince);
    this.#fallbackMsTotal += outageMs;
    this.#outage = false;
    this.primary = true;
    // Memory only holds outage data: once reconciled it must not resurface in a later outage.
    this.#memory.store.clear();
    this.#memory.stopGating();
    this.recoveries++;
    const policy = this.#reconciler!.policy;
    this.#host.log(
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
    const event: RecoverEvent = {
      reason: 'primary_healthy',
      outageMs,
      policy,
      reconciledKeys: reconciled,
      journalOverflowed: overflowed,
      journalDropped: dropped,
    };
    this.#host.emit('recover', event);
    if (recoverChannel.hasSubscribers) recoverChannel.publish(event);
  }

  // ---- fallback: 'none' -----------------------------------------------------------------------

  #markDown(cause: FailoverCause, error: unknown, problem: Problem | null, startup: boolean): void {
    if (this.#down || this.#closed) return;
    this.#down = true;
    this.#downSince = now();
    this.#host.log(
      'warn',
      failoverMessage(problem, startup, "calls fail fast (fallback: 'none')"),
      {
        reason:
          problem?.misconfiguration === true ? 'primary_misconfigured' : 'primary_unavailable',
        cause,
        backend: 'primary',
        error: describe(error),
        problem: problem ?? undefined,
      },
    );
  }

  #markUp(): void {
    if (!this.#down || this.#closed) return;
    this.#down = false;
    const outageMs = Math.round(now() - this.#downSince);
    this.#host.log('info', `${PREFIX} Redis healthy again`, {
      reason: 'primary_healthy',
      backend: 'primary',
      outageMs,
    });
  }
}

/**
 * The failover line: a misconfiguration says what is wrong and what to change (never
 * "unavailable"); an outage says what was seen (refused, no answer...).
 */
function failoverMessage(problem: Problem | null, startup: boolean, then: string): string {
  if (problem?.misconfiguration === true) {
    return `${PREFIX} Redis is misconfigured (${problem.kind}): ${problem.message}. To fix: ${problem.hint}. Meanwhile ${then}`;
  }
  const when = startup ? ' at start-up' : '';
  const seen = problem === null ? '' : ` (${problem.kind}: ${problem.message}; ${problem.hint})`;
  return `${PREFIX} Redis unavailable${when}${seen}, ${then}`;
}
