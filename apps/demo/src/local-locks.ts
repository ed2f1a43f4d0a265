import { randomUUID } from 'node:crypto';

/** What the job route needs from a lock: the fencing token and a way to notice loss. */
export interface JobLock {
  readonly key: string;
  readonly fencingToken: number;
  readonly signal: AbortSignal;
}

/** Runs a function under a lock, like `LockManager.withLock` of `@x/lock`. */
export interface JobLocks {
  /** `redis` (`@x/lock`), or `single-instance` (no Redis: an in-process lock, this process only). */
  readonly mode: 'redis' | 'single-instance';
  /**
   * Runs `fn` while holding `key`. Rejects with a busy error when someone holds it (one try, no
   * waiting); for `@x/lock` also with its `LockUnavailableError` when Redis is down.
   */
  withLock<T>(key: string, fn: (lock: JobLock) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The in-process lock's "already held" error, shaped like `@x/lock`'s `LockAcquisitionError`. */
export class LocalLockBusyError extends Error {
  override readonly name = 'LocalLockBusyError';
  readonly code = 'E_LOCK_ACQUISITION';
  constructor(readonly key: string) {
    super(`[@x/demo] lock "${key}" is held by another job in this process`);
  }
}

/**
 * Single-instance locks for running with no Redis: correct within this one process only (two
 * demo processes would both get the lock). The demo labels the mode on the status page, the
 * log and every job answer; with Redis it always uses `@x/lock` instead.
 */
export function createLocalLocks(): JobLocks {
  const held = new Map<string, string>();
  const fences = new Map<string, number>();
  return {
    mode: 'single-instance',
    async withLock(key, fn) {
      if (held.has(key)) throw new LocalLockBusyError(key);
      const token = randomUUID();
      held.set(key, token);
      const fencingToken = (fences.get(key) ?? 0) + 1;
      fences.set(key, fencingToken);
      try {
        return await fn({ key, fencingToken, signal: new AbortController().signal });
      } finally {
        if (held.get(key) === token) held.delete(key);
      }
    },
    async close() {
      held.clear();
    },
  };
}
