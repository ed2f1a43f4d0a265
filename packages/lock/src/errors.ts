import { isXError, type Problem, XError, XOptionsError, XUnavailableError } from '@x/connection';

const PKG = '@x/lock';

/** Stable codes of every error this package throws (unique across the x packages). */
export type LockErrorCode =
  | 'E_LOCK_OPTIONS'
  | 'E_LOCK_ACQUISITION'
  | 'E_LOCK_LOST'
  | 'E_LOCK_UNAVAILABLE';

/** Any error of `@x/lock`; tell them apart by `code`, or with the `is…Error` helpers. */
export type LockError =
  | LockOptionsError
  | LockAcquisitionError
  | LockLostError
  | LockUnavailableError;

/**
 * An invalid option or argument (code `E_LOCK_OPTIONS`): names the field and the bad value. Fix
 * the call; nothing was sent to Redis.
 */
export class LockOptionsError extends XOptionsError {
  declare readonly code: 'E_LOCK_OPTIONS';

  constructor(field: string, value: unknown, expected: string) {
    super(PKG, 'E_LOCK_OPTIONS', field, value, expected);
    this.name = 'LockOptionsError';
  }
}

/**
 * The lock stayed held by someone else through every attempt (code `E_LOCK_ACQUISITION`). Retry
 * later, or give `acquire` more `retry.attempts`.
 */
export class LockAcquisitionError extends XError {
  declare readonly code: 'E_LOCK_ACQUISITION';
  /** The lock key (without prefix). */
  readonly key: string;
  /** Attempts made: the first try plus the timed retries. */
  readonly attempts: number;

  constructor(key: string, attempts: number) {
    super(
      PKG,
      'E_LOCK_ACQUISITION',
      `lock ${JSON.stringify(key)} is held: not acquired after ${attempts} attempt(s); try again later or allow more retry.attempts`,
    );
    this.name = 'LockAcquisitionError';
    this.key = key;
    this.attempts = attempts;
  }
}

/**
 * The lock is no longer held (code `E_LOCK_LOST`): it expired before it was extended, an
 * extension found another owner, or `withLock`'s `maxHoldMs` was reached. Also the `reason` of a
 * lock's aborted `signal`. Stop the protected work: another holder may be running it.
 */
export class LockLostError extends XError {
  declare readonly code: 'E_LOCK_LOST';
  /** The lock key (without prefix). */
  readonly key: string;

  constructor(key: string, why: string, cause?: unknown) {
    super(
      PKG,
      'E_LOCK_LOST',
      `lock ${JSON.stringify(key)} lost: ${why}; stop the work it protected`,
      cause === undefined ? undefined : { cause },
    );
    this.name = 'LockLostError';
    this.key = key;
  }
}

/**
 * Redis (in quorum mode, a majority of the servers) could not serve the call (code
 * `E_LOCK_UNAVAILABLE`): refused, frozen past the deadline, the circuit is open, misconfigured, or
 * the manager was closed. Locks never fall back to memory. `problem` is the connection's
 * diagnosis (`kind`: `'refused'`, `'timeout'`, `'auth'`, `'tls'`...) with what to do; `cause` the
 * error of the call.
 */
export class LockUnavailableError extends XUnavailableError {
  declare readonly code: 'E_LOCK_UNAVAILABLE';

  constructor(operation: string, cause: unknown, problem?: Problem) {
    super(PKG, 'E_LOCK_UNAVAILABLE', operation, cause, problem);
    this.name = 'LockUnavailableError';
  }
}

/** True for any error thrown by `@x/lock`, from this or another installed copy. */
export function isLockError(error: unknown): error is LockError {
  return isXError(error) && error.package === PKG;
}

/** True for a {@link LockAcquisitionError} (code `E_LOCK_ACQUISITION`), from any installed copy. */
export function isLockAcquisitionError(error: unknown): error is LockAcquisitionError {
  return isXError(error, 'E_LOCK_ACQUISITION');
}

/** True for a {@link LockLostError} (code `E_LOCK_LOST`), from any installed copy. */
export function isLockLostError(error: unknown): error is LockLostError {
  return isXError(error, 'E_LOCK_LOST');
}

/** True for a {@link LockUnavailableError} (code `E_LOCK_UNAVAILABLE`), from any installed copy. */
export function isLockUnavailableError(error: unknown): error is LockUnavailableError {
  return isXError(error, 'E_LOCK_UNAVAILABLE');
}

/** True for a {@link LockOptionsError} (code `E_LOCK_OPTIONS`), from any installed copy. */
export function isLockOptionsError(error: unknown): error is LockOptionsError {
  return isXError(error, 'E_LOCK_OPTIONS');
}
