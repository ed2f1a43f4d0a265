import { type Backoff, type BackoffOptions, createBackoff } from './backoff.js';
import { ReconnectOptionsError, RetryExhaustedError } from './errors.js';

/** Options of {@link retry}. */
export interface RetryOptions {
  /** Total number of calls of `fn`, the first one included. @default 3 */
  attempts?: number;
  /**
   * Delays between calls: backoff options (a fresh sequence per `retry` call) or a {@link Backoff}
   * (reset before use). Its `maxAttempts`, when smaller, also ends the retries.
   * @default { jitter: 'full', minDelayMs: 100, maxDelayMs: 10_000 }
   */
  backoff?: BackoffOptions | Backoff;
  /**
   * Aborting stops at once: a pending wait is cancelled and `retry` rejects with `signal.reason`,
   * also while `fn` is still running (its outcome is then ignored). Passed on to `fn`.
   */
  signal?: AbortSignal;
  /**
   * Decides whether a failure is worth another call; a `false` rethrows the error as is.
   * @default () => true
   */
  shouldRetry?: (error: unknown, attempt: number) => boolean;
}

// Handed to `fn` when the caller gave no signal; never aborted, shared by every call.
const NEVER_ABORTED: AbortSignal = new AbortController().signal;

/**
 * Calls `fn` until it resolves, at most `attempts` times, waiting a backoff delay in between.
 * @param fn receives the 1-based attempt number and the abort signal.
 * @returns what `fn` resolved with.
 * @throws RetryExhaustedError (`E_RETRY_EXHAUSTED`, `cause` = the last error) once every attempt
 * failed; the error itself when `shouldRetry` returned false; `signal.reason` when aborted.
 * @example
 * const value = await retry((attempt, signal) => fetchValue(signal), { attempts: 5, signal });
 */
export async function retry<T>(
  fn: (attempt: number, signal: AbortSignal) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const { attempts = 3, signal, shouldRetry } = options;
  if (typeof fn !== 'function') throw new ReconnectOptionsError('fn', fn, 'expected a function');
  if (typeof attempts !== 'number' || !Number.isInteger(attempts) || attempts < 1) {
    throw new ReconnectOptionsError('attempts', attempts, 'expected an integer >= 1');
  }
  if (shouldRetry !== undefined && typeof shouldRetry !== 'function') {
    throw new ReconnectOptionsError('shouldRetry', shouldRetry, 'expected a function');
  }
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw new ReconnectOptionsError('signal', signal, 'expected an AbortSignal');
  }
  const backoff = toBackoff(options.backoff);
  const fnSignal = signal ?? NEVER_ABORTED;

  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw signal.reason;
    let error: unknown;
    try {
      return await abortable(Promise.resolve(fn(attempt, fnSignal)), signal);
    } catch (caught) {
      if (signal?.aborted) throw signal.reason;
      error = caught;
    }
    if (shouldRetry && !shouldRetry(error, attempt)) throw error;
    const delay = attempt < attempts ? backoff.next() : undefined;
    if (delay === undefined) throw new RetryExhaustedError(attempt, error);
    await sleep(delay, signal);
  }
}

function toBackoff(option: BackoffOptions | Backoff | undefined): Backoff {
  if (option && typeof (option as Backoff).next === 'function') {
    const backoff = option as Backoff;
    backoff.reset();
    return backoff;
  }
  return createBackoff(option as BackoffOptions | undefined);
}

function isAbortSignal(value: unknown): value is AbortSignal {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AbortSignal).addEventListener === 'function' &&
    'aborted' in value
  );
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (!signal) {
      setTimeout(resolve, ms);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
