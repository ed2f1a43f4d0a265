import { classifyRedisError } from '@x/breaker';
import { isCluster } from '@x/config';
import type { Connection, SubscriberConnection } from '@x/connection';
import { type BackoffOptions, toRetryStrategy } from '@x/reconnect';
import type { Cluster, Redis } from 'ioredis';
import { ClusterWatchdog, type ClusterWatchdogHost } from './_internal/cluster-watchdog.js';
import { SubscribeError } from './errors.js';
import type { Registry, TargetKind } from './registry.js';
import { SubscriberWatchdog } from './subscriber-watchdog.js';
import type { GapInfo, GapReason, Subscription } from './subscription.js';

type AnySubscription = Subscription<any>;

/** What the subscriber connection tells the pub/sub. */
export interface SubscriberEvents {
  /** A message from Redis (`pattern`: the pattern subscription it matched). */
  message(channel: string, pattern: string | undefined, payload: Buffer): void;
  /** Redis confirmed names that `subscription` waited for (it may wait for others still). */
  confirmed(subscription: AnySubscription): void;
  /** Redis refused a subscribe command of these subscriptions. */
  refused(error: SubscribeError, subscriptions: Iterable<AnySubscription>): void;
  /** The connection was found lost (once per incident, only after it had been ready). */
  lost(reason: GapReason, error: unknown): void;
  /** The connection is back with every channel and pattern subscribed again (once per loss). */
  restored(gap: GapInfo): void;
  /** An error of the subscriber connection (also fed into the connection's diagnosis). */
  error(error: unknown): void;
}

/** Options of a {@link Subscriber}. */
export interface SubscriberOptions {
  connection: Connection;
  registry: Registry;
  sharded: boolean;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  reconnect: BackoffOptions;
  events: SubscriberEvents;
}

/**
 * The subscriber connection: a duplicate of the pub/sub's connection (same options and
 * credentials; on Cluster a duplicate Cluster, with `shardedSubscribers` for sharded pub/sub),
 * created on the first `subscribe`. It sends (P|S)SUBSCRIBE for the registry's names, subscribes
 * every channel and pattern again after a reconnect, and reports each loss once (`lost`) and the
 * moment Redis confirmed again (`restored`, the gap). A PING watchdog notices a frozen server
 * (standalone: {@link SubscriberWatchdog}; Cluster: {@link ClusterWatchdog}).
 */
export class Subscriber {
  readonly #o: SubscriberOptions;
  readonly #client: Redis | Cluster;
  readonly #listeners: [string, (...args: any[]) => void][] = [];
  #stopped = false;
  #wasReady = false;
  #downSince = 0;
  #downReason: GapReason = 'connection-closed';
  /** Bumped when a standalone connection closes: a re-subscribe of an older one is stale. */
  #connEpoch = 0;
  #watchdog: SubscriberWatchdog | undefined;
  #clusterWatchdog: ClusterWatchdog | undefined;

  constructor(options: SubscriberOptions) {
    this.#o = options;
    const { connection, sharded, pingIntervalMs, pingTimeoutMs } = options;
    const retryStrategy = toRetryStrategy(options.reconnect);
    let client: Redis | Cluster;
    if (connection.isCluster) {
      const main = connection.client as Cluster;
      client = connection.duplicate('subscriber', {
        ...(sharded ? { shardedSubscribers: true } : {}),
        // A failover moves slots without closing the old connections: refresh the slot map
        // periodically so ioredis re-subscribes sharded channels on their new masters.
        ...(pingIntervalMs > 0 ? { slotsRefreshInterval: pingIntervalMs } : {}),
        clusterRetryStrategy: retryStrategy,
        enableOfflineQueue: true,
        lazyConnect: true,
        redisOptions: { ...main.options.redisOptions, autoResendUnfulfilledCommands: false },
      }) as Cluster;
      this.#on(client, 'close', this.#onClusterClose);
      this.#on(client, '-node', this.#onNodeLost);
      this.#on(client, '+node', this.#onNodeAdded);
      this.#on(client, '-subscriber', this.#onTopologyChange);
      this.#on(client, 'subscribersReady', this.#onSubscribersReady);
    } else {
      client = connection.duplicate('subscriber', {
        autoResubscribe: false,
        enableOfflineQueue: false,
        autoResendUnfulfilledCommands: false,
        maxRetriesPerRequest: null,
        lazyConnect: true,
        retryStrategy,
        // The watchdog bounds the handshake; a connect timeout would fight it.
        connectTimeout: Math.max(pingTimeoutMs, 1_000),
      }) as Redis;
      this.#on(client, 'close', this.#onClose);
    }
    this.#on(client, 'ready', this.#onReady);
    this.#on(client, 'error', this.#onError);
    this.#on(client, 'messageBuffer', this.#onMessage);
    this.#on(client, 'pmessageBuffer', this.#onPatternMessage);
    this.#on(client, 'smessageBuffer', this.#onMessage);
    this.#client = client;
    client.connect().catch(noop);
    if (pingIntervalMs > 0) {
      if (isCluster(client)) {
        this.#clusterWatchdog = new ClusterWatchdog(client, this.#clusterHost, {
          sharded,
          intervalMs: pingIntervalMs,
          timeoutMs: pingTimeoutMs,
        });
      } else {
        this.#watchdog = new SubscriberWatchdog(client, {
          intervalMs: pingIntervalMs,
          timeoutMs: pingTimeoutMs,
          onMiss: (error) => {
            if (this.#downSince === 0) this.#markDown('ping-timeout', error);
          },
        });
      }
    }
  }

  /** Whether the connection is up with nothing lost pending a gap. */
  get connected(): boolean {
    return this.#client.status === 'ready' && this.#downSince === 0;
  }

  /** Sends (P|S)SUBSCRIBE for names new to Redis now, if connected (else on `ready`). */
  subscribe(kind: TargetKind, names: readonly string[]): void {
    if (this.#client.status === 'ready') void this.#send(this.#client, kind, names);
  }

  /** Sends (P|S)UNSUBSCRIBE for names nobody listens to any more. */
  unsubscribe(kind: TargetKind, names: readonly string[]): void {
    const client = this.#client;
    if (names.length === 0 || client.status !== 'ready') return;
    if (kind === 'p') client.punsubscribe(...names).catch(noop);
    else if (!this.#o.sharded) client.unsubscribe(...names).catch(noop);
    else for (const name of names) (client as Redis).sunsubscribe(name).catch(noop);
  }

  /**
   * Stops the watchdogs and lets go of the connection's events. The connection itself is closed by
   * `connection.close()` (it is one of its duplicates).
   */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#watchdog?.stop();
    this.#clusterWatchdog?.stop();
    for (const [event, fn] of this.#listeners) this.#client.off(event, fn);
    this.#listeners.length = 0;
  }

  #on(client: Redis | Cluster, event: string, fn: (...args: any[]) => void): void {
    client.on(event, fn);
    this.#listeners.push([event, fn]);
  }

  // ---- subscribing --------------------------------------------------------------------------

  /**
   * Sends (P|S)SUBSCRIBE for `names`; tells the waiting subscriptions. Resolves `true` once Redis
   * answered, `false` when the connection was lost first (subscribed again on the next one).
   */
  #send(
    client: Redis | Cluster | SubscriberConnection,
    kind: TargetKind,
    names: readonly string[],
  ): Promise<boolean> {
    if (names.length === 0) return Promise.resolve(true);
    let command: Promise<unknown>;
    if (kind === 'p') command = client.psubscribe(...names);
    else if (!this.#o.sharded) command = client.subscribe(...names);
    // SSUBSCRIBE takes channels of one slot only: one command per channel.
    else command = Promise.all(names.map((name) => (client as Redis).ssubscribe(name)));
    const { registry, events, connection } = this.#o;
    return command.then(
      () => {
        if (this.#stopped) return true;
        for (const s of registry.confirm(kind, names)) events.confirmed(s);
        return true;
      },
      (error: unknown) => {
        // A lost connection is retried on the next `ready`; a refusal (ACL...) is final.
        if (isLinkLoss(error) || this.#stopped) return false;
        events.refused(new SubscribeError(names, error), registry.listeners(kind, names));
        // After the refusal: the diagnosis logs it once with a hint (an ACL is a misconfiguration).
        connection.report(error);
        return true;
      },
    );
  }

  // ---- losses and gaps ----------------------------------------------------------------------

  #markDown(reason: GapReason, error: unknown): void {
    this.#downSince = Date.now();
    this.#downReason = reason;
    this.#o.events.lost(reason, error);
  }

  #emitGap(): void {
    const since = this.#downSince;
    if (since === 0 || this.#stopped) return;
    this.#downSince = 0;
    this.#o.events.restored({ since, downtimeMs: Date.now() - since, reason: this.#downReason });
  }

  readonly #onReady = (): void => {
    if (this.#stopped) return;
    const client = this.#client;
    const reconnected = this.#wasReady && this.#downSince !== 0;
    this.#wasReady = true;
    // Only what is not confirmed on this connection: ioredis' cluster subscribers re-subscribe
    // by themselves, a standalone connection marks everything inactive when it closes.
    const { registry } = this.#o;
    const pending = [
      this.#send(client, 'c', registry.inactive('c')),
      this.#send(client, 'p', registry.inactive('p')),
    ];
    if (isCluster(client)) {
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
      if (epoch === this.#connEpoch) this.#emitGap();
    }, noop);
  };

  readonly #onClose = (): void => {
    this.#connEpoch++;
    this.#o.registry.deactivate();
    if (this.#wasReady && this.#downSince === 0) this.#markDown('connection-closed', undefined);
  };

  readonly #onError = (error: unknown): void => {
    // The connection's diagnosis already sees it (it listens to its duplicates' errors).
    if (!this.#stopped) this.#o.events.error(error);
  };

  readonly #onMessage = (channel: Buffer, payload: Buffer): void => {
    this.#o.events.message(channel.toString(), undefined, payload);
  };

  readonly #onPatternMessage = (pattern: string, channel: Buffer, payload: Buffer): void => {
    this.#o.events.message(channel.toString(), pattern, payload);
  };

  // ---- cluster events (see the cluster watchdog for what it adds) ---------------------------

  readonly #onClusterClose = (): void => {
    // Every node connection is gone; ioredis reconnects the whole cluster.
    if (this.#wasReady && this.#downSince === 0) this.#markDown('connection-closed', undefined);
  };

  readonly #onNodeLost = (): void => {
    // Classic pub/sub lives on one connection, which the watchdog follows itself: a node lost
    // elsewhere loses none of its messages.
    if (!this.#o.sharded && this.#clusterWatchdog?.active) return;
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
    if (this.#downSince !== 0 && this.#client.status === 'ready') this.#emitGap();
  }

  /** What the cluster watchdog reports to and asks of the subscriber. */
  readonly #clusterHost: ClusterWatchdogHost = {
    isDown: () => this.#downSince !== 0,
    lost: (reason, error) => {
      if (!this.#stopped && this.#wasReady && this.#downSince === 0) this.#markDown(reason, error);
    },
    restored: () => this.#emitGap(),
    resubscribe: async (connection) => {
      const { registry } = this.#o;
      const confirmed = await Promise.all([
        this.#send(connection, 'c', registry.names('c')),
        this.#send(connection, 'p', registry.names('p')),
      ]);
      return confirmed[0] && confirmed[1];
    },
  };
}

// Failures that say nothing about the command: the link was lost (or is not there yet).
const LINK_LOSSES = new Set(['connection', 'timeout', 'network', 'cluster', 'loading']);

/** The subscribe was lost with its connection (retried on the next one), not refused. */
function isLinkLoss(error: unknown): boolean {
  return LINK_LOSSES.has(classifyRedisError(error)) || isHandshakeRace(error);
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

function noop(): void {}
