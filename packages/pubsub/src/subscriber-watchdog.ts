import { dropConnection } from '@x/connection';
import type { Redis } from 'ioredis';

/** Timing of a {@link SubscriberWatchdog}. */
export interface SubscriberWatchdogOptions {
  /** Period of the PING. */
  intervalMs: number;
  /** Deadline of a PING, and of a handshake (connected at TCP level, never ready). */
  timeoutMs: number;
  /** A PING missed its deadline: called before the connection is dropped. */
  onMiss(error: Error): void;
}

/**
 * Notices a frozen or blackholed server under a standalone subscriber connection, which nothing
 * else would: a connection in subscriber mode sends nothing while no message comes, and the
 * connection's own outage watch PINGs the publishing connection, not this one.
 *
 * Every `intervalMs` the connection is PINGed under `timeoutMs` (PING is allowed in subscriber
 * mode); a miss calls `onMiss` and drops the connection at once, and ioredis reconnects by its
 * retry strategy. A reconnection whose handshake does not complete within `timeoutMs` (the
 * server accepts TCP and never answers) is dropped the same way.
 */
export class SubscriberWatchdog {
  readonly #client: Redis;
  readonly #timeoutMs: number;
  readonly #onMiss: (error: Error) => void;
  readonly #interval: ReturnType<typeof setInterval>;
  #pingTimer: ReturnType<typeof setTimeout> | undefined;
  /** Bumped to forget the PING in flight. */
  #epoch = 0;
  /** When the current connection reached TCP `connect` without being ready yet, else 0. */
  #connectSince = 0;

  constructor(client: Redis, options: SubscriberWatchdogOptions) {
    this.#client = client;
    this.#timeoutMs = options.timeoutMs;
    this.#onMiss = options.onMiss;
    client.on('connect', this.#onConnect);
    client.on('ready', this.#onReady);
    client.on('close', this.#onClose);
    this.#interval = setInterval(this.#tick, options.intervalMs);
    this.#interval.unref();
  }

  /** Stops every timer and listener. */
  stop(): void {
    clearInterval(this.#interval);
    this.#cancelPing();
    this.#client.off('connect', this.#onConnect);
    this.#client.off('ready', this.#onReady);
    this.#client.off('close', this.#onClose);
  }

  readonly #onConnect = (): void => {
    this.#connectSince = Date.now();
  };

  readonly #onReady = (): void => {
    this.#connectSince = 0;
  };

  readonly #onClose = (): void => {
    this.#connectSince = 0;
    this.#cancelPing();
  };

  readonly #tick = (): void => {
    const client = this.#client;
    if (client.status === 'ready') {
      if (this.#pingTimer !== undefined) return;
      const epoch = ++this.#epoch;
      this.#pingTimer = setTimeout(this.#onPingTimeout, this.#timeoutMs);
      this.#pingTimer.unref();
      client.ping().then(() => {
        if (epoch === this.#epoch) this.#cancelPing();
      }, noop);
    } else if (
      client.status === 'connect' &&
      this.#connectSince !== 0 &&
      Date.now() - this.#connectSince > this.#timeoutMs
    ) {
      // Connected at TCP level but the handshake never completes: a frozen or blackholed server.
      this.#connectSince = 0;
      dropConnection(client, true);
    }
  };

  readonly #onPingTimeout = (): void => {
    this.#pingTimer = undefined;
    this.#epoch++;
    this.#onMiss(pingTimeout(this.#timeoutMs));
    dropConnection(this.#client, true);
  };

  #cancelPing(): void {
    if (this.#pingTimer !== undefined) clearTimeout(this.#pingTimer);
    this.#pingTimer = undefined;
  }
}

/**
 * The error of a PING of a subscriber connection that missed its deadline: `ETIMEDOUT`, so that the
 * connection's diagnosis classifies it as a `timeout` problem.
 */
export function pingTimeout(timeoutMs: number, of = 'the subscriber connection'): Error {
  return Object.assign(new Error(`PING of ${of} unanswered after ${timeoutMs} ms`), {
    code: 'ETIMEDOUT',
  });
}

function noop(): void {}
