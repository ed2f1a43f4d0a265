import { isCluster, type RedisClient } from '@x/config';
import type { ClusterOptions, RedisOptions } from 'ioredis';
import type { DiagnoseContext } from '../diagnosis.js';

/** Where a client points: for hints, and for the protocol probe (standalone only). */
export type Target = DiagnoseContext & { host?: string; port?: number };

/** Where `client` connects, read from its options. */
export function describeTarget(client: RedisClient, timeoutMs: number): Target {
  if (isCluster(client)) {
    const nodes = (client as unknown as { startupNodes?: { host?: string; port?: number }[] })
      .startupNodes;
    const first = Array.isArray(nodes) ? nodes[0] : undefined;
    const tls = (client.options as ClusterOptions).redisOptions?.tls !== undefined;
    return {
      cluster: true,
      tls,
      timeoutMs,
      address: first?.host !== undefined ? `${first.host}:${first.port ?? 6379}` : undefined,
    };
  }
  const o = client.options as RedisOptions;
  const host = o.host ?? '127.0.0.1';
  const port = o.port ?? 6379;
  const sentinel = Array.isArray(o.sentinels) && o.sentinels.length > 0;
  return {
    cluster: false,
    tls: o.tls !== undefined,
    timeoutMs,
    db: o.db,
    address: sentinel ? `sentinel master "${o.name ?? ''}"` : (o.path ?? `${host}:${port}`),
    ...(sentinel || o.path ? {} : { host, port }),
  };
}

/** Bounds an owned client's reconnection delay so recovery is not held back by a long backoff. */
export function capReconnectDelay(client: RedisClient, cap: number): void {
  const opts = client.options as { retryStrategy?: unknown; clusterRetryStrategy?: unknown };
  const key = isCluster(client) ? 'clusterRetryStrategy' : 'retryStrategy';
  const base = opts[key] as
    | ((times: number, ...rest: unknown[]) => number | null | undefined)
    | undefined;
  opts[key] = (times: number, ...rest: unknown[]): number | null => {
    const delay = typeof base === 'function' ? base(times, ...rest) : undefined;
    // A strategy that gives up (null) is respected only for clients that were told so; ours never do.
    return typeof delay === 'number' ? Math.min(delay, cap) : cap;
  };
}

/** `promise`, or a rejection after `ms` (the late settlement is never unhandled). */
export function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  promise.catch(() => {});
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
