import type { Connection, RedisStats } from '@x/connection';
import type { StoreCalls } from './store-calls.js';

/** Counters (monotonic) and gauges of a store. */
export interface SessionStoreStats {
  /** The connection's block, as in every x package: state, calls, failures, breaker, problem... */
  redis: RedisStats;
  /** Sessions created. */
  created: number;
  /** `get` calls answered (a session or `null`). */
  read: number;
  /** `update` calls that patched a session. */
  updated: number;
  /** `touch` calls that extended a session. */
  touched: number;
  /** Sessions destroyed (`destroy`, and each one `destroyUserSessions` removed). */
  destroyed: number;
  /** Sessions moved to a new id by `rotate`. */
  rotated: number;
  /**
   * Calls (of this store and of the express store on it) that failed with
   * `SessionUnavailableError`: Redis refused, frozen past the deadline, circuit open,
   * misconfigured, or the store closed. Each one is also published on `x:session:fail-closed`.
   */
  failedClosed: number;
  /** Calls answered by the memory fallback because Redis could not (`fallback: 'memory'`). */
  servedFromMemory: number;
  /**
   * Changes made in memory during an outage (sessions written, ids destroyed) still waiting to be
   * replayed into Redis. Always 0 without `fallback: 'memory'`.
   */
  pendingReconcile: number;
  /** Changes replayed into Redis after an outage: destroys applied and sessions copied. */
  reconciled: number;
  /**
   * Copies not made: Redis already had a record under that id (it is never overwritten), or the
   * session had expired or left memory (LRU) before its turn.
   */
  reconcileSkipped: number;
  /**
   * Changes given up: pushed out because `maxEntries` changes were already pending, or refused by
   * Redis with a command error during the replay.
   */
  reconcileDropped: number;
}

/** @internal The store's own counters (see {@link SessionStoreStats}). */
export class SessionCounts {
  created = 0;
  read = 0;
  updated = 0;
  touched = 0;
  destroyed = 0;
  rotated = 0;
}

const NO_RECONCILE = {
  pendingReconcile: 0,
  reconciled: 0,
  reconcileSkipped: 0,
  reconcileDropped: 0,
} as const;

/** @internal A store's `stats()`: read when asked, so counting costs nothing on the hot path. */
export function sessionStats(
  connection: Connection,
  calls: StoreCalls,
  counts: SessionCounts,
): SessionStoreStats {
  return {
    redis: connection.stats(),
    created: counts.created,
    read: counts.read,
    updated: counts.updated,
    touched: counts.touched,
    destroyed: counts.destroyed,
    rotated: counts.rotated,
    failedClosed: calls.failedClosed,
    servedFromMemory: calls.servedFromMemory,
    ...(calls.reconciler?.stats() ?? NO_RECONCILE),
  };
}
