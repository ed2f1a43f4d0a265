import { Buffer } from 'node:buffer';
import { LRUCache } from 'lru-cache';
import { checkArray, checkString, checkStrings, notAPair, notAString } from './_internal/args.js';
import {
  byteLength,
  type Entry,
  HashEntry,
  ListEntry,
  type LocalEntry,
  MetaEntry,
  type Plain,
  plainView,
  sizeOfPlain,
  unwrap,
} from './_internal/entries.js';
import { LocalCacheError, wrongType } from './errors.js';

/** Options of {@link createLocalCache}. */
export interface LocalCacheOptions {
  /**
   * Upper bound of {@link LocalCacheStats.calculatedSize}: the UTF-8 bytes of every key and value
   * held (hash fields and list elements included). The least recently used entries are evicted to
   * stay under it; a single entry larger than the bound is not stored (and counted as evicted).
   * @default 104857600 (100 MB)
   */
  maxBytes?: number;
  /**
   * Optional upper bound of the number of keys.
   * @default undefined (bounded by bytes only)
   */
  maxEntries?: number;
  /**
   * How often the janitor removes expired entries, in ms (`0` disables it; expired entries are
   * then removed when read or evicted). The janitor's timer is `unref()`ed: it never keeps the
   * process alive.
   * @default 30000
   */
  janitorIntervalMs?: number;
}

/** Options of {@link LocalCache.set}. */
export interface SetOptions {
  /** Time to live in ms (a positive integer). Without it the key does not expire (as Redis SET clears a TTL). */
  ttl?: number;
  /** Only set the key if it does not exist (Redis `NX`). */
  nx?: boolean;
  /** Only set the key if it already exists (Redis `XX`). */
  xx?: boolean;
  /**
   * Metadata kept with the value (anything but `undefined`), read back with
   * {@link LocalCache.entry} together with the time the value was stored. Any later write of the
   * key without `meta` drops it. Entries without metadata cost nothing more than before.
   * @default undefined
   */
  meta?: unknown;
}

/** Options of {@link LocalCache.setHash}. */
export interface SetHashOptions {
  /** Time to live in ms (a positive integer). @default undefined (no expiry) */
  ttl?: number;
  /** Metadata kept with the hash (see {@link SetOptions.meta}). @default undefined */
  meta?: unknown;
}

/** Options of operations that only take a TTL ({@link LocalCache.setNX}, {@link LocalCache.mset}). */
export interface TtlOptions {
  /** Time to live in ms (a positive integer). */
  ttl?: number;
}

/** The kind of value a key holds, as Redis' `TYPE` names it. */
export type ValueType = 'string' | 'hash' | 'list' | 'none';

/** Counters of a {@link LocalCache}. */
export interface LocalCacheStats {
  /** Number of keys held (lru-cache's `size`). */
  size: number;
  /** Bytes held: UTF-8 bytes of keys and values. */
  calculatedSize: number;
  /** Number of keys held (same as `size`, under the name other caches use). */
  itemCount: number;
  /** Reads that found their key. */
  hits: number;
  /** Reads that did not find their key. */
  misses: number;
  /** Entries removed to stay within `maxBytes` / `maxEntries` (and entries too large to store). */
  evictions: number;
  /** Entries removed because their TTL passed. */
  expirations: number;
  /** The configured byte bound. */
  maxBytes: number;
}

export type { LocalEntry } from './_internal/entries.js';

/**
 * A synchronous in-process store with Redis semantics for strings, hashes and lists.
 * Values are strings (or bytes, with {@link LocalCache.setBuffer}); TTLs are in ms; a missing key
 * reads as `null` (or `{}` / `[]`).
 */
export interface LocalCache {
  /** Redis `GET` (bytes stored with `setBuffer` read as their UTF-8 text, as ioredis' `get`). */
  get(key: string): string | null;
  /**
   * Redis `GET` as bytes (ioredis' `getBuffer`): a copy of bytes stored with `setBuffer`, or the
   * UTF-8 bytes of a string.
   */
  getBuffer(key: string): Buffer | null;
  /** Redis `SET` (with `PX`, `NX`, `XX`); `true` when the value was written. */
  set(key: string, value: string, options?: SetOptions): boolean;
  /**
   * Redis `SET` of bytes (a copy is stored: changing `value` afterwards changes nothing here);
   * `true` when written. Sized by `value.length`.
   */
  setBuffer(key: string, value: Uint8Array, options?: SetOptions): boolean;
  /** Replaces `key` with a hash of these fields (Redis `DEL` + `HSET` [+ `PEXPIRE`]). */
  setHash(
    key: string,
    record: Record<string, string> | ReadonlyMap<string, string>,
    options?: SetHashOptions,
  ): void;
  /**
   * The entry of `key` with its metadata and when it was stored, or `undefined`. Counts as a read
   * (hit or miss, and the entry becomes the most recently used). For an entry stored with `meta`
   * this allocates nothing (the returned object is the store's own: read it, do not keep it).
   */
  entry(key: string): LocalEntry | undefined;
  /** {@link LocalCache.entry} without counting a read or touching the recency order. */
  peek(key: string): LocalEntry | undefined;
  /**
   * Replaces the metadata of `key`'s entry (stored with `meta`) in place, and its `storedAt` with
   * now: no copy of the value, no change of size, recency or TTL. `false` when the key holds no
   * entry with metadata.
   */
  retag(key: string, meta: unknown): boolean;
  /** Redis `DEL`: the number of keys removed. */
  del(...keys: string[]): number;
  /** Redis `EXISTS`: how many of the keys exist (a key named twice counts twice). */
  exists(...keys: string[]): number;
  /** Redis `SET NX`: `true` when the key did not exist and was written. */
  setNX(key: string, value: string, options?: TtlOptions): boolean;
  /** Redis `INCRBY`: keeps the key's TTL; a missing key counts as `0`. */
  incrBy(key: string, by: number): number;
  /** Redis `PEXPIRE`: `true` when the key exists; a TTL `<= 0` deletes the key. */
  expire(key: string, ttlMs: number): boolean;
  /** Redis `PTTL`: `-2` when missing, `-1` without TTL, else the remaining ms. */
  ttl(key: string): number;
  /** Redis `TYPE`. */
  type(key: string): ValueType;
  /** Redis `MGET`. */
  mget(keys: readonly string[]): (string | null)[];
  /** Redis `MSET` (every key gets `ttl` when given). */
  mset(
    entries: Record<string, string> | readonly (readonly [string, string])[],
    options?: TtlOptions,
  ): void;
  /** Redis `HGET`. */
  hget(key: string, field: string): string | null;
  /** Redis `HSET`: the number of fields added (not updated). Keeps the key's TTL. */
  hset(key: string, field: string, value: string): number;
  hset(key: string, record: Record<string, string>): number;
  /** Redis `HGETALL`: `{}` when missing. */
  hgetall(key: string): Record<string, string>;
  /** Redis `HDEL`: the number of fields removed; an emptied hash is deleted. */
  hdel(key: string, ...fields: string[]): number;
  /** Redis `LPUSH`: the new length. Keeps the key's TTL. */
  lpush(key: string, ...values: string[]): number;
  /** Redis `RPUSH`: the new length. Keeps the key's TTL. */
  rpush(key: string, ...values: string[]): number;
  /** Redis `LRANGE` (inclusive, negative indexes count from the end). */
  lrange(key: string, start: number, stop: number): string[];
  /** Counters and sizes. */
  stats(): LocalCacheStats;
  /** Removes every key (counters are kept). */
  clear(): void;
  /** Stops the janitor and removes every key. The cache stays usable, without janitor. */
  close(): void;
}

const DEFAULT_MAX_BYTES = 100 * 1024 * 1024;
const DEFAULT_JANITOR_MS = 30_000;

function checkTtl(ttl: number | undefined, field: string): void {
  if (ttl === undefined) return;
  if (!Number.isSafeInteger(ttl) || ttl <= 0) {
    throw new LocalCacheError(
      'E_LOCAL_CACHE_ARGUMENT',
      `${field} must be a positive integer (ms), got ${String(ttl)}`,
      {
        field,
        value: ttl,
      },
    );
  }
}

function checkOption(name: string, value: unknown, min: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new LocalCacheError(
      'E_LOCAL_CACHE_OPTIONS',
      `option ${name} must be an integer >= ${min}, got ${JSON.stringify(value) ?? String(value)}`,
      { field: name, value },
    );
  }
}

const INTEGER = /^-?(0|[1-9]\d*)$/;

class LocalCacheImpl implements LocalCache {
  readonly #lru: LRUCache<string, Entry>;
  readonly #maxBytes: number;
  #janitor: NodeJS.Timeout | undefined;
  #hits = 0;
  #misses = 0;
  #evictions = 0;
  #expirations = 0;

  constructor(options: LocalCacheOptions) {
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.#lru = new LRUCache<string, Entry>({
      maxSize: this.#maxBytes,
      ...(options.maxEntries === undefined ? {} : { max: options.maxEntries }),
      allowStale: false,
      updateAgeOnGet: false,
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.#evictions++;
        else if (reason === 'expire') this.#expirations++;
      },
    });
    const every = options.janitorIntervalMs ?? DEFAULT_JANITOR_MS;
    if (every > 0) {
      this.#janitor = setInterval(() => this.#lru.purgeStale(), every);
      this.#janitor.unref();
    }
  }

  /** Stores `entry` of `size` bytes; an entry above the bound is dropped (and counted). */
  #put(key: string, entry: Entry, size: number, ttl: number | undefined, keepTtl: boolean): void {
    if (size > this.#maxBytes) {
      this.#lru.delete(key);
      this.#evictions++;
      return;
    }
    if (keepTtl) this.#lru.set(key, entry, { size: size || 1, noUpdateTTL: true });
    else this.#lru.set(key, entry, { size: size || 1, ttl: ttl ?? 0 });
  }

  /** The bare entry of `key` (a read: counted, and it becomes the most recently used). */
  #read(key: string): Plain | undefined {
    const entry = this.#lru.get(key);
    if (entry === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    return unwrap(entry);
  }

  /** The bare entry of `key` for a write (not counted as a read). */
  #bare(key: string): Plain | undefined {
    const entry = this.#lru.get(key);
    return entry === undefined ? undefined : unwrap(entry);
  }

  get(key: string): string | null {
    checkString(key, 'key');
    const entry = this.#read(key);
    if (entry === undefined) return null;
    if (typeof entry === 'string') return entry;
    if (Buffer.isBuffer(entry)) return entry.toString('utf8');
    throw wrongType();
  }

  getBuffer(key: string): Buffer | null {
    checkString(key, 'key');
    const entry = this.#read(key);
    if (entry === undefined) return null;
    if (typeof entry === 'string') return Buffer.from(entry, 'utf8');
    if (Buffer.isBuffer(entry)) return Buffer.from(entry);
    throw wrongType();
  }

  entry(key: string): LocalEntry | undefined {
    checkString(key, 'key');
    const entry = this.#lru.get(key);
    if (entry === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    return entry instanceof MetaEntry ? entry : plainView(entry);
  }

  peek(key: string): LocalEntry | undefined {
    checkString(key, 'key');
    const entry = this.#lru.peek(key);
    if (entry === undefined) return undefined;
    return entry instanceof MetaEntry ? entry : plainView(entry);
  }

  retag(key: string, meta: unknown): boolean {
    checkString(key, 'key');
    const entry = this.#lru.peek(key);
    if (!(entry instanceof MetaEntry) || meta === undefined) return false;
    entry.meta = meta;
    entry.storedAt = performance.now();
    return true;
  }

  /** Wraps `value` with `meta` when there is one (a clock read, only then). */
  #withMeta(value: string | Buffer | HashEntry, meta: unknown): Entry {
    return meta === undefined ? value : new MetaEntry(value, meta, performance.now());
  }

  set(key: string, value: string, options?: SetOptions): boolean {
    checkString(key, 'key');
    checkString(value, 'value');
    if (options === undefined) {
      this.#put(key, value, byteLength(key) + byteLength(value), undefined, false);
      return true;
    }
    return this.#setWith(key, value, byteLength(key) + byteLength(value), options);
  }

  setBuffer(key: string, value: Uint8Array, options?: SetOptions): boolean {
    checkString(key, 'key');
    if (!(value instanceof Uint8Array)) throw notAString('value', value, 'a Buffer or Uint8Array');
    // A copy: the caller may reuse its buffer; what is stored must not change behind the store.
    const bytes = Buffer.from(value);
    const size = byteLength(key) + bytes.length;
    if (options === undefined) {
      this.#put(key, bytes, size, undefined, false);
      return true;
    }
    return this.#setWith(key, bytes, size, options);
  }

  /** SET with options (`ttl`, `nx` / `xx`, `meta`) of a checked value of `size` bytes. */
  #setWith(key: string, value: string | Buffer, size: number, options: SetOptions): boolean {
    checkTtl(options.ttl, 'ttl');
    if (options.nx === true && options.xx === true) {
      throw new LocalCacheError('E_LOCAL_CACHE_ARGUMENT', 'nx and xx are mutually exclusive', {
        field: 'nx',
      });
    }
    if (options.nx === true || options.xx === true) {
      const present = this.#lru.has(key);
      if (options.nx === true ? present : !present) return false;
    }
    this.#put(key, this.#withMeta(value, options.meta), size, options.ttl, false);
    return true;
  }

  setHash(
    key: string,
    record: Record<string, string> | ReadonlyMap<string, string>,
    options?: SetHashOptions,
  ): void {
    checkString(key, 'key');
    checkTtl(options?.ttl, 'ttl');
    if (typeof record !== 'object' || record === null) {
      throw new LocalCacheError('E_LOCAL_CACHE_ARGUMENT', 'setHash takes a record or a Map', {
        field: 'record',
        value: record,
      });
    }
    const pairs: Iterable<readonly [string, unknown]> =
      record instanceof Map ? record : Object.entries(record);
    const map = new Map<string, string>();
    let bytes = 0;
    for (const [field, v] of pairs) {
      if (typeof field !== 'string') throw notAString('field', field);
      if (typeof v !== 'string') throw notAString(`record[${JSON.stringify(field)}]`, v);
      map.set(field, v);
      bytes += byteLength(field) + byteLength(v);
    }
    // An empty hash does not exist in Redis.
    if (map.size === 0) {
      this.#lru.delete(key);
      return;
    }
    const entry = this.#withMeta(new HashEntry(map, bytes), options?.meta);
    this.#put(key, entry, byteLength(key) + bytes, options?.ttl, false);
  }

  del(...keys: string[]): number {
    checkStrings(keys, 'keys');
    let n = 0;
    for (const key of keys) if (this.#lru.delete(key)) n++;
    return n;
  }

  exists(...keys: string[]): number {
    checkStrings(keys, 'keys');
    let n = 0;
    for (const key of keys) if (this.#lru.has(key)) n++;
    return n;
  }

  setNX(key: string, value: string, options?: TtlOptions): boolean {
    return this.set(key, value, { ttl: options?.ttl, nx: true });
  }

  incrBy(key: string, by: number): number {
    checkString(key, 'key');
    if (!Number.isSafeInteger(by)) {
      throw new LocalCacheError(
        'E_LOCAL_CACHE_NOT_INTEGER',
        'ERR value is not an integer or out of range',
        {
          field: 'by',
          value: by,
        },
      );
    }
    const bare = this.#bare(key);
    const entry = Buffer.isBuffer(bare) ? bare.toString('utf8') : bare;
    let current = 0;
    if (entry !== undefined) {
      if (typeof entry !== 'string') throw wrongType();
      if (!INTEGER.test(entry) || !Number.isSafeInteger(Number(entry))) {
        throw new LocalCacheError(
          'E_LOCAL_CACHE_NOT_INTEGER',
          'ERR value is not an integer or out of range',
        );
      }
      current = Number(entry);
    }
    const next = current + by;
    if (!Number.isSafeInteger(next)) {
      throw new LocalCacheError(
        'E_LOCAL_CACHE_NOT_INTEGER',
        'ERR increment or decrement would overflow',
      );
    }
    const text = String(next);
    this.#put(key, text, byteLength(key) + text.length, undefined, entry !== undefined);
    return next;
  }

  expire(key: string, ttlMs: number): boolean {
    checkString(key, 'key');
    if (!Number.isSafeInteger(ttlMs)) {
      throw new LocalCacheError(
        'E_LOCAL_CACHE_ARGUMENT',
        `ttlMs must be an integer (ms), got ${String(ttlMs)}`,
        {
          field: 'ttlMs',
          value: ttlMs,
        },
      );
    }
    const entry = this.#lru.get(key);
    if (entry === undefined) return false;
    if (ttlMs <= 0) {
      this.#lru.delete(key);
      return true;
    }
    this.#lru.set(key, entry, { size: this.#sizeOf(key, entry), ttl: ttlMs });
    return true;
  }

  #sizeOf(key: string, entry: Entry): number {
    return byteLength(key) + sizeOfPlain(unwrap(entry)) || 1;
  }

  ttl(key: string): number {
    checkString(key, 'key');
    if (!this.#lru.has(key)) return -2;
    const left = this.#lru.getRemainingTTL(key);
    if (left === Number.POSITIVE_INFINITY) return -1;
    return left > 0 ? Math.ceil(left) : -2;
  }

  type(key: string): ValueType {
    checkString(key, 'key');
    const entry = this.#bare(key);
    if (entry === undefined) return 'none';
    if (typeof entry === 'string' || Buffer.isBuffer(entry)) return 'string';
    return entry instanceof HashEntry ? 'hash' : 'list';
  }

  mget(keys: readonly string[]): (string | null)[] {
    checkArray(keys, 'keys');
    checkStrings(keys, 'keys');
    const out: (string | null)[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const entry = this.#read(keys[i]!);
      // Redis' MGET answers nil for a key of another type instead of failing.
      out[i] =
        typeof entry === 'string' ? entry : Buffer.isBuffer(entry) ? entry.toString('utf8') : null;
    }
    return out;
  }

  mset(
    entries: Record<string, string> | readonly (readonly [string, string])[],
    options?: TtlOptions,
  ): void {
    const ttl = options?.ttl;
    checkTtl(ttl, 'ttl');
    if (typeof entries !== 'object' || entries === null) {
      throw new LocalCacheError(
        'E_LOCAL_CACHE_ARGUMENT',
        'entries must be a record or [key, value] pairs',
        {
          field: 'entries',
          value: entries,
        },
      );
    }
    const list = Array.isArray(entries) ? entries : Object.entries(entries);
    // Every entry is checked before the first is written: a bad one writes nothing.
    for (let i = 0; i < list.length; i++) {
      const pair = list[i] as unknown;
      if (!Array.isArray(pair)) throw notAPair(i, pair);
      if (typeof pair[0] !== 'string') throw notAString(`entries[${i}][0]`, pair[0]);
      if (typeof pair[1] !== 'string') throw notAString(`entries[${i}][1]`, pair[1]);
    }
    for (const [key, value] of list) {
      this.#put(key, value, byteLength(key) + byteLength(value), ttl, false);
    }
  }

  #hash(key: string): HashEntry | undefined {
    const entry = this.#read(key);
    if (entry === undefined) return undefined;
    if (!(entry instanceof HashEntry)) throw wrongType();
    return entry;
  }

  hget(key: string, field: string): string | null {
    checkString(key, 'key');
    checkString(field, 'field');
    return this.#hash(key)?.map.get(field) ?? null;
  }

  hset(key: string, fieldOrRecord: string | Record<string, string>, value?: string): number {
    checkString(key, 'key');
    if (typeof fieldOrRecord === 'string') checkString(value, 'value');
    else if (typeof fieldOrRecord !== 'object' || fieldOrRecord === null) {
      throw new LocalCacheError(
        'E_LOCAL_CACHE_ARGUMENT',
        'hset takes a field and a value, or a record',
        {
          field: 'field',
          value: fieldOrRecord,
        },
      );
    } else {
      // Every value is checked before the first is written: a bad one writes nothing.
      for (const field of Object.keys(fieldOrRecord)) {
        const v: unknown = fieldOrRecord[field];
        if (typeof v !== 'string') throw notAString(`record[${JSON.stringify(field)}]`, v);
      }
    }
    const entry = this.#bare(key);
    if (entry !== undefined && !(entry instanceof HashEntry)) throw wrongType();
    const map = entry?.map ?? new Map<string, string>();
    let bytes = entry?.bytes ?? 0;
    let added = 0;
    const write = (field: string, v: string): void => {
      const old = map.get(field);
      if (old === undefined) {
        added++;
        bytes += byteLength(field) + byteLength(v);
      } else {
        bytes += byteLength(v) - byteLength(old);
      }
      map.set(field, v);
    };
    if (typeof fieldOrRecord === 'string') write(fieldOrRecord, value!);
    else for (const field of Object.keys(fieldOrRecord)) write(field, fieldOrRecord[field]!);
    if (map.size === 0) return 0;
    this.#put(
      key,
      new HashEntry(map, bytes),
      byteLength(key) + bytes,
      undefined,
      entry !== undefined,
    );
    return added;
  }

  hgetall(key: string): Record<string, string> {
    checkString(key, 'key');
    const entry = this.#hash(key);
    const out: Record<string, string> = {};
    if (entry === undefined) return out;
    for (const [field, v] of entry.map) {
      // `out.__proto__ = v` would set the prototype instead of a field: define it as an own
      // property, as ioredis' HGETALL does, so both give equal objects.
      if (field === '__proto__') {
        Object.defineProperty(out, field, {
          value: v,
          configurable: true,
          enumerable: true,
          writable: true,
        });
      } else out[field] = v;
    }
    return out;
  }

  hdel(key: string, ...fields: string[]): number {
    checkString(key, 'key');
    checkStrings(fields, 'fields');
    const entry = this.#bare(key);
    if (entry === undefined) return 0;
    if (!(entry instanceof HashEntry)) throw wrongType();
    let bytes = entry.bytes;
    let removed = 0;
    for (const field of fields) {
      const old = entry.map.get(field);
      if (old === undefined) continue;
      entry.map.delete(field);
      bytes -= byteLength(field) + byteLength(old);
      removed++;
    }
    if (entry.map.size === 0) this.#lru.delete(key);
    else if (removed > 0) {
      this.#put(key, new HashEntry(entry.map, bytes), byteLength(key) + bytes, undefined, true);
    }
    return removed;
  }

  #push(key: string, values: string[], left: boolean): number {
    checkString(key, 'key');
    checkStrings(values, 'values');
    const entry = this.#bare(key);
    if (entry !== undefined && !(entry instanceof ListEntry)) throw wrongType();
    if (values.length === 0) return entry?.items.length ?? 0;
    const items = entry?.items ?? [];
    let bytes = entry?.bytes ?? 0;
    for (const v of values) bytes += byteLength(v);
    if (left) for (const v of values) items.unshift(v);
    else for (const v of values) items.push(v);
    this.#put(
      key,
      new ListEntry(items, bytes),
      byteLength(key) + bytes,
      undefined,
      entry !== undefined,
    );
    return items.length;
  }

  lpush(key: string, ...values: string[]): number {
    return this.#push(key, values, true);
  }

  rpush(key: string, ...values: string[]): number {
    return this.#push(key, values, false);
  }

  lrange(key: string, start: number, stop: number): string[] {
    checkString(key, 'key');
    const entry = this.#read(key);
    if (entry === undefined) return [];
    if (!(entry instanceof ListEntry)) throw wrongType();
    const len = entry.items.length;
    let from = start < 0 ? Math.max(len + start, 0) : start;
    let to = stop < 0 ? len + stop : Math.min(stop, len - 1);
    from = Math.trunc(from);
    to = Math.trunc(to);
    if (from > to || from >= len) return [];
    return entry.items.slice(from, to + 1);
  }

  stats(): LocalCacheStats {
    return {
      size: this.#lru.size,
      calculatedSize: this.#lru.calculatedSize,
      itemCount: this.#lru.size,
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
      expirations: this.#expirations,
      maxBytes: this.#maxBytes,
    };
  }

  clear(): void {
    this.#lru.clear();
  }

  close(): void {
    if (this.#janitor !== undefined) clearInterval(this.#janitor);
    this.#janitor = undefined;
    this.#lru.clear();
  }
}

/**
 * Creates an in-process store with the Redis operations a fallback needs, bounded by bytes
 * (and optionally entries), with per-entry TTLs.
 * @param options bounds and janitor interval
 * @throws {LocalCacheError} `E_LOCAL_CACHE_OPTIONS` when an option is invalid
 * @example
 * const cache = createLocalCache({ maxBytes: 10 * 1024 * 1024 });
 * cache.set('user:1', 'Ada', { ttl: 60_000 });
 * cache.get('user:1'); // 'Ada'
 */
export function createLocalCache(options: LocalCacheOptions = {}): LocalCache {
  if (typeof options !== 'object' || options === null) {
    throw new LocalCacheError('E_LOCAL_CACHE_OPTIONS', 'options must be an object', {
      field: 'options',
      value: options,
    });
  }
  checkOption('maxBytes', options.maxBytes, 1);
  checkOption('maxEntries', options.maxEntries, 1);
  checkOption('janitorIntervalMs', options.janitorIntervalMs, 0);
  return new LocalCacheImpl(options);
}
