import type { RedisStats } from '@x/connection';
import {
  acquireChannel,
  type LockAcquireOutcome,
  type LockLostReason,
  lostChannel,
} from './channels.js';

/** What `stats()` returns: the Redis block, the lock counters (monotonic) and gauges. */
export interface LockStats {
  /**
   * The connection's `redis` block (state, calls, failures, timeouts, breaker, problem...). In
   * quorum mode an array: one block per server, in the order of the `redis` option.
   */
  redis: RedisStats | RedisStats[];
  /** Locks granted (`acquire`, `tryAcquire`, `withLock`). */
  acquired: number;
  /** Acquisitions that found the lock held: they waited, or `tryAcquire` gave `undefined`. */
  contended: number;
  /** `acquire` calls that gave up after every attempt (`LockAcquisitionError`). */
  timedOut: number;
  /** Acquisitions that failed because Redis could not be used (`LockUnavailableError`). */
  unavailable: number;
  /** `acquire` calls ended by their `signal`. */
  aborted: number;
  /** Locks released by their holder. */
  released: number;
  /** Successful extensions (`extend()` and `withLock`'s automatic ones). */
  extended: number;
  /** Locks lost while held (expired, taken by another owner, `maxHoldMs`). */
  lost: number;
  /** Locks this manager holds now (gauge). */
  held: number;
  /** `acquire` calls waiting for a held lock now (gauge). */
  waiting: number;
}

/**
 * The counters of one manager, bumped on the hot path (plain increments: `@x/otel` reads them
 * through `stats()` when it collects), and the events that go with them, published only while
 * someone listens.
 */
export class LockCounters {
  acquired = 0;
  contended = 0;
  timedOut = 0;
  unavailable = 0;
  aborted = 0;
  released = 0;
  extended = 0;
  lost = 0;
  held = 0;
  waiting = 0;

  /** When an acquisition starts: its start time if someone listens to `x:lock:acquire`, else -1. */
  began(): number {
    return acquireChannel.hasSubscribers ? performance.now() : -1;
  }

  /** An acquisition that started at `began` ({@link LockCounters.began}) ended with `outcome`. */
  settled(began: number, attempts: number, outcome: LockAcquireOutcome): void {
    if (began >= 0 && acquireChannel.hasSubscribers) {
      acquireChannel.publish({ waitMs: performance.now() - began, attempts, outcome });
    }
  }

  /** A held lock ended: released by its holder (`lost` undefined), or lost. */
  ended(lost: LockLostReason | undefined): void {
    this.held--;
    if (lost === undefined) {
      this.released++;
      return;
    }
    this.lost++;
    if (lostChannel.hasSubscribers) lostChannel.publish({ reason: lost });
  }

  /** The counters with the Redis block. */
  snapshot(redis: RedisStats | RedisStats[]): LockStats {
    return {
      redis,
      acquired: this.acquired,
      contended: this.contended,
      timedOut: this.timedOut,
      unavailable: this.unavailable,
      aborted: this.aborted,
      released: this.released,
      extended: this.extended,
      lost: this.lost,
      held: this.held,
      waiting: this.waiting,
    };
  }
}
