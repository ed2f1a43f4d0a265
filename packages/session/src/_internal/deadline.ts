/**
 * The deadline of one store call, shared by all of its round trips (and the replays it waits
 * for), and whether Redis already answered a part of it.
 */
export class CallDeadline {
  /** When the call must be answered, a `performance.now()` time. */
  readonly until: number;
  /**
   * Redis answered a part of the call: the memory fallback, which may not know what Redis said
   * (a session created before the outage, or copied there since), must not answer the rest.
   */
  redisAnswered = false;

  constructor(timeoutMs: number) {
    this.until = performance.now() + timeoutMs;
  }
}

/** What {@link beforeDeadline} resolves with when the deadline came first. */
export const EXPIRED: unique symbol = Symbol('expired');

/**
 * `promise`, or {@link EXPIRED} once `until` (a `performance.now()` time) has passed, whichever
 * comes first: how a call that already spent part of its deadline (a replay it waited for, a
 * round trip before) bounds the rest. One timer, only while it waits; a late rejection of
 * `promise` is handled (never unhandled).
 */
export function beforeDeadline<T>(promise: Promise<T>, until: number): Promise<T | typeof EXPIRED> {
  promise.catch(noop);
  const left = until - performance.now();
  if (left <= 0) return Promise.resolve(EXPIRED);
  return new Promise<T | typeof EXPIRED>((resolve, reject) => {
    const timer = setTimeout(resolve, Math.ceil(left), EXPIRED);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

function noop(): void {}
