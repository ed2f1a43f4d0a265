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
