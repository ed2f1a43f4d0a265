import { explainConnectionError } from './_internal/connection-hint.js';
import {
  describeTarget,
  isMisconfigured,
  notConnectedError,
} from './_internal/fail-fast-client.js';
import type { RedisClient } from './client.js';
import { ConfigError } from './errors.js';

/** Options of {@link waitForReady}. */
export interface WaitForReadyOptions {
  /** Give up after this long (ms). @default 1_000 (the start-up probe timeout) */
  timeoutMs?: number;
  /** Stop waiting: the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/**
 * Resolves once `client` is ready (at once if it already is). Otherwise rejects with a
 * `RedisNotConnectedError` (`E_REDIS_NOT_CONNECTED`) that says why, its `cause` being the error of
 * the last failed connection attempt (`WRONGPASS`, `ECONNREFUSED`, `ENOTFOUND`, a TLS error...):
 * - after `timeoutMs`;
 * - at once when the client ends, or when a connection attempt fails in a way that waiting does
 *   not fix (wrong password, missing password, untrusted certificate, TLS on one side only, a
 *   failing credentials provider); the client itself keeps retrying in the background;
 * - with `signal.reason` when `signal` aborts.
 *
 * Clients from `createRedisClient` have no offline queue, so a command sent before `ready` rejects
 * at once: await this first when a freshly created client must serve its first command.
 * @throws ConfigError (synchronously) when `timeoutMs` is not a positive number.
 * @example
 * const redis = createRedisClient(url);
 * try {
 *   await waitForReady(redis, { timeoutMs: 1_000 });
 * } catch (error) {
 *   log.warn(error.message); // e.g. "... the last connection attempt failed: connect ECONNREFUSED ..."
 * }
 */
export function waitForReady(
  client: RedisClient,
  options: WaitForReadyOptions = {},
): Promise<void> {
  const { timeoutMs = 1_000, signal } = options;
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
    throw new ConfigError([
      { path: 'timeoutMs', message: `must be a positive number of ms, got ${String(timeoutMs)}` },
    ]);
  }
  if (client.status === 'ready') return Promise.resolve();
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (client.status === 'end' || isMisconfigured(client)) {
    return Promise.reject(notConnectedError(client));
  }
  const { address, tls } = describeTarget(client);
  const misconfigured = (error: unknown): boolean =>
    explainConnectionError(error, address, tls)?.type === 'misconfiguration';
  return new Promise<void>((resolve, reject) => {
    // Errors seen while waiting, for a client whose errors are not recorded already.
    let seen: Error | undefined;
    const finish = (error?: unknown): void => {
      clearTimeout(timer);
      client.removeListener('ready', onReady);
      client.removeListener('end', onEnd);
      client.removeListener('error', onError);
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onReady = (): void => finish();
    const onEnd = (): void => finish(notConnectedError(client, undefined, seen));
    const onError = (error: Error): void => {
      seen = error;
      if (misconfigured(error)) finish(notConnectedError(client, undefined, seen));
    };
    const onAbort = (): void => finish(signal?.reason);
    const timer = setTimeout(() => finish(notConnectedError(client, timeoutMs, seen)), timeoutMs);
    client.once('ready', onReady);
    client.once('end', onEnd);
    client.on('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
