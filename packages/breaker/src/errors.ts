const BRAND: unique symbol = Symbol.for('@x/breaker.error') as never;

/** Stable codes of every error this package throws. */
export type BreakerErrorCode = 'E_BREAKER_OPEN' | 'E_GUARD_TIMEOUT' | 'E_BREAKER_OPTIONS';

/**
 * Base class of the errors of `@x/breaker`. Detect them with {@link isBreakerError}, which also
 * works across two installed copies of the package (a plain `instanceof` does not).
 */
export class BreakerError extends Error {
  /** Stable machine-readable code. */
  readonly code: BreakerErrorCode;

  constructor(code: BreakerErrorCode, message: string, options?: { cause?: unknown }) {
    super(`[@x/breaker] ${message}`, options);
    this.name = 'BreakerError';
    this.code = code;
  }

  static {
    // The brand lives on the prototype: inherited by every error of the package, found by the
    // Symbol.for key from any installed copy, and free to construct.
    Object.defineProperty(BreakerError.prototype, BRAND, { value: true });
  }
}

/**
 * The circuit refused the call without running it: it is open, isolated, or half-open with its
 * one probe already in flight. Classified as `'connection'` by {@link classifyRedisError}.
 */
export class BreakerOpenError extends BreakerError {
  /** The circuit state that refused the call. */
  readonly state: 'open' | 'half-open' | 'isolated';

  constructor(state: 'open' | 'half-open' | 'isolated', cause?: unknown) {
    super(
      'E_BREAKER_OPEN',
      state === 'half-open'
        ? 'circuit is half-open and its one probe call is in flight: this call was not sent (calls go through again once the probe succeeds; serve a fallback meanwhile)'
        : state === 'isolated'
          ? 'circuit is isolated by isolate(): the call was not sent (dispose every isolation handle to close the circuit)'
          : 'circuit is open after repeated Redis failures: the call was not sent (Redis is tried again after resetTimeout; serve a fallback meanwhile)',
      cause === undefined ? undefined : { cause },
    );
    this.name = 'BreakerOpenError';
    this.state = state;
  }
}

/**
 * A guarded call did not settle within its deadline (a frozen or blackholed server). Classified
 * as `'timeout'` by {@link classifyRedisError}.
 */
export class GuardTimeoutError extends BreakerError {
  /** The deadline that passed, in milliseconds. */
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(
      'E_GUARD_TIMEOUT',
      `call did not settle within ${timeoutMs} ms: Redis did not answer in time (frozen, overloaded or unreachable); the call was abandoned and a late result is ignored`,
    );
    this.name = 'GuardTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/** An invalid option was passed to a factory: names the field and the bad value. */
export class BreakerOptionsError extends BreakerError {
  /** The option that was rejected, e.g. `'maxFailures'`. */
  readonly field: string;
  /** The value that was rejected. */
  readonly value: unknown;
  /** What was expected, e.g. `'an integer >= 1'`. */
  readonly expected: string;

  constructor(field: string, value: unknown, expected: string) {
    super(
      'E_BREAKER_OPTIONS',
      `invalid option ${field}: ${describe(value)} (expected ${expected})`,
    );
    this.name = 'BreakerOptionsError';
    this.field = field;
    this.value = value;
    this.expected = expected;
  }
}

/**
 * A {@link BreakerOpenError} without a captured stack: refusing a call is the hot path of an
 * outage (every call while the circuit is open), and capturing a stack costs microseconds while
 * telling nothing (the refusal always comes from the same place).
 * @internal
 */
export function breakerOpenError(state: 'open' | 'half-open' | 'isolated'): BreakerOpenError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new BreakerOpenError(state);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** True for any error thrown by `@x/breaker`, from this or another installed copy. */
export function isBreakerError(error: unknown): error is BreakerError {
  return typeof error === 'object' && error !== null && (error as never)[BRAND] === true;
}

/** True for a {@link BreakerOpenError} (code `E_BREAKER_OPEN`), from any installed copy. */
export function isBreakerOpenError(error: unknown): error is BreakerOpenError {
  return isBreakerError(error) && error.code === 'E_BREAKER_OPEN';
}

/** True for a {@link GuardTimeoutError} (code `E_GUARD_TIMEOUT`), from any installed copy. */
export function isGuardTimeoutError(error: unknown): error is GuardTimeoutError {
  return isBreakerError(error) && error.code === 'E_GUARD_TIMEOUT';
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  try {
    return String(JSON.stringify(value) ?? value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
