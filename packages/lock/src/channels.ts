import { eventChannel } from '@x/connection';

/** Why a lock was lost (low cardinality, for metrics): see {@link LockLostMessage}. */
export type LockLostReason = 'expired' | 'not-owner' | 'max-hold';

/** How an acquisition ended: see {@link LockAcquireMessage}. */
export type LockAcquireOutcome = 'acquired' | 'contended' | 'unavailable';

/**
 * Message of `x:lock:acquire`, one per `acquire` / `tryAcquire` / `withLock` acquisition that
 * settled (an aborted wait publishes nothing): how long it took and how it ended. No key: the
 * channel feeds histograms, which must stay low in cardinality.
 */
export interface LockAcquireMessage {
  /** From the call to the answer, ms (the wait for a contended lock included). */
  waitMs: number;
  /** Round trips made (tries); 0 when it failed before any. */
  attempts: number;
  /**
   * `'acquired'`; `'contended'` when still held by someone else after every attempt
   * (`LockAcquisitionError`, or `tryAcquire` returning `undefined`); `'unavailable'` when Redis
   * could not be used (`LockUnavailableError`).
   */
  outcome: LockAcquireOutcome;
}

/** Message of `x:lock:lost`, one per lock lost while held. */
export interface LockLostMessage {
  /**
   * `'expired'`: the TTL ran out before an extension; `'not-owner'`: an extension found another
   * owner (it had expired and was taken); `'max-hold'`: `withLock`'s `maxHoldMs` passed.
   */
  reason: LockLostReason;
}

/** The `node:diagnostics_channel` channels `@x/lock` publishes on (only when someone listens). */
export const LOCK_CHANNELS = {
  /** Every settled acquisition ({@link LockAcquireMessage}). */
  acquire: 'x:lock:acquire',
  /** Every lock lost while held ({@link LockLostMessage}). */
  lost: 'x:lock:lost',
} as const;

/** @internal */
export const acquireChannel = eventChannel<LockAcquireMessage>(LOCK_CHANNELS.acquire);
/** @internal */
export const lostChannel = eventChannel<LockLostMessage>(LOCK_CHANNELS.lost);
