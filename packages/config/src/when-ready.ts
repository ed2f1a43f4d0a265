import { lastConnectionError, notConnectedError } from './_internal/fail-fast-client.js';
import type { RedisClient } from './client.js';
import type { RedisNotConnectedError } from './errors.js';

const pending = new WeakMap<object, Promise<void>>();
// One error per client and cause: this path runs for every call while Redis is down, so the
// error (and its stack) is built once per failure, not once per call.
const refusals = new WeakMap<
  object,
  { status: string; cause: Error | undefined; error: RedisNotConnectedError }
>();

function refusal(client: RedisClient): RedisNotConnectedError {
  const cause = lastConnectionError(client);
  const cached = refusals.get(client);
  if (cached !== undefined && cached.cause === cause && cached.status === client.status) {
    return cached.error;
  }
  const error = notConnectedError(client);
  refusals.set(client, { status: client.status, cause, error });
  return error;
}

/**
 * For commands that must never wait in a queue: returns `undefined` when `client` is ready (the
 * common case, no allocation), else a promise that resolves once `client` is ready to take a
 * command. A client that is still making its first connection is awaited (one shared promise per
 * client; the caller's deadline bounds the wait); one that lost its link (`reconnecting`,
 * `close`, `end`) fails at once, so no command ever sits in an offline queue to be sent later,
 * after the caller has already decided without it. Failures are a `RedisNotConnectedError`
 * (`E_REDIS_NOT_CONNECTED`) whose `cause` is the last connection error.
 */
export function whenReady(client: RedisClient): Promise<void> | undefined {
  const status = client.status;
  if (status === 'ready') return undefined;
  if (status !== 'wait' && status !== 'connecting' && status !== 'connect') {
    return Promise.reject(refusal(client));
  }
  let promise = pending.get(client);
  if (promise === undefined) {
    promise = new Promise<void>((resolve, reject) => {
      const done = (error?: Error): void => {
        client.off('ready', onReady);
        client.off('close', onClose);
        client.off('end', onClose);
        pending.delete(client);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onReady = (): void => done();
      const onClose = (): void => done(notConnectedError(client));
      client.on('ready', onReady);
      client.on('close', onClose);
      client.on('end', onClose);
    });
    pending.set(client, promise);
    if (status === 'wait') client.connect().catch(() => {});
  }
  return promise;
}

/**
 * True for a `NOSCRIPT` error reply (the script cache was flushed, e.g. by a restart or `SCRIPT
 * FLUSH`). The script did not run, so sending it again with EVAL cannot apply it twice.
 */
export function isNoScriptError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as Error).message === 'string' &&
    (error as Error).message.startsWith('NOSCRIPT')
  );
}
