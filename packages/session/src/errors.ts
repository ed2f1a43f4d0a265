import { isXError, type Problem, XError, XOptionsError, XUnavailableError } from '@x/connection';

const PKG = '@x/session';

/** Stable codes of every error this package throws (unique across the x packages). */
export type SessionErrorCode =
  | 'E_SESSION_OPTIONS'
  | 'E_SESSION_UNAVAILABLE'
  | 'E_SESSION_INVALID_ID'
  | 'E_SESSION_DATA';

/**
 * An option of `createSessionStore` or `createExpressSessionStore` is invalid (code
 * `E_SESSION_OPTIONS`): `field` names it, `value` is what was given. Fix the call; nothing was sent
 * to Redis.
 */
export class SessionOptionsError extends XOptionsError {
  declare readonly code: 'E_SESSION_OPTIONS';

  constructor(field: string, value: unknown, expected: string) {
    super(PKG, 'E_SESSION_OPTIONS', field, value, expected);
    this.name = 'SessionOptionsError';
  }
}

/**
 * Redis could not serve the call (code `E_SESSION_UNAVAILABLE`): refused, frozen past the
 * deadline, the circuit is open, misconfigured (wrong password, TLS mismatch...), or the store is
 * closed. Sessions fail closed: treat it as "cannot authenticate now" (e.g. HTTP 503), never as
 * "no session". `problem` is the connection's diagnosis (its `kind` says which: `'refused'`,
 * `'timeout'`, `'auth'`, `'tls'`...; `undefined` after `close()`), `operation` the store call
 * that failed.
 */
export class SessionUnavailableError extends XUnavailableError {
  declare readonly code: 'E_SESSION_UNAVAILABLE';

  constructor(operation: string, cause: unknown, problem: Problem | undefined) {
    super(PKG, 'E_SESSION_UNAVAILABLE', operation, cause, problem);
    this.name = 'SessionUnavailableError';
  }
}

/**
 * A session id that this store could never have issued (code `E_SESSION_INVALID_ID`), rejected
 * before any Redis call; for the express store, an id that is not a string or is longer than its
 * `maxIdLength`. The value itself is never echoed: it may be a forged cookie.
 */
export class InvalidSessionIdError extends XError {
  declare readonly code: 'E_SESSION_INVALID_ID';

  /** @param maxIdLength the express store's bound, when it is the one refusing the id. */
  constructor(value: unknown, maxIdLength?: number) {
    const what = typeof value === 'string' ? `${value.length} characters` : typeof value;
    super(
      PKG,
      'E_SESSION_INVALID_ID',
      maxIdLength === undefined
        ? `malformed session id (${what}): not an id this store issues; treat it as no session (clear the cookie, log in again)`
        : `session id refused (${what}): the express store takes strings of at most ${maxIdLength} characters; raise its maxIdLength if your ids are longer, else treat it as no session`,
    );
    this.name = 'InvalidSessionIdError';
  }
}

/**
 * A user id or session data that cannot be stored (code `E_SESSION_DATA`): a user id that is not a
 * non-empty string of at most 512 characters, data that is not a plain object, or a value that is
 * not JSON-serializable. Nothing was written.
 */
export class SessionDataError extends XError {
  declare readonly code: 'E_SESSION_DATA';

  constructor(message: string, cause?: unknown) {
    super(PKG, 'E_SESSION_DATA', message, cause === undefined ? undefined : { cause });
    this.name = 'SessionDataError';
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
  return isXError(error) && error.package === PKG;
}
