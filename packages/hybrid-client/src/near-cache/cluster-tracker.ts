import type { Connection } from '@x/connection';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { type GuardedRun, Tracker, type TrackerSink, type TrackingSpec } from './tracker.js';

/** `host:port` of a node client, as ioredis keys its pool. */
function nodeKey(node: Redis): string {
  return `${node.options.host ?? '127.0.0.1'}:${node.options.port ?? 6379}`;
}

function nodesOf(cluster: Cluster): Redis[] {
  try {
    return cluster.nodes('all');
  } catch {
    return [];
  }
}

/**
 * Tracking on a Redis Cluster: one {@link Tracker} per node of the client's pool, each pairing the
 * node's data connection with an invalidation connection on the same node. The invalidation
 * connections are the node connections of a second Cluster client, the connection's
 * `duplicate('invalidation')` (RESP2, used for nothing else), matched by `host:port`.
 *
 * Every node is tracked, replicas included: ioredis may send a read to a replica that a failover
 * just promoted (a `MOVED` to a node already in its pool changes its role without an event), so
 * the only safe rule is that every connection that can answer a read is tracked. Copies count as
 * fresh only while every node's tracker holds, and any change of the pool (`+node`, `-node`, a
 * `refresh` that changed the nodes) voids every copy at once (synchronously: ioredis emits `+node`
 * before it sends anything to the new node). A copy read from a node that then lost its slot is
 * invalidated by that node: a migrated key is deleted there, and a demoted master applies the new
 * master's writes as a replica (or its connection closes, which ends tracking).
 *
 * The two clients build their pools from `CLUSTER SLOTS`, each when it refreshes and from a node
 * of its choice, so during a failover they can disagree: while gossip spreads the news, a node may
 * still show a demoted master as a master without slots (left out) while another already lists it
 * as a replica. Copies are not served while a node of the data client has no partner, and neither
 * client refreshes again by itself until a `MOVED` or a node change: so until they agree, the
 * clients are asked to look again every retry delay.
 */
export class ClusterTracker {
  readonly #data: Cluster;
  readonly #invalidation: Cluster;
  readonly #name: string;
  readonly #spec: TrackingSpec;
  readonly #run: GuardedRun;
  readonly #sink: TrackerSink;
  readonly #retryMs: number;
  readonly #pairs = new Map<string, Tracker>();
  #tracking = false;
  #delivering = true;
  #closed = false;
  #refreshAsked = 0;
  // Refreshes asked in a row while a node of the data client has no partner (see #lookAgain).
  #looks = 0;
  #recheck: NodeJS.Timeout | undefined;
  #signature = '';

  constructor(
    connection: Connection,
    name: string,
    spec: TrackingSpec,
    run: GuardedRun,
    sink: TrackerSink,
    retryMs: number,
  ) {
    this.#data = connection.client as Cluster;
    this.#name = name;
    this.#spec = spec;
    this.#run = run;
    this.#sink = sink;
    this.#retryMs = retryMs;
    const base = (this.#data.options as ClusterOptions).redisOptions ?? {};
    const redisOptions = {
      ...base,
      connectionName: name,
      protocol: 2,
      autoResubscribe: false,
    } as Partial<RedisOptions>;
    // Its nodes are subscribed: the readiness check (a command to a random node) would be refused.
    this.#invalidation = connection.duplicate('invalidation', {
      redisOptions,
      enableReadyCheck: false,
    }) as Cluster;
    for (const cluster of [this.#data, this.#invalidation]) {
      cluster.on('+node', this.#onTopology);
      cluster.on('-node', this.#onTopology);
      cluster.on('refresh', this.#onRefresh);
      cluster.on('ready', this.#onRefresh);
    }
    this.#sync(true);
  }

  /** True while every node's data connection is tracked. */
  get tracking(): boolean {
    return this.#tracking;
  }

  /** False while any node's invalidations may be held up (its tracker's lease ran out). */
  get delivering(): boolean {
    return this.#delivering;
  }

  /** The earliest lease end of the nodes' trackers (see {@link Tracker.leaseEnd}). */
  get leaseEnd(): number {
    let end = Number.POSITIVE_INFINITY;
    for (const tracker of this.#pairs.values()) end = Math.min(end, tracker.leaseEnd);
    return end;
  }

  trackers(): readonly Tracker[] {
    return [...this.#pairs.values()];
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#recheck);
    this.#recheck = undefined;
    for (const cluster of [this.#data, this.#invalidation]) {
      cluster.off('+node', this.#onTopology);
      cluster.off('-node', this.#onTopology);
      cluster.off('refresh', this.#onRefresh);
      cluster.off('ready', this.#onRefresh);
    }
    for (const tracker of this.#pairs.values()) tracker.close();
    this.#pairs.clear();
    this.#tracking = false;
  }

  /** A node came or went: every copy is void now (before anything is sent to a new node). */
  readonly #onTopology = (): void => {
    this.#sync(true);
  };

  readonly #onRefresh = (): void => {
    this.#sync(false);
  };

  /**
   * Pairs every node of the data client with the invalidation client's node at the same address.
   * `changed`: the pool changed, void every copy even if tracking holds on every node.
   */
  #sync(changed: boolean): void {
    if (this.#closed) return;
    const inv = new Map<string, Redis>();
    for (const node of nodesOf(this.#invalidation)) inv.set(nodeKey(node), node);
    const want = new Map<string, Redis>();
    for (const node of nodesOf(this.#data)) want.set(nodeKey(node), node);
    const signature = [...want.keys()].sort().join(',');
    if (signature !== this.#signature) {
      this.#signature = signature;
      changed = true;
    }
    for (const [key, tracker] of this.#pairs) {
      if (want.get(key) !== tracker.data || inv.get(key) !== tracker.invalidation) {
        tracker.close();
        this.#pairs.delete(key);
      }
    }
    let missing = false;
    for (const [key, node] of want) {
      if (this.#pairs.has(key)) continue;
      const partner = inv.get(key);
      if (partner === undefined) {
        missing = true;
        continue;
      }
      const tracker = new Tracker(
        node,
        partner,
        this.#name,
        this.#spec,
        this.#run,
        this.#node,
        this.#retryMs,
      );
      this.#pairs.set(key, tracker);
      tracker.start();
    }
    if (missing) this.#lookAgain();
    else if (this.#looks !== 0 || this.#recheck !== undefined) {
      this.#looks = 0;
      clearTimeout(this.#recheck);
      this.#recheck = undefined;
    }
    if (changed && this.#tracking) {
      this.#tracking = false;
      this.#sink.changed();
    }
    this.#update();
  }

  /**
   * A node of the data client has no partner in the invalidation client: asks the invalidation
   * client to refresh its pool (at most once per retry delay), and checks again after the delay
   * until every node has one. Asking once is not enough: the answer may come from a node that has
   * not heard of the failover yet (the demoted master is then left out), and nothing else makes
   * the client look again, so copies would not be served (every read going to Redis) until the
   * next change of the topology. From the second look on, the data client is asked too: its pool
   * may be the one that is out of date (a node that the cluster no longer lists).
   */
  #lookAgain(): void {
    const t = performance.now();
    if (this.#invalidation.status === 'ready' && t - this.#refreshAsked >= this.#retryMs) {
      this.#refreshAsked = t;
      this.#invalidation.refreshSlotsCache();
      if (this.#looks++ > 0 && this.#data.status === 'ready') this.#data.refreshSlotsCache();
    }
    if (this.#recheck === undefined) {
      this.#recheck = setTimeout(this.#onRecheck, this.#retryMs);
      this.#recheck.unref();
    }
  }

  readonly #onRecheck = (): void => {
    this.#recheck = undefined;
    this.#sync(false);
  };

  /** What each node's tracker reports, folded into one state. */
  readonly #node: TrackerSink = {
    invalidated: (keys) => this.#sink.invalidated(keys),
    changed: () => this.#update(),
    failed: (error) => this.#sink.failed(error),
    renewed: () => this.#sink.renewed(),
  };

  #update(): void {
    if (this.#closed) return;
    let all = this.#pairs.size > 0;
    for (const node of nodesOf(this.#data)) {
      if (this.#pairs.get(nodeKey(node))?.tracking !== true) {
        all = false;
        break;
      }
    }
    let delivering = true;
    for (const tracker of this.#pairs.values()) if (!tracker.delivering) delivering = false;
    if (all === this.#tracking && delivering === this.#delivering) return;
    this.#tracking = all;
    this.#delivering = delivering;
    this.#sink.changed();
  }
}
