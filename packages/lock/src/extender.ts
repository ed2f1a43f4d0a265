import type { HeldLock } from './lock.js';

/**
 * Keeps one lock of `withLock` alive: extends it when half of its TTL is left (timers on the
 * monotonic clock), retries a failed extension while the lock is still valid, and stops at
 * `maxHoldMs` (the lock is then lost). Never lets a rejection escape. Registers itself in
 * `running` while it runs, so that the manager's `close()` can stop it.
 */
export class Extender {
  readonly #lock: HeldLock;
  readonly #holdUntil: number;
  readonly #running: Set<Extender>;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #lastError: unknown;

  constructor(lock: HeldLock, holdUntil: number, running: Set<Extender>) {
    this.#lock = lock;
    this.#holdUntil = holdUntil;
    this.#running = running;
    running.add(this);
    this.#schedule(lock.ttlMs / 2);
  }

  /** Stops extending (the lock itself is left as it is). Idempotent. */
  stop(): void {
    this.#stopped = true;
    this.#running.delete(this);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(leftWhenDue: number): void {
    if (this.#stopped) return;
    const now = performance.now();
    const deadline = this.#lock.deadline;
    const due = Math.min(Math.max(deadline - leftWhenDue, now), this.#holdUntil);
    this.#timer = setTimeout(this.#tick, Math.ceil(due - now));
    this.#timer.unref();
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    const lock = this.#lock;
    if (this.#stopped || lock.ended) return;
    const now = performance.now();
    if (now >= this.#holdUntil) {
      lock.lose('max-hold', 'held longer than maxHoldMs');
      this.stop();
      return;
    }
    if (now >= lock.deadline) {
      lock.lose('expired', 'expired: extension failed', this.#lastError);
      this.stop();
      return;
    }
    lock.extend().then(this.#extended, this.#failed);
  };

  readonly #extended = (): void => {
    this.#lastError = undefined;
    this.#schedule(this.#lock.ttlMs / 2);
  };

  readonly #failed = (error: unknown): void => {
    // LockLostError: the lock already aborted its signal. Otherwise (Redis unreachable) try again
    // while the lock is still valid; the deadline check of the next tick ends it.
    if (this.#lock.ended) {
      this.stop();
      return;
    }
    this.#lastError = error;
    const left = this.#lock.deadline - performance.now();
    this.#schedule(Math.max(left / 2, 0));
  };
}
