const BRAND: unique symbol = Symbol.for('@x/reconnect.error') as never;

/** Stable codes of the errors this package throws. */
export type ReconnectErrorCode = 'E_RECONNECT_OPTIONS' | 'E_RETRY_EXHAUSTED';

/**
 * Base class of every error thrown by `@x/reconnect`.
 * Detect it with {@link isReconnectError}, which also works across two installed copies.
 */
export class ReconnectError extends Error {
  /** Stable machine-readable code. */
  readonly code: ReconnectErrorCode;

  constructor(code: ReconnectErrorCode, message: string, options?: { cause?: unknown }) {
    super(`[@x/reconnect] ${message}`, options);
    this.name = 'ReconnectError';
    this.code = code;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** Thrown at construction when an option is invalid; names the field and the bad value. */
export class ReconnectOptionsError extends ReconnectError {
  /** The option that was rejected, e.g. `'maxDelayMs'`. */
  readonly field: string;
  /** The rejected value. */
  readonly value: unknown;

  constructor(field: string, value: unknown, expectation: string) {
    super('E_RECONNECT_OPTIONS', `invalid option ${field}: ${expectation}, got ${describe(value)}`);
    this.name = 'ReconnectOptionsError';
    this.field = field;
    this.value = value;
  }
}

/** Rejection of {@link retry} once every attempt failed; `cause` is the last error. */
export class RetryExhaustedError extends ReconnectError {
  /** How many times the function was called. */
  readonly attempts: number;

  constructor(attempts: number, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      'E_RETRY_EXHAUSTED',
      `gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}; the last one failed with: ${reason} (the error is the cause; raise attempts or fix what it says)`,
      { cause },
    );
    this.name = 'RetryExhaustedError';
    this.attempts = attempts;
  }
}

/**
 * Brand check for errors of this package (`ReconnectOptionsError`, `RetryExhaustedError`).
 * Uses a `Symbol.for` marker rather than `instanceof`, so it survives duplicated installs.
 */
export function isReconnectError(error: unknown): error is ReconnectError {
  return typeof error === 'object' && error !== null && (error as never)[BRAND] === true;
}

function describe(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) {
    return String(value);
  }
  return typeof value;
}
