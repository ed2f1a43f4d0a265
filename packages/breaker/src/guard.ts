import {
  type BreakerCore,
  hasCore,
  kAdmit,
  kFailure,
  kFallback,
  kIsFailure,
  kRelease,
  kSample,
  kSuccess,
} from './_internal/core.js';
import { type Breaker, type BreakerOptions, type BreakerStats, createBreaker } from './breaker.js';
import { isInfrastructureError } from './classify.js';
import { BreakerOptionsError, breakerOpenError, GuardTimeoutError } from './errors.js';

/** Options of {@link createGuard}. */
export interface GuardOptions {
  /** Hard deadline of every call, in milliseconds. */
  timeoutMs: number;
  /**
   * The circuit breaker the guard runs calls through: an existing {@link Breaker} (shared with
   * other guards), options for a new one, or `false` for a deadline without a breaker.
   * @default a new breaker with default options
   */
  breaker?: Breaker | BreakerOptions | false;
  /**
   * Which errors send the call to its fallback (and count as breaker failures). Other errors are
   * rethrown untouched.
   * @default the breaker's `isFailure`, else isInfrastructureError
   */
  isFailure?: (error: unknown) => boolean;
  /**
   * Give `fn` an `AbortSignal` that aborts when its call times out (reason: the
   * `GuardTimeoutError`) or when the caller's `signal` aborts, so work that is still waiting
   * (e.g. for a connection) can skip sending a command whose caller was already answered. Costs
   * one `AbortController` per call, hence off by default.
   * @default false
   */
  abortOnTimeout?: boolean;
  /**
   * Called after a call failed with an infrastructure error or hit its deadline, with that error
   * (not for command errors such as `WRONGTYPE`, not for calls the open circuit refused): where a
   * connection keeps its diagnosis. An exception it throws is ignored.
   * @default undefined
   */
  onFailure?: ((error: unknown) => void) | undefined;
}

/** Options of one {@link Guard.execute} call. */
export interface GuardExecuteOptions {
  /**
   * Passed to `fn` (with `abortOnTimeout`, `fn` gets a signal that also aborts with this one).
   * When it aborts, the call settles at once, rejected with `signal.reason` (no fallback, not a
   * breaker failure).
   */
  signal?: AbortSignal;
}

/**
 * One kind of call for {@link Guard.execute} (`{ run }`): created once (a module constant or a field of a
 * long-lived object), then called with each call's arguments, so that a hot path creates no
 * closure per call. `target` and `a`, `b`, `c` are whatever {@link Guard.execute} was given.
 *
 * @typeParam T - what the call resolves to (after `map`)
 * @typeParam C - the target (e.g. the object whose client and memory store the call uses)
 * @typeParam A - first argument (e.g. the key)
 * @typeParam B - second argument
 * @typeParam D - third argument
 * @typeParam R - what `run` resolves to, before `map`
 */
export interface GuardOperation<
  T,
  C = unknown,
  A = undefined,
  B = undefined,
  D = undefined,
  R = T,
> {
  /**
   * Starts the work, e.g. `(client, key) => client.get(key)`. A synchronous throw is handled like
   * a rejection. With the guard's `abortOnTimeout`, `signal` aborts at the deadline.
   */
  run(target: C, a: A, b: B, c: D, signal?: AbortSignal): R | PromiseLike<R>;
  /**
   * Maps what `run` resolved to (e.g. `'OK'` to `true`), in the same reaction (no extra promise),
   * with the call's target and arguments (e.g. to keep a copy of the value). An error it throws
   * rejects the call (not a breaker failure).
   * @default the value as is
   */
  map?: ((value: R, target: C, a: A, b: B, c: D) => T) | undefined;
  /**
   * Served on timeout, open circuit or infrastructure error, with the call's arguments. Without
   * it those calls reject with the typed error.
   * @default undefined (reject)
   */
  fallback?: ((error: unknown, target: C, a: A, b: B, c: D) => T | PromiseLike<T>) | undefined;
}

/**
 * A call in flight that the guard can settle itself: its promise, and a `reject` that settles
 * that promise. An ioredis `Command` (after `client.sendCommand(command)`) is one.
 */
export interface GuardSettleable<R> {
  readonly promise: Promise<R>;
  reject(error: Error): void;
}

/**
 * One kind of call for {@link Guard.execute} (`{ start }`): like {@link GuardOperation}, but `start` hands back
 * the call's own promise together with a way to reject it, so the guard needs no promise of its
 * own: at the deadline it rejects the call with the `GuardTimeoutError`.
 */
export interface GuardSendOperation<
  T,
  C = unknown,
  A = undefined,
  B = undefined,
  D = undefined,
  R = T,
> {
  /** Starts the work, e.g. sends an ioredis `Command` and returns it. A throw counts as a rejection. */
  start(target: C, a: A, b: B, c: D): GuardSettleable<R>;
  /**
   * Maps what the call resolved to (e.g. `'OK'` to `true`), with the call's target and arguments.
   * An error it throws rejects the call (not a breaker failure).
   * @default the value as is
   */
  map?: ((value: R, target: C, a: A, b: B, c: D) => T) | undefined;
  /**
   * Served on timeout, open circuit or infrastructure error, with the call's arguments. Without
   * it those calls reject with the typed error.
   * @default undefined (reject)
   */
  fallback?: ((error: unknown, target: C, a: A, b: B, c: D) => T | PromiseLike<T>) | undefined;
}

/** Counters of one guard since creation. */
export interface GuardStats {
  /** Calls made through the guard. */
  requests: number;
  /** Calls whose `fn` resolved in time. */
  successes: number;
  /** Calls whose `fn` failed with an infrastructure error (timeouts not included). */
  failures: number;
  /** Calls that hit the deadline. */
  timeouts: number;
  /** Calls refused by the open circuit without running `fn`. */
  rejects: number;
  /** Fallbacks served. */
  fallbacks: number;
  /** Calls rethrown as is because the error is not an infrastructure failure (e.g. `WRONGTYPE`). */
  ignoredErrors: number;
  /** Calls in flight (started, not settled). */
  pending: number;
  /** Stats of the breaker, `undefined` with `breaker: false`. */
  breaker: BreakerStats | undefined;
}

/** Runs Redis calls under a hard deadline and a circuit breaker, with a fallback. */
export interface Guard {
  /** The breaker calls run through, `undefined` with `breaker: false`. */
  readonly breaker: Breaker | undefined;
  /** The deadline of every call, in ms. */
  readonly timeoutMs: number;
  /**
   * Runs a call under the deadline and the breaker: the one entry point of the guard. Settles by
   * `timeoutMs` even if the call never does. On timeout, open circuit or infrastructure error it
   * resolves with the fallback's value when there is a fallback, else rejects with
   * {@link GuardTimeoutError} (`E_GUARD_TIMEOUT`), {@link BreakerOpenError} (`E_BREAKER_OPEN`) or the
   * original error. A command error (e.g. `WRONGTYPE`) is rethrown as is: no fallback, not a
   * failure.
   *
   * Two forms:
   * - `execute(fn, fallback?, options?)`: `fn` runs the call; `fallback(error)` serves instead.
   * - `execute(operation, target, a?, b?, c?)`: for hot paths, no closure per call. `operation` is
   *   created once: `{ run(target, a, b, c), map?, fallback?(error, target, a, b, c) }`
   *   ({@link GuardOperation}), or `{ start(target, a, b, c), map?, fallback? }`
   *   ({@link GuardSendOperation}) for a call whose promise the guard may settle itself (e.g. an
   *   ioredis `Command`): the caller then gets that promise chained once, with no promise of the
   *   guard in between, and at the deadline the guard rejects it with the `GuardTimeoutError`.
   *
   * @example
   * const value = await guard.execute(() => redis.get('greeting'), () => null);
   * const GET: GuardOperation<string | null, Redis, string> = {
   *   run: (redis, key) => redis.get(key),
   *   fallback: (_error, _redis, key) => memory.get(key),
   * };
   * const cached = await guard.execute(GET, redis, 'greeting');
   */
  execute<T>(
    fn: (signal?: AbortSignal) => T | PromiseLike<T>,
    fallback?: ((error: unknown) => T | PromiseLike<T>) | undefined,
    options?: GuardExecuteOptions,
  ): Promise<T>;
  execute<T, C, A = undefined, B = undefined, D = undefined, R = T>(
    operation: GuardOperation<T, C, A, B, D, R> | GuardSendOperation<T, C, A, B, D, R>,
    target: C,
    a?: A,
    b?: B,
    c?: D,
  ): Promise<T>;
  /** Counters of this guard, with its breaker's stats. */
  stats(): GuardStats;
}

type Fallback = ((error: unknown) => unknown) | undefined;
type AnyOperation = GuardOperation<unknown, unknown, unknown, unknown, unknown, unknown>;

// One call in flight. Calls share one deadline length, so they time out in start order: a FIFO
// list with one timer is enough.
class Pending {
  next: Pending | undefined = undefined;
  settled = false;
  // Only set for calls with a signal: removed when the call settles (no listener leak).
  signal: AbortSignal | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
  // Only set with abortOnTimeout: aborts the signal given to fn.
  controller: AbortController | undefined = undefined;
  // Only set for a `{ start }` operation: rejected at the deadline (its own reaction serves the fallback).
  handle: GuardSettleable<unknown> | undefined = undefined;
  // Only set for an operation (`{ run }` or `{ start }`): the operation and its arguments (map and fallback).
  op: AnyOperation | undefined = undefined;
  target: unknown = undefined;
  a: unknown = undefined;
  b: unknown = undefined;
  c: unknown = undefined;
  // Set when the call was given its deadline again after a stall (at most once: see below).
  restarted = false;
  constructor(
    // Not readonly: a call started while the process stalled is given its deadline again (see
    // CircuitGuard.#restartStalled).
    public deadline: number,
    readonly ticket: number,
    readonly start: number,
    readonly fallback: Fallback,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: unknown) => void,
  ) {}
}

// Captures the resolving functions without allocating an executor closure per call.
let capturedResolve: (value: unknown) => void = noop;
let capturedReject: (error: unknown) => void = noop;
function capture(resolve: (value: unknown) => void, reject: (error: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

const SAMPLE_MASK = 7;
/** A deadline tick later than this (ms) is deferred past the poll phase (see #onTimer). */
const LATE_TICK_MS = 20;
/** How many times in a row a late expiry may be deferred. */
const MAX_DEFERRALS = 3;

/**
 * Creates a guard: the one place where "try Redis, else do this" lives. Every call runs under a
 * hard deadline (one shared timer, no per-call timer) and a circuit breaker; timeouts, open
 * circuits and infrastructure errors go to the fallback; command errors are rethrown.
 *
 * @throws BreakerOptionsError (code `E_BREAKER_OPTIONS`) naming the invalid option.
 */
export function createGuard(options: GuardOptions): Guard {
  return new CircuitGuard(options) as unknown as Guard;
}

class CircuitGuard {
  readonly breaker: Breaker | undefined;
  readonly timeoutMs: number;
  readonly #core: BreakerCore | undefined;
  readonly #isFailure: (error: unknown) => boolean;
  readonly #abortOnTimeout: boolean;
  readonly #onFailure: ((error: unknown) => void) | undefined;
  // Deadlines use a clock read once per tick instead of once per call (a clock read costs
  // about as much as the whole guard): a call may be timed out up to one tick early, never late.
  readonly #tickMs: number;
  #clock = 0;
  #head: Pending | undefined = undefined;
  #tail: Pending | undefined = undefined;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #requests = 0;
  #successes = 0;
  #failures = 0;
  #timeouts = 0;
  #rejects = 0;
  #fallbacks = 0;
  #ignored = 0;
  #pending = 0;
  // When the timer (or a deferred expiry) was due (ms, performance.now()), to tell a late one apart.
  #timerDue = 0;
  #deferrals = 0;
  #successesAtDeferral = 0;
  readonly #onTimer = (): void => this.#expireUnlessLate();
  // A tick that comes late means the process stalled (GC, CPU starvation): replies that arrived
  // meanwhile wait in the socket buffers, and timers run before I/O in the event loop. Expire after
  // a poll phase instead (setImmediate runs right after it), so that an answered call is not
  // declared timed out (and counted as a breaker failure) only because its reply was read after the
  // timer. A deferred expiry that itself runs late (another stall, with no poll in between) is
  // deferred again; while replies keep arriving between two deferrals there is no limit, without
  // any a bounded number of times: calls to a frozen server still time out in a stalling process.
  #expireUnlessLate(): void {
    const now = performance.now();
    if (this.#successes !== this.#successesAtDeferral) this.#deferrals = 0;
    const late = now - this.#timerDue > LATE_TICK_MS;
    if (late) this.#restartStalled(now);
    if (late && this.#deferrals < MAX_DEFERRALS) {
      this.#deferrals++;
      this.#successesAtDeferral = this.#successes;
      // Calls started during the poll phase get deadlines from the current time.
      this.#clock = now;
      this.#timerDue = now;
      setImmediate(this.#onTimer);
      return;
    }
    this.#deferrals = 0;
    this.#expire();
  }

  /**
   * The tick is late: the process stalled. Calls started during the stall took their deadline
   * from the clock of the last tick, from before the stall, so they would time out at once
   * although none of their replies could be read yet. They are the calls whose deadline is that
   * clock's (`#clock + timeoutMs`): each gets its whole deadline from now, once. Once only: a
   * call whose deadline was given again shares the new clock's deadline, and ticks that keep
   * coming late (a loaded machine) must not push it on forever; so no call times out later
   * than its deadline plus one stall. Calls started before the stall keep theirs (the deferral
   * above lets their replies be read first). The list stays in deadline order: these are its
   * newest calls.
   */
  #restartStalled(now: number): void {
    const stale = this.#clock + this.timeoutMs;
    const deadline = now + this.timeoutMs;
    for (let entry = this.#head; entry !== undefined; entry = entry.next) {
      if (!entry.settled && !entry.restarted && entry.deadline === stale) {
        entry.deadline = deadline;
        entry.restarted = true;
      }
    }
  }

  constructor(options: GuardOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new BreakerOptionsError('options', options, 'an object with timeoutMs');
    }
    const { timeoutMs } = options;
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 1) {
      throw new BreakerOptionsError('timeoutMs', timeoutMs, 'a number of ms >= 1');
    }
    const breakerOption = options.breaker ?? {};
    let breaker: Breaker | undefined;
    if (breakerOption === false) breaker = undefined;
    else if (hasCore(breakerOption)) breaker = breakerOption as Breaker;
    else if (
      typeof breakerOption === 'object' &&
      breakerOption !== null &&
      !('execute' in breakerOption)
    ) {
      breaker = createBreaker(breakerOption as BreakerOptions);
    } else {
      throw new BreakerOptionsError(
        'breaker',
        breakerOption,
        'a breaker from createBreaker, breaker options or false',
      );
    }
    const core = breaker as unknown as BreakerCore | undefined;
    const isFailure =
      options.isFailure ?? (core ? (e: unknown) => core[kIsFailure](e) : isInfrastructureError);
    if (typeof isFailure !== 'function') {
      throw new BreakerOptionsError('isFailure', isFailure, 'a function');
    }
    const abortOnTimeout = options.abortOnTimeout ?? false;
    if (typeof abortOnTimeout !== 'boolean') {
      throw new BreakerOptionsError('abortOnTimeout', abortOnTimeout, 'a boolean');
    }
    this.#abortOnTimeout = abortOnTimeout;
    const onFailure = options.onFailure;
    if (onFailure !== undefined && typeof onFailure !== 'function') {
      throw new BreakerOptionsError('onFailure', onFailure, 'a function');
    }
    this.#onFailure = onFailure;
    this.breaker = breaker;
    this.timeoutMs = timeoutMs;
    this.#core = core;
    this.#isFailure = isFailure;
    this.#tickMs = Math.max(1, Math.min(50, Math.floor(timeoutMs / 10)));
  }

  execute(
    first: unknown,
    second?: unknown,
    a?: unknown,
    b?: unknown,
    c?: unknown,
  ): Promise<unknown> {
    if (typeof first === 'function') {
      return this.#executeFn(
        first as (signal?: AbortSignal) => unknown,
        second as Fallback,
        a as GuardExecuteOptions | undefined,
      );
    }
    if (typeof first !== 'object' || first === null) {
      return Promise.reject(
        new BreakerOptionsError('execute', first, 'a function or an operation { run } / { start }'),
      );
    }
    return 'start' in first
      ? this.#send(
          first as GuardSendOperation<unknown, unknown, unknown, unknown, unknown, unknown>,
          second,
          a,
          b,
          c,
        )
      : this.#call(first as AnyOperation, second, a, b, c);
  }

  #executeFn<T>(
    fn: (signal?: AbortSignal) => T | PromiseLike<T>,
    fallback: ((error: unknown) => T | PromiseLike<T>) | undefined,
    options: GuardExecuteOptions | undefined,
  ): Promise<T> {
    this.#requests++;
    const core = this.#core;
    const ticket = core === undefined ? 0 : core[kAdmit]();
    if (ticket < 0) {
      this.#rejects++;
      return this.#refuse(
        fallback,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
      ) as Promise<T>;
    }
    const signal = options?.signal;
    if (signal?.aborted) {
      if (core !== undefined) core[kRelease](ticket);
      return Promise.reject(signal.reason);
    }
    const promise = new Promise(capture);
    const entry = this.#enter(ticket, fallback, capturedResolve, capturedReject);
    if (signal !== undefined) this.#watch(entry, signal);
    let reply: unknown;
    try {
      if (this.#abortOnTimeout) {
        entry.controller = new AbortController();
        reply = fn(entry.controller.signal);
      } else {
        // No argument without a signal: a bound client method must not receive a stray `undefined`.
        reply = signal === undefined ? fn() : fn(signal);
      }
    } catch (error) {
      this.#onError(entry, error);
      return promise as Promise<T>;
    }
    this.#follow(entry, reply);
    return promise as Promise<T>;
  }

  #call<T, C, A = undefined, B = undefined, D = undefined, R = T>(
    operation: GuardOperation<T, C, A, B, D, R>,
    target: C,
    a?: A,
    b?: B,
    c?: D,
  ): Promise<T> {
    this.#requests++;
    const core = this.#core;
    const ticket = core === undefined ? 0 : core[kAdmit]();
    if (ticket < 0) {
      this.#rejects++;
      return this.#refuse(
        undefined,
        operation as unknown as AnyOperation,
        target,
        a,
        b,
        c,
      ) as Promise<T>;
    }
    const promise = new Promise(capture);
    const entry = this.#enter(ticket, undefined, capturedResolve, capturedReject);
    entry.op = operation as unknown as AnyOperation;
    entry.target = target;
    entry.a = a;
    entry.b = b;
    entry.c = c;
    let reply: unknown;
    try {
      if (this.#abortOnTimeout) {
        entry.controller = new AbortController();
        reply = operation.run(target, a as A, b as B, c as D, entry.controller.signal);
      } else {
        reply = operation.run(target, a as A, b as B, c as D);
      }
    } catch (error) {
      this.#onError(entry, error);
      return promise as Promise<T>;
    }
    this.#follow(entry, reply);
    return promise as Promise<T>;
  }

  #send<T, C, A = undefined, B = undefined, D = undefined, R = T>(
    operation: GuardSendOperation<T, C, A, B, D, R>,
    target: C,
    a?: A,
    b?: B,
    c?: D,
  ): Promise<T> {
    this.#requests++;
    const core = this.#core;
    const ticket = core === undefined ? 0 : core[kAdmit]();
    const op = operation as unknown as AnyOperation;
    if (ticket < 0) {
      this.#rejects++;
      return this.#refuse(undefined, op, target, a, b, c) as Promise<T>;
    }
    const entry = this.#enter(ticket, undefined, noop, noop);
    entry.op = op;
    entry.target = target;
    entry.a = a;
    entry.b = b;
    entry.c = c;
    let handle: GuardSettleable<R>;
    try {
      handle = operation.start(target, a as A, b as B, c as D);
    } catch (error) {
      try {
        return Promise.resolve(this.#sentError(entry, error)) as Promise<T>;
      } catch (fallbackError) {
        return Promise.reject(fallbackError);
      }
    }
    entry.handle = handle as GuardSettleable<unknown>;
    return handle.promise.then(
      (value: unknown) => this.#sentValue(entry, value),
      (error: unknown) => this.#sentError(entry, error),
    ) as Promise<T>;
  }

  stats(): GuardStats {
    return {
      requests: this.#requests,
      successes: this.#successes,
      failures: this.#failures,
      timeouts: this.#timeouts,
      rejects: this.#rejects,
      fallbacks: this.#fallbacks,
      ignoredErrors: this.#ignored,
      pending: this.#pending,
      breaker: this.breaker?.stats(),
    };
  }

  // Registers an admitted call in the deadline list, with the resolving functions just captured.
  #enter(
    ticket: number,
    fallback: Fallback,
    resolve: (value: unknown) => void,
    reject: (error: unknown) => void,
  ): Pending {
    if (this.#timer === undefined) {
      this.#clock = performance.now();
      this.#timerDue = this.#clock + this.#tickMs;
      this.#timer = setTimeout(this.#onTimer, this.#tickMs);
    }
    // Latency samples feed the breaker's ring: one call in 8 (a clock read is not free).
    const start =
      this.#core !== undefined && (this.#requests & SAMPLE_MASK) === 0 ? performance.now() : -1;
    const entry = new Pending(
      this.#clock + this.timeoutMs,
      ticket,
      start,
      fallback,
      resolve,
      reject,
    );
    if (this.#tail === undefined) this.#head = entry;
    else this.#tail.next = entry;
    this.#tail = entry;
    this.#pending++;
    return entry;
  }

  // Waits for what fn / run returned: one reaction on a native promise (no wrapper promise, no
  // async function), plain values at once, other thenables through Promise.resolve (which also
  // turns a throwing `then` into a rejection).
  #follow(entry: Pending, reply: unknown): void {
    if (reply instanceof Promise) {
      reply.then(
        (value: unknown) => this.#onValue(entry, value),
        (error: unknown) => this.#onError(entry, error),
      );
    } else if (
      reply !== null &&
      (typeof reply === 'object' || typeof reply === 'function') &&
      'then' in reply
    ) {
      Promise.resolve(reply).then(
        (value: unknown) => this.#onValue(entry, value),
        (error: unknown) => this.#onError(entry, error),
      );
    } else {
      this.#onValue(entry, reply);
    }
  }

  #onValue(entry: Pending, value: unknown): void {
    if (entry.settled) return;
    this.#done(entry);
    this.#successes++;
    if (this.#core !== undefined) this.#core[kSuccess](entry.ticket, false);
    const map = entry.op?.map;
    if (map === undefined) {
      entry.resolve(value);
      return;
    }
    let mapped: unknown;
    try {
      mapped = map(value, entry.target, entry.a, entry.b, entry.c);
    } catch (error) {
      entry.reject(error);
      return;
    }
    entry.resolve(mapped);
  }

  // The reactions of a `{ start }` operation: they return the call's result (or throw its error) to the caller's
  // promise, the one `then` made.
  #sentValue(entry: Pending, value: unknown): unknown {
    if (!entry.settled) {
      this.#done(entry);
      this.#successes++;
      if (this.#core !== undefined) this.#core[kSuccess](entry.ticket, false);
    }
    const map = entry.op!.map;
    return map === undefined ? value : map(value, entry.target, entry.a, entry.b, entry.c);
  }

  #sentError(entry: Pending, error: unknown): unknown {
    const op = entry.op!;
    // Settled already: the deadline rejected it (the timeout is counted), serve the fallback.
    if (!entry.settled) {
      this.#done(entry);
      if (!isFailureSafe(this.#isFailure, error)) {
        this.#ignored++;
        if (this.#core !== undefined) this.#core[kSuccess](entry.ticket, true);
        throw error;
      }
      this.#failures++;
      if (this.#core !== undefined) this.#core[kFailure](entry.ticket, error, false);
      if (this.#onFailure !== undefined) this.#notify(error);
    }
    if (op.fallback === undefined) throw error;
    this.#fallbacks++;
    if (this.#core !== undefined) this.#core[kFallback]();
    return op.fallback(error, entry.target, entry.a, entry.b, entry.c);
  }

  #onError(entry: Pending, error: unknown): void {
    if (entry.settled) return;
    this.#done(entry);
    if (!isFailureSafe(this.#isFailure, error)) {
      this.#ignored++;
      if (this.#core !== undefined) this.#core[kSuccess](entry.ticket, true);
      entry.reject(error);
      return;
    }
    this.#failures++;
    if (this.#core !== undefined) this.#core[kFailure](entry.ticket, error, false);
    if (this.#onFailure !== undefined) this.#notify(error);
    this.#fail(entry, error);
  }

  // Marks an entry settled, samples its latency and drops settled entries from the list head.
  #done(entry: Pending, now = -1): void {
    entry.settled = true;
    this.#pending--;
    if (entry.onAbort !== undefined) entry.signal!.removeEventListener('abort', entry.onAbort);
    if (entry.start >= 0 && this.#core !== undefined) {
      this.#core[kSample]((now < 0 ? performance.now() : now) - entry.start);
    }
    if (now >= 0) return;
    let head = this.#head;
    while (head?.settled) head = head.next;
    this.#head = head;
    if (head === undefined) this.#tail = undefined;
  }

  #expire(): void {
    const now = performance.now();
    this.#clock = now;
    let head = this.#head;
    while (head !== undefined && (head.settled || head.deadline <= now)) {
      if (!head.settled) {
        this.#done(head, now);
        this.#timeouts++;
        const error = new GuardTimeoutError(this.timeoutMs);
        if (this.#core !== undefined) this.#core[kFailure](head.ticket, error, true);
        if (this.#onFailure !== undefined) this.#notify(error);
        if (head.handle === undefined) this.#fail(head, error);
        else rejectSafe(head.handle, error);
        head.controller?.abort(error);
      }
      head = head.next;
    }
    this.#head = head;
    if (head === undefined) {
      this.#tail = undefined;
      this.#timer = undefined;
      return;
    }
    // Keep ticking while calls are in flight (each tick refreshes the shared clock), and fire
    // exactly at the head's deadline when it is nearer than a tick.
    const delay = Math.min(this.#tickMs, Math.max(1, Math.ceil(head.deadline - now)));
    this.#timerDue = now + delay;
    this.#timer = setTimeout(this.#onTimer, delay);
  }

  // A call refused by the open circuit: its fallback's value (execute's or the operation's).
  #refuse(
    fallback: Fallback,
    op: AnyOperation | undefined,
    target: unknown,
    a: unknown,
    b: unknown,
    c: unknown,
  ): Promise<unknown> {
    const error = breakerOpenError(this.breaker!.state as 'open');
    const serve = op === undefined ? fallback : op.fallback;
    if (serve === undefined) return Promise.reject(error);
    this.#fallbacks++;
    this.#core![kFallback]();
    try {
      return Promise.resolve(
        op === undefined
          ? (serve as (error: unknown) => unknown)(error)
          : op.fallback!(error, target, a, b, c),
      );
    } catch (fallbackError) {
      return Promise.reject(fallbackError);
    }
  }

  // Settles a failed or timed-out call: its fallback's value, else the error.
  #fail(entry: Pending, error: unknown): void {
    const op = entry.op;
    const fallback = op === undefined ? entry.fallback : op.fallback;
    if (fallback === undefined) {
      entry.reject(error);
      return;
    }
    this.#fallbacks++;
    if (this.#core !== undefined) this.#core[kFallback]();
    try {
      entry.resolve(
        op === undefined
          ? (fallback as (error: unknown) => unknown)(error)
          : op.fallback!(error, entry.target, entry.a, entry.b, entry.c),
      );
    } catch (fallbackError) {
      entry.reject(fallbackError);
    }
  }

  #notify(error: unknown): void {
    try {
      this.#onFailure!(error);
    } catch {
      // A failing observer must not change how the call settles.
    }
  }

  #watch(entry: Pending, signal: AbortSignal): void {
    entry.signal = signal;
    entry.onAbort = (): void => {
      if (entry.settled) return;
      this.#done(entry);
      if (this.#core !== undefined) this.#core[kRelease](entry.ticket);
      entry.reject(signal.reason);
      entry.controller?.abort(signal.reason);
    };
    signal.addEventListener('abort', entry.onAbort, { once: true });
  }
}

function noop(): void {}

// A throwing `reject` must not stop the deadline timer: the call is counted as timed out.
function rejectSafe(handle: GuardSettleable<unknown>, error: Error): void {
  try {
    handle.reject(error);
  } catch {
    // Nothing to do: the call's own promise settles however its owner decides.
  }
}

// A throwing predicate must not leave a call unsettled: its error counts as a failure.
function isFailureSafe(isFailure: (error: unknown) => boolean, error: unknown): boolean {
  try {
    return isFailure(error);
  } catch {
    return true;
  }
}
