import type { LocalCache, LocalEntry } from '@x/local-cache';
import { type Journal, KEEP_EXPIRY } from './_internal/journal.js';
import type { Backend, Entries, HybridSetOptions } from './backend.js';
import type { FailSafe, HybridEntry } from './fail-safe.js';

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
  // undefined without a near cache: the store then holds outage writes only.
  readonly #failSafe: FailSafe | undefined;
  // 0 = never defer; else the time from which results wait one event-loop turn.
  #gateAt = 0;
  #deferred: Deferred[] = [];
  #immediate: NodeJS.Immediate | undefined;

  constructor(store: LocalCache, journal: Journal | undefined, failSafe?: FailSafe) {
    this.store = store;
    this.#journal = journal;
    this.#failSafe = failSafe;
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
      value = this.read(key);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#out(value);
  }

  /** The value of `key` when memory holds one (a `getOrSet` hit), else `undefined`. */
  hit(key: string): Promise<string> | undefined {
    let value: string | null;
    try {
      value = this.read(key);
    } catch (error) {
      return Promise.reject(error);
    }
    return value === null ? undefined : this.#out(value);
  }

  /**
   * What memory serves for `key` (synchronous; also the fallback of a Redis read): the stored
   * value, or with a near cache the fail-safe's choice (a tracked copy young enough, marked
   * stale, or a value written during the outage).
   */
  read(key: string): string | null {
    const failSafe = this.#failSafe;
    if (failSafe === undefined) return this.store.get(key);
    const entry = failSafe.entry(key);
    if (entry === undefined) return null;
    return text(entry) ?? this.store.get(key);
  }

  /** {@link read} as bytes (`getBuffer`): a copy of stored bytes, or a string's UTF-8 bytes. */
  readBuffer(key: string): Buffer | null {
    const failSafe = this.#failSafe;
    if (failSafe === undefined) return this.store.getBuffer(key);
    const entry = failSafe.entry(key);
    if (entry === undefined) return null;
    const value = entry.value;
    if (Buffer.isBuffer(value)) return Buffer.from(value);
    if (typeof value === 'string') return Buffer.from(value, 'utf8');
    return this.store.getBuffer(key); // another type: the store's WRONGTYPE
  }

  /** {@link read} with where the value comes from (`getEntry`). */
  readEntry<T extends string | Buffer>(key: string, bytes: boolean): HybridEntry<T> | null {
    const failSafe = this.#failSafe;
    if (failSafe === undefined) {
      const value = bytes ? this.store.getBuffer(key) : this.store.get(key);
      return value === null
        ? null
        : { value: value as T, source: 'memory', stale: false, ageMs: 0 };
    }
    const entry = failSafe.entry(key);
    if (entry === undefined) return null;
    const value = entry.value;
    let out: string | Buffer;
    if (typeof value === 'string') out = bytes ? Buffer.from(value, 'utf8') : value;
    else if (Buffer.isBuffer(value)) out = bytes ? Buffer.from(value) : value.toString('utf8');
    else out = bytes ? this.store.getBuffer(key)! : this.store.get(key)!; // WRONGTYPE
    return { value: out as T, source: 'memory', ...failSafe.describe(entry) };
  }

  /** A hash from memory for `hget` / `hgetall` (the fail-safe's choice with a near cache). */
  #hashEntry(key: string): LocalEntry | undefined {
    const failSafe = this.#failSafe;
    return failSafe === undefined ? undefined : failSafe.entry(key);
  }

  /** `HGET` as memory serves it. */
  readField(key: string, field: string): string | null {
    if (this.#failSafe === undefined) return this.store.hget(key, field);
    const entry = this.#hashEntry(key);
    if (entry === undefined) return null;
    if (entry.type !== 'hash') return this.store.hget(key, field); // WRONGTYPE
    return (entry.value as ReadonlyMap<string, string>).get(field) ?? null;
  }

  /** `HGETALL` as memory serves it. */
  readHash(key: string): Record<string, string> {
    if (this.#failSafe === undefined || this.#hashEntry(key) !== undefined) {
      return this.store.hgetall(key);
    }
    return {};
  }

  /** `MGET` as memory serves it. */
  readMany(keys: readonly string[]): (string | null)[] {
    if (this.#failSafe === undefined) return this.store.mget(keys);
    const out: (string | null)[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const entry = this.#failSafe.entry(keys[i]!);
      // Redis' MGET answers nil for a key of another type instead of failing.
      out[i] = entry === undefined ? null : text(entry);
    }
    return out;
  }

  /** `getBuffer` from memory. */
  getBuffer(key: string): Promise<Buffer | null> {
    return this.#read(() => this.readBuffer(key));
  }

  /** `getEntry` from memory. */
  getEntry<T extends string | Buffer>(key: string, bytes: boolean): Promise<HybridEntry<T> | null> {
    return this.#read(() => this.readEntry<T>(key, bytes));
  }

  /** `set` of bytes in memory. */
  setBuffer(key: string, value: Buffer, options: HybridSetOptions | undefined): Promise<boolean> {
    this.#failSafe?.clean(key);
    let written: boolean;
    try {
      written = this.store.setBuffer(key, value, options);
    } catch (error) {
      return Promise.reject(error);
    }
    return written ? this.#outWrite(true, key, undefined, options?.ttl, 0) : this.#out(false);
  }

  /** `mget` of bytes from memory. */
  mgetBuffer(keys: readonly string[]): Promise<(Buffer | null)[]> {
    return this.#read(() =>
      keys.map((key) => {
        try {
          return this.readBuffer(key);
        } catch {
          return null; // MGET answers nil for a key of another type
        }
      }),
    );
  }

  set(key: string, value: string, options: HybridSetOptions | undefined): Promise<boolean> {
    this.#failSafe?.clean(key);
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
    this.#failSafe?.clean(keys);
    return this.#write(keys, 0, () => this.store.del(...keys));
  }

  exists(keys: readonly string[]): Promise<number> {
    this.#failSafe?.clean(keys);
    return this.#read(() => this.store.exists(...keys));
  }

  incrBy(key: string, by: number): Promise<number> {
    this.#failSafe?.clean(key);
    return this.#write(key, KEEP_EXPIRY, () => this.store.incrBy(key, by));
  }

  expire(key: string, ttlMs: number): Promise<boolean> {
    this.#failSafe?.clean(key);
    return this.#write(key, ttlMs > 0 ? now() + ttlMs : 0, () => this.store.expire(key, ttlMs));
  }

  ttl(key: string): Promise<number> {
    this.#failSafe?.clean(key);
    return this.#read(() => this.store.ttl(key));
  }

  mget(keys: readonly string[]): Promise<(string | null)[]> {
    return this.#read(() => this.readMany(keys));
  }

  mset(entries: Entries, ttl: number | undefined): Promise<void> {
    const keys = entries.map((e) => e[0]);
    return this.#write(keys, expiry(ttl), () =>
      this.store.mset(entries, ttl === undefined ? undefined : { ttl }),
    );
  }

  hget(key: string, field: string): Promise<string | null> {
    return this.#read(() => this.readField(key, field));
  }

  hset(key: string, record: Record<string, string>): Promise<number> {
    this.#failSafe?.clean(key);
    return this.#write(key, KEEP_EXPIRY, () => this.store.hset(key, record));
  }

  hsetField(key: string, field: string, value: string): Promise<number> {
    this.#failSafe?.clean(key);
    return this.#write(key, KEEP_EXPIRY, () => this.store.hset(key, field, value));
  }

  hgetall(key: string): Promise<Record<string, string>> {
    return this.#read(() => this.readHash(key));
  }

  hdel(key: string, fields: readonly string[]): Promise<number> {
    this.#failSafe?.clean(key);
    return this.#write(key, KEEP_EXPIRY, () => this.store.hdel(key, ...fields));
  }

  push(key: string, values: readonly string[], left: boolean): Promise<number> {
    this.#failSafe?.clean(key);
    return this.#write(key, KEEP_EXPIRY, () =>
      left ? this.store.lpush(key, ...values) : this.store.rpush(key, ...values),
    );
  }

  lrange(key: string, start: number, stop: number): Promise<string[]> {
    this.#failSafe?.clean(key);
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

/** The text of a string entry (bytes as UTF-8), `null` for a hash or a list. */
function text(entry: LocalEntry): string | null {
  const value = entry.value;
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return null;
}
