import { isXError, type Problem, XError, XOptionsError, XUnavailableError } from '@x/connection';

const PKG = '@x/ratelimit';

/** Stable codes of every error this package throws (unique across the x packages). */
export type RateLimitErrorCode =
  | 'E_RATELIMIT_OPTIONS'
  | 'E_RATELIMIT_UNAVAILABLE'
  | 'E_RATELIMIT_CLOSED';

/**
 * An invalid option was passed to `createRateLimiter`, or an invalid argument to a method (e.g. a
 * `cost` that is not an integer from 1 to `limit`), or a framework option disagrees with the
 * limiter of a store (code `E_RATELIMIT_OPTIONS`). `field` names it, `value` is what was given.
 */
export class RateLimitOptionsError extends XOptionsError {
  declare readonly code: 'E_RATELIMIT_OPTIONS';

  constructor(field: string, value: unknown, expected: string) {
    super(PKG, 'E_RATELIMIT_OPTIONS', field, value, expected);
    this.name = 'RateLimitOptionsError';
  }
}

/**
 * Redis could not serve an operation that has no fallback, `reset()` (code
 * `E_RATELIMIT_UNAVAILABLE`): refused, frozen past `timeoutMs`, the circuit is open, or
 * misconfigured (wrong password, TLS mismatch...). `problem` is the connection's diagnosis (what
 * is wrong and what to do), `cause` the error of the call. `consume` and `peek` never throw it:
 * the `fallback` decides for them.
 */
export class RateLimitUnavailableError extends XUnavailableError {
  declare readonly code: 'E_RATELIMIT_UNAVAILABLE';

  constructor(
    operation: 'consume' | 'peek' | 'reset',
    cause: unknown,
    problem: Problem | undefined,
  ) {
    super(PKG, 'E_RATELIMIT_UNAVAILABLE', operation, cause, problem);
    this.name = 'RateLimitUnavailableError';
  }
}

/**
 * The limiter is closed (code `E_RATELIMIT_CLOSED`): `consume`, `peek` or `reset` after
 * `close()`. Create a new limiter with `createRateLimiter()`.
 */
export class RateLimitClosedError extends XError {
  declare readonly code: 'E_RATELIMIT_CLOSED';

  constructor() {
    super(
      PKG,
      'E_RATELIMIT_CLOSED',
      'the limiter is closed: create a new one with createRateLimiter()',
    );
    this.name = 'RateLimitClosedError';
  }
}

/** Any error of this package. */
export type RateLimitError =
  | RateLimitOptionsError
  | RateLimitUnavailableError
  | RateLimitClosedError;

/**
 * True for any error thrown by `@x/ratelimit`, from this or another installed copy (a brand
 * check; a plain `instanceof` does not survive two copies). Narrow further on `code`.
 * @example if (isRateLimitError(e) && e.code === 'E_RATELIMIT_UNAVAILABLE') retryLater();
 */
export function isRateLimitError(error: unknown): error is RateLimitError {
  return isXError(error) && error.package === PKG;
}

/** True for a {@link RateLimitOptionsError} (code `E_RATELIMIT_OPTIONS`), from any installed copy. */
export function isRateLimitOptionsError(error: unknown): error is RateLimitOptionsError {
  return isXError(error, 'E_RATELIMIT_OPTIONS');
}

/** True for a {@link RateLimitUnavailableError} (code `E_RATELIMIT_UNAVAILABLE`), from any installed copy. */
export function isRateLimitUnavailableError(error: unknown): error is RateLimitUnavailableError {
  return isXError(error, 'E_RATELIMIT_UNAVAILABLE');
}

/** True for a {@link RateLimitClosedError} (code `E_RATELIMIT_CLOSED`), from any installed copy. */
export function isRateLimitClosedError(error: unknown): error is RateLimitClosedError {
  return isXError(error, 'E_RATELIMIT_CLOSED');
}
