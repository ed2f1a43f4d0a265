import type { RedisClient } from '@x/config';

const NOT_CONNECTED = new Error('Connection is closed (the client is not connected)');
const pending = new WeakMap<object, Promise<void>>();

/**
 * For commands that must never wait in a queue: `undefined` when `client` is ready (the common
 * case, no allocation), else a promise that resolves once it is. A client making its first
 * connection is awaited (one shared promise per client; the caller's deadline bounds the wait;
 * a lazy client is told to connect); one that lost its link (`reconnecting`, `close`, `end`)
 * rejects at once, so no command ever sits in an offline queue to be sent later, after the
 * caller has already decided without it.
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
    // The caller may stop waiting (its deadline passed): the late rejection is not unhandled.
    promise.catch(noop);
    pending.set(client, promise);
    if (status === 'wait') client.connect().catch(noop);
  }
  return promise;
}

function noop(): void {}
