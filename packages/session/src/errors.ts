const BRAND: unique symbol = Symbol.for('@x/session.error') as never;

/** Stable codes of every error this package throws. */
export type SessionErrorCode =
  | 'E_SESSION_OPTIONS'
  | 'E_SESSION_UNAVAILABLE'
  | 'E_SESSION_INVALID_ID'
  | 'E_SESSION_DATA';

abstract class SessionErrorBase extends Error {
  /** Stable machine-readable code. */
  abstract readonly code: SessionErrorCode;
  /** Brand that survives two installed copies of the package. */
  readonly [BRAND] = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(`[@x/session] ${message}`, options);
  }
}

/** An option passed to `createSessionStore` (or the express store) is invalid. */
export class SessionOptionsError extends SessionErrorBase {
  override readonly name = 'SessionOptionsError';
  readonly code = 'E_SESSION_OPTIONS' as const;
  /** The option that was rejected, e.g. `ttlMs`. */
  readonly field: string;

  constructor(field: string, value: unknown, expected: string) {
    super(`invalid option "${field}": expected ${expected}, got ${describe(value)}`);
    this.field = field;
  }
}

/**
 * Redis could not serve the call (down, frozen past the deadline, circuit open). Sessions fail
 * closed: treat it as "cannot authenticate now", never as "no session".
 */
export class SessionUnavailableError extends SessionErrorBase {
  override readonly name = 'SessionUnavailableError';
  readonly code = 'E_SESSION_UNAVAILABLE' as const;
  /** The store operation that failed, e.g. `get`. */
  readonly operation: string;

  constructor(operation: string, cause: unknown) {
    super(`session store unavailable during ${operation}`, { cause });
    this.operation = operation;
  }
}

/** A session id that this store could never have issued; rejected before any Redis call. */
export class InvalidSessionIdError extends SessionErrorBase {
  override readonly name = 'InvalidSessionIdError';
  readonly code = 'E_SESSION_INVALID_ID' as const;

  constructor(value: unknown) {
    // The value itself is not echoed: it may be a forged cookie, or a secret.
    super(
      `malformed session id (${typeof value === 'string' ? `${value.length} chars` : typeof value})`,
    );
  }
}

/** A user id or session data that cannot be stored (not a string, not JSON-serializable...). */
export class SessionDataError extends SessionErrorBase {
  override readonly name = 'SessionDataError';
  readonly code = 'E_SESSION_DATA' as const;

  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

/** Any error of this package. */
export type SessionError =
  | SessionOptionsError
  | SessionUnavailableError
  | InvalidSessionIdError
  | SessionDataError;

/**
 * Tells whether `error` comes from `@x/session` (any installed copy). Narrow further on `code`.
 * @example if (isSessionError(e) && e.code === 'E_SESSION_UNAVAILABLE') res.status(503);
 */
export function isSessionError(error: unknown): error is SessionError {
  return typeof error === 'object' && error !== null && (error as never)[BRAND] === true;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
