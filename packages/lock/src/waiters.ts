import type { Retry } from './options.js';

/** The manager a waiter belongs to: told when its waiters for a key come and go. */
export interface WaiterOwner {
  /** A waiter of this owner queued for `slot` (notify mode subscribes to its releases). */
  waiting(slot: string): void;
  /** A waiter of this owner for `slot` left the queue (woken, timed out, aborted, dropped). */
  left(slot: string): void;
}

interface Waiter {
  readonly owner: WaiterOwner;
  /** -1: woken by a release; otherwise the timed retries used up. */
  readonly resolve: (waited: number) => void;
  readonly reject: (error: unknown) => void;
  timer: NodeJS.Timeout;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * The local waiters of one scope (servers + key prefix), per lock key, in arrival order: every
 * manager of this process on the same servers and prefix queues here, so that a lock released by
 * any of them is handed straight to the next local waiter (FIFO), without waiting for a timed
 * retry. Bounded by the acquisitions in flight (each has at most one waiter).
 */
export class WaiterQueues {
  readonly #queues = new Map<string, Waiter[]>();
  /**
   * How long a try of a key is sure to fail as far as this process knows (see
   * `Registry.busyFor`): a timed wake before then keeps its place instead of trying.
   */
  readonly #busyFor: (slot: string) => number;

  constructor(busyFor: (slot: string) => number) {
    this.#busyFor = busyFor;
  }

  /**
   * Waits `ms`, or less when a lock of this process on `slot` ends ({@link WaiterQueues.wakeOne}).
   * Resolves with -1 when woken that way, else with the timed retries used up (at most `budget`).
   * While the key is held in this process, or being handed over to one of its waiters, a timed
   * wake keeps the waiter in its place in the queue (a try would fail, and send it to the back).
   * Rejects with `signal.reason` when aborted.
   */
  wait(
    owner: WaiterOwner,
    slot: string,
    ms: number,
    signal: AbortSignal | undefined,
    front: boolean,
    retry: Retry,
    budget: number,
  ): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      let queue = this.#queues.get(slot);
      if (queue === undefined) {
        queue = [];
        this.#queues.set(slot, queue);
      }
      let used = 0;
      const onTimer = (): void => {
        used++;
        const busy = this.#busyFor(slot);
        if (busy > 0 && used < budget) {
          let delay = retry.delayMs + (retry.jitter > 0 ? Math.random() * retry.jitter : 0);
          if (busy + 1 < delay) delay = busy + 1;
          waiter.timer = setTimeout(onTimer, Math.ceil(delay));
          return;
        }
        this.#remove(slot, waiter);
        if (waiter.onAbort !== undefined) signal!.removeEventListener('abort', waiter.onAbort);
        resolve(used);
      };
      const waiter: Waiter = {
        owner,
        resolve,
        reject,
        timer: setTimeout(onTimer, ms),
        signal,
        onAbort: undefined,
      };
      if (signal !== undefined) {
        waiter.onAbort = () => {
          this.#remove(slot, waiter);
          settle(waiter, signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      // A waiter that was woken and lost the race keeps its place at the head.
      if (front) queue.unshift(waiter);
      else queue.push(waiter);
      owner.waiting(slot);
    });
  }

  /** Wakes the first waiter for `slot` (a lock of this process on it ended). */
  wakeOne(slot: string): void {
    const queue = this.#queues.get(slot);
    if (queue === undefined) return;
    const waiter = queue.shift();
    if (queue.length === 0) this.#queues.delete(slot);
    if (waiter === undefined) return;
    clearTimeout(waiter.timer);
    if (waiter.onAbort !== undefined) waiter.signal!.removeEventListener('abort', waiter.onAbort);
    waiter.owner.left(slot);
    waiter.resolve(-1);
  }

  /** Whether `owner` has a waiter for `slot`. */
  has(owner: WaiterOwner, slot: string): boolean {
    return this.#queues.get(slot)?.some((w) => w.owner === owner) === true;
  }

  /** Rejects every waiter of `owner` with `error` (its manager was closed). */
  dropAll(owner: WaiterOwner, error: unknown): void {
    for (const [slot, queue] of [...this.#queues]) {
      for (const waiter of [...queue]) {
        if (waiter.owner !== owner) continue;
        this.#remove(slot, waiter);
        settle(waiter, error);
      }
    }
  }

  #remove(slot: string, waiter: Waiter): void {
    const queue = this.#queues.get(slot);
    if (queue === undefined) return;
    const index = queue.indexOf(waiter);
    if (index < 0) return;
    queue.splice(index, 1);
    if (queue.length === 0) this.#queues.delete(slot);
    waiter.owner.left(slot);
  }
}

function settle(waiter: Waiter, error: unknown): void {
  clearTimeout(waiter.timer);
  if (waiter.onAbort !== undefined) waiter.signal!.removeEventListener('abort', waiter.onAbort);
  waiter.reject(error);
}
