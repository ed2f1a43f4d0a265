import { EventEmitter } from 'node:events';
import {
  announceInstance,
  type Connection,
  createConnection,
  type Log,
  type RedisStats,
  toLog,
} from '@x/connection';
import {
  createLocalCache,
  isLocalCacheError,
  type LocalCache,
  type LocalCacheStats,
} from '@x/local-cache';
import {
  argumentError,
  firstInvalid,
  invalid,
  rejectArgument,
  rejectItem,
} from './_internal/args.js';
import { Journal } from './_internal/journal.js';
import type { Entries, HybridSetOptions, HybridTtlOptions } from './backend.js';
import type { Codec } from './codecs.js';
import { HybridClientError, HybridOptionsError } from './errors.js';
import { FailSafe, type HybridEntry } from './fail-safe.js';
import {
  type ActiveBackend,
  FailoverController,
  type HybridClientEvents,
} from './failover-controller.js';
import { checkGetOrSetOptions, GetOrSet, type GetOrSetOptions } from './get-or-set.js';
import { createKeys, type KeyHelper } from './keys.js';
import { MemoryBackend } from './memory-backend.js';
import { createNamespace, type HybridNamespace, type RawAccess } from './namespace.js';
import { NearCache, type NearCacheStats } from './near-cache/near-cache.js';
import { optInTracking, startTracking, type Tracking } from './near-cache/tracking.js';
import {
  type HybridClientOptions,
  type ResolvedHybridOptions,
  resolveHybridOptions,
} from './options.js';
import { Reconciler } from './reconciler.js';
import { RedisBackend } from './redis-backend.js';

const PKG = '@x/hybrid-client';

/** Counters and gauges of a {@link HybridClient}. */
export interface HybridClientStats {
  /** Which backend serves calls now. */
  activeBackend: ActiveBackend;
  /** `'hybrid'`, `'redis-only'` (`fallback: 'none'`) or `'memory-only'` (no `redis`). */
  mode: 'hybrid' | 'redis-only' | 'memory-only';
  /** Calls sent to Redis, and those of them that Redis could not serve (timeout, failure, open circuit). */
  primary: { calls: number; failures: number };
  /** Calls served from memory: during outages, by a memory-only client, and Redis calls that ended there. */
  memory: { calls: number };
  /** Times the client switched to memory (a start without Redis counts). */
  failovers: number;
  /** Times the client switched back to Redis. */
  recoveries: number;
  /** Total ms spent serving from memory because of outages, the current one included. */
  fallbackMs: number;
  /** The outage journal: keys held, its bound, whether it overflowed and how many keys it dropped. */
  journal: { size: number; maxKeys: number; overflowed: boolean; dropped: number };
  /** The memory store's own stats (`@x/local-cache`): entries, bytes, hits, misses, evictions. */
  local: LocalCacheStats;
  /**
   * The near cache: hits, misses, invalidations, stale serves (the fail-safe), entries and bytes
   * of the store, whether copies count as fresh (`tracking`) and the epoch. `null` when it is off
   * (`nearCache: false`, or a memory-only client).
   */
  near: NearCacheStats | null;
  /**
   * The connection's block (`@x/connection`): state, calls, failures, timeouts, breaker state,
   * the current problem, outages. `null` for a memory-only client (no connection).
   */
  redis: RedisStats | null;
}

/**
 * Redis first, memory when Redis is down, back to Redis by itself. Every call resolves within
 * `timeoutMs`; a miss is `null`. Create one with {@link createHybridClient}.
 */
export interface HybridClient {
  /** `'primary'` (Redis) or `'fallback'` (memory). */
  readonly activeBackend: ActiveBackend;
  /** Key names with this client's prefix: `keys.of('user', 1)` → `'app:user:1'`. */
  readonly keys: KeyHelper;
  get(key: string): Promise<string | null>;
  /**
   * `get` with where the value came from: `{ value, source: 'near' | 'redis' | 'memory', stale,
   * ageMs }`, or `null` for a miss. `stale` marks a copy served while Redis is unusable (the
   * fail-safe): Redis may hold a newer value.
   */
  getEntry(key: string): Promise<HybridEntry | null>;
  /** `true` when written (`false` when `nx` / `xx` prevented it). */
  set(key: string, value: string, options?: HybridSetOptions): Promise<boolean>;
  del(...keys: string[]): Promise<number>;
  exists(...keys: string[]): Promise<number>;
  setNX(key: string, value: string, options?: HybridTtlOptions): Promise<boolean>;
  incrBy(key: string, by: number): Promise<number>;
  expire(key: string, ttlMs: number): Promise<boolean>;
  /** `-2` missing, `-1` no TTL, else remaining ms. */
  ttl(key: string): Promise<number>;
  mget(keys: readonly string[]): Promise<(string | null)[]>;
  mset(
    entries: Record<string, string> | readonly (readonly [string, string])[],
    options?: HybridTtlOptions,
  ): Promise<void>;
  hget(key: string, field: string): Promise<string | null>;
  hset(key: string, field: string, value: string): Promise<number>;
  hset(key: string, record: Record<string, string>): Promise<number>;
  hgetall(key: string): Promise<Record<string, string>>;
  hdel(key: string, ...fields: string[]): Promise<number>;
  lpush(key: string, ...values: string[]): Promise<number>;
  rpush(key: string, ...values: string[]): Promise<number>;
  lrange(key: string, start: number, stop: number): Promise<string[]>;
  /**
   * The value of `key`, else `loader()`'s value, stored with `ttl`. Concurrent callers of the
   * same key share one load (single-flight); a loader error reaches every waiter and nothing is
   * stored. With a last known value of the key at hand (a copy Redis invalidated or stopped
   * tracking, less than `failSafeMaxAgeMs` ago): a loader that throws or passes `hardTimeoutMs`
   * answers with it (`failSafe`, default on), and past `softTimeoutMs` it is returned at once while
   * the load completes in the background. See {@link GetOrSetOptions}.
   */
  getOrSet(
    key: string,
    loader: () => string | Promise<string>,
    options?: GetOrSetOptions,
  ): Promise<string>;
  /**
   * A typed view: keys under `prefix:`, values through a codec (`'json'` by default, `'buffer'`
   * for bytes, `'text'`, or your own `{ encode, decode }`), with the near cache and the fail-safe.
   * @throws {HybridClientError} `E_HYBRID_ARGUMENT` for an empty prefix or an unknown codec
   */
  namespace(prefix: string, options: { codec: 'buffer' }): HybridNamespace<Buffer>;
  namespace(prefix: string, options: { codec: 'text' }): HybridNamespace<string>;
  namespace<T>(prefix: string, options: { codec: Codec<T> }): HybridNamespace<T>;
  namespace<T = unknown>(prefix: string, options?: { codec?: 'json' }): HybridNamespace<T>;
  /** `'PONG'` from the active backend. */
  ping(): Promise<string>;
  stats(): HybridClientStats;
  /**
   * Stops every timer, removes its listeners, closes the Redis client only if it created it
   * (bounded, also on a frozen server). Idempotent.
   */
  close(): Promise<void>;
  on<E extends keyof HybridClientEvents>(
    event: E,
    listener: (...args: HybridClientEvents[E]) => void,
  ): this;
  once<E extends keyof HybridClientEvents>(
    event: E,
    listener: (...args: HybridClientEvents[E]) => void,
  ): this;
  off<E extends keyof HybridClientEvents>(
    event: E,
    listener: (...args: HybridClientEvents[E]) => void,
  ): this;
}

function closedError(): Promise<never> {
  return Promise.reject(
    new HybridClientError('E_HYBRID_CLOSED', 'the client is closed: create a new one'),
  );
}

/** The memory store, with its option errors reported as this package's. */
function createStore(o: ResolvedHybridOptions): LocalCache {
  try {
    return createLocalCache(o.local);
  } catch (error) {
    if (isLocalCacheError(error) && error.code === 'E_LOCAL_CACHE_OPTIONS') {
      const field = error.field === undefined ? 'local' : `local.${error.field}`;
      throw new HybridOptionsError(field, error.value, 'a valid option of @x/local-cache');
    }
    throw error;
  }
}

/**
 * The client: checks every argument (a bad one rejects before any backend is touched), then
 * routes the call to Redis or memory by one flag that the failover controller keeps.
 */
class HybridClientImpl extends EventEmitter<HybridClientEvents> implements HybridClient {
  readonly keys: KeyHelper;
  readonly #mode: HybridClientStats['mode'];
  readonly #log: Log;
  readonly #journal: Journal;
  readonly #memory: MemoryBackend;
  readonly #connection: Connection | undefined;
  readonly #redis: RedisBackend | undefined;
  readonly #near: NearCache | undefined;
  readonly #tracking: Tracking | undefined;
  readonly #failover: FailoverController;
  readonly #loads: GetOrSet;
  readonly #failSafe: FailSafe | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(o: ResolvedHybridOptions) {
    super();
    this.#log = toLog(o.logger);
    this.keys = createKeys(o.keyPrefix);
    this.#mode =
      o.redis === undefined ? 'memory-only' : o.fallback === 'memory' ? 'hybrid' : 'redis-only';
    this.#journal = new Journal(o.maxJournalKeys);
    const store = createStore(o);
    const hybrid = this.#mode === 'hybrid';
    let reconciler: Reconciler | undefined;
    let near: NearCache | undefined;
    if (o.redis !== undefined) {
      try {
        // Synchronous on purpose: an invalid URL or config throws from createHybridClient itself.
        this.#connection = createConnection({
          redis: o.redis,
          ioredis: o.ioredis,
          timeoutMs: o.timeoutMs,
          breaker: o.breaker,
          logger: o.logger,
          name: PKG,
          probeIntervalMs: o.probeIntervalMs,
          healthCheckIntervalMs: o.healthCheckIntervalMs,
          startupProbeTimeoutMs: o.startupProbeTimeoutMs,
          optionError: (field, value, expected) => new HybridOptionsError(field, value, expected),
        });
      } catch (error) {
        store.close();
        throw error;
      }
      if (o.nearCache !== undefined) {
        const client = this.#connection.client;
        near = new NearCache(store, {
          prefixes: o.nearCache.mode === 'broadcast' ? o.nearCache.prefixes : undefined,
          keyPrefix: (client.options as { keyPrefix?: string }).keyPrefix ?? '',
          maxAgeMs: o.nearCache.maxAgeMs,
          keepSupersededMs: hybrid ? o.failSafeMaxAgeMs : 0,
          optIn: optInTracking(this.#connection, o.nearCache),
        });
      }
      if (hybrid) {
        reconciler = new Reconciler(
          this.#connection.client,
          store,
          this.#journal,
          o.onRecovery,
          o.timeoutMs,
          near === undefined ? undefined : (key) => near!.drop(key),
        );
      }
    }
    this.#near = near;
    const failSafe =
      near !== undefined && o.failSafeMaxAgeMs > 0
        ? new FailSafe(near, o.failSafeMaxAgeMs)
        : undefined;
    this.#failSafe = failSafe;
    this.#memory = new MemoryBackend(
      store,
      hybrid ? this.#journal : undefined,
      hybrid ? failSafe : undefined,
    );
    this.#loads = new GetOrSet({
      read: (key, bytes) => (bytes ? this.#getRaw(key, true) : this.get(key)),
      write: (key, value, ttl) => this.#setRaw(key, value, ttl === undefined ? undefined : { ttl }),
      lastKnown: (key, bytes) => this.#failSafe?.lastKnown(key, bytes),
    });
    this.#failover = new FailoverController(
      this.#connection,
      this.#memory,
      reconciler,
      o.fallback,
      {
        log: this.#log,
        emit: (event, ...args) => {
          this.#emit(event, ...args);
        },
      },
    );
    if (this.#connection !== undefined) {
      this.#redis = new RedisBackend(this.#connection, this.#memory, this.#failover, hybrid, near);
      if (near !== undefined) {
        this.#tracking = startTracking(this.#connection, near, o.nearCache!, this.#log);
      }
    }
    announceInstance(PKG, 'open', this);
  }

  async start(): Promise<this> {
    await this.#failover.start();
    // On Redis: let the near cache's tracking be set up (a round trip or two), so that reads are
    // cached from the first one; bounded by the start-up probe's deadline, and never an error.
    if (
      this.#failover.primary &&
      this.#connection?.state === 'ready' &&
      this.#tracking !== undefined &&
      !this.#closed
    ) {
      await this.#tracking.fresh(this.#connection!.startupProbeTimeoutMs);
    }
    return this;
  }

  get activeBackend(): ActiveBackend {
    return this.#failover.primary ? 'primary' : 'fallback';
  }

  #emit<E extends keyof HybridClientEvents>(event: E, ...args: HybridClientEvents[E]): void {
    try {
      (this.emit as (event: string, ...a: unknown[]) => boolean)(event, ...args);
    } catch (error) {
      // A throwing listener must not break the switch (it runs inside a Redis call's fallback).
      process.emitWarning(`[${PKG}] a '${event}' listener threw: ${String(error)}`);
    }
  }

  // ---- the hot path: one check, one flag, one backend call ------------------------------------

  get(key: string): Promise<string | null> {
    if (invalid(key)) return rejectArgument('key', key);
    if (this.#failover.primary) return this.#redis!.get(key);
    if (this.#closed) return closedError();
    return this.#memory.get(key);
  }

  getEntry(key: string): Promise<HybridEntry | null> {
    if (invalid(key)) return rejectArgument('key', key);
    if (this.#failover.primary) return this.#redis!.getEntry(key, false);
    if (this.#closed) return closedError();
    return this.#memory.getEntry(key, false);
  }

  set(key: string, value: string, options?: HybridSetOptions): Promise<boolean> {
    if (invalid(key)) return rejectArgument('key', key);
    if (invalid(value)) return rejectArgument('value', value);
    if (options !== undefined && options.nx === true && options.xx === true) {
      // Checked before either backend: a Redis error here would count as a failure.
      return Promise.reject(
        new HybridClientError('E_HYBRID_ARGUMENT', 'nx and xx are mutually exclusive: pass one', {
          field: 'nx',
        }),
      );
    }
    if (this.#failover.primary) return this.#redis!.set(key, value, options);
    if (this.#closed) return closedError();
    return this.#memory.set(key, value, options);
  }

  setNX(key: string, value: string, options?: HybridTtlOptions): Promise<boolean> {
    return this.set(key, value, { ttl: options?.ttl, nx: true });
  }

  // ---- the other operations -------------------------------------------------------------------

  /** The backend that serves the next call, `undefined` once closed. */
  #backend(): RedisBackend | MemoryBackend | undefined {
    if (this.#failover.primary) return this.#redis!;
    return this.#closed ? undefined : this.#memory;
  }

  del(...keys: string[]): Promise<number> {
    const bad = firstInvalid(keys);
    if (bad !== -1) return rejectItem('keys', keys, bad);
    if (keys.length === 0) return this.#closed ? closedError() : Promise.resolve(0);
    return this.#backend()?.del(keys) ?? closedError();
  }

  exists(...keys: string[]): Promise<number> {
    const bad = firstInvalid(keys);
    if (bad !== -1) return rejectItem('keys', keys, bad);
    if (keys.length === 0) return this.#closed ? closedError() : Promise.resolve(0);
    return this.#backend()?.exists(keys) ?? closedError();
  }

  incrBy(key: string, by: number): Promise<number> {
    if (invalid(key)) return rejectArgument('key', key);
    return this.#backend()?.incrBy(key, by) ?? closedError();
  }

  expire(key: string, ttlMs: number): Promise<boolean> {
    if (invalid(key)) return rejectArgument('key', key);
    return this.#backend()?.expire(key, ttlMs) ?? closedError();
  }

  ttl(key: string): Promise<number> {
    if (invalid(key)) return rejectArgument('key', key);
    return this.#backend()?.ttl(key) ?? closedError();
  }

  mget(keys: readonly string[]): Promise<(string | null)[]> {
    if (!Array.isArray(keys)) return rejectArgument('keys', keys);
    const bad = firstInvalid(keys);
    if (bad !== -1) return rejectItem('keys', keys, bad);
    if (keys.length === 0) return this.#closed ? closedError() : Promise.resolve([]);
    return this.#backend()?.mget(keys) ?? closedError();
  }

  mset(
    entries: Record<string, string> | readonly (readonly [string, string])[],
    options?: HybridTtlOptions,
  ): Promise<void> {
    if (typeof entries !== 'object' || entries === null) return rejectArgument('entries', entries);
    const list: Entries = Array.isArray(entries) ? entries : Object.entries(entries);
    // Every entry is checked before anything is sent: a bad one writes nothing anywhere.
    for (let i = 0; i < list.length; i++) {
      const pair = list[i] as unknown;
      if (!Array.isArray(pair)) return rejectArgument(`entries[${i}]`, pair);
      if (invalid(pair[0])) return rejectArgument(`entries[${i}][0]`, pair[0]);
      if (invalid(pair[1])) return rejectArgument(`entries[${i}][1]`, pair[1]);
    }
    return this.#backend()?.mset(list, options?.ttl) ?? closedError();
  }

  hget(key: string, field: string): Promise<string | null> {
    if (invalid(key)) return rejectArgument('key', key);
    if (invalid(field)) return rejectArgument('field', field);
    return this.#backend()?.hget(key, field) ?? closedError();
  }

  hset(
    key: string,
    fieldOrRecord: string | Record<string, string>,
    value?: string,
  ): Promise<number> {
    if (invalid(key)) return rejectArgument('key', key);
    if (typeof fieldOrRecord === 'string') {
      if (invalid(fieldOrRecord)) return rejectArgument('field', fieldOrRecord);
      if (invalid(value)) return rejectArgument('value', value);
      return this.#backend()?.hsetField(key, fieldOrRecord, value!) ?? closedError();
    }
    if (typeof fieldOrRecord !== 'object' || fieldOrRecord === null) {
      return rejectArgument('field', fieldOrRecord);
    }
    for (const field of Object.keys(fieldOrRecord)) {
      if (invalid(field)) return rejectArgument('field', field);
      const v: unknown = fieldOrRecord[field];
      if (invalid(v)) return rejectArgument(`record[${JSON.stringify(field)}]`, v);
    }
    return this.#backend()?.hset(key, fieldOrRecord) ?? closedError();
  }

  hgetall(key: string): Promise<Record<string, string>> {
    if (invalid(key)) return rejectArgument('key', key);
    return this.#backend()?.hgetall(key) ?? closedError();
  }

  hdel(key: string, ...fields: string[]): Promise<number> {
    if (invalid(key)) return rejectArgument('key', key);
    const bad = firstInvalid(fields);
    if (bad !== -1) return rejectItem('fields', fields, bad);
    return this.#backend()?.hdel(key, fields) ?? closedError();
  }

  lpush(key: string, ...values: string[]): Promise<number> {
    return this.#push(key, values, true);
  }

  rpush(key: string, ...values: string[]): Promise<number> {
    return this.#push(key, values, false);
  }

  #push(key: string, values: string[], left: boolean): Promise<number> {
    if (invalid(key)) return rejectArgument('key', key);
    const bad = firstInvalid(values);
    if (bad !== -1) return rejectItem('values', values, bad);
    return this.#backend()?.push(key, values, left) ?? closedError();
  }

  lrange(key: string, start: number, stop: number): Promise<string[]> {
    if (invalid(key)) return rejectArgument('key', key);
    return this.#backend()?.lrange(key, start, stop) ?? closedError();
  }

  ping(): Promise<string> {
    return this.#backend()?.ping() ?? closedError();
  }

  getOrSet(
    key: string,
    loader: () => string | Promise<string>,
    options?: GetOrSetOptions,
  ): Promise<string> {
    if (invalid(key)) return rejectArgument('key', key);
    if (typeof loader !== 'function') {
      return Promise.reject(
        new HybridClientError(
          'E_HYBRID_ARGUMENT',
          'the loader of getOrSet must be a function returning the value (or a promise of it)',
          { field: 'loader', value: loader },
        ),
      );
    }
    const bad = checkGetOrSetOptions(options);
    if (bad !== undefined) return Promise.reject(bad);
    if (this.#failover.primary) {
      // A fresh copy: no single-flight bookkeeping on the fast path.
      const hit = this.#near?.get(key);
      if (hit !== undefined) return Promise.resolve(hit);
    } else if (!this.#closed) {
      const hit = this.#memory.hit(key);
      if (hit !== undefined) return hit;
    } else return closedError();
    return this.#loads.run(key, () => checkedLoad(loader), false, options) as Promise<string>;
  }

  namespace<T>(prefix: string, options?: { codec?: unknown }): HybridNamespace<T> {
    return createNamespace<T>(this.#raw, prefix, options as { codec?: Codec<T> });
  }

  // ---- stored values as text or bytes, for namespaces -------------------------------------------

  #getRaw(key: string, bytes: boolean): Promise<string | Buffer | null> {
    if (!bytes) return this.get(key);
    if (this.#failover.primary) return this.#redis!.getBuffer(key);
    if (this.#closed) return closedError();
    return this.#memory.getBuffer(key);
  }

  #setRaw(
    key: string,
    value: string | Buffer,
    options: HybridSetOptions | undefined,
  ): Promise<boolean> {
    if (typeof value === 'string') return this.set(key, value, options);
    if (options?.nx === true && options.xx === true) return this.set(key, '', options);
    if (this.#failover.primary) return this.#redis!.setBuffer(key, value, options);
    if (this.#closed) return closedError();
    return this.#memory.setBuffer(key, value, options);
  }

  readonly #raw: RawAccess = {
    get: (key, bytes) => this.#getRaw(key, bytes),
    getEntry: (key, bytes) => {
      if (!bytes) return this.getEntry(key);
      if (this.#failover.primary) return this.#redis!.getEntry<Buffer>(key, true);
      if (this.#closed) return closedError();
      return this.#memory.getEntry<Buffer>(key, true);
    },
    set: (key, value, options) => this.#setRaw(key, value, options),
    mget: (keys, bytes) => {
      if (!bytes) return this.mget(keys);
      if (keys.length === 0) return this.#closed ? closedError() : Promise.resolve([]);
      if (this.#failover.primary) return this.#redis!.mgetBuffer(keys);
      if (this.#closed) return closedError();
      return this.#memory.mgetBuffer(keys);
    },
    getOrSet: (key, loader, bytes, options) => {
      const bad = checkGetOrSetOptions(options);
      if (bad !== undefined) return Promise.reject(bad);
      if (this.#closed) return closedError();
      return this.#loads.run(key, loader, bytes, options);
    },
    del: (...keys) => this.del(...keys),
    exists: (...keys) => this.exists(...keys),
    expire: (key, ttlMs) => this.expire(key, ttlMs),
    ttl: (key) => this.ttl(key),
  };

  stats(): HybridClientStats {
    const journal = this.#journal;
    return {
      activeBackend: this.activeBackend,
      mode: this.#mode,
      primary: { calls: this.#redis?.calls ?? 0, failures: this.#redis?.failures ?? 0 },
      memory: { calls: this.#memory.calls },
      failovers: this.#failover.failovers,
      recoveries: this.#failover.recoveries,
      fallbackMs: this.#failover.fallbackMs,
      journal: {
        size: journal.size,
        maxKeys: journal.max,
        overflowed: journal.overflowed,
        dropped: journal.dropped,
      },
      local: this.#memory.store.stats(),
      near: this.#near?.stats() ?? null,
      redis: this.#connection?.stats() ?? null,
    };
  }

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    this.#tracking?.close();
    this.#loads.clear();
    this.#failover.close();
    this.#memory.close();
    this.#journal.clear();
    announceInstance(PKG, 'close', this);
    this.#closing = this.#connection?.close() ?? Promise.resolve();
    return this.#closing;
  }
}

/**
 * Creates a client that uses Redis first and memory while Redis is unusable, and goes back to
 * Redis by itself. The promise settles once the start-up probe has decided (within
 * `startupProbeTimeoutMs`; at once when Redis is misconfigured) and never rejects because of
 * Redis.
 * @param options see {@link HybridClientOptions}
 * @throws {HybridOptionsError} `E_HYBRID_OPTIONS` (synchronously) naming the invalid option
 * @throws ConfigError of `@x/config` (synchronously) for an invalid URL or config
 * @example
 * const cache = await createHybridClient({ redis: process.env.REDIS_URL, keyPrefix: 'app' });
 * await cache.set(cache.keys.of('user', 1), 'Ada', { ttl: 60_000 });
 */
export function createHybridClient(options: HybridClientOptions = {}): Promise<HybridClient> {
  const client = new HybridClientImpl(resolveHybridOptions(options));
  return client.start();
}

/** Runs a `getOrSet` loader and checks its value (a bad one reaches the callers, nothing stored). */
async function checkedLoad(loader: () => string | Promise<string>): Promise<string> {
  const value: unknown = await loader();
  if (invalid(value)) throw argumentError('loader', value, 'the value the loader resolved to');
  return value as string;
}
