import { EventEmitter } from 'node:events';
import {
  announceInstance,
  type Connection,
  createConnection,
  isXError,
  type Log,
  type Problem,
  type ReadyOptions,
  type RedisStats,
  toLog,
} from '@x/connection';
import { gapChannel } from './channels.js';
import type { Codec } from './codec.js';
import { Dispatcher } from './dispatch.js';
import { PubSubClosedError, PubSubOptionsError, PubSubUnavailableError } from './errors.js';
import {
  type PubSubOptions,
  parseTargets,
  type ResolvedPubSubOptions,
  resolvePubSubOptions,
  resolveSubscribeOptions,
  type SubscribeTargets,
} from './options.js';
import { Publisher } from './publisher.js';
import { ReadyDeadlines } from './ready-deadline.js';
import { Registry } from './registry.js';
import { Subscriber } from './subscriber-connection.js';
import {
  type GapInfo,
  type GapReason,
  type SubscribeOptions,
  Subscription,
  type SubscriptionHost,
} from './subscription.js';

const PKG = '@x/pubsub';

/**
 * Whether a Cluster's nodes connect through a custom ioredis `Connector` (the credentials provider
 * of `@x/config` is one). ioredis' classic cluster subscriber connection is built from host, port,
 * user and password only and never uses it.
 */
function usesConnector(client: unknown): boolean {
  const options = (client as { options?: { redisOptions?: { Connector?: unknown } } }).options;
  return typeof options?.redisOptions?.Connector === 'function';
}

/** Counters and state of a pub/sub instance (monotonic counters, and gauges). */
export interface PubSubStats {
  /** The connection's block, as in every x package: state, calls, failures, breaker, problem... */
  redis: RedisStats;
  /** Messages Redis accepted. */
  published: number;
  /** Publishes rejected (codec, Redis down, deadline, open circuit, error reply). */
  publishErrors: number;
  /** Publishes delivered only to this process (`fallback: 'local'`). */
  deliveredLocally: number;
  /** Messages received from Redis (before fan-out to subscriptions). */
  received: number;
  /** Messages handed to iterators or `message` listeners, over every subscription. */
  delivered: number;
  /** Messages the overflow policies discarded, over every subscription. */
  dropped: number;
  /** Received payloads the codec rejected. */
  malformed: number;
  /** Times the subscriber connection came back after a loss (each one a `gap`). */
  gaps: number;
  /** Times the subscriber connection was found lost (closed, or a PING missed its deadline). */
  disconnects: number;
  /** Subscriptions whose `ready` rejected because Redis did not confirm in time or is misconfigured. */
  readyFailures: number;
  /** Subscriptions open now. */
  subscriptions: number;
  /** Channels subscribed on Redis now. */
  channels: number;
  /** Patterns subscribed on Redis now. */
  patterns: number;
  /** Whether the subscriber connection is up with nothing lost (or not needed yet). */
  connected: boolean;
}

/** Events of a pub/sub instance. */
export interface PubSubEvents {
  /** The subscriber connection was found lost (closed, or a PING missed its deadline). */
  disconnect: [info: { reason: GapReason; error?: unknown }];
  /** The subscriber connection is back and every channel is subscribed again. */
  gap: [info: GapInfo];
  /** A background error (subscriber connection errors, failed re-subscribes). */
  error: [error: unknown];
}

/** Publishes and subscribes through Redis with bounded buffers, bounded waits and typed failures. */
export interface PubSub<T = unknown> extends EventEmitter<PubSubEvents> {
  /**
   * Publishes `message` (encoded with the codec) and resolves with the number of receivers Redis
   * reports (for sharded pub/sub: on the channel's shard). Settles within `timeoutMs`.
   * @throws PubSubUnavailableError (`E_PUBSUB_UNAVAILABLE`, with the diagnosis in `problem`) when
   * Redis is down, frozen past `timeoutMs` or the circuit is open (unless `fallback: 'local'`);
   * PublishError (`E_PUBSUB_PUBLISH`) when the codec fails or Redis replies with an error;
   * PubSubClosedError (`E_PUBSUB_CLOSED`) after `close()`.
   */
  publish(channel: string, message: T): Promise<number>;
  /**
   * Subscribes to channels and patterns. A string or an array of strings are channel names;
   * `{ channels, patterns }` names both (patterns use Redis glob syntax: `news.*`).
   * Returns at once; `subscription.ready` settles within `timeoutMs` (see `Subscription.ready`).
   * @throws PubSubOptionsError on invalid options or targets; PubSubClosedError after `close()`.
   */
  subscribe(targets: SubscribeTargets, options?: SubscribeOptions): Subscription<T>;
  /**
   * Resolves once Redis is usable (at once when it is). Rejects with `PubSubUnavailableError`
   * (`problem`: what is wrong) at once on a misconfiguration, at the deadline (`timeoutMs` of the
   * pub/sub unless given) when Redis is unreachable or frozen, with `signal.reason` when aborted,
   * with `PubSubClosedError` after `close()`. Keeps trying in the background either way.
   */
  ready(options?: ReadyOptions): Promise<void>;
  /** Counters, with the connection's `redis` block. */
  stats(): PubSubStats;
  /**
   * Closes every subscription, stops the watchdogs, closes the subscriber connection and the
   * client if it was created here (a client passed in is left untouched). Idempotent; settles
   * within about `timeoutMs` (at most 1 s), also when Redis is frozen.
   */
  close(): Promise<void>;
}

/**
 * Creates a pub/sub over Redis. Synchronous and non-blocking: Redis being down never throws here.
 * The subscriber connection is created on the first `subscribe`, as a duplicate of the connection
 * (same options and credentials).
 * @throws PubSubOptionsError (`E_PUBSUB_OPTIONS`) naming the invalid option; ConfigError of
 * `@x/config` for an invalid URL or config.
 * @example
 * const pubsub = createPubSub({ redis: 'redis://localhost:6379' });
 * const sub = pubsub.subscribe('orders');
 * await sub.ready;
 * await pubsub.publish('orders', { id: 1 });
 * for await (const { data } of sub) console.log(data);
 */
export function createPubSub<T = unknown>(options: PubSubOptions<T>): PubSub<T> {
  return new RedisPubSub<T>(options);
}

class RedisPubSub<T> extends EventEmitter<PubSubEvents> implements PubSub<T>, SubscriptionHost {
  readonly totals = { delivered: 0, dropped: 0 };
  readonly #o: ResolvedPubSubOptions<T>;
  readonly #connection: Connection;
  readonly #log: Log;
  readonly #registry = new Registry();
  readonly #dispatcher: Dispatcher<T>;
  readonly #publisher: Publisher<T>;
  readonly #deadlines: ReadyDeadlines;
  readonly #subscriptions = new Set<Subscription<T>>();
  #subscriber: Subscriber | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #gaps = 0;
  #disconnects = 0;
  #readyFailures = 0;
  /** A missed `ready` was logged; reset when Redis confirms a subscription again. */
  #missLogged = false;

  constructor(options: PubSubOptions<T>) {
    super();
    const o = resolvePubSubOptions(options);
    this.#o = o;
    this.#log = toLog(o.logger);
    this.#connection = createConnection({
      redis: o.redis,
      ioredis: o.ioredis,
      timeoutMs: o.timeoutMs,
      breaker: o.breaker,
      logger: o.logger,
      name: PKG,
      optionError: (field, value, expected) => new PubSubOptionsError(field, value, expected),
    });
    this.#dispatcher = new Dispatcher(this.#registry, o.codec as Codec<T>);
    this.#publisher = new Publisher(
      this.#connection,
      o.codec,
      o.sharded,
      o.fallback,
      this.#dispatcher,
    );
    this.#deadlines = new ReadyDeadlines(this.#connection, o.timeoutMs, this.#onReadyMissed);
    announceInstance(PKG, 'open', this);
  }

  publish(channel: string, message: T): Promise<number> {
    if (this.#closed) return Promise.reject(new PubSubClosedError('pub/sub'));
    return this.#publisher.publish(channel, message);
  }

  subscribe(targets: SubscribeTargets, options: SubscribeOptions = {}): Subscription<T> {
    if (this.#closed) throw new PubSubClosedError('pub/sub');
    const { channels, patterns } = parseTargets(targets);
    if (this.#o.sharded && patterns.length > 0) {
      throw new PubSubOptionsError('patterns', patterns, 'no patterns with sharded pub/sub');
    }
    if (!this.#o.sharded && this.#connection.isCluster && usesConnector(this.#connection.client)) {
      throw new PubSubOptionsError(
        'sharded',
        false,
        "true on a Cluster whose nodes authenticate through a Connector (@x/config's `credentials`): ioredis opens its cluster-wide subscriber connection without it, so it would not be authenticated",
      );
    }
    const resolved = resolveSubscribeOptions(options);
    const subscription = new Subscription<T>(this, channels, patterns, resolved);
    if (resolved.signal?.aborted) {
      subscription.close();
      return subscription;
    }
    this.#subscriptions.add(subscription);
    subscription.once('close', () => {
      this.#subscriptions.delete(subscription);
      this.#deadlines.done(subscription);
    });
    this.#subscriber ??= this.#createSubscriber();
    const registry = this.#registry;
    this.#subscriber.subscribe('c', registry.attach('c', channels, subscription));
    this.#subscriber.subscribe('p', registry.attach('p', patterns, subscription));
    if (registry.confirmed(subscription)) subscription._confirm();
    else this.#deadlines.start(subscription);
    return subscription;
  }

  async ready(options: ReadyOptions = {}): Promise<void> {
    if (this.#closed) throw new PubSubClosedError('pub/sub');
    try {
      await this.#connection.ready({
        timeoutMs: options.timeoutMs ?? this.#o.timeoutMs,
        signal: options.signal,
      });
    } catch (error) {
      if (isXError(error, 'E_CONNECTION_CLOSED')) throw new PubSubClosedError('pub/sub');
      const problem = (error as { problem?: Problem }).problem;
      if (problem === undefined) throw error; // aborted: signal.reason
      throw new PubSubUnavailableError('ready', [], error, problem);
    }
  }

  stats(): PubSubStats {
    const publisher = this.#publisher;
    const dispatcher = this.#dispatcher;
    return {
      redis: this.#connection.stats(),
      published: publisher.published,
      publishErrors: publisher.publishErrors,
      deliveredLocally: publisher.deliveredLocally,
      received: dispatcher.received,
      delivered: this.totals.delivered,
      dropped: this.totals.dropped,
      malformed: dispatcher.malformed,
      gaps: this.#gaps,
      disconnects: this.#disconnects,
      readyFailures: this.#readyFailures,
      subscriptions: this.#subscriptions.size,
      channels: this.#registry.channelCount,
      patterns: this.#registry.patternCount,
      connected: this.#subscriber?.connected ?? true,
    };
  }

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    for (const subscription of [...this.#subscriptions]) subscription.close();
    this.#deadlines.stop();
    this.#subscriber?.stop();
    this.#closing = this.#connection.close();
    announceInstance(PKG, 'close', this);
    return this.#closing;
  }

  /** @internal Called by a subscription that no longer wants these channels / patterns. */
  detach(
    subscription: Subscription<T>,
    channels: readonly string[],
    patterns: readonly string[],
  ): void {
    const goneChannels = this.#registry.detach('c', channels, subscription);
    const gonePatterns = this.#registry.detach('p', patterns, subscription);
    this.#subscriber?.unsubscribe('c', goneChannels);
    this.#subscriber?.unsubscribe('p', gonePatterns);
  }

  #createSubscriber(): Subscriber {
    const o = this.#o;
    return new Subscriber({
      connection: this.#connection,
      registry: this.#registry,
      sharded: o.sharded,
      pingIntervalMs: o.pingIntervalMs,
      pingTimeoutMs: o.pingTimeoutMs,
      reconnect: o.reconnect,
      events: {
        message: (channel, pattern, payload) =>
          this.#dispatcher.fromRedis(channel, pattern, payload),
        confirmed: (subscription) => {
          if (!this.#registry.confirmed(subscription)) return;
          this.#deadlines.done(subscription);
          this.#missLogged = false;
          subscription._confirm();
        },
        refused: (error, subscriptions) => {
          for (const s of subscriptions) {
            this.#deadlines.done(s);
            s._refused(error);
          }
        },
        lost: this.#onLost,
        restored: this.#onRestored,
        error: (error) => {
          if (this.listenerCount('error') > 0) this.emit('error', error);
        },
      },
    });
  }

  readonly #onLost = (reason: GapReason, error: unknown): void => {
    this.#disconnects++;
    for (const s of this.#subscriptions) s._lost();
    this.#log(
      'warn',
      `[${PKG}] subscriber connection lost (${reason}): messages published until it is back are not received; subscribing again`,
      { reason: 'subscriber_lost', lost: reason },
    );
    // A PING unanswered on the subscriber connection says Redis is not usable for now: the
    // connection's outage watch takes over (diagnosis, probes, `unusable`/`usable`).
    if (reason === 'ping-timeout') this.#connection.markUnusable('subscriber_ping_timeout', error);
    if (this.listenerCount('disconnect') > 0) {
      this.emit('disconnect', error === undefined ? { reason } : { reason, error });
    }
  };

  readonly #onRestored = (gap: GapInfo): void => {
    this.#gaps++;
    this.#log(
      'info',
      `[${PKG}] subscriber connection back after ${gap.downtimeMs} ms, every channel subscribed again: messages published meanwhile are missing (gap)`,
      { reason: 'subscriber_restored', downtimeMs: gap.downtimeMs, lost: gap.reason },
    );
    if (gapChannel.hasSubscribers) {
      gapChannel.publish({ reason: gap.reason, downtimeMs: gap.downtimeMs });
    }
    if (this.listenerCount('gap') > 0) this.emit('gap', gap);
    for (const s of this.#subscriptions) s._gap(gap);
  };

  readonly #onReadyMissed = (
    subscription: Subscription<unknown>,
    cause: unknown,
    problem: Problem,
  ): void => {
    if (subscription.closed) return;
    this.#readyFailures++;
    const targets = [...subscription.channels, ...subscription.patterns];
    if (!this.#missLogged) {
      this.#missLogged = true;
      this.#log(
        'warn',
        `[${PKG}] Redis did not confirm the subscription to ${targets.map((t) => `"${t}"`).join(', ')} within ${this.#o.timeoutMs} ms (${problem.kind}: ${problem.message}); retrying in the background`,
        { reason: 'subscribe_unconfirmed', kind: problem.kind },
      );
    }
    subscription._unavailable(new PubSubUnavailableError('subscribe', targets, cause, problem));
  };
}
