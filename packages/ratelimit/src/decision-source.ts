import {
  type Connection,
  diagnose,
  type Log,
  type Problem,
  type UnusableEvent,
} from '@x/connection';
import { sourceChannel } from './channels.js';
import { RateLimitUnavailableError } from './errors.js';
import type { RateLimitSourceChange } from './options.js';
import type { DecisionCounts } from './stats.js';
import type { RateLimitFallback, RateLimitSource } from './types.js';

/** What a {@link DecisionSource} needs to know about its limiter. */
export interface DecisionSourceOptions {
  connection: Connection;
  fallback: RateLimitFallback;
  /** The local limiter's limit (for the log line). */
  localLimit: number;
  log: Log;
  counts: DecisionCounts;
  onSourceChange: ((change: RateLimitSourceChange) => void) | undefined;
}

/**
 * Where a limiter's decisions come from: `'redis'`, or its fallback while Redis is unusable. It
 * follows the connection's `unusable` and `usable` events as well as the calls themselves (a
 * decision the fallback made, a Redis answer), and reports each change once: a log line (`warn`
 * when decisions leave Redis, with the connection's diagnosis; `info` when they are back), the
 * `x:ratelimit:source` channel, `onSourceChange`, and `stats().sourceChanges`.
 */
export class DecisionSource {
  readonly #o: DecisionSourceOptions;
  #current: RateLimitSource = 'redis';
  #since = performance.now();
  #attached = true;

  readonly #onUnusable = (event: UnusableEvent): void => {
    this.toFallback(event.error, event.problem ?? undefined, event.reason);
  };
  readonly #onUsable = (): void => {
    this.toRedis();
  };

  constructor(options: DecisionSourceOptions) {
    this.#o = options;
    options.connection.on('unusable', this.#onUnusable);
    options.connection.on('usable', this.#onUsable);
  }

  /** Where decisions come from now. */
  get current(): RateLimitSource {
    return this.#current;
  }

  /**
   * Redis answered a decision: decisions come from Redis again, unless the connection says Redis
   * is unusable (a late answer of a call sent before the outage began does not end it).
   */
  answered(): void {
    if (this.#current !== 'redis' && this.#o.connection.state !== 'unusable') this.toRedis();
  }

  /** Decisions come from Redis (again). */
  toRedis(): void {
    if (this.#current === 'redis' || !this.#attached) return;
    const from = this.#current;
    const outageMs = Math.round(performance.now() - this.#since);
    this.#change(from, 'redis', null, undefined);
    this.#o.log('info', '[@x/ratelimit] back on Redis', {
      reason: 'primary_healthy',
      from,
      to: 'redis',
      outageMs,
    });
  }

  /**
   * The fallback decides from now on, because of `error` (a failed call, or what made the
   * connection unusable). `problem` defaults to the connection's diagnosis, else to what the
   * error says.
   */
  toFallback(error: unknown, problem?: Problem, reason?: string): void {
    const to = this.#o.fallback;
    if (this.#current === to || !this.#attached) return;
    const { connection, log, localLimit } = this.#o;
    const found = problem ?? connection.diagnosis() ?? diagnosed(error, connection.timeoutMs);
    const cause =
      error ?? new RateLimitUnavailableError('consume', new Error(explain(reason)), found);
    const from = this.#current;
    this.#change(from, to, found ?? null, cause);
    const what =
      to === 'local'
        ? `deciding locally (limit ${localLimit} per instance)`
        : to === 'open'
          ? "admitting every request uncounted (fallback 'open')"
          : "refusing every request (fallback 'closed')";
    let why: string;
    if (found !== undefined) why = `${found.kind}: ${found.message}. ${found.hint}`;
    else why = error === undefined ? explain(reason) : describe(error);
    log('warn', `[@x/ratelimit] Redis unavailable: ${what}; ${why}`, {
      reason: 'primary_unavailable',
      from,
      to,
      ...(found === undefined
        ? {}
        : { kind: found.kind, message: found.message, hint: found.hint }),
    });
  }

  /** Stops following the connection (the limiter is closed). */
  detach(): void {
    this.#attached = false;
    this.#o.connection.off('unusable', this.#onUnusable);
    this.#o.connection.off('usable', this.#onUsable);
  }

  #change(
    from: RateLimitSource,
    to: RateLimitSource,
    problem: Problem | null,
    error: unknown,
  ): void {
    this.#current = to;
    this.#since = performance.now();
    this.#o.counts.sourceChanges++;
    if (sourceChannel.hasSubscribers) sourceChannel.publish({ from, to, problem });
    const listener = this.#o.onSourceChange;
    if (listener === undefined) return;
    try {
      listener(error === undefined ? { from, to, problem } : { from, to, problem, error });
    } catch {
      // A throwing listener must not turn a decision into an error.
    }
  }
}

function diagnosed(error: unknown, timeoutMs: number): Problem | undefined {
  const found = error === undefined ? undefined : diagnose(error, { timeoutMs });
  return found === undefined ? undefined : { ...found, since: Date.now() };
}

// What made the connection unusable, when it has no diagnosis (yet).
const REASONS: Readonly<Record<string, string>> = {
  breaker_open: 'the circuit breaker opened after repeated failures',
  connection_lost: 'the connection to Redis was lost',
  connect_failed: 'could not connect to Redis',
  health_check_failed: 'a health check PING missed its deadline',
  misconfigured: 'Redis is misconfigured',
  sentinel_failover:
    'a Sentinel failover of the primary is under way (decisions there could be lost with it)',
};

function explain(reason: string | undefined): string {
  if (reason === undefined) return 'the connection is unusable or the circuit is open';
  return REASONS[reason] ?? `the connection is unusable (${reason})`;
}

function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/^\[@x\/ratelimit\] /, '');
}
