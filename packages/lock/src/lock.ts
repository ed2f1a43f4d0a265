import type { LockLostReason } from './channels.js';
import { LockLostError } from './errors.js';

/** A held distributed lock; see `LockManager.acquire`. Disposable with `await using`. */
export interface Lock extends AsyncDisposable {
  /** The lock key (without the manager's prefix). */
  readonly key: string;
  /** Random value identifying this holder; only it can release or extend the lock. */
  readonly token: string;
  /**
   * Strictly increasing per key across all holders: pass it to the resource the lock protects and
   * have it reject writes carrying a smaller token than one it has seen (a holder that was paused
   * past its TTL is then refused).
   */
  readonly fencingToken: number;
  /**
   * Epoch milliseconds until which the lock is safely held (conservative: the TTL counted from
   * before the request was sent, minus clock drift). Updated by `extend()`.
   */
  readonly expiresAt: number;
  /** True until the lock is released, lost, or past `expiresAt`. */
  readonly held: boolean;
  /**
   * Aborts when the lock is lost: it expired (not extended in time), an extension found another
   * owner, or `withLock`'s `maxHoldMs` passed. `signal.reason` is a {@link LockLostError}.
   * Not aborted by `release()`.
   */
  readonly signal: AbortSignal;
  /**
   * Releases the lock (compare-and-delete: only if this token still owns it). Resolves with whether
   * it still held it. Rejects with `LockUnavailableError` when Redis cannot be reached.
   */
  release(): Promise<boolean>;
  /**
   * Resets the lock's TTL to `ttlMs` (default: the TTL it was acquired with), only if this token
   * still owns it. Rejects with {@link LockLostError} (and aborts `signal`) when it does not, or
   * with `LockUnavailableError` when Redis cannot be reached.
   */
  extend(ttlMs?: number): Promise<void>;
}

/** What `release()` of an already released lock resolves with. */
const RELEASED: Promise<boolean> = Promise.resolve(false);

/** What a lock needs from its manager. */
export interface LockOwner {
  releaseLock(lock: HeldLock): Promise<boolean>;
  /** Resolves with the new monotonic deadline, or `false` when the token no longer owns the lock. */
  extendLock(lock: HeldLock, ttlMs: number): Promise<number | false>;
  validateTtl(ttlMs: unknown): number;
  /** The lock was released (`lost` undefined) or lost (why): local waiters may go. Called once. */
  lockEnded(lock: HeldLock, lost: LockLostReason | undefined): void;
}

/** The lock implementation; internal (only the {@link Lock} interface is public). */
export class HeldLock implements Lock {
  readonly key: string;
  readonly token: string;
  readonly fencingToken: number;
  readonly ttlMs: number;
  readonly #owner: LockOwner;
  /** Monotonic (performance.now()) deadline. */
  #deadline: number;
  #state: 'held' | 'released' | 'lost' = 'held';
  #controller: AbortController | undefined = undefined;
  #timer: NodeJS.Timeout | undefined = undefined;

  constructor(
    owner: LockOwner,
    key: string,
    token: string,
    fencingToken: number,
    ttlMs: number,
    deadline: number,
  ) {
    this.#owner = owner;
    this.key = key;
    this.token = token;
    this.fencingToken = fencingToken;
    this.ttlMs = ttlMs;
    this.#deadline = deadline;
  }

  get expiresAt(): number {
    // Computed when read: an acquire + release that never looks at it reads no clock for it.
    return Date.now() + (this.#deadline - performance.now());
  }

  /** The monotonic deadline (performance.now() time base). */
  get deadline(): number {
    return this.#deadline;
  }

  get held(): boolean {
    if (this.#state !== 'held') return false;
    if (performance.now() < this.#deadline) return true;
    this.lose('expired', 'expired before it was extended');
    return false;
  }

  /** True once released or lost (no more extension, no more waiting on it). */
  get ended(): boolean {
    return this.#state !== 'held';
  }

  get signal(): AbortSignal {
    // Created on first use: a lock that is only acquired and released costs no timer.
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#state === 'lost' || (this.#state === 'held' && !this.held)) {
        this.#controller.abort(new LockLostError(this.key, 'expired before it was extended'));
      } else if (this.#state === 'held') {
        this.#arm();
      }
    }
    return this.#controller.signal;
  }

  release(): Promise<boolean> {
    // Not an async function: the manager's promise is returned as is (no wrapper promise).
    if (this.#state === 'released') return RELEASED;
    try {
      const wasHeld = this.#state === 'held';
      this.#state = 'released';
      this.#disarm();
      if (wasHeld) this.#owner.lockEnded(this, undefined);
      return this.#owner.releaseLock(this);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async extend(ttlMs?: number): Promise<void> {
    const ttl = ttlMs === undefined ? this.ttlMs : this.#owner.validateTtl(ttlMs);
    if (!this.held) {
      throw new LockLostError(
        this.key,
        this.#state === 'released' ? 'already released' : 'expired',
      );
    }
    const deadline = await this.#owner.extendLock(this, ttl);
    if (this.#state !== 'held') {
      throw new LockLostError(
        this.key,
        this.#state === 'released' ? 'already released' : 'expired',
      );
    }
    if (deadline === false) {
      throw this.lose('not-owner', 'an extension found another owner (it had expired)');
    }
    this.#deadline = deadline;
    if (this.#controller !== undefined) this.#arm();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    // Disposal never throws: if Redis is unreachable the lock simply expires with its TTL.
    await this.release().catch(() => false);
  }

  /** Marks the lock lost and aborts its signal (once). Returns the loss error. */
  lose(reason: LockLostReason, why: string, cause?: unknown): LockLostError {
    const error = new LockLostError(this.key, why, cause);
    if (this.#state !== 'held') return error;
    this.#state = 'lost';
    this.#disarm();
    this.#owner.lockEnded(this, reason);
    this.#controller?.abort(error);
    return error;
  }

  #arm(): void {
    this.#disarm();
    const delay = Math.max(this.#deadline - performance.now(), 0);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#state === 'held' && performance.now() >= this.#deadline) {
        this.lose('expired', 'expired before it was extended');
      } else if (this.#state === 'held') {
        this.#arm();
      }
    }, Math.ceil(delay));
    this.#timer.unref();
  }

  #disarm(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
