import type { Connection } from '@x/connection';

type Subscriber = ReturnType<Connection['duplicate']>;

/**
 * Release announcements over pub/sub (`notify: true`): the release script publishes on a
 * channel named like the lock key, and a manager with waiters subscribes to the keys they wait
 * for, on one second connection (`connection.duplicate('notify')`, opened on first use), so
 * waiters in other processes are woken at once instead of at their next timed retry.
 */
export class ReleaseNotifications {
  readonly #connection: Connection;
  readonly #onRelease: (slot: string) => void;
  /** Channel (= lock key) -> slot, for the channels listened to. */
  readonly #channels = new Map<string, string>();
  #subscriber: Subscriber | undefined;
  #closed = false;

  /** `onRelease(slot)` runs for every announced release of a key listened to. */
  constructor(connection: Connection, onRelease: (slot: string) => void) {
    this.#connection = connection;
    this.#onRelease = onRelease;
  }

  /** Listens to the releases of `channel` (the lock key of `slot`). Idempotent. */
  listen(channel: string, slot: string): void {
    if (this.#closed || this.#channels.has(channel)) return;
    this.#channels.set(channel, slot);
    let subscriber = this.#subscriber;
    if (subscriber === undefined) {
      // Subscriptions are idempotent: queueing them until the connection is up is harmless.
      subscriber = this.#connection.duplicate('notify', { enableOfflineQueue: true });
      subscriber.on('message', this.#onMessage);
      this.#subscriber = subscriber;
    }
    subscriber.subscribe(channel).catch(() => this.#channels.delete(channel));
  }

  /** Stops listening to `channel`. */
  unlisten(channel: string): void {
    if (!this.#channels.delete(channel)) return;
    this.#subscriber?.unsubscribe(channel).catch(noop);
  }

  /** Stops listening; the subscriber connection is closed with the connection it duplicates. */
  close(): void {
    this.#closed = true;
    this.#channels.clear();
    this.#subscriber?.off('message', this.#onMessage);
    this.#subscriber = undefined;
  }

  readonly #onMessage = (channel: string): void => {
    const slot = this.#channels.get(channel);
    if (slot !== undefined) this.#onRelease(slot);
  };
}

function noop(): void {}
