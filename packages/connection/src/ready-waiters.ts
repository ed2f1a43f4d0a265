/** One caller of `ready()` waiting for Redis. */
interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
  timer: NodeJS.Timeout;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * The callers waiting in `ready()`: each settles by its deadline (with the error `onTimeout`
 * gives), on abort, or when the connection settles them all (usable, misconfigured, closed).
 */
export class ReadyWaiters {
  readonly #waiters = new Set<Waiter>();

  /** Waits until {@link ReadyWaiters.settleAll}, at most `timeoutMs`. */
  wait(timeoutMs: number, signal: AbortSignal | undefined, onTimeout: () => Error): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: undefined,
        timer: setTimeout(() => this.#settle(waiter, onTimeout()), timeoutMs),
      };
      waiter.timer.unref();
      if (signal !== undefined) {
        waiter.onAbort = () => this.#settle(waiter, signal.reason);
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#waiters.add(waiter);
    });
  }

  /** Resolves every waiter (`error` undefined) or rejects them all with `error`. */
  settleAll(error?: unknown): void {
    for (const waiter of [...this.#waiters]) this.#settle(waiter, error);
  }

  #settle(waiter: Waiter, error: unknown): void {
    if (!this.#waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    if (error === undefined) waiter.resolve();
    else waiter.reject(error);
  }
}
