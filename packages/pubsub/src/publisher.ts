import { type GuardOperation, isBreakerError, isInfrastructureError } from '@x/breaker';
import type { RedisClient } from '@x/config';
import { type Connection, connectionCallChannel } from '@x/connection';
import type { Redis } from 'ioredis';
import type { Codec } from './codec.js';
import type { Dispatcher } from './dispatch.js';
import { PublishError, PubSubUnavailableError } from './errors.js';
import type { PubSubFallback } from './options.js';

type Payload = string | Buffer;

// One operation object each, shared by every publish: the guard's hot path takes no closure.
const PUBLISH: GuardOperation<number, RedisClient, string, Payload> = {
  run: (client, channel, payload) => client.publish(channel as string, payload as Payload),
};
const SPUBLISH: GuardOperation<number, RedisClient, string, Payload> = {
  run: (client, channel, payload) =>
    (client as Redis).spublish(channel as string, payload as Payload) as Promise<number>,
};

/**
 * Publishes through the connection's guard: under its deadline (also when Redis is frozen) and
 * its breaker, waiting for a first connection within the deadline, failing at once while the link
 * is down. What Redis cannot take is an error, or with `fallback: 'local'` a local delivery; a
 * message is never queued to be sent later.
 */
export class Publisher<T> {
  /** Messages Redis accepted. */
  published = 0;
  /** Publishes rejected (codec, Redis down, deadline, open circuit, error reply). */
  publishErrors = 0;
  /** Publishes delivered only to this process (`fallback: 'local'`). */
  deliveredLocally = 0;
  readonly #connection: Connection;
  readonly #codec: Codec<T>;
  readonly #op: GuardOperation<number, RedisClient, string, Payload>;
  readonly #fallback: PubSubFallback;
  readonly #dispatcher: Dispatcher<T>;

  constructor(
    connection: Connection,
    codec: Codec<T>,
    sharded: boolean,
    fallback: PubSubFallback,
    dispatcher: Dispatcher<T>,
  ) {
    this.#connection = connection;
    this.#codec = codec;
    this.#op = sharded ? SPUBLISH : PUBLISH;
    this.#fallback = fallback;
    this.#dispatcher = dispatcher;
  }

  async publish(channel: string, message: T): Promise<number> {
    if (typeof channel !== 'string' || channel.length === 0) {
      this.publishErrors++;
      throw new PublishError(String(channel), 'the channel must be a non-empty string', undefined);
    }
    let payload: Payload;
    try {
      payload = this.#codec.encode(message);
    } catch (error) {
      this.publishErrors++;
      throw new PublishError(channel, 'the codec could not encode the message', error);
    }
    const connection = this.#connection;
    const client = connection.client;
    try {
      // The guard directly on the hot path; `execute` (which waits for a first connection within
      // the deadline, and traces the call) when the client is not ready or someone traces calls.
      const count =
        client.status === 'ready' && !connectionCallChannel.hasSubscribers
          ? await connection.guard.execute(this.#op, client, channel, payload)
          : await connection.execute((redis) => this.#op.run(redis, channel, payload, undefined), {
              operation: 'publish',
            });
      this.published++;
      return count;
    } catch (error) {
      if (isBreakerError(error) || isInfrastructureError(error)) {
        return this.#unavailable(channel, payload, error);
      }
      this.publishErrors++;
      throw new PublishError(channel, `Redis replied with an error (${String(error)})`, error);
    }
  }

  #unavailable(channel: string, payload: Payload, cause: unknown): number {
    if (this.#fallback === 'none') {
      this.publishErrors++;
      throw new PubSubUnavailableError(
        'publish',
        [channel],
        cause,
        this.#connection.diagnosis() ?? undefined,
      );
    }
    const count = this.#dispatcher.local(
      channel,
      typeof payload === 'string' ? Buffer.from(payload) : payload,
    );
    this.deliveredLocally++;
    return count;
  }
}
