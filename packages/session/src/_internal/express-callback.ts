/** A Node-style callback of the express-session store API. */
export type StoreCallback<T = void> = (error: any, value?: T) => void;

/**
 * Settles a store call the way its caller asked: with a `callback`, the callback is called on a
 * later tick, outside any promise chain (`process.nextTick` after the promise settled), so an
 * exception thrown by the callback surfaces as an uncaught exception of that tick, where the
 * caller's framework sees it, never as an unhandled rejection or a silent timeout. Without a
 * callback, the promise is returned (connect-redis style); it is marked as handled, so a caller
 * that ignores it (fire and forget, as the callback API allowed) does not crash the process with
 * an unhandled rejection, while a caller that awaits it still gets the error.
 */
export function deliver<T>(promise: Promise<T>, callback: unknown): Promise<T> | undefined {
  if (typeof callback !== 'function') {
    promise.catch(noop);
    return promise;
  }
  const cb = callback as StoreCallback<T>;
  promise.then(
    (value) => process.nextTick(cb, null, value),
    (error: unknown) => process.nextTick(cb, error),
  );
  return undefined;
}

function noop(): void {}
