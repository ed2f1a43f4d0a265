import type { LocalCache } from '@x/local-cache';
import { type Journal, KEEP_EXPIRY } from './_internal/journal.js';
import type { Backend, Entries, HybridSetOptions } from './backend.js';

/**
 * While serving from memory during an outage, a result is handed out through a macrotask at
 * least this often (ms), so that loops whose awaits only ever resolve as microtasks cannot starve
 * timers and I/O (the probes and the reconnection that end the outage).
 */
export const YIELD_EVERY_MS = 5;

const now = (): number => performance.now();
const noop = (): void => {};

/** A result waiting for one event-loop turn (see {@link YIELD_EVERY_MS}). */
interface Deferred {
  value: unknown;
  resolve: (value: unknown) => void;
}

// Captures a promise's resolve without allocating an executor closure per deferred result.
let capturedResolve: (value: unknown) => void = noop;
function capture(resolve: (value: unknown) => void): void {
  capturedResolve = resolve;
}

/** `expiresAt` (performance.now() clock) of a value written with `ttl`, 0 = never. */
export function expiry(ttl: number | undefined): number {
  return ttl !== undefined && ttl > 0 ? now() + ttl : 0;
}

/**
 * The operations on the in-process store (`@x/local-cache`): what serves calls while Redis is
 * unusable, and every call of a memory-only client. During an outage every write is journaled
 * (the keys reconciled on recovery), and results are handed out through a macrotask every
 * {@link YIELD_EVERY_MS} so that the event loop keeps turning.
 */
export class MemoryBackend implements Backend {
  /** The store (also read and written by the Redis backend's fallbacks and the reconciler). */
  readonly store: LocalCache;
  /** Calls served from memory (this backend's, and Redis calls that ended here). */
  calls = 0;
  // undefined for a memory-only client: nothing to reconcile.
  readonly #journal: Journal | undefined;
  // 0 = never defer; else the time from which results wait one event-loop turn.
  #gateAt = 0;
  #deferred: Deferred[] = [];
  #immediate: NodeJS.Immediate | undefined;

  constructor(store: LocalCache, journal: Journal | undefined) {
    this.store = store;
    this.#journal = journal;
  }

  /** An outage began at `at`: from now on results yield to the event loop now and then. */
  startGating(at: number): void {
    this.#gateAt = at + YIELD_EVERY_MS;
  }

  /** The outage is over (or the client closed): hand out every waiting result now. */
  stopGating(): void {
    this.#gateAt = 0;
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#immediate = undefined;
    this.#flush();
  }

  /** Records a write of `key` that a Redis call could not make (`uncertain`: it may still land). */
  journalFailed(key: string, expiresAt: number, uncertain: boolean): void {
    this.#journal?.record(key, expiresAt, uncertain, now());
  }

  /** {@link journalFailed} for several keys. */
  journalFailedMany(keys: readonly string[], expiresAt: number, uncertain: boolean): void {
    const journal = this.#journal;
    if (journal === undefined) return;
    const t = now();
    for (const key of keys) journal.record(key, expiresAt, uncertain, t);
  }

  // ---- the two hot operations: no closure per call -------------------------------------------

  get(key: string): Promise<string | null> {
    let value: string | null;
    try {
      value = this.store.get(key);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#out(value);
  }

  /** The value of `key` when memory holds one (a `getOrSet` hit), else `undefined`. */
  hit(key: string): Promise<string> | undefined {
    let value: string | null;
    try {
      value = this.store.get(key);
    } catch (error) {
      return Promise.reject(error);
    }
    return value === null ? undefined : this.#out(value);
  }

  set(key: string, value: string, options: HybridSetOptions | undefined): Promise<boolean> {
    let written: boolean;
    try {
      written = this.store.set(key, value, options);
    } catch (error) {
      return Promise.reject(error);
    }
    return written ? this.#outWrite(true, key, undefined, options?.ttl, 0) : this.#out(false);
  }

  // ---- the other operations ---------------------------------------------------------------------

  del(keys: readonly string[]): Promise<number> {
    return this.#write(keys, 0, () => this.store.del(...keys));
  }

  exists(keys: readonly string[]): Promise<number> {
    return this.#read(() => this.store.exists(...keys));
  }

  incrBy(key: string, by: number): Promise<number> {
    return this.#write(key, KEEP_EXPIRY, () => this.store.incrBy(key, by));
  }

  expire(key: string, ttlMs: number): Promise<boolean> {
    return this.#write(key, ttlMs > 0 ? now() + ttlMs : 0, () => this.store.expire(key, ttlMs));
  }

  ttl(key: string): Promise<number> {
    return this.#read(() => this.store.ttl(key));
  }

  mget(keys: readonly string[]): Promise<(string | null)[]> {
    return this.#read(() => this.store.mget(keys));
  }

  mset(entries: Entries, ttl: number | undefined): Promise<void> {
    const keys = entries.map((e) => e[0]);
    return this.#write(keys, expiry(ttl), () =>
      this.store.mset(entries, ttl === undefined ? undefined : { ttl }),
    );
  }

  hget(key: string, field: string): Promise<string | null> {
    return this.#read(() => this.store.hget(key, field));
  }

  hset(key: string, record: Record<string, string>): Promise<number> {
    return this.#write(key, KEEP_EXPIRY, () => this.store.hset(key, record));
  }

  hsetField(key: string, field: string, value: string): Promise<number> {
    return this.#write(key, KEEP_EXPIRY, () => this.store.hset(key, field, value));
  }

  hgetall(key: string): Promise<Record<string, string>> {
    return this.#read(() => this.store.hgetall(key));
  }

  hdel(key: string, fields: readonly string[]): Promise<number> {
    return this.#write(key, KEEP_EXPIRY, () => this.store.hdel(key, ...fields));
  }

  push(key: string, values: readonly string[], left: boolean): Promise<number> {
    return this.#write(key, KEEP_EXPIRY, () =>
      left ? this.store.lpush(key, ...values) : this.store.rpush(key, ...values),
    );
  }

  lrange(key: string, start: number, stop: number): Promise<string[]> {
    return this.#read(() => this.store.lrange(key, start, stop));
  }

  ping(): Promise<string> {
    return this.#out('PONG');
  }

  /** Stops the store's janitor and empties it; hands out every waiting result. */
  close(): void {
    this.stopGating();
    this.store.close();
  }

  #read<T>(op: () => T): Promise<T> {
    let result: T;
    try {
      result = op();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#out(result);
  }

  #write<T>(key: string | readonly string[], expiresAt: number, op: () => T): Promise<T> {
    let result: T;
    try {
      result = op();
    } catch (error) {
      return Promise.reject(error);
    }
    return typeof key === 'string'
      ? this.#outWrite(result, key, undefined, undefined, expiresAt)
      : this.#outWrite(result, '', key, undefined, expiresAt);
  }

  /** Counts a call served from memory and hands out its result, through a macrotask when due. */
  #out<T>(value: T): Promise<T> {
    this.calls++;
    if (this.#gateAt !== 0 && now() >= this.#gateAt) return this.#defer(value) as Promise<T>;
    return Promise.resolve(value);
  }

  /**
   * {@link #out} for a write: journals `key` (or `keys`) with one clock read; the value expires
   * `ttl` ms from now when given, else at `expiresAt`.
   */
  #outWrite<T>(
    value: T,
    key: string,
    keys: readonly string[] | undefined,
    ttl: number | undefined,
    expiresAt: number,
  ): Promise<T> {
    this.calls++;
    const journal = this.#journal;
    if (journal === undefined) return Promise.resolve(value);
    const t = now();
    const at = ttl !== undefined && ttl > 0 ? t + ttl : expiresAt;
    if (keys === undefined) journal.record(key, at, false, t);
    else for (const k of keys) journal.record(k, at, false, t);
    if (this.#gateAt !== 0 && t >= this.#gateAt) return this.#defer(value) as Promise<T>;
    return Promise.resolve(value);
  }

  #defer(value: unknown): Promise<unknown> {
    const promise = new Promise(capture);
    this.#deferred.push({ value, resolve: capturedResolve });
    if (this.#immediate === undefined) this.#immediate = setImmediate(this.#onImmediate);
    return promise;
  }

  readonly #onImmediate = (): void => {
    this.#immediate = undefined;
    if (this.#gateAt !== 0) this.#gateAt = now() + YIELD_EVERY_MS;
    this.#flush();
  };

  #flush(): void {
    const queue = this.#deferred;
    if (queue.length === 0) return;
    this.#deferred = [];
    for (const d of queue) d.resolve(d.value);
  }
}
