import type { Cluster, Redis } from 'ioredis';

// The connections an ioredis `Cluster` subscribes on are not part of its public API: classic
// pub/sub goes through one connection kept by `cluster.subscriber` (a `ClusterSubscriber`, whose
// `getInstance()` returns it), sharded pub/sub through one connection per master kept by
// `cluster.shardedSubscribers.shardedSubscribers` (a `Map` of `ShardedSubscriber`s, each with
// `getInstance()`). Both are private fields of ioredis 5 and 6. This file is the only place that
// reads them; every shape it does not recognise yields `undefined`, and the caller then falls back
// to what ioredis does by itself (no PING watchdog on Cluster) instead of failing.

/** The parts of an ioredis connection the watchdog uses. */
export type SubscriberConnection = Pick<
  Redis,
  'status' | 'ping' | 'disconnect' | 'subscribe' | 'psubscribe' | 'on' | 'off' | 'stream'
>;

/**
 * The connection `cluster` uses for classic (cluster-wide) SUBSCRIBE / PSUBSCRIBE: `null` while
 * it has none (no node known yet), `undefined` when this ioredis version keeps it elsewhere.
 */
export function classicSubscriber(cluster: Cluster): SubscriberConnection | null | undefined {
  const holder = (cluster as unknown as { subscriber?: unknown }).subscriber;
  const instance = instanceOf(holder);
  if (instance === undefined || instance === null) return instance;
  return isConnection(instance) ? instance : undefined;
}

/**
 * The connections `cluster` (created with `shardedSubscribers: true`) uses for SSUBSCRIBE, one per
 * master that has been given a subscriber, or `undefined` when this ioredis version keeps them
 * elsewhere.
 */
export function shardSubscribers(cluster: Cluster): SubscriberConnection[] | undefined {
  const group = (cluster as unknown as { shardedSubscribers?: unknown }).shardedSubscribers;
  if (typeof group !== 'object' || group === null) return undefined;
  const map = (group as { shardedSubscribers?: unknown }).shardedSubscribers;
  if (!(map instanceof Map)) return undefined;
  const connections: SubscriberConnection[] = [];
  for (const holder of map.values()) {
    const instance = instanceOf(holder);
    if (instance === undefined) return undefined;
    if (instance === null) continue; // stopped: ioredis replaces it on the next slot refresh
    if (!isConnection(instance)) return undefined;
    connections.push(instance);
  }
  return connections;
}

function instanceOf(holder: unknown): unknown {
  if (typeof holder !== 'object' || holder === null) return undefined;
  const getInstance = (holder as { getInstance?: unknown }).getInstance;
  if (typeof getInstance !== 'function') return undefined;
  try {
    return (getInstance as () => unknown).call(holder) ?? null;
  } catch {
    return undefined;
  }
}

function isConnection(value: unknown): value is SubscriberConnection {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  return (
    typeof c.status === 'string' &&
    typeof c.ping === 'function' &&
    typeof c.disconnect === 'function' &&
    typeof c.subscribe === 'function' &&
    typeof c.psubscribe === 'function' &&
    typeof c.on === 'function' &&
    typeof c.off === 'function'
  );
}
