import { randomBytes } from 'node:crypto';
import { type Connection, eventChannel, type Log } from '@x/connection';
import type { Redis, RedisOptions } from 'ioredis';
import { HYBRID_CHANNELS } from '../failover-controller.js';
import type { ResolvedNearOptions } from '../options.js';
import { ClusterTracker } from './cluster-tracker.js';
import type { NearCache } from './near-cache.js';
import { type GuardedRun, Tracker, type TrackerSink, type TrackingSpec } from './tracker.js';

/** Message of the `x:hybrid-client:tracking` channel: copies started or stopped counting as fresh. */
export interface TrackingMessage {
  /** True: Redis tracks this client's reads and is usable; false: copies are not served as fresh. */
  tracking: boolean;
  /** The near cache's epoch after the change. */
  epoch: number;
}

const trackingChannel = eventChannel<TrackingMessage>(HYBRID_CHANNELS.tracking);

// ioredis clients whose reads a near cache of this process tracks. A second `CLIENT TRACKING ON
// REDIRECT` on the same connection would silently take the invalidations away from the first.
const tracked = new WeakSet<object>();

/** Keeps a near cache's freshness in step with Redis: tracking on every connection that reads. */
export interface Tracking {
  /** The trackers (one per server), for tests. */
  trackers(): readonly Tracker[];
  /**
   * Resolves once copies count as fresh (tracking established, Redis usable), or after
   * `timeoutMs` whatever happened; never rejects.
   */
  fresh(timeoutMs: number): Promise<void>;
  /** Stops every tracker and listener; asks a client it did not create to stop tracking. */
  close(): void;
}

/**
 * Starts tracking for `near` on `connection`: one {@link Tracker} on a standalone or Sentinel
 * client (its invalidation connection is a `duplicate('invalidation')` speaking RESP2), one per
 * node on a Cluster ({@link ClusterTracker}). Copies count as fresh only while tracking holds and
 * the connection says Redis is usable. Returns `undefined` (the near cache stays off, logged once)
 * when another near cache of this process already tracks the same ioredis client.
 */
export function startTracking(
  connection: Connection,
  near: NearCache,
  options: ResolvedNearOptions,
  log: Log,
): Tracking | undefined {
  const client = connection.client;
  if (tracked.has(client)) {
    log(
      'warn',
      '[@x/hybrid-client] near cache off: another hybrid client of this process already tracks this ioredis client (one connection has one invalidation target). Give each hybrid client its own client, or pass nearCache: false',
      { reason: 'near_cache_shared_client' },
    );
    return undefined;
  }
  tracked.add(client);
  const keyPrefix = (client.options as { keyPrefix?: string }).keyPrefix ?? '';
  const spec: TrackingSpec = {
    mode: options.mode,
    prefixes: options.prefixes.map((p) => keyPrefix + p),
    // A client created here carries only this package's writes, each of which drops its copies
    // before it is sent: Redis need not echo them back (an invalidation per own write of a key
    // read before, which would also void the copy the next read installs). A client given to us
    // may carry writes of other code: those must invalidate, so no NOLOOP there.
    noLoop: connection.owned,
    // How stale a copy may get while invalidations are held up on the way (see the Tracker's
    // lease): the call deadline, at least 250 ms (one PING in flight every third of it).
    leaseMs: Math.max(250, connection.timeoutMs),
    optIn: optInTracking(connection, options),
  };
  const run: GuardedRun = (fn) => connection.execute(fn, { operation: 'tracking' });
  const retryMs = Math.min(connection.probeIntervalMs, 1_000);
  const name = `${connection.name}:invalidation:${randomBytes(6).toString('hex')}`.replace(
    /\s/g,
    '_',
  );
  let source: {
    trackers(): readonly Tracker[];
    readonly tracking: boolean;
    readonly delivering: boolean;
    readonly leaseEnd: number;
    close(): void;
  };
  const waiters = new Set<() => void>();
  const publish = (was: boolean): void => {
    if (near.fresh === was) return;
    if (near.fresh) for (const wake of [...waiters]) wake();
    if (trackingChannel.hasSubscribers) {
      trackingChannel.publish({ tracking: near.fresh, epoch: near.epoch });
    }
  };
  const changed = (): void => {
    const was = near.fresh;
    near.setTracking(source.tracking);
    near.setDelivering(source.delivering);
    near.setLeaseEnd(source.leaseEnd);
    publish(was);
  };
  const logged = new Set<string>();
  const sink: TrackerSink = {
    invalidated: (keys) => near.invalidated(keys),
    changed,
    renewed: () => near.setLeaseEnd(source.leaseEnd),
    failed: (error) => {
      // Said once per distinct reason (a missing ACL permission, an old server...); the tracker
      // keeps trying, and reads go to Redis meanwhile.
      const message = error instanceof Error ? error.message : String(error);
      if (!logged.has(message) && logged.size < 10) {
        logged.add(message);
        log(
          'warn',
          `[@x/hybrid-client] near cache not tracking yet: ${message}. Reads go to Redis until it is set up (it keeps trying); it needs CLIENT TRACKING (Redis 6+) and the CLIENT command`,
          { reason: 'near_cache_tracking_failed', error: message },
        );
      }
      // Do not hold a start-up waiting for it.
      for (const wake of [...waiters]) wake();
    },
  };
  if (connection.isCluster) {
    source = new ClusterTracker(connection, name, spec, run, sink, retryMs);
  } else {
    // RESP2 whatever the data connection speaks (ioredis 6 drops RESP3 invalidation pushes); no
    // automatic resubscription: the tracker asks CLIENT ID before subscribing again.
    const overrides = {
      connectionName: name,
      protocol: 2,
      autoResubscribe: false,
    } as Partial<RedisOptions>;
    const invalidation = connection.duplicate('invalidation', overrides) as Redis;
    const tracker = new Tracker(
      client as Redis,
      invalidation,
      name,
      spec,
      run,
      sink,
      retryMs,
      true,
    );
    source = {
      trackers: () => [tracker],
      get tracking() {
        return tracker.tracking;
      },
      get delivering() {
        return tracker.delivering;
      },
      get leaseEnd() {
        return tracker.leaseEnd;
      },
      close: () => tracker.close(),
    };
    tracker.start();
  }
  const onUnusable = (): void => {
    const was = near.fresh;
    near.setUsable(false);
    publish(was);
  };
  const onUsable = (): void => {
    const was = near.fresh;
    near.setUsable(true);
    publish(was);
  };
  connection.on('unusable', onUnusable);
  connection.on('usable', onUsable);
  if (connection.state === 'ready') onUsable();
  let closed = false;
  return {
    trackers: () => source.trackers(),
    fresh(timeoutMs) {
      if (near.fresh || closed) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, timeoutMs);
        timer.unref();
        waiters.add(wake);
      });
    },
    close() {
      if (closed) return;
      closed = true;
      for (const wake of [...waiters]) wake();
      connection.off('unusable', onUnusable);
      connection.off('usable', onUsable);
      const trackers = source.trackers();
      source.close();
      near.setTracking(false);
      tracked.delete(client);
      // A client we were given stays in use: stop Redis tracking its reads for us.
      if (!connection.owned) for (const t of trackers) untrack(t.data);
    },
  };
}

/**
 * Whether tracking is `OPTIN`: on a standalone client we were given, in default mode. Without
 * `NOLOOP` (see above) every write of a key this client read comes back as an invalidation; with
 * `OPTIN` the backend chooses which reads Redis tracks, and skips the first read after an own
 * write. Not on a Cluster, where `CLIENT CACHING YES` (no key) could reach another node than the
 * read it announces.
 */
export function optInTracking(connection: Connection, options: ResolvedNearOptions): boolean {
  return !connection.owned && !connection.isCluster && options.mode === 'default';
}

/** Best effort, never awaited: `CLIENT TRACKING OFF` on a connection that stays the user's. */
function untrack(data: Redis): void {
  if (data.status === 'ready') data.call('CLIENT', 'TRACKING', 'OFF').catch(() => {});
}
