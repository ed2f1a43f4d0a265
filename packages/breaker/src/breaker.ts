import { EventEmitter } from 'node:events';
import { ConsecutiveBreaker, type IBreaker } from 'cockatiel';
import {
  type BreakerCore,
  kAdmit,
  kFailure,
  kFallback,
  kIsFailure,
  kRelease,
  kSample,
  kSuccess,
} from './_internal/core.js';
import { LatencyRing, type LatencySummary } from './_internal/latency.js';
import { ExpiringSamplingBreaker } from './_internal/sampling.js';
import { isInfrastructureError } from './classify.js';
import { BreakerOptionsError, breakerOpenError } from './errors.js';

export type { LatencySummary };

/** The state of a circuit. `'isolated'` is held open by hand ({@link Breaker.isolate}). */
export type CircuitState = 'closed' | 'open' | 'half-open' | 'isolated';

/** Failure-rate tripping, with the semantics of cockatiel's `SamplingBreaker`. */
export interface FailureRateOptions {
  /** Fraction of failed calls (strictly between 0 and 1) above which the circuit opens. */
  threshold: number;
  /** Length of the sliding window, in milliseconds. */
  windowMs: number;
  /**
   * Calls needed in the window before the rate is judged (avoids opening on 2 calls out of 3).
   * @default 5 / threshold per second of window (cockatiel's default)
   */
  minRequests?: number;
}

/** Options of {@link createBreaker}. */
export interface BreakerOptions {
  /**
   * Consecutive failures that open the circuit. Ignored when `failureRate` is set.
   * @default 5
   */
  maxFailures?: number;
  /**
   * Open on a failure rate over a sliding window instead of on consecutive failures.
   * @default undefined (consecutive failures)
   */
  failureRate?: FailureRateOptions;
  /**
   * How long the circuit stays open before letting a probe through (half-open), in ms.
   * @default 30_000
   */
  resetTimeout?: number;
  /**
   * When set, each consecutive re-open (a failed half-open probe) doubles the open period, up to
   * this many ms; closing the circuit brings it back to `resetTimeout`.
   * @default undefined (the open period is always `resetTimeout`)
   */
  maxResetTimeout?: number;
  /**
   * Successful probes needed in half-open before the circuit closes. One probe runs at a time;
   * other calls are rejected at once while it is in flight.
   * @default 2
   */
  successThreshold?: number;
  /**
   * Which errors count as failures. Errors it rejects are rethrown untouched and count as proof
   * that Redis answered.
   * @default isInfrastructureError (a `WRONGTYPE` reply is not a failure, a refused connection is)
   */
  isFailure?: (error: unknown) => boolean;
}

/** Options of {@link Breaker.execute}. */
export interface ExecuteOptions {
  /**
   * Passed to `fn`. Already aborted: the call is rejected with `signal.reason` without running.
   * An error thrown after the signal aborted is not counted as a failure.
   */
  signal?: AbortSignal;
}

/** Counters since creation (or the last {@link Breaker.reset}), and recent latency. */
export interface BreakerStats {
  /** Current state. */
  state: CircuitState;
  /** Calls offered to the circuit (admitted or rejected). */
  requests: number;
  /** Calls that resolved. */
  successes: number;
  /** Calls that failed with an infrastructure error, timeouts included. */
  failures: number;
  /** Calls rejected by the circuit without running. */
  rejects: number;
  /** Calls that hit a guard's deadline (also counted in `failures`). */
  timeouts: number;
  /** Fallbacks served by guards using this breaker. */
  fallbacks: number;
  /** Calls that rejected with an error `isFailure` does not count (e.g. `WRONGTYPE`). */
  ignoredErrors: number;
  /**
   * Latency in ms over the last 1024 samples; one call in 8 is sampled (reading the clock costs
   * more than the whole breaker).
   */
  latency: LatencySummary;
}

/** Payload of the `stateChange` event. */
export interface StateChange {
  from: CircuitState;
  to: CircuitState;
}

/** Payload of the `open` event. */
export interface OpenEvent {
  /** The failure that opened the circuit. */
  error: unknown;
  /** How long it stays open, in ms. */
  resetTimeout: number;
}

/** Events of a {@link Breaker}. Listener exceptions are swallowed (a breaker never throws them). */
export interface BreakerEvents {
  stateChange: [change: StateChange];
  open: [event: OpenEvent];
  'half-open': [];
  close: [];
  isolate: [];
}

/** Returned by {@link Breaker.isolate}: the circuit stays isolated until every handle is disposed. */
export interface IsolationHandle {
  /** Releases this isolation (idempotent). The circuit closes when the last one is released. */
  dispose(): void;
}

/** A circuit breaker. Create one with {@link createBreaker}. */
export interface Breaker {
  /** Current state. */
  readonly state: CircuitState;
  /**
   * Runs `fn` through the circuit. Rejects with {@link BreakerOpenError} (code `E_BREAKER_OPEN`)
   * without running it when the circuit is open, isolated, or half-open with a probe in flight;
   * otherwise settles as `fn` does.
   */
  execute<T>(
    fn: (signal?: AbortSignal) => T | PromiseLike<T>,
    options?: ExecuteOptions,
  ): Promise<T>;
  /** Counters and latency. Cheap counters; percentiles are computed on each call. */
  stats(): BreakerStats;
  /** Holds the circuit open (state `'isolated'`) until the returned handle is disposed. */
  isolate(): IsolationHandle;
  /** Back to `'closed'` with fresh counters and failure history; ends every isolation. */
  reset(): void;
  on<E extends keyof BreakerEvents>(event: E, listener: (...args: BreakerEvents[E]) => void): this;
  once<E extends keyof BreakerEvents>(
    event: E,
    listener: (...args: BreakerEvents[E]) => void,
  ): this;
  off<E extends keyof BreakerEvents>(event: E, listener: (...args: BreakerEvents[E]) => void): this;
}

// Numeric states, equal to cockatiel's CircuitState enum (passed to its breaker strategies).
const CLOSED = 0;
const OPEN = 1;
const HALF_OPEN = 2;
const ISOLATED = 3;
const NAMES: readonly CircuitState[] = ['closed', 'open', 'half-open', 'isolated'];
// Tickets returned by kAdmit: negative = rejected, 0 = ordinary call, > 0 = half-open probe epoch.
const REJECTED = -1;
const SAMPLE_MASK = 7;

/**
 * Creates a circuit breaker built on cockatiel's breaker strategies (`ConsecutiveBreaker` or
 * `SamplingBreaker`) under a lean state machine: closed → open after the failures the strategy
 * counts; open → half-open after `resetTimeout`; half-open → closed after `successThreshold`
 * successful probes (one at a time), or back to open on a failed probe.
 *
 * @throws BreakerOptionsError (code `E_BREAKER_OPTIONS`) naming the invalid option.
 */
export function createBreaker(options: BreakerOptions = {}): Breaker {
  return new CircuitBreaker(options);
}

class CircuitBreaker extends EventEmitter implements Breaker, BreakerCore {
  readonly #makeStrategy: () => IBreaker;
  readonly #isFailure: (error: unknown) => boolean;
  readonly #resetTimeout: number;
  readonly #maxResetTimeout: number;
  readonly #successThreshold: number;
  #strategy: IBreaker;
  #state = CLOSED;
  #openPeriod: number;
  #openUntil = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #epoch = 0;
  #probeInFlight = false;
  #probeSuccesses = 0;
  #isolations = 0;
  #isolationEpoch = 0;
  #requests = 0;
  #successes = 0;
  #failures = 0;
  #rejects = 0;
  #timeouts = 0;
  #fallbacks = 0;
  #ignored = 0;
  readonly #latency = new LatencyRing(1024);
  readonly #onTimer = (): void => {
    this.#timer = undefined;
    if (this.#state === OPEN) this.#toHalfOpen();
  };

  constructor(options: BreakerOptions) {
    super();
    if (typeof options !== 'object' || options === null) {
      throw new BreakerOptionsError('options', options, 'an object');
    }
    const maxFailures = options.maxFailures ?? 5;
    integer('maxFailures', maxFailures, 1);
    const resetTimeout = options.resetTimeout ?? 30_000;
    integer('resetTimeout', resetTimeout, 1, MAX_TIMER_MS);
    const maxResetTimeout = options.maxResetTimeout ?? resetTimeout;
    integer('maxResetTimeout', maxResetTimeout, resetTimeout, MAX_TIMER_MS);
    const successThreshold = options.successThreshold ?? 2;
    integer('successThreshold', successThreshold, 1);
    const isFailure = options.isFailure ?? isInfrastructureError;
    if (typeof isFailure !== 'function') {
      throw new BreakerOptionsError('isFailure', isFailure, 'a function');
    }
    const rate = options.failureRate;
    if (rate !== undefined) {
      if (typeof rate !== 'object' || rate === null) {
        throw new BreakerOptionsError('failureRate', rate, '{ threshold, windowMs, minRequests? }');
      }
      if (typeof rate.threshold !== 'number' || !(rate.threshold > 0 && rate.threshold < 1)) {
        throw new BreakerOptionsError(
          'failureRate.threshold',
          rate.threshold,
          'a number in (0, 1)',
        );
      }
      integer('failureRate.windowMs', rate.windowMs, 1);
      if (rate.minRequests !== undefined) integer('failureRate.minRequests', rate.minRequests, 1);
      const { threshold, windowMs, minRequests } = rate;
      const minimumRps = minRequests === undefined ? undefined : (minRequests * 1000) / windowMs;
      this.#makeStrategy = () => new ExpiringSamplingBreaker(threshold, windowMs, minimumRps);
    } else {
      this.#makeStrategy = () => new ConsecutiveBreaker(maxFailures);
    }
    this.#strategy = this.#makeStrategy();
    this.#isFailure = isFailure;
    this.#resetTimeout = resetTimeout;
    this.#maxResetTimeout = maxResetTimeout;
    this.#openPeriod = resetTimeout;
    this.#successThreshold = successThreshold;
  }

  get state(): CircuitState {
    return NAMES[this.#state]!;
  }

  async execute<T>(
    fn: (signal?: AbortSignal) => T | PromiseLike<T>,
    options?: ExecuteOptions,
  ): Promise<T> {
    const signal = options?.signal;
    if (signal?.aborted) throw signal.reason;
    let ticket = 0;
    if (this.#state === CLOSED) this.#requests++;
    else {
      ticket = this[kAdmit]();
      if (ticket < 0) throw breakerOpenError(NAMES[this.#state] as 'open');
    }
    const sampled = (this.#requests & SAMPLE_MASK) === 0;
    const start = sampled ? performance.now() : 0;
    let value: T;
    try {
      // No argument without a signal: a bound client method must not receive a stray `undefined`.
      value = await (signal === undefined ? fn() : fn(signal));
    } catch (error) {
      if (sampled) this.#latency.record(performance.now() - start);
      if (signal?.aborted) this[kRelease](ticket);
      else if (this[kIsFailure](error)) this[kFailure](ticket, error, false);
      else this[kSuccess](ticket, true);
      throw error;
    }
    if (sampled) this.#latency.record(performance.now() - start);
    this[kSuccess](ticket, false);
    return value;
  }

  stats(): BreakerStats {
    return {
      state: NAMES[this.#state]!,
      requests: this.#requests,
      successes: this.#successes,
      failures: this.#failures,
      rejects: this.#rejects,
      timeouts: this.#timeouts,
      fallbacks: this.#fallbacks,
      ignoredErrors: this.#ignored,
      latency: this.#latency.summary(),
    };
  }

  isolate(): IsolationHandle {
    this.#isolations++;
    const epoch = this.#isolationEpoch;
    if (this.#state !== ISOLATED) {
      this.#clearTimer();
      this.#transition(ISOLATED);
    }
    let disposed = false;
    const dispose = (): void => {
      if (disposed || epoch !== this.#isolationEpoch) return;
      disposed = true;
      if (--this.#isolations === 0) this.#toClosed();
    };
    const handle: IsolationHandle & { [Symbol.dispose]?: () => void } = { dispose };
    if (typeof Symbol.dispose === 'symbol') handle[Symbol.dispose] = dispose;
    return handle;
  }

  reset(): void {
    this.#isolations = 0;
    this.#isolationEpoch++;
    this.#requests = 0;
    this.#successes = 0;
    this.#failures = 0;
    this.#rejects = 0;
    this.#timeouts = 0;
    this.#fallbacks = 0;
    this.#ignored = 0;
    this.#latency.clear();
    this.#toClosed();
  }

  // --- core protocol (also used by guards) ---

  [kAdmit](): number {
    this.#requests++;
    switch (this.#state) {
      case CLOSED:
        return 0;
      case OPEN:
        // The timer may run late on a busy loop: the open period is over all the same.
        if (Date.now() < this.#openUntil) break;
        this.#clearTimer();
        this.#toHalfOpen();
        return this.#admitProbe();
      case HALF_OPEN:
        return this.#admitProbe();
    }
    this.#rejects++;
    return REJECTED;
  }

  [kSuccess](ticket: number, ignoredError: boolean): void {
    if (ignoredError) this.#ignored++;
    else this.#successes++;
    if (ticket === 0) {
      if (this.#state === CLOSED) this.#strategy.success(CLOSED as never);
      return;
    }
    if (ticket !== this.#epoch || this.#state !== HALF_OPEN) return;
    this.#probeInFlight = false;
    this.#strategy.success(HALF_OPEN as never);
    if (++this.#probeSuccesses >= this.#successThreshold) this.#toClosed();
  }

  [kFailure](ticket: number, error: unknown, timeout: boolean): void {
    this.#failures++;
    if (timeout) this.#timeouts++;
    if (ticket === 0) {
      if (this.#state === CLOSED && this.#strategy.failure(CLOSED as never)) {
        this.#toOpen(error, this.#resetTimeout);
      }
      return;
    }
    if (ticket !== this.#epoch || this.#state !== HALF_OPEN) return;
    this.#probeInFlight = false;
    this.#strategy.failure(HALF_OPEN as never);
    this.#toOpen(error, Math.min(this.#openPeriod * 2, this.#maxResetTimeout));
  }

  [kRelease](ticket: number): void {
    if (ticket > 0 && ticket === this.#epoch && this.#state === HALF_OPEN) {
      this.#probeInFlight = false;
    }
  }

  [kFallback](): void {
    this.#fallbacks++;
  }

  [kSample](ms: number): void {
    this.#latency.record(ms);
  }

  [kIsFailure](error: unknown): boolean {
    // A throwing predicate must not break the state machine: its error counts as a failure.
    try {
      return this.#isFailure(error);
    } catch {
      return true;
    }
  }

  // --- state machine ---

  #admitProbe(): number {
    if (this.#probeInFlight) {
      this.#rejects++;
      return REJECTED;
    }
    this.#probeInFlight = true;
    return this.#epoch;
  }

  #toOpen(error: unknown, period: number): void {
    this.#openPeriod = period;
    this.#openUntil = Date.now() + period;
    this.#clearTimer();
    this.#timer = setTimeout(this.#onTimer, period);
    // Only watches: a process with nothing else to do may exit while the circuit is open.
    this.#timer.unref?.();
    this.#transition(OPEN, { error, resetTimeout: period });
  }

  #toHalfOpen(): void {
    this.#epoch++;
    this.#probeInFlight = false;
    this.#probeSuccesses = 0;
    this.#transition(HALF_OPEN);
  }

  #toClosed(): void {
    this.#clearTimer();
    this.#openPeriod = this.#resetTimeout;
    this.#probeInFlight = false;
    this.#strategy = this.#makeStrategy();
    if (this.#state !== CLOSED) this.#transition(CLOSED);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #transition(to: number, payload?: OpenEvent): void {
    const from = this.#state;
    this.#state = to;
    const change: StateChange = { from: NAMES[from]!, to: NAMES[to]! };
    this.#emitSafely('stateChange', change);
    if (to === OPEN) this.#emitSafely('open', payload);
    else if (to === HALF_OPEN) this.#emitSafely('half-open');
    else if (to === CLOSED) this.#emitSafely('close');
    else this.#emitSafely('isolate');
  }

  #emitSafely(event: string, payload?: unknown): void {
    try {
      if (payload === undefined) this.emit(event);
      else this.emit(event, payload);
    } catch {
      // A throwing listener must not corrupt the state machine or the caller's result.
    }
  }
}

// setTimeout fires at once (with a warning) beyond this: about 24.8 days.
const MAX_TIMER_MS = 2_147_483_647;

function integer(field: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new BreakerOptionsError(
      field,
      value,
      max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`,
    );
  }
}
