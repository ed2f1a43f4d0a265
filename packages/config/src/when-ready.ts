import type { RedisClient } from './client.js';

const NOT_CONNECTED = new Error('Connection is closed (the client is not connected)');
const pending = new WeakMap<object, Promise<void>>();

/**
 * For commands that must never wait in a queue: returns `undefined` when `client` is ready (the
 * common case, no allocation), else a promise. Resolves once `client` is ready to take a command. A client that is still making its first
 * connection is awaited (one shared promise per client; the caller's deadline bounds the wait);
 * one that lost its link (`reconnecting`, `close`, `end`) fails at once, so no command ever sits in
 * an offline queue to be sent later, after the caller has already decided without it.
 */
export function whenReady(client: RedisClient): Promise<void> | undefined {
  const status = client.status;
  if (status === 'ready') return undefined;
  if (status !== 'wait' && status !== 'connecting' && status !== 'connect') {
    // One shared error: this path runs for every call while Redis is down.
    return Promise.reject(NOT_CONNECTED);
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
      const onClose = (): void => done(new Error('Connection is closed (before ready)'));
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
