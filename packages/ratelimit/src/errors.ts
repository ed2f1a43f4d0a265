const BRAND: unique symbol = Symbol.for('@x/ratelimit.error') as never;

/** Stable codes of every error this package throws. */
export type RateLimitErrorCode = 'E_RATELIMIT_OPTIONS' | 'E_RATELIMIT_UNAVAILABLE';

/**
 * Base class of the errors of `@x/ratelimit`. Detect them with {@link isRateLimitError}, which
 * also works across two installed copies of the package (a plain `instanceof` does not).
 */
export class RateLimitError extends Error {
  /** Stable machine-readable code. */
  readonly code: RateLimitErrorCode;

  constructor(code: RateLimitErrorCode, message: string, options?: { cause?: unknown }) {
    super(`[@x/ratelimit] ${message}`, options);
    this.name = 'RateLimitError';
    this.code = code;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/**
 * An invalid option was passed to {@link createRateLimiter}, or an invalid argument to a method
 * (e.g. a `cost` that is not an integer between 1 and `limit`): names the field and the bad value.
 */
export class RateLimitOptionsError extends RateLimitError {
  /** The option or argument that was rejected, e.g. `'windowMs'` or `'cost'`. */
  readonly field: string;
  /** The value that was rejected. */
  readonly value: unknown;

  constructor(field: string, value: unknown, expected: string) {
    super('E_RATELIMIT_OPTIONS', `invalid ${field}: ${describe(value)} (expected ${expected})`);
    this.name = 'RateLimitOptionsError';
    this.field = field;
    this.value = value;
  }
}

/**
 * Redis could not be reached (down, frozen past the deadline, or the breaker is open) for an
 * operation that has no fallback, such as `reset()`. `cause` holds the underlying error.
 */
export class RateLimitUnavailableError extends RateLimitError {
  constructor(operation: string, cause: unknown) {
    super('E_RATELIMIT_UNAVAILABLE', `Redis unavailable during ${operation}`, { cause });
    this.name = 'RateLimitUnavailableError';
  }
}

/** True for any error thrown by `@x/ratelimit`, from this or another installed copy. */
export function isRateLimitError(error: unknown): error is RateLimitError {
  return typeof error === 'object' && error !== null && (error as never)[BRAND] === true;
}

/** True for a {@link RateLimitOptionsError} (code `E_RATELIMIT_OPTIONS`), from any installed copy. */
export function isRateLimitOptionsError(error: unknown): error is RateLimitOptionsError {
  return isRateLimitError(error) && error.code === 'E_RATELIMIT_OPTIONS';
}

/** True for a {@link RateLimitUnavailableError} (code `E_RATELIMIT_UNAVAILABLE`), from any installed copy. */
export function isRateLimitUnavailableError(error: unknown): error is RateLimitUnavailableError {
  return isRateLimitError(error) && error.code === 'E_RATELIMIT_UNAVAILABLE';
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
