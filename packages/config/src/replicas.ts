import { closeClient } from './_internal/close-client.js';
import {
  createRedisClient,
  type RedisClient,
  type RedisClientOverrides,
  toConfig,
} from './client.js';
import type { RedisConfig, RedisConfigInput } from './config.js';
import { ConfigError } from './errors.js';
import { parseRedisUrl } from './redis-url.js';

/** Options of {@link createReplicaRouter}. */
export interface ReplicaRouterOptions {
  /** Extra ioredis options for every client the router creates. */
  ioredis?: RedisClientOverrides;
  /** Random source for the replica pick, in `[0, 1)`. @default Math.random */
  random?: () => number;
  /**
   * Whether a read that failed on a replica is tried again on the primary. The default retries
   * every error except a reply error that the primary would give too (`WRONGTYPE`, syntax...);
   * `LOADING`, `MASTERDOWN`, `READONLY`, timeouts and connection errors do fall back.
   * @default defaultShouldFallback
   */
  shouldFallback?: (error: unknown) => boolean;
}

/** Counters of a {@link ReplicaRouter}. */
export interface ReplicaRouterStats {
  /** Reads answered by a replica. */
  readonly replicaReads: number;
  /** Reads answered by the primary (no replica ready, a fallback, or no replicas at all). */
  readonly primaryReads: number;
  /** Reads that failed on a replica and were retried on the primary. */
  readonly fallbacks: number;
}

/** Sends reads to a random ready replica, falling back to the primary; writes to the primary. */
export interface ReplicaRouter {
  /** The primary (standalone or Sentinel master), or the Cluster itself. */
  readonly primary: RedisClient;
  /**
   * Replica clients: one per `readReplicaUrls` entry (standalone), one `role: 'slave'` client
   * (Sentinel: ioredis picks a replica), none for a Cluster (it routes reads with `scaleReads`).
   */
  readonly replicas: readonly RedisClient[];
  /** Runs a read on a random ready replica; on a replica failure, runs it again on the primary. */
  read<T>(fn: (client: RedisClient) => Promise<T>): Promise<T>;
  /** Runs `fn` on the primary. */
  write<T>(fn: (client: RedisClient) => Promise<T>): Promise<T>;
  stats(): ReplicaRouterStats;
  /** Closes every client the router created. */
  close(): Promise<void>;
}

const STAY_ON_ERROR = /^(LOADING|MASTERDOWN|READONLY|NOREPLICAS|CLUSTERDOWN|TRYAGAIN|BUSY)\b/;

/**
 * Default {@link ReplicaRouterOptions.shouldFallback}: fall back to the primary unless the
 * error is a Redis reply that the primary would give too.
 */
export function defaultShouldFallback(error: unknown): boolean {
  if (!(error instanceof Error)) return true;
  if (error.name !== 'ReplyError') return true;
  return STAY_ON_ERROR.test(error.message);
}

/**
 * Creates the clients for reads on replicas: standalone uses `readReplicaUrls` (each URL may
 * carry its own credentials; missing ones are taken from the config), Sentinel a client with
 * ioredis `role: 'slave'`, Cluster `scaleReads: 'slave'` on the one Cluster client.
 * @throws ConfigError when the config is invalid.
 * @example
 * const router = createReplicaRouter({ url: primaryUrl, readReplicaUrls: [replicaUrl] });
 * const value = await router.read((c) => c.get('key'));
 */
export function createReplicaRouter(
  config: RedisConfig | RedisConfigInput | string,
  options: ReplicaRouterOptions = {},
): ReplicaRouter {
  const c = toConfig(config);
  const random = options.random ?? Math.random;
  if (typeof random !== 'function') {
    throw new ConfigError([{ path: 'random', message: 'must be a function' }]);
  }
  const shouldFallback = options.shouldFallback ?? defaultShouldFallback;
  const primary = createRedisClient(c, options.ioredis);
  const replicas: RedisClient[] = [];
  // A replica always answers READONLY to writes: that must not make its client reconnect.
  const replicaOverrides: RedisClientOverrides = { reconnectOnError: null, ...options.ioredis };
  if (c.mode === 'standalone') {
    for (const url of c.readReplicaUrls) {
      const parsed = parseRedisUrl(url);
      replicas.push(
        createRedisClient(
          {
            ...c,
            host: parsed.host,
            port: parsed.port,
            username: parsed.username ?? c.username,
            password: parsed.password ?? c.password,
            db: parsed.db ?? c.db,
            tls: parsed.tls ? (c.tls ?? true) : c.tls,
            readReplicas: false,
            readReplicaUrls: [],
          },
          replicaOverrides,
        ),
      );
    }
  } else if (c.mode === 'sentinel' && c.readReplicas) {
    replicas.push(createRedisClient(c, { ...replicaOverrides, role: 'slave' }));
  }

  let replicaReads = 0;
  let primaryReads = 0;
  let fallbacks = 0;

  const pickReplica = (): RedisClient | undefined => {
    const n = replicas.length;
    if (n === 0) return undefined;
    // Random start, then the first ready one: no per-call array.
    const start = Math.floor(random() * n) % n;
    for (let i = 0; i < n; i++) {
      const candidate = replicas[(start + i) % n]!;
      if (candidate.status === 'ready') return candidate;
    }
    return undefined;
  };

  return {
    primary,
    replicas,
    async read<T>(fn: (client: RedisClient) => Promise<T>): Promise<T> {
      const replica = pickReplica();
      if (replica) {
        try {
          const value = await fn(replica);
          replicaReads += 1;
          return value;
        } catch (error) {
          if (!shouldFallback(error)) throw error;
          fallbacks += 1;
        }
      }
      const value = await fn(primary);
      primaryReads += 1;
      return value;
    },
    write<T>(fn: (client: RedisClient) => Promise<T>): Promise<T> {
      return fn(primary);
    },
    stats(): ReplicaRouterStats {
      return { replicaReads, primaryReads, fallbacks };
    },
    async close(): Promise<void> {
      await Promise.all([primary, ...replicas].map((client) => closeClient(client)));
    },
  };
}

/** Options of {@link createClientPool}. */
export interface ClientPoolOptions {
  /** Number of connections. @default config.poolSize (10) */
  size?: number;
  /** Extra ioredis options for every client. */
  ioredis?: RedisClientOverrides;
}

/** A fixed set of clients handed out round-robin. */
export interface ClientPool {
  readonly size: number;
  readonly clients: readonly RedisClient[];
  /** The next client in round-robin order, skipping ones that are not ready (if any is). */
  next(): RedisClient;
  /** Closes every client of the pool. */
  close(): Promise<void>;
}

/**
 * A small round-robin pool of clients for users who want several connections (e.g. to spread
 * large replies or blocking commands). ioredis multiplexes one connection well; most services
 * need no pool. All connections are opened at once, so `minIdleConns` is always met.
 * @throws ConfigError when the config or `size` is invalid.
 */
export function createClientPool(
  config: RedisConfig | RedisConfigInput | string,
  options: ClientPoolOptions = {},
): ClientPool {
  const c = toConfig(config);
  const size = options.size ?? c.poolSize;
  if (!Number.isInteger(size) || size < 1 || size > 10_000) {
    throw new ConfigError([
      { path: 'size', message: `must be an integer 1..10000, got ${String(size)}` },
    ]);
  }
  const clients: RedisClient[] = [];
  for (let i = 0; i < size; i++) clients.push(createRedisClient(c, options.ioredis));
  let cursor = 0;
  return {
    size,
    clients,
    next(): RedisClient {
      for (let i = 0; i < size; i++) {
        const client = clients[cursor]!;
        cursor = (cursor + 1) % size;
        if (client.status === 'ready') return client;
      }
      const client = clients[cursor]!;
      cursor = (cursor + 1) % size;
      return client;
    },
    async close(): Promise<void> {
      await Promise.all(clients.map((client) => closeClient(client)));
    },
  };
}
