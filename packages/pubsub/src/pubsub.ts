import { EventEmitter } from 'node:events';
import {
  type Breaker,
  type BreakerOptions,
  createGuard,
  type Guard,
  GuardTimeoutError,
  isBreakerError,
  isInfrastructureError,
} from '@x/breaker';
import { isCluster, type RedisClient, type RedisSource, resolveRedis } from '@x/config';
import { type BackoffOptions, toRetryStrategy } from '@x/reconnect';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { ClusterWatchdog, type ClusterWatchdogHost } from './_internal/cluster-watchdog.js';
import { dropConnection } from './_internal/drop-connection.js';
import { globMatch } from './_internal/glob.js';
import type { SubscriberConnection } from './_internal/ioredis-subscribers.js';
import { type Codec, jsonCodec } from './codec.js';
import {
  PublishError,
  PubSubClosedError,
  PubSubOptionsError,
  PubSubUnavailableError,
  SubscribeError,
} from './errors.js';
import {
  type GapInfo,
  type Message,
  type OverflowPolicy,
  type SubscribeOptions,
  Subscription,
  type SubscriptionHost,
} from './subscription.js';

/** Options of {@link createPubSub}. */
export interface PubSubOptions<T = unknown> {
  /**
   * Where Redis is: a URL, a config from `@x/config`, or an existing ioredis `Redis` / `Cluster`.
   * An existing client publishes and is duplicated for the subscriber connection; it is never
   * closed by `close()`. A client created from a URL or config is closed by `close()`.
   */
  redis: RedisSource;
  /**
   * Encodes published messages and decodes received ones.
   * @default jsonCodec
   */
  codec?: Codec<T>;
  /**
   * Sharded pub/sub (`SPUBLISH` / `SSUBSCRIBE`, Redis 7+): every channel lives on the shard that
   * owns its hash slot, so traffic scales with the cluster. Patterns are not available then.
   * Works on Cluster (needed there to avoid broadcasting every message to every node) and on a
   * standalone Redis 7.
   * @default false
   */
  sharded?: boolean;
  /**
   * When Redis cannot take a published message, deliver it to this process' own matching
   * subscriptions instead of rejecting, and resolve with the local receiver count. Other
   * processes do not get it.
   * @default false
   */
  localDelivery?: boolean;
  /**
   * Deadline of one publish, in ms; also the deadline of a subscriber's PING.
   * @default 1000
   */
  publishTimeoutMs?: number;
  /**
   * Circuit breaker for publishes: an existing breaker from `@x/breaker`, options for a new one,
   * or `false`. While it is open, publishes reject at once.
   * @default { maxFailures: 5, resetTimeout: 5000 }
   */
  breaker?: Breaker | BreakerOptions | false;
  /**
   * How often the subscriber connection is sent a PING, to notice a frozen server or node (SIGSTOP,
   * blackhole). On Cluster: the connection ioredis subscribes on (classic pub/sub), or every shard
   * subscriber connection (sharded pub/sub); also the period of the subscriber's slot-map refresh.
   * `0` disables both.
   * @default 5000
   */
  pingIntervalMs?: number;
  /**
   * How long a PING (and a connection handshake, or on Cluster the re-subscribe on a replacement
   * connection) may take before the subscriber connection is considered dead and replaced.
   * @default 2000
   */
  pingTimeoutMs?: number;
  /**
   * Reconnect backoff of the subscriber connection (it never gives up while the pub/sub is open).
   * @default { minDelayMs: 100, maxDelayMs: 5000, jitter: 'full' }
   */
  reconnect?: BackoffOptions;
  /** ioredis options used only when `redis` is a URL or a config (not an existing client). */
  ioredis?: Partial<RedisOptions>;
}

/** Counters of a pub/sub instance. */
export interface PubSubStats {
  /** Messages Redis accepted. */
  published: number;
  /** Publishes rejected (Redis down, deadline, open circuit, error reply). */
  publishErrors: number;
  /** Publishes delivered only locally (`localDelivery`). */
  deliveredLocally: number;
  /** Messages received from Redis (before fan-out to subscriptions). */
  received: number;
  /** Received payloads the codec rejected. */
  malformed: number;
  /** Times the subscriber connection came back after a loss. */
  gaps: number;
  /** Subscriptions open now. */
  subscriptions: number;
  /** Channels and patterns subscribed on Redis now. */
  channels: number;
  patterns: number;
  /** Whether the subscriber connection is up (or not needed yet). */
  connected: boolean;
}

/** Events of a pub/sub instance. */
export interface PubSubEvents {
  /** The subscriber connection was found lost (closed, or a PING missed its deadline). */
  disconnect: [info: { reason: GapInfo['reason']; error?: unknown }];
  /** The subscriber connection is back and every channel is subscribed again. */
  gap: [info: GapInfo];
  /** A background error (subscriber connection errors, failed re-subscribes). */
  error: [error: unknown];
}

/** Publishes and subscribes through Redis with bounded buffers and typed failures. */
export interface PubSub<T = unknown> extends EventEmitter<PubSubEvents> {
  /**
   * Publishes `message` (encoded with the codec) and resolves with the number of receivers Redis
   * reports (for sharded pub/sub: on the channel's shard).
   * @throws PubSubUnavailableError (`E_PUBSUB_UNAVAILABLE`) when Redis is down, frozen past
   * `publishTimeoutMs` or the circuit is open (unless `localDelivery`);
   * PublishError (`E_PUBLISH`) when the codec fails or Redis replies with an error;
   * PubSubClosedError (`E_PUBSUB_CLOSED`) after `close()`.
   */
  publish(channel: string, message: T): Promise<number>;
  /**
   * Subscribes to channels and patterns. A string or an array of strings are channel names;
   * `{ channels, patterns }` names both (patterns use Redis glob syntax: `news.*`).
   * Returns at once; `subscription.ready` settles when Redis confirmed.
   * @throws PubSubOptionsError on invalid options or targets; PubSubClosedError after `close()`.
   */
  subscribe(targets: SubscribeTargets, options?: SubscribeOptions): Subscription<T>;
  /** Counters. */
  stats(): PubSubStats;
  /**
   * Closes every subscription, stops the watchdog, closes the subscriber connection and the
   * client if it was created here. The client passed in is left untouched.
   */
  close(): Promise<void>;
}

/** What `subscribe` accepts: channel names, or channels and patterns. */
export type SubscribeTargets =
  | string
  | readonly string[]
  | { readonly channels?: readonly string[]; readonly patterns?: readonly string[] };

type Kind = 'c' | 'p';

interface Entry {
  subs: Set<Subscription<any>>;
  /** `true` once Redis confirmed on the current connection. */
  active: boolean;
  /** Subscriptions whose `ready` waits for this entry. */
  waiting: Set<Subscription<any>> | undefined;
}

const DEFAULT_BREAKER: BreakerOptions = { maxFailures: 5, resetTimeout: 5_000 };
const DEFAULT_RECONNECT: BackoffOptions = { minDelayMs: 100, maxDelayMs: 5_000, jitter: 'full' };

/**
 * Creates a pub/sub over Redis. The subscriber connection is created on the first `subscribe`
 * (duplicated from the client, or created from the URL / config).
 * @throws PubSubOptionsError (`E_PUBSUB_OPTIONS`) naming the invalid option.
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
  readonly #client: RedisClient;
  readonly #owned: boolean;
  readonly #codec: Codec<T>;
  readonly #sharded: boolean;
  readonly #local: boolean;
  readonly #guard: Guard;
  readonly #pingIntervalMs: number;
  readonly #pingTimeoutMs: number;
  readonly #reconnect: BackoffOptions;
  readonly #channels = new Map<string, Entry>();
  readonly #patterns = new Map<string, Entry>();
  readonly #subscriptions = new Set<Subscription<T>>();
  #sub: Redis | Cluster | undefined;
  #closed = false;
  #readyWait: Promise<void> | undefined;
  #wasReady = false;
  #downSince = 0;
  #downReason: GapInfo['reason'] = 'connection-closed';
  #connectSince = 0;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #clusterWatchdog: ClusterWatchdog | undefined;
  #pingTimer: ReturnType<typeof setTimeout> | undefined;
  #pingEpoch = 0;
  #connEpoch = 0;
  #published = 0;
  #publishErrors = 0;
  #deliveredLocally = 0;
  #received = 0;
  #malformed = 0;
  #gaps = 0;

  constructor(options: PubSubOptions<T>) {
    super();
    if (typeof options !== 'object' || options === null) {
      throw new PubSubOptionsError('options', options, 'an object with `redis`');
    }
    const codec = options.codec ?? (jsonCodec as Codec<T>);
    if (
      typeof codec !== 'object' ||
      codec === null ||
      typeof codec.encode !== 'function' ||
      typeof codec.decode !== 'function'
    ) {
      throw new PubSubOptionsError('codec', codec, 'an object with encode() and decode()');
    }
    const publishTimeoutMs = options.publishTimeoutMs ?? 1_000;
    checkMs('publishTimeoutMs', publishTimeoutMs, 1);
    const pingIntervalMs = options.pingIntervalMs ?? 5_000;
    checkMs('pingIntervalMs', pingIntervalMs, 0);
    const pingTimeoutMs = options.pingTimeoutMs ?? 2_000;
    checkMs('pingTimeoutMs', pingTimeoutMs, 1);
    for (const flag of ['sharded', 'localDelivery'] as const) {
      if (options[flag] !== undefined && typeof options[flag] !== 'boolean') {
        throw new PubSubOptionsError(flag, options[flag], 'a boolean');
      }
    }
    if (options.redis === undefined || options.redis === null) {
      throw new PubSubOptionsError('redis', options.redis, 'a URL, a config or an ioredis client');
    }
    const breaker = options.breaker ?? DEFAULT_BREAKER;
    this.#guard = createGuard({ timeoutMs: publishTimeoutMs, breaker });
    this.#reconnect = options.reconnect ?? DEFAULT_RECONNECT;
    toRetryStrategy(this.#reconnect); // validates the backoff options now
    const resolved = resolveRedis(
      options.redis,
      options.ioredis === undefined ? undefined : { ioredis: options.ioredis },
    );
    this.#client = resolved.client;
    this.#owned = resolved.owned;
    this.#codec = codec;
    this.#sharded = options.sharded ?? false;
    this.#local = options.localDelivery ?? false;
    this.#pingIntervalMs = pingIntervalMs;
    this.#pingTimeoutMs = pingTimeoutMs;
    if (this.#owned) this.#client.on('error', noop);
  }

  async publish(channel: string, message: T): Promise<number> {
    if (this.#closed) throw new PubSubClosedError('pub/sub');
    if (typeof channel !== 'string' || channel.length === 0) {
      throw new PublishError(String(channel), 'the channel must be a non-empty string', undefined);
    }
    let payload: string | Buffer;
    try {
      payload = this.#codec.encode(message);
    } catch (error) {
      this.#publishErrors++;
      throw new PublishError(channel, 'the codec could not encode the message', error);
    }
    const client = this.#client;
    const status = client.status;
    // A client that lost its connection would queue or reject the command anyway: fail fast.
    if (status === 'end' || status === 'close' || status === 'reconnecting') {
      return this.#unavailable(channel, payload, new Error(`Redis client status is "${status}"`));
    }
    const send = this.#sharded
      ? () => (client as Redis).spublish(channel, payload) as Promise<number>
      : () => client.publish(channel, payload);
    try {
      const count = await this.#guard.execute<number>(
        status === 'ready' ? send : () => this.#afterConnect(send),
      );
      this.#published++;
      return count;
    } catch (error) {
      if (isBreakerError(error) || isInfrastructureError(error)) {
        return this.#unavailable(channel, payload, error);
      }
      this.#publishErrors++;
      throw new PublishError(channel, 'Redis replied with an error', error);
    }
  }

  // The client may still be (re)connecting: wait for it (one shared listener)
  // within the deadline, and never send after the caller was told it failed.
  async #afterConnect(send: () => Promise<number>): Promise<number> {
    const client = this.#client;
    const started = performance.now();
    if (client.status === 'wait') client.connect().catch(noop);
    this.#readyWait ??= new Promise<void>((resolve) => {
      const done = (): void => {
        client.off('ready', done);
        client.off('close', done);
        client.off('end', done);
        this.#readyWait = undefined;
        resolve();
      };
      client.on('ready', done);
      client.on('close', done);
      client.on('end', done);
    });
    await this.#readyWait;
    // The attempt failed (e.g. refused): report it now instead of waiting for the deadline.
    if (client.status !== 'ready') throw new Error('Connection is closed (connect attempt failed)');
    if (performance.now() - started >= this.#guard.timeoutMs) {
      throw new GuardTimeoutError(this.#guard.timeoutMs);
    }
    return send();
  }

  subscribe(targets: SubscribeTargets, options: SubscribeOptions = {}): Subscription<T> {
    if (this.#closed) throw new PubSubClosedError('pub/sub');
    const { channels, patterns } = parseTargets(targets);
    if (this.#sharded && patterns.length > 0) {
      throw new PubSubOptionsError('patterns', patterns, 'no patterns with sharded pub/sub');
    }
    const bufferSize = options.bufferSize ?? 100;
    if (!Number.isInteger(bufferSize) || bufferSize < 1) {
      throw new PubSubOptionsError('bufferSize', bufferSize, 'an integer >= 1');
    }
    const overflow: OverflowPolicy = options.overflow ?? 'drop-oldest';
    if (overflow !== 'drop-oldest' && overflow !== 'drop-newest' && overflow !== 'error') {
      throw new PubSubOptionsError('overflow', overflow, "'drop-oldest' | 'drop-newest' | 'error'");
    }
    const dropReportIntervalMs = options.dropReportIntervalMs ?? 1_000;
    checkMs('dropReportIntervalMs', dropReportIntervalMs, 0);
    const signal = options.signal;
    if (signal !== undefined && !(typeof signal === 'object' && 'aborted' in signal)) {
      throw new PubSubOptionsError('signal', signal, 'an AbortSignal');
    }
    const subscription = new Subscription<T>(this, channels, patterns, {
      bufferSize,
      overflow,
      dropReportIntervalMs,
      ...(signal === undefined ? {} : { signal }),
    });
    if (signal?.aborted) {
      subscription.close();
      return subscription;
    }
    this.#subscriptions.add(subscription);
    subscription.once('close', () => this.#subscriptions.delete(subscription));
    const sub = this.#subscriber();
    const newChannels = this.#attach(this.#channels, channels, subscription);
    const newPatterns = this.#attach(this.#patterns, patterns, subscription);
    if (this.#isReady(sub)) {
      this.#send(sub, 'c', newChannels);
      this.#send(sub, 'p', newPatterns);
    }
    this.#checkReady(subscription);
    return subscription;
  }

  stats(): PubSubStats {
    const sub = this.#sub;
    return {
      published: this.#published,
      publishErrors: this.#publishErrors,
      deliveredLocally: this.#deliveredLocally,
      received: this.#received,
      malformed: this.#malformed,
      gaps: this.#gaps,
      subscriptions: this.#subscriptions.size,
      channels: this.#channels.size,
      patterns: this.#patterns.size,
      connected: sub === undefined || (this.#isReady(sub) && this.#downSince === 0),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const subscription of [...this.#subscriptions]) subscription.close();
    this.#stopWatchdog();
    const sub = this.#sub;
    this.#sub = undefined;
    if (sub !== undefined) {
      sub.removeAllListeners();
      sub.on('error', noop);
      sub.disconnect();
    }
    if (this.#owned) this.#client.disconnect();
  }

  /** @internal Called by a subscription that no longer wants these channels / patterns. */
  detach(
    subscription: Subscription<any>,
    channels: readonly string[],
    patterns: readonly string[],
  ): void {
    const gone: Record<Kind, string[]> = { c: [], p: [] };
    for (const [kind, map, names] of [
      ['c', this.#channels, channels],
      ['p', this.#patterns, patterns],
    ] as const) {
      for (const name of names) {
        const entry = map.get(name);
        if (entry === undefined) continue;
        entry.subs.delete(subscription);
        entry.waiting?.delete(subscription);
        if (entry.subs.size === 0) {
          map.delete(name);
          gone[kind].push(name);
        }
      }
    }
    const sub = this.#sub;
    if (sub === undefined || !this.#isReady(sub)) return;
    if (gone.c.length > 0) {
      if (this.#sharded) {
        for (const name of gone.c) (sub as Redis).sunsubscribe(name).catch(noop);
      } else sub.unsubscribe(...gone.c).catch(noop);
    }
    if (gone.p.length > 0) sub.punsubscribe(...gone.p).catch(noop);
  }

  // ---- publishing while Redis is unavailable --------------------------------------------------

  #unavailable(channel: string, payload: string | Buffer, cause: unknown): number {
    if (!this.#local) {
      this.#publishErrors++;
      throw new PubSubUnavailableError(channel, cause);
    }
    const count = this.#dispatch(
      channel,
      undefined,
      typeof payload === 'string' ? Buffer.from(payload) : payload,
      true,
    );
    this.#deliveredLocally++;
    return count;
  }

  // ---- receiving --------------------------------------------------------------------------------

  readonly #onMessage = (channel: Buffer, payload: Buffer): void => {
    this.#dispatch(channel.toString(), undefined, payload, false);
  };

  readonly #onPatternMessage = (pattern: string, channel: Buffer, payload: Buffer): void => {
    this.#dispatch(channel.toString(), pattern, payload, false);
  };

  /** Decodes once and fans out; returns the number of subscriptions reached. */
  #dispatch(channel: string, pattern: string | undefined, payload: Buffer, local: boolean): number {
    if (!local) this.#received++;
    let targets: Iterable<Subscription<any>> | undefined;
    if (local) {
      const all = new Set<Subscription<any>>(this.#channels.get(channel)?.subs);
      for (const [p, entry] of this.#patterns) {
        if (globMatch(p, channel)) for (const s of entry.subs) all.add(s);
      }
      targets = all;
    } else if (pattern === undefined) {
      targets = this.#channels.get(channel)?.subs;
    } else {
      targets = this.#patterns.get(pattern)?.subs;
    }
    if (targets === undefined) return 0;
    let data: T;
    try {
      data = this.#codec.decode(payload);
    } catch (error) {
      this.#malformed++;
      const report =
        pattern === undefined ? { channel, payload, error } : { channel, pattern, payload, error };
      for (const s of targets) s._malformed(report);
      return 0;
    }
    let count = 0;
    if (local) {
      // Local delivery reports the pattern that matched, like Redis would.
      for (const s of targets) {
        const p = s.patterns.find((candidate) => globMatch(candidate, channel));
        const exact = s.channels.includes(channel);
        if (exact) s._deliver({ channel, data });
        if (p !== undefined) s._deliver({ channel, pattern: p, data });
        count++;
      }
      return count;
    }
    const message: Message<T> =
      pattern === undefined ? { channel, data } : { channel, pattern, data };
    for (const s of targets) {
      s._deliver(message);
      count++;
    }
    return count;
  }

  // ---- the subscriber connection -----------------------------------------------------------------

  #subscriber(): Redis | Cluster {
    if (this.#sub !== undefined) return this.#sub;
    const retryStrategy = toRetryStrategy(this.#reconnect);
    let sub: Redis | Cluster;
    if (isCluster(this.#client)) {
      sub = this.#client.duplicate([], {
        ...(this.#sharded ? { shardedSubscribers: true } : {}),
        // A failover moves slots without closing the old connections: refresh the slot map
        // periodically so ioredis re-subscribes sharded channels on their new masters.
        ...(this.#pingIntervalMs > 0 ? { slotsRefreshInterval: this.#pingIntervalMs } : {}),
        clusterRetryStrategy: retryStrategy,
        enableOfflineQueue: true,
        lazyConnect: true,
        redisOptions: {
          ...this.#client.options.redisOptions,
          autoResendUnfulfilledCommands: false,
        },
      });
      sub.on('close', this.#onClusterClose);
      sub.on('-node', this.#onNodeLost);
      sub.on('+node', this.#onNodeAdded);
      sub.on('-subscriber', this.#onTopologyChange);
      sub.on('subscribersReady', this.#onSubscribersReady);
    } else {
      sub = (this.#client as Redis).duplicate({
        autoResubscribe: false,
        enableOfflineQueue: false,
        autoResendUnfulfilledCommands: false,
        maxRetriesPerRequest: null,
        lazyConnect: true,
        retryStrategy,
        // The watchdog bounds the handshake; a connect timeout would fight it.
        connectTimeout: Math.max(this.#pingTimeoutMs, 1_000),
      });
      sub.on('connect', this.#onConnect);
      sub.on('close', this.#onClose);
    }
    sub.on('ready', this.#onReady);
    sub.on('error', this.#onError);
    sub.on('messageBuffer', this.#onMessage);
    sub.on('pmessageBuffer', this.#onPatternMessage);
    sub.on('smessageBuffer', this.#onMessage);
    this.#sub = sub;
    sub.connect().catch(noop);
    this.#startWatchdog();
    return sub;
  }

  #isReady(sub: Redis | Cluster): boolean {
    return sub.status === 'ready';
  }

  readonly #onError = (error: unknown): void => {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  };

  readonly #onConnect = (): void => {
    this.#connectSince = Date.now();
  };

  readonly #onClose = (): void => {
    this.#connectSince = 0;
    this.#connEpoch++;
    this.#cancelPing();
    for (const map of [this.#channels, this.#patterns]) {
      for (const entry of map.values()) entry.active = false;
    }
    if (this.#wasReady && this.#downSince === 0) this.#markDown('connection-closed', undefined);
  };

  // ---- cluster events (see the cluster watchdog for what it adds) ---------------------------------

  readonly #onClusterClose = (): void => {
    // Every node connection is gone; ioredis reconnects the whole cluster.
    if (this.#wasReady && this.#downSince === 0) this.#markDown('connection-closed', undefined);
  };

  readonly #onNodeLost = (): void => {
    // Classic pub/sub lives on one connection, which the watchdog follows itself: a node lost
    // elsewhere loses none of its messages.
    if (!this.#sharded && this.#clusterWatchdog?.active) return;
    if (this.#wasReady && this.#downSince === 0) this.#markDown('cluster-node-lost', undefined);
    this.#clusterWatchdog?.poke();
  };

  readonly #onTopologyChange = (): void => {
    if (this.#wasReady && this.#downSince === 0)
      this.#markDown('cluster-topology-change', undefined);
    this.#clusterWatchdog?.poke();
  };

  readonly #onNodeAdded = (): void => {
    if (this.#clusterWatchdog?.active) this.#clusterWatchdog.poke();
    else this.#gapIfClusterReady();
  };

  readonly #onSubscribersReady = (): void => {
    if (this.#clusterWatchdog?.active) this.#clusterWatchdog.poke('subscribers-ready');
    else this.#gapIfClusterReady();
  };

  #gapIfClusterReady(): void {
    if (this.#downSince !== 0 && this.#sub !== undefined && this.#isReady(this.#sub)) {
      this.#emitGap();
    }
  }

  /** What the cluster watchdog reports to and asks of this pub/sub. */
  readonly #clusterHost: ClusterWatchdogHost = {
    isDown: () => this.#downSince !== 0,
    lost: (reason, error) => {
      if (!this.#closed && this.#wasReady && this.#downSince === 0) this.#markDown(reason, error);
    },
    restored: () => {
      if (!this.#closed) this.#emitGap();
    },
    resubscribe: async (connection) => {
      const confirmed = await Promise.all([
        this.#send(connection, 'c', [...this.#channels.keys()]),
        this.#send(connection, 'p', [...this.#patterns.keys()]),
      ]);
      return confirmed[0] && confirmed[1];
    },
  };

  #markDown(reason: GapInfo['reason'], error: unknown): void {
    this.#downSince = Date.now();
    this.#downReason = reason;
    if (this.listenerCount('disconnect') > 0) {
      this.emit('disconnect', error === undefined ? { reason } : { reason, error });
    }
  }

  readonly #onReady = (): void => {
    const sub = this.#sub;
    if (sub === undefined) return;
    this.#connectSince = 0;
    const reconnected = this.#wasReady && this.#downSince !== 0;
    this.#wasReady = true;
    // Only what is not confirmed on this connection: ioredis' cluster subscribers re-subscribe
    // by themselves, a standalone connection marks everything inactive when it closes.
    const pending = [
      this.#send(sub, 'c', inactive(this.#channels)),
      this.#send(sub, 'p', inactive(this.#patterns)),
    ];
    if (isCluster(sub)) {
      // The watchdog follows the subscriber connections from now on; after a reconnect it reports
      // the gap once they are confirmed.
      if (this.#clusterWatchdog?.active) this.#clusterWatchdog.poke();
      else if (reconnected) this.#emitGap();
      return;
    }
    if (!reconnected) return;
    const epoch = this.#connEpoch;
    // The gap is reported once Redis confirmed the re-subscribe: later messages are delivered.
    Promise.all(pending).then(() => {
      if (epoch === this.#connEpoch && !this.#closed) this.#emitGap();
    }, noop);
  };

  #emitGap(): void {
    const since = this.#downSince;
    if (since === 0) return;
    this.#downSince = 0;
    this.#gaps++;
    const info: GapInfo = { since, downtimeMs: Date.now() - since, reason: this.#downReason };
    if (this.listenerCount('gap') > 0) this.emit('gap', info);
    for (const s of this.#subscriptions) s._gap(info);
  }

  /** Registers `subscription` for `names`; returns the names that are new on this connection. */
  #attach(
    map: Map<string, Entry>,
    names: readonly string[],
    subscription: Subscription<any>,
  ): string[] {
    const fresh: string[] = [];
    for (const name of names) {
      let entry = map.get(name);
      if (entry === undefined) {
        entry = { subs: new Set(), active: false, waiting: undefined };
        map.set(name, entry);
        fresh.push(name);
      }
      entry.subs.add(subscription);
      if (!entry.active) {
        entry.waiting ??= new Set();
        entry.waiting.add(subscription);
      }
    }
    return fresh;
  }

  /**
   * Sends (P|S)SUBSCRIBE for `names`; settles the subscriptions waiting for them. Resolves `true`
   * once Redis answered, `false` when the connection was lost first (retried on the next one).
   */
  #send(
    sub: Redis | Cluster | SubscriberConnection,
    kind: Kind,
    names: readonly string[],
  ): Promise<boolean> {
    if (names.length === 0) return Promise.resolve(true);
    const map = kind === 'c' ? this.#channels : this.#patterns;
    let command: Promise<unknown>;
    if (kind === 'p') command = sub.psubscribe(...names);
    else if (!this.#sharded) command = sub.subscribe(...names);
    // SSUBSCRIBE takes channels of one slot only: one command per channel.
    else command = Promise.all(names.map((name) => (sub as Redis).ssubscribe(name)));
    return command.then(
      () => {
        for (const name of names) {
          const entry = map.get(name);
          if (entry === undefined) continue;
          entry.active = true;
          const waiting = entry.waiting;
          entry.waiting = undefined;
          if (waiting !== undefined) for (const s of waiting) this.#checkReady(s);
        }
        return true;
      },
      (error: unknown) => {
        // A lost connection is retried on the next `ready`; an error reply is final.
        if (isInfrastructureError(error) || isHandshakeRace(error) || this.#closed) return false;
        const failure = new SubscribeError(names, error);
        for (const name of names) {
          const entry = map.get(name);
          if (entry === undefined) continue;
          for (const s of [...entry.subs]) s._settle(failure);
        }
        return true;
      },
    );
  }

  #checkReady(subscription: Subscription<any>): void {
    for (const name of subscription.channels) if (this.#channels.get(name)?.active !== true) return;
    for (const name of subscription.patterns) if (this.#patterns.get(name)?.active !== true) return;
    subscription._settle();
  }

  // ---- watchdog: a frozen server is noticed on an idle connection too ------------------------

  #startWatchdog(): void {
    if (this.#pingIntervalMs === 0 || this.#watchdog !== undefined) return;
    const sub = this.#sub;
    if (sub !== undefined && isCluster(sub)) {
      this.#clusterWatchdog ??= new ClusterWatchdog(sub, this.#clusterHost, {
        sharded: this.#sharded,
        intervalMs: this.#pingIntervalMs,
        timeoutMs: this.#pingTimeoutMs,
      });
      return;
    }
    this.#watchdog = setInterval(this.#tick, this.#pingIntervalMs);
    this.#watchdog.unref();
  }

  #stopWatchdog(): void {
    if (this.#watchdog !== undefined) clearInterval(this.#watchdog);
    this.#watchdog = undefined;
    this.#clusterWatchdog?.stop();
    this.#cancelPing();
  }

  readonly #tick = (): void => {
    const sub = this.#sub as Redis | undefined;
    if (sub === undefined) return;
    if (sub.status === 'ready') {
      if (this.#pingTimer !== undefined) return;
      const epoch = ++this.#pingEpoch;
      this.#pingTimer = setTimeout(this.#onPingTimeout, this.#pingTimeoutMs);
      this.#pingTimer.unref();
      sub.ping().then(() => {
        if (epoch === this.#pingEpoch) this.#cancelPing();
      }, noop);
    } else if (
      sub.status === 'connect' &&
      this.#connectSince !== 0 &&
      Date.now() - this.#connectSince > this.#pingTimeoutMs
    ) {
      // Connected at TCP level but the handshake never completes: a frozen or blackholed server.
      this.#connectSince = 0;
      dropConnection(sub, true);
    }
  };

  readonly #onPingTimeout = (): void => {
    this.#pingTimer = undefined;
    this.#pingEpoch++;
    const sub = this.#sub as Redis | undefined;
    if (sub === undefined || this.#closed) return;
    if (this.#downSince === 0) {
      this.#markDown('ping-timeout', new Error(`PING unanswered after ${this.#pingTimeoutMs} ms`));
    }
    dropConnection(sub, true);
  };

  #cancelPing(): void {
    if (this.#pingTimer !== undefined) clearTimeout(this.#pingTimer);
    this.#pingTimer = undefined;
  }
}

function parseTargets(targets: SubscribeTargets): { channels: string[]; patterns: string[] } {
  let channels: readonly unknown[] = [];
  let patterns: readonly unknown[] = [];
  if (typeof targets === 'string') channels = [targets];
  else if (Array.isArray(targets)) channels = targets;
  else if (typeof targets === 'object' && targets !== null) {
    const t = targets as { channels?: unknown; patterns?: unknown };
    if (t.channels !== undefined && !Array.isArray(t.channels)) {
      throw new PubSubOptionsError('channels', t.channels, 'an array of strings');
    }
    if (t.patterns !== undefined && !Array.isArray(t.patterns)) {
      throw new PubSubOptionsError('patterns', t.patterns, 'an array of strings');
    }
    channels = (t.channels as unknown[] | undefined) ?? [];
    patterns = (t.patterns as unknown[] | undefined) ?? [];
  } else {
    throw new PubSubOptionsError(
      'targets',
      targets,
      'a channel, channels or { channels, patterns }',
    );
  }
  for (const [field, list] of [
    ['channels', channels],
    ['patterns', patterns],
  ] as const) {
    for (const name of list) {
      if (typeof name !== 'string' || name.length === 0) {
        throw new PubSubOptionsError(field, name, 'non-empty strings');
      }
    }
  }
  if (channels.length + patterns.length === 0) {
    throw new PubSubOptionsError('targets', targets, 'at least one channel or pattern');
  }
  return {
    channels: [...new Set(channels as string[])],
    patterns: [...new Set(patterns as string[])],
  };
}

/**
 * ioredis refused a (P|S)SUBSCRIBE with "Connection in subscriber mode": only possible when it was
 * written during the connection's handshake (ioredis sends commands allowed while Redis loads
 * before the ready check), whose INFO then fails and closes the connection. A lost connection, not
 * a refusal: subscribed again on the next one.
 */
function isHandshakeRace(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('Connection in subscriber mode');
}

function inactive(map: Map<string, Entry>): string[] {
  const names: string[] = [];
  for (const [name, entry] of map) if (!entry.active) names.push(name);
  return names;
}

function checkMs(field: string, value: unknown, min: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new PubSubOptionsError(field, value, `a number of ms >= ${min}`);
  }
}

function noop(): void {}
