/**
 * Awaits `promise` and measures how long it took to resolve (a rejection is thrown on).
 *
 * @example
 * const { value, ms } = await timed(limiter.consume('k'));
 */
export async function timed<T>(promise: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await promise;
  return { value, ms: performance.now() - started };
}

/**
 * Awaits `promise`, which must reject, and measures how long that took; throws if it resolved.
 *
 * @example
 * const { error, ms } = await rejection(store.ready());
 * expect(ms).toBeLessThan(600);
 */
export async function rejection(
  promise: Promise<unknown>,
): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  try {
    await promise;
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
  throw new Error('expected a rejection, it resolved');
}
