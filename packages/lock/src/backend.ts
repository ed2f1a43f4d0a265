import type { Connection, RedisStats } from '@x/connection';
import type { LockUnavailableError } from './errors.js';
import type { LockOperation } from './server.js';

/**
 * Where locks are kept: one server ({@link SingleServer}) or a quorum of independent servers
 * ({@link QuorumServers}). The manager decides when to try, wait and hand over; a backend only
 * talks to Redis.
 */
export interface LockBackend {
  /** Servers in use. */
  readonly servers: number;
  /** Grants needed to hold a lock: a majority of `servers`. */
  readonly quorum: number;
  /** The connection of each server. */
  readonly connections: readonly Connection[];
  /**
   * One try. Resolves with the fencing token (> 0) when granted, else with `-1 - ms` (the
   * holder's remaining TTL) or 0 (unknown). `validUntil` (monotonic ms) is when a grant comes too
   * late to be of use. Rejects with an error that {@link LockBackend.unavailable} turns into a
   * `LockUnavailableError`.
   */
  acquire(lockKey: string, token: string, ttlMs: number, validUntil: number): Promise<unknown>;
  /** Compare-and-delete; whether the token still held the lock. Rejects with `LockUnavailableError`. */
  release(lockKey: string, token: string): Promise<boolean>;
  /** Compare-and-pexpire; whether the token still held the lock. Rejects with `LockUnavailableError`. */
  extend(lockKey: string, token: string, ttlMs: number): Promise<boolean>;
  /** Gives a grant back, ignoring failures (it expires by its TTL otherwise). */
  releaseQuietly(lockKey: string, token: string): void;
  /** The `LockUnavailableError` for a failed `operation` (with the connection's diagnosis). */
  unavailable(operation: LockOperation, error: unknown): LockUnavailableError;
  /** The `redis` block of `stats()`: one, or one per server in quorum mode. */
  stats(): RedisStats | RedisStats[];
}

/** A settled call of one server. */
export type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

/** The result of `promise`, never a rejection. */
export function settle(promise: Promise<unknown>): Promise<Settled> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}
