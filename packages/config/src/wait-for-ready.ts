import type { RedisClient } from './client.js';

/** Options of {@link waitForReady}. */
export interface WaitForReadyOptions {
  /** Give up after this long (ms). @default 1_000 (the start-up probe timeout) */
  timeoutMs?: number;
  /** Stop waiting (resolves `false`) when aborted. */
  signal?: AbortSignal;
}

/**
 * Resolves `true` once `client` is ready (at once if it already is), `false` after `timeoutMs`,
 * on abort, or when the client ends. Never rejects. Clients from `createRedisClient` have no
 * offline queue, so a command sent before `ready` rejects at once: await this first when a
 * freshly created client must serve its first command.
 * @example
 * const redis = createRedisClient(url);
 * if (!(await waitForReady(redis, { timeoutMs: 1_000 }))) log.warn('Redis not reachable yet');
 */
export function waitForReady(
  client: RedisClient,
  options: WaitForReadyOptions = {},
): Promise<boolean> {
  const { timeoutMs = 1_000, signal } = options;
  if (client.status === 'ready') return Promise.resolve(true);
  if (client.status === 'end' || signal?.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const done = (ready: boolean): void => {
      clearTimeout(timer);
      client.removeListener('ready', onReady);
      client.removeListener('end', onEnd);
      signal?.removeEventListener('abort', onEnd);
      resolve(ready);
    };
    const onReady = (): void => done(true);
    const onEnd = (): void => done(false);
    const timer = setTimeout(onEnd, timeoutMs);
    client.once('ready', onReady);
    client.once('end', onEnd);
    signal?.addEventListener('abort', onEnd, { once: true });
  });
}
