import { isCredentialsError } from '@x/config';

const AUTH_WORDS = /WRONGPASS|NOAUTH|E_CREDENTIALS_|refused the credentials|ERR AUTH/;

/**
 * Whether `error` is (or was caused by) a failure of the credentials: a `CredentialsError` of
 * `@x/config` (provider failed, credentials rejected), a `WRONGPASS` / `NOAUTH` reply, or an x
 * error whose diagnosis (`problem`) is of kind `'auth'`. Follows `cause` and `problem`.
 */
export function isAuthFailure(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; depth < 6 && typeof e === 'object' && e !== null; depth++) {
    if (isCredentialsError(e)) return true;
    const { message, problem, cause } = e as {
      message?: unknown;
      problem?: { kind?: string; message?: string } | null;
      cause?: unknown;
    };
    if (typeof message === 'string' && AUTH_WORDS.test(message)) return true;
    if (problem?.kind === 'auth') return true;
    if (typeof problem?.message === 'string' && AUTH_WORDS.test(problem.message)) return true;
    e = cause;
  }
  return typeof e === 'string' && AUTH_WORDS.test(e);
}
