import type { Retry } from './options.js';

/** The manager a waiter belongs to: told when its waiters for a key come and go. */
export interface WaiterOwner {
  /** A waiter of this owner queued for `slot` (notify mode subscribes to its releases). */
  waiting(slot: string): void;
  /** A waiter of this owner for `slot` left the queue (woken, timed out, aborted, dropped). */
  left(slot: string): void;
}

// The resolving functions of the promise being created: a wait allocates no executor closure.
let capturedResolve: (waited: number) => void = noop;
let capturedReject: (error: unknown) => void = noop;
function capture(resolve: (waited: number) => void, reject: (error: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/** One waiting `acquire`: its timer calls {@link onTimer} with it (no closure per wait). */
class Waiter {
  readonly queues: WaiterQueues;
  readonly owner: WaiterOwner;
  readonly slot: string;
  readonly retry: Retry;
  /** Timed wakes allowed before the wait resolves anyway. */
  readonly budget: number;
  /** -1: woken by a release; otherwise the timed retries used up. */
  readonly resolve: (waited: number) => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
  /** Timed wakes so far. */
  used = 0;
  timer: NodeJS.Timeout | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;

  constructor(
    queues: WaiterQueues,
    owner: WaiterOwner,
    slot: string,
    signal: AbortSignal | undefined,
    retry: Retry,
    budget: number,
  ) {
    this.queues = queues;
    this.owner = owner;
    this.slot = slot;
    this.signal = signal;
    this.retry = retry;
    this.budget = budget;
    this.resolve = capturedResolve;
    this.reject = capturedReject;
  }
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
    const promise = new Promise<number>(capture);
    const waiter = new Waiter(this, owner, slot, signal, retry, budget);
    waiter.timer = setTimeout(onTimer, ms, waiter);
    if (signal !== undefined) {
      waiter.onAbort = () => {
        this.#remove(waiter);
        settle(waiter, signal.reason);
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
    }
    let queue = this.#queues.get(slot);
    if (queue === undefined) {
      queue = [];
      this.#queues.set(slot, queue);
    }
    // A waiter that was woken and lost the race keeps its place at the head.
    if (front) queue.unshift(waiter);
    else queue.push(waiter);
    owner.waiting(slot);
    return promise;
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
    for (const queue of [...this.#queues.values()]) {
      for (const waiter of [...queue]) {
        if (waiter.owner !== owner) continue;
        this.#remove(waiter);
        settle(waiter, error);
      }
    }
  }

  /** @internal A timed wake of `waiter`: re-armed while a try is sure to fail, else it resolves. */
  tick(waiter: Waiter): void {
    waiter.used++;
    const busy = this.#busyFor(waiter.slot);
    if (busy > 0 && waiter.used < waiter.budget) {
      const retry = waiter.retry;
      let delay = retry.delayMs + (retry.jitter > 0 ? Math.random() * retry.jitter : 0);
      if (busy + 1 < delay) delay = busy + 1;
      waiter.timer = setTimeout(onTimer, Math.ceil(delay), waiter);
      return;
    }
    this.#remove(waiter);
    if (waiter.onAbort !== undefined) waiter.signal!.removeEventListener('abort', waiter.onAbort);
    waiter.resolve(waiter.used);
  }

  #remove(waiter: Waiter): void {
    const slot = waiter.slot;
    const queue = this.#queues.get(slot);
    if (queue === undefined) return;
    const index = queue.indexOf(waiter);
    if (index < 0) return;
    queue.splice(index, 1);
    if (queue.length === 0) this.#queues.delete(slot);
    waiter.owner.left(slot);
  }
}

function onTimer(waiter: Waiter): void {
  waiter.queues.tick(waiter);
}

function settle(waiter: Waiter, error: unknown): void {
  clearTimeout(waiter.timer);
  if (waiter.onAbort !== undefined) waiter.signal!.removeEventListener('abort', waiter.onAbort);
  waiter.reject(error);
}

function noop(): void {}
