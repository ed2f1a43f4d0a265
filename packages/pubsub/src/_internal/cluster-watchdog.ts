import {
  classicSubscriber,
  dropConnection,
  type SubscriberConnection,
  shardSubscribers,
} from '@x/connection';
import type { Cluster } from 'ioredis';
import { pingTimeout } from '../subscriber-watchdog.js';

/** What the watchdog needs from the pub/sub it guards. */
export interface ClusterWatchdogHost {
  /** Whether a loss was reported and not yet followed by `restored()`. */
  isDown(): boolean;
  /** A subscriber connection was found lost (reported once per incident by the host). */
  lost(reason: 'ping-timeout' | 'connection-closed', error?: unknown): void;
  /** Every subscriber connection answers again with every channel subscribed. */
  restored(): void;
  /**
   * Classic pub/sub: subscribes every channel and pattern again on `connection`; resolves `true`
   * once Redis confirmed, `false` when the connection was lost first.
   */
  resubscribe(connection: SubscriberConnection): Promise<boolean>;
}

/** Timing of a {@link ClusterWatchdog}. */
export interface ClusterWatchdogOptions {
  /** Classic (`false`) or sharded (`true`) pub/sub. */
  sharded: boolean;
  /** Period of the liveness round. */
  intervalMs: number;
  /** Deadline of a PING, a handshake, or a re-subscribe. */
  timeoutMs: number;
}

const BUSY = new Set(['connecting', 'connect']);

/**
 * PINGs the connections an ioredis `Cluster` subscribes on, so that a frozen node (SIGSTOP,
 * blackhole) is noticed, and makes ioredis replace a connection that misses its deadline.
 *
 * - Classic pub/sub: the one subscriber connection is PINGed every `intervalMs` under
 *   `timeoutMs`; a miss reports `ping-timeout` and closes it, which makes ioredis pick another
 *   node. Every new connection (after a miss, or after ioredis replaced a closed one) gets every
 *   channel and pattern subscribed again; once Redis confirmed, the loss is `restored()`. A new
 *   connection that does not confirm within `timeoutMs` (the node picked is frozen too) is closed
 *   as well, and ioredis picks again.
 * - Sharded pub/sub: every shard subscriber connection is PINGed; a miss reports `ping-timeout`
 *   and closes it, which makes ioredis refresh the slot map and open a new one to the shard's
 *   current master, where it subscribes the shard's channels again. The loss is `restored()` once
 *   ioredis reported its subscribers ready (`subscribersReady`) and every one of them answered a
 *   PING sent after its re-subscribe.
 *
 * It reads ioredis internals (through the adapter of `@x/connection`); when they are not found it stops and
 * `active` turns `false`, leaving the connections to ioredis alone.
 */
export class ClusterWatchdog {
  readonly #cluster: Cluster;
  readonly #host: ClusterWatchdogHost;
  readonly #sharded: boolean;
  readonly #timeoutMs: number;
  #interval: ReturnType<typeof setInterval> | undefined;
  #soon: ReturnType<typeof setImmediate> | undefined;
  /** Deadline of the PING round, handshake or re-subscribe in flight. */
  #deadline: ReturnType<typeof setTimeout> | undefined;
  /** Bumped to forget whatever is in flight. */
  #epoch = 0;
  #active = true;
  // Classic pub/sub.
  #watched: SubscriberConnection | undefined;
  #needsResubscribe = false;
  #busySince = 0;
  // Sharded pub/sub: connections ioredis handed their channels to (present at `subscribersReady`).
  readonly #resubscribed = new WeakSet<SubscriberConnection>();
  readonly #busySinceByShard = new WeakMap<SubscriberConnection, number>();

  constructor(cluster: Cluster, host: ClusterWatchdogHost, options: ClusterWatchdogOptions) {
    this.#cluster = cluster;
    this.#host = host;
    this.#sharded = options.sharded;
    this.#timeoutMs = options.timeoutMs;
    this.#active = ClusterWatchdog.supports(cluster, options.sharded);
    if (!this.#active) return;
    this.#interval = setInterval(this.#tick, options.intervalMs);
    this.#interval.unref();
  }

  /** Whether this ioredis version exposes the subscriber connections the watchdog needs. */
  static supports(cluster: Cluster, sharded: boolean): boolean {
    return sharded
      ? shardSubscribers(cluster) !== undefined
      : classicSubscriber(cluster) !== undefined;
  }

  /** `false` once stopped, or when the ioredis internals were not found. */
  get active(): boolean {
    return this.#active;
  }

  /**
   * Something changed (ioredis reported its sharded subscribers ready, a node was added or lost,
   * the cluster is ready again): forget the round in flight and look again soon.
   */
  poke(event?: 'subscribers-ready'): void {
    if (!this.#active) return;
    if (event === 'subscribers-ready' && this.#sharded) {
      // ioredis has just sent every one of them its channels: a PING sent from now on is
      // answered after them.
      for (const connection of shardSubscribers(this.#cluster) ?? []) {
        this.#resubscribed.add(connection);
      }
    }
    if (this.#host.isDown() || this.#needsResubscribe) this.#forget();
    this.#lookSoon();
  }

  // Not now: ioredis emits some of these events halfway through replacing its subscribers.
  #lookSoon(): void {
    this.#soon ??= setImmediate(this.#afterPoke);
  }

  readonly #afterPoke = (): void => {
    this.#soon = undefined;
    this.#tick();
  };

  /** Stops the timers and lets go of the subscriber connection. */
  stop(): void {
    this.#active = false;
    if (this.#interval !== undefined) clearInterval(this.#interval);
    this.#interval = undefined;
    if (this.#soon !== undefined) clearImmediate(this.#soon);
    this.#soon = undefined;
    this.#forget();
    this.#unwatch();
  }

  #forget(): void {
    this.#epoch++;
    if (this.#deadline !== undefined) clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }

  #arm(epoch: number, onMiss: () => void): void {
    this.#deadline = setTimeout(() => {
      if (epoch !== this.#epoch) return;
      this.#deadline = undefined;
      this.#epoch++;
      onMiss();
    }, this.#timeoutMs);
    this.#deadline.unref();
  }

  #missed(of: string): Error {
    return pingTimeout(this.#timeoutMs, of);
  }

  readonly #tick = (): void => {
    if (!this.#active) return;
    try {
      const supported = this.#sharded ? this.#tickSharded() : this.#tickClassic();
      if (!supported) this.stop();
    } catch {
      // An ioredis whose internals look alike but behave differently: leave it to ioredis.
      this.stop();
    }
  };

  // ---- classic pub/sub: one connection ---------------------------------------------------------

  #tickClassic(): boolean {
    const connection = classicSubscriber(this.#cluster);
    if (connection === undefined) return false;
    if (connection === null) return true; // no node known yet: ioredis picks one when it can
    this.#watch(connection);
    if (this.#deadline !== undefined) return true;
    const status = connection.status;
    const restoring = this.#host.isDown() || this.#needsResubscribe;
    if (status === 'ready') {
      if (restoring) this.#resubscribe(connection);
      else this.#pingClassic(connection);
    } else if (status === 'wait') {
      // Nothing sent on it yet (connections are lazy): what is sent now waits in its offline
      // queue until the handshake is done.
      if (restoring) this.#resubscribe(connection);
    } else if (BUSY.has(status)) {
      // Not now: a SUBSCRIBE written during the handshake (ioredis writes commands allowed while
      // loading) puts the connection in subscriber mode and fails its ready check. Its `ready`
      // event looks again. A handshake that never completes is a frozen node.
      const now = Date.now();
      if (this.#busySince === 0) this.#busySince = now;
      else if (now - this.#busySince > this.#timeoutMs) dropConnection(connection);
    }
    // 'end' / 'close': ioredis is replacing it.
    return true;
  }

  #watch(connection: SubscriberConnection): void {
    if (connection === this.#watched) return;
    const first = this.#watched === undefined;
    this.#unwatch();
    this.#watched = connection;
    connection.on('end', this.#onWatchedEnd);
    connection.on('ready', this.#onWatchedReady);
    this.#busySince = 0;
    this.#forget();
    // The first connection subscribes through the cluster as usual; any later one replaces a
    // lost connection and may miss what was subscribed while ioredis switched.
    if (!first) this.#needsResubscribe = true;
  }

  #unwatch(): void {
    this.#watched?.off('end', this.#onWatchedEnd);
    this.#watched?.off('ready', this.#onWatchedReady);
    this.#watched = undefined;
  }

  // ioredis picks the next node in its own `end` listener, registered before this one.
  readonly #onWatchedEnd = (): void => {
    if (!this.#active) return;
    this.#host.lost('connection-closed');
    this.poke();
  };

  readonly #onWatchedReady = (): void => {
    this.#busySince = 0;
    // A re-subscribe sent before the handshake is already waiting for this connection.
    if (this.#active && this.#deadline === undefined) this.#lookSoon();
  };

  #pingClassic(connection: SubscriberConnection): void {
    const epoch = ++this.#epoch;
    this.#arm(epoch, () => {
      this.#host.lost('ping-timeout', this.#missed('the subscriber connection'));
      dropConnection(connection); // ioredis picks another node
    });
    connection.ping().then(() => {
      if (epoch === this.#epoch) this.#forget();
    }, noop);
  }

  #resubscribe(connection: SubscriberConnection): void {
    const epoch = ++this.#epoch;
    // A node picked while frozen accepts the TCP connection and never answers: pick again.
    this.#arm(epoch, () => dropConnection(connection));
    this.#host.resubscribe(connection).then((confirmed) => {
      if (epoch !== this.#epoch || !confirmed) return;
      this.#forget();
      this.#needsResubscribe = false;
      this.#host.restored();
    }, noop);
  }

  // ---- sharded pub/sub: one connection per master ----------------------------------------------

  #tickSharded(): boolean {
    const connections = shardSubscribers(this.#cluster);
    if (connections === undefined) return false;
    if (this.#deadline !== undefined) return true;
    const down = this.#host.isDown();
    const ready: SubscriberConnection[] = [];
    let settled = true;
    const now = Date.now();
    for (const connection of connections) {
      const status = connection.status;
      if (status === 'ready') {
        ready.push(connection);
        if (!this.#resubscribed.has(connection)) settled = false;
      } else if (status !== 'wait') {
        // 'wait': a lazy subscriber of a shard without channels, nothing to watch.
        settled = false;
        if (BUSY.has(status)) {
          const since = this.#busySinceByShard.get(connection);
          if (since === undefined) this.#busySinceByShard.set(connection, now);
          else if (now - since > this.#timeoutMs) dropConnection(connection);
        }
        // 'end' / 'close': ioredis replaces it on its next slot refresh.
      }
    }
    if (down) {
      // Only once ioredis has re-subscribed every connection, and while the cluster is up (its
      // subscribers are all stopped while it reconnects).
      if (!settled || this.#cluster.status !== 'ready') return true;
      if (ready.length === 0) this.#host.restored();
      else this.#pingShards(ready, true);
    } else if (ready.length > 0) {
      this.#pingShards(ready, false);
    }
    return true;
  }

  #pingShards(connections: SubscriberConnection[], verifying: boolean): void {
    const epoch = ++this.#epoch;
    const pending = new Set(connections);
    this.#arm(epoch, () => {
      this.#host.lost('ping-timeout', this.#missed('a shard subscriber connection'));
      // ioredis refreshes the slot map and opens a new subscriber to the shard's master.
      for (const connection of pending) dropConnection(connection);
    });
    for (const connection of connections) {
      connection.ping().then(() => {
        if (epoch !== this.#epoch) return;
        pending.delete(connection);
        if (pending.size > 0) return;
        this.#forget();
        if (verifying) this.#host.restored();
      }, noop);
    }
  }
}

function noop(): void {}
