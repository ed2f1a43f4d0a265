// The one place of the x packages that reads what ioredis keeps outside its public API. Every
// accessor here is guarded: a shape it does not recognise yields `undefined` (or does nothing),
// and the caller then falls back to what ioredis does by itself instead of failing. Tested on
// ioredis 5 and 6 (`ioredis-adapter.test.ts`, run by the suite on both majors).
//
// What is used, and why:
// - `client.stream` (typed public on `Redis`, but its methods are the socket's): destroy or reset a
//   socket at once (a frozen peer never answers the FIN that `disconnect()` waits for), cork it to
//   batch the writes of one tick, and read which node it is connected to (a Sentinel client moves).
// - `cluster.subscriber.getInstance()` and `cluster.shardedSubscribers.shardedSubscribers`: the
//   connections an ioredis `Cluster` subscribes on (classic and sharded pub/sub), private fields
//   of ioredis 5 and 6, so that a frozen node under a subscriber can be noticed.

import type { Writable } from 'node:stream';
import type { RedisClient } from '@x/config';
import type { Cluster, Redis } from 'ioredis';

/** The parts of an ioredis connection that the pub/sub watchdog uses. */
export type SubscriberConnection = Pick<
  Redis,
  'status' | 'ping' | 'disconnect' | 'subscribe' | 'psubscribe' | 'on' | 'off' | 'stream'
>;

interface SocketLike {
  remoteAddress?: unknown;
  remotePort?: unknown;
  destroy?: unknown;
  destroyed?: boolean;
  resetAndDestroy?: unknown;
  cork?: unknown;
  uncork?: unknown;
}

/**
 * Closes `connection` at once. `disconnect()` half-closes the socket and waits up to ioredis'
 * `disconnectTimeout` (2 s) for a frozen peer that never answers; destroying the socket emits
 * `close` now. A standalone connection then reconnects by its retry strategy; a Cluster's
 * subscriber connection (which never reconnects by itself) is ended and replaced by ioredis.
 * Without a socket to destroy, falls back to `disconnect(reconnect)`.
 */
export function dropConnection(connection: SubscriberConnection, reconnect = false): void {
  const stream = connection.stream as SocketLike | undefined | null;
  if (stream !== undefined && stream !== null && typeof stream.destroy === 'function') {
    if (stream.destroyed !== true) (stream.destroy as () => void).call(stream);
  } else {
    connection.disconnect(reconnect);
  }
}

/**
 * Drops every socket of `client` with a TCP reset (every node of a Cluster): the way out of a
 * connection that a blackholed network or a frozen server left half-open. ioredis reconnects by
 * its retry strategy. Only for clients the caller owns.
 */
export function resetSockets(client: RedisClient): void {
  const nodes: unknown[] = isClusterShape(client) ? safeNodes(client as Cluster) : [client];
  for (const node of nodes) {
    const stream = (node as { stream?: SocketLike | null }).stream;
    if (stream === undefined || stream === null) continue;
    if (typeof stream.resetAndDestroy === 'function')
      (stream.resetAndDestroy as () => void).call(stream);
    else if (typeof stream.destroy === 'function') (stream.destroy as () => void).call(stream);
  }
}

/**
 * The address the socket of a standalone `client` is connected to (for a Sentinel client, the
 * node it resolved), or `undefined` when it has no connected socket (or is a Cluster).
 */
export function remoteEndpoint(client: RedisClient): { host: string; port: number } | undefined {
  if (isClusterShape(client)) return undefined;
  const stream = (client as { stream?: SocketLike | null }).stream;
  if (stream === undefined || stream === null) return undefined;
  const { remoteAddress: host, remotePort: port } = stream;
  return typeof host === 'string' && typeof port === 'number' ? { host, port } : undefined;
}

/**
 * Corks the socket of a standalone `client` until the end of the current tick, so that the
 * commands written in it leave in one `writev` instead of one `write` system call each (which
 * dominates the client's CPU time per command on a busy client). Every command written on that
 * socket in the tick (also by other code sharing the client) leaves at the end of it, in order.
 * Returns false when it cannot (Cluster, no socket): nothing changes then. A socket corked
 * already (earlier in the tick) is left as it is.
 */
export function corkUntilNextTick(client: RedisClient): boolean {
  if (isClusterShape(client)) return false;
  const stream = (client as { stream?: Writable & SocketLike }).stream;
  if (stream === undefined || stream === null || typeof stream.cork !== 'function') return false;
  if ((stream as { writableCorked?: number }).writableCorked) return true;
  stream.cork();
  process.nextTick(uncork, stream);
  return true;
}

function uncork(stream: Writable): void {
  stream.uncork();
}

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
 * The connections `cluster` (created with `shardedSubscribers: true`) uses for SSUBSCRIBE, one
 * per master that has been given a subscriber, or `undefined` when this ioredis version keeps
 * them elsewhere.
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

function isClusterShape(client: unknown): boolean {
  return (client as { isCluster?: unknown }).isCluster === true;
}

function safeNodes(cluster: Cluster): unknown[] {
  try {
    return cluster.nodes('all');
  } catch {
    return [];
  }
}
