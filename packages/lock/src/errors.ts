const BRAND: unique symbol = Symbol.for('@x/lock.error') as never;

/** Stable codes of every error this package throws. */
export type LockErrorCode =
  | 'E_LOCK_OPTIONS'
  | 'E_LOCK_ACQUISITION'
  | 'E_LOCK_LOST'
  | 'E_LOCK_UNAVAILABLE';

/**
 * Base class of the errors of `@x/lock`. Detect them with {@link isLockError}, which also works
 * across two installed copies of the package (a plain `instanceof` does not).
 */
export class LockError extends Error {
  /** Stable machine-readable code. */
  readonly code: LockErrorCode;

  constructor(code: LockErrorCode, message: string, options?: { cause?: unknown }) {
    super(`[@x/lock] ${message}`, options);
    this.name = 'LockError';
    this.code = code;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** An invalid option or argument: names the field and the bad value. */
export class LockOptionsError extends LockError {
  /** The option or argument that was rejected, e.g. `'ttlMs'`. */
  readonly field: string;
  /** The value that was rejected. */
  readonly value: unknown;

  constructor(field: string, value: unknown, expected: string) {
    super('E_LOCK_OPTIONS', `invalid ${field}: ${describe(value)} (expected ${expected})`);
    this.name = 'LockOptionsError';
    this.field = field;
    this.value = value;
  }
}

/** The lock stayed held by someone else through every attempt. */
export class LockAcquisitionError extends LockError {
  /** The lock key (without prefix). */
  readonly key: string;
  /** Attempts made: the first try plus the timed retries. */
  readonly attempts: number;

  constructor(key: string, attempts: number) {
    super(
      'E_LOCK_ACQUISITION',
      `lock ${JSON.stringify(key)} is held: not acquired after ${attempts} attempt(s)`,
    );
    this.name = 'LockAcquisitionError';
    this.key = key;
    this.attempts = attempts;
  }
}

/**
 * The lock is no longer held: it expired before it was extended, an extension found another
 * owner, or `withLock`'s `maxHoldMs` was reached. Also the `reason` of a lock's aborted `signal`.
 */
export class LockLostError extends LockError {
  /** The lock key (without prefix). */
  readonly key: string;

  constructor(key: string, why: string, cause?: unknown) {
    super(
      'E_LOCK_LOST',
      `lock ${JSON.stringify(key)} lost: ${why}`,
      cause === undefined ? undefined : { cause },
    );
    this.name = 'LockLostError';
    this.key = key;
  }
}

/**
 * Redis (or, in quorum mode, a majority of the servers) could not be reached: down, frozen past
 * the deadline, or the breaker is open. Locks never fall back to memory. `cause` holds the error.
 */
export class LockUnavailableError extends LockError {
  constructor(operation: string, cause: unknown) {
    super('E_LOCK_UNAVAILABLE', `Redis unavailable during ${operation}`, { cause });
    this.name = 'LockUnavailableError';
  }
}

/** True for any error thrown by `@x/lock`, from this or another installed copy. */
export function isLockError(error: unknown): error is LockError {
  return typeof error === 'object' && error !== null && (error as never)[BRAND] === true;
}

/** True for a {@link LockAcquisitionError} (code `E_LOCK_ACQUISITION`), from any installed copy. */
export function isLockAcquisitionError(error: unknown): error is LockAcquisitionError {
  return isLockError(error) && error.code === 'E_LOCK_ACQUISITION';
}

/** True for a {@link LockLostError} (code `E_LOCK_LOST`), from any installed copy. */
export function isLockLostError(error: unknown): error is LockLostError {
  return isLockError(error) && error.code === 'E_LOCK_LOST';
}

/** True for a {@link LockUnavailableError} (code `E_LOCK_UNAVAILABLE`), from any installed copy. */
export function isLockUnavailableError(error: unknown): error is LockUnavailableError {
  return isLockError(error) && error.code === 'E_LOCK_UNAVAILABLE';
}

/** True for a {@link LockOptionsError} (code `E_LOCK_OPTIONS`), from any installed copy. */
export function isLockOptionsError(error: unknown): error is LockOptionsError {
  return isLockError(error) && error.code === 'E_LOCK_OPTIONS';
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
