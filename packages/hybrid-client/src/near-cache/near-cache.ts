import type { LocalCache, LocalEntry } from '@x/local-cache';

/** Most reads in flight whose reply may still install a copy; beyond it every marker is dropped. */
const MAX_MARKERS = 100_000;
/** Most past epochs whose end time is remembered (for the fail-safe age of old copies). */
const MAX_ENDED = 64;

/** Counters and gauges of the near cache (`stats().near`). */
export interface NearCacheStats {
  /** Reads served from a tracked copy without a Redis round trip. */
  hits: number;
  /** Reads that found no fresh copy and went to Redis (or memory). */
  misses: number;
  /** Keys invalidated by Redis (a FLUSHALL / FLUSHDB counts one). */
  invalidations: number;
  /** Reads served from an untracked (stale) copy while Redis was unusable (the fail-safe). */
  staleServes: number;
  /** Entries in the local store (copies and outage writes). */
  entries: number;
  /** Bytes in the local store (keys and values, UTF-8), bounded by `local.maxBytes`. */
  bytes: number;
  /** The store's bound, bytes. */
  maxBytes: number;
  /** Entries the store evicted to stay within its bounds. */
  evictions: number;
  /**
   * True while copies are served as fresh: Redis tracks this client's reads, Redis is usable and
   * invalidations arrive in time (the tracker's lease).
   */
  tracking: boolean;
  /** Changes every time copies stop (or start again) counting as fresh; for diagnosis. */
  epoch: number;
}

/** Which keys Redis tracks: all that were read, or (broadcast) those under one of `prefixes`. */
export interface NearScope {
  /** Prefixes of broadcast mode in the caller's key space, `undefined` in default mode. */
  prefixes: readonly string[] | undefined;
  /** ioredis' own `keyPrefix` of the client (the server's key names start with it), `''` if none. */
  keyPrefix: string;
  /** Fresh copies older than this are not served (ms); `0`: no limit. */
  maxAgeMs: number;
  /**
   * How long an invalidated copy is kept, as the last value known for `getOrSet`'s fail-safe
   * (`failSafeMaxAgeMs`); `0`: removed at once.
   */
  keepSupersededMs: number;
  /**
   * Tracking is `OPTIN` (a client we were given, standalone): Redis tracks only the reads the
   * backend announces with `CLIENT CACHING YES`, which it does for every read {@link begin} gives
   * a marker. The first read of a key after this client wrote it gets none: a key written and read
   * back once (a write-heavy pattern) then costs no copy and no invalidation echo; the second
   * read is tracked.
   */
  optIn: boolean;
}

/** Most keys remembered as written by this client (OPTIN only); beyond it they are forgotten. */
const MAX_WRITTEN = 10_000;

/** `meta` of a copy that Redis invalidated, kept for `getOrSet`'s fail-safe (never served as is). */
export const SUPERSEDED = 0;

const now = (): number => performance.now();

/**
 * The near cache: copies of Redis values kept in the local store while Redis tracks them for this
 * client, served without a round trip.
 *
 * **Epochs.** A copy is stored with the epoch it was read in (its `meta`). The epoch changes every
 * time copies stop counting as fresh (tracking lost on either connection, Redis unusable, a
 * FLUSHALL) and every time they count again; a hit needs `meta === epoch`, so one comparison
 * decides freshness and nothing is swept: old copies simply stop matching (they remain, for the
 * fail-safe, until evicted or replaced).
 *
 * **Held-up delivery** (the tracker's lease ran out, tracking still holds) is not such a change:
 * copies are not served meanwhile, but they keep their epoch, reads still install, and each
 * invalidation still voids its copy as it arrives, so when delivery is confirmed again every copy
 * is as valid as before (see {@link setDelivering}).
 *
 * **Races.** The reply of a read and an invalidation of its key travel on two connections, so
 * either may arrive first. Before a read is sent, {@link begin} registers a marker for the key
 * (a number from a sequence); an invalidation of the key, a FLUSHALL and any epoch change remove
 * markers; when the reply arrives, {@link install} stores it only if the key's marker is still the
 * one this read registered. Then: if the invalidation came first, the marker is gone and the
 * (possibly old) reply is not installed; if the reply came first, it is installed and the
 * invalidation removes it when it arrives. No other order exists, so a value overwritten before
 * the read's reply was handled can never be installed. A second read of the same key while one
 * is in flight shares its marker: the first reply installs, the others find it gone.
 *
 * **Own writes.** Redis tracks only keys a connection *read*, so a written value is not installed
 * (nobody would invalidate it); a write drops the key's copy and marker before it is sent (a read
 * sent earlier on the same connection then installs nothing, a read sent later sees the write).
 * On a client someone gave us, tracking does not use `NOLOOP`: other code may write through that
 * connection without passing here, and only Redis' own invalidation would void our copy then. On
 * a client we created every write passes here, so `NOLOOP` spares the echo of each own write
 * (which would also void the copy that the next read installs).
 */
export class NearCache {
  hits = 0;
  misses = 0;
  invalidations = 0;
  staleServes = 0;
  readonly store: LocalCache;
  readonly #scope: NearScope;
  #epoch = 1;
  #fresh = false;
  #tracking = false;
  #usable = false;
  // Invalidations arrive in time (the tracker's lease holds); #serving = #fresh && #delivering.
  #delivering = true;
  #serving = false;
  // When delivery was last held up (performance.now()), while it is.
  #heldSince = 0;
  // Copies are not served after this (performance.now()) until delivery is confirmed again.
  #leaseEnd = Number.POSITIVE_INFINITY;
  #seq = 0;
  readonly #markers = new Map<string, number>();
  // GETs in flight that a read of the same key may join instead of sending its own.
  readonly #inFlight = new Map<string, { seq: number; reply: Promise<string | null> }>();
  // When each recent epoch stopped being fresh (performance.now()).
  readonly #ended = new Map<number, number>();
  // Copies of an epoch below this were flushed: never served, not even stale.
  #flushed = 0;
  // OPTIN: keys this client wrote and has not read since (their next read is not tracked).
  readonly #written = new Set<string>();
  // Keys whose copy is the value this client is writing, served until the tracked read sent right
  // behind the write installs what Redis holds (see writeThrough).
  readonly #provisional = new Set<string>();

  constructor(store: LocalCache, scope: NearScope) {
    this.store = store;
    this.#scope = scope;
  }

  /** The current epoch (copies of it are fresh while {@link fresh}). */
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * True while copies are served as fresh: Redis tracks this client's reads, is usable, and
   * invalidations arrive in time.
   */
  get fresh(): boolean {
    return this.#serving;
  }

  /** Tracking is `OPTIN`: a read with a marker must be announced (`CLIENT CACHING YES`). */
  get optIn(): boolean {
    return this.#scope.optIn;
  }

  // ---- the hot path ------------------------------------------------------------------------------

  /** The fresh copy of `key` as text, else `undefined` (counted as a hit or a miss). */
  get(key: string): string | undefined {
    // A key written by this client and not read since has no copy (OPTIN): no lookup needed.
    if (this.#serving && !(this.#scope.optIn && this.#written.has(key))) {
      const entry = this.store.entry(key);
      if (entry !== undefined && entry.meta === this.#epoch && this.#inTime(entry)) {
        const value = entry.value;
        if (typeof value === 'string') {
          this.hits++;
          return value;
        }
        if (Buffer.isBuffer(value)) {
          this.hits++;
          return value.toString('utf8');
        }
      }
    }
    this.misses++;
    return undefined;
  }

  /**
   * The fresh copy of `key` as it is held (a string, a Buffer, or a hash's map), else
   * `undefined` (counted). Bytes are only served from bytes: text read from Redis as a string may
   * have lost bytes that were not UTF-8.
   */
  entry(key: string, type: 'text' | 'bytes' | 'hash'): LocalEntry | undefined {
    if (this.#serving) {
      const entry = this.store.entry(key);
      if (entry !== undefined && entry.meta === this.#epoch && this.#inTime(entry)) {
        const value = entry.value;
        const ok =
          type === 'hash'
            ? entry.type === 'hash'
            : type === 'bytes'
              ? Buffer.isBuffer(value)
              : typeof value === 'string' || Buffer.isBuffer(value);
        if (ok) {
          this.hits++;
          return entry;
        }
      }
    }
    this.misses++;
    return undefined;
  }

  /**
   * Within the lease (checked here as well as by the tracker's heartbeat: after a stall of the
   * event loop, code may read before any timer has run) and younger than `maxAgeMs`.
   */
  #inTime(entry: LocalEntry): boolean {
    const t = now();
    if (t > this.#leaseEnd) return false;
    const max = this.#scope.maxAgeMs;
    return max === 0 || t - entry.storedAt < max;
  }

  // ---- reads in flight ---------------------------------------------------------------------------

  /**
   * Registers a read of `key` about to be sent; the returned marker goes to {@link install}.
   * `0` when the reply must not be installed (copies are not fresh, or the key is not tracked).
   */
  begin(key: string): number {
    if (!this.#fresh || !this.#inScope(key)) return 0;
    if (this.#scope.optIn && this.#written.delete(key)) return 0;
    const markers = this.#markers;
    // A read of the key already in flight: this one shares its marker. Whichever reply comes
    // first installs (and removes the marker); an invalidation before it voids them all. A new
    // marker per read would let a hot key, read again before each reply, never be installed.
    const current = markers.get(key);
    if (current !== undefined) return current;
    if (markers.size >= MAX_MARKERS) markers.clear();
    const seq = this.#seq === 0x3fffffff ? 1 : this.#seq + 1;
    this.#seq = seq;
    markers.set(key, seq);
    return seq;
  }

  /**
   * The reply of a GET of `key` already in flight (sent while copies were fresh, after the last
   * write of the key by this client and its last invalidation), which a read may wait for instead
   * of sending its own: a hot key that was just written or invalidated costs one round trip, not
   * one per reader. `undefined` when there is none.
   */
  joinable(key: string): Promise<string | null> | undefined {
    return this.#inFlight.get(key)?.reply;
  }

  /** `reply` is the GET of `key` registered as `seq` (see {@link joinable}). */
  sent(key: string, seq: number, reply: Promise<string | null>): void {
    if (seq === 0) return;
    const inFlight = this.#inFlight;
    if (inFlight.size >= MAX_MARKERS) inFlight.clear();
    inFlight.set(key, { seq, reply });
  }

  /** The GET registered as `seq` settled: later reads send their own. */
  #settled(key: string, seq: number): void {
    const inFlight = this.#inFlight;
    if (inFlight.get(key)?.seq === seq) inFlight.delete(key);
  }

  /**
   * The reply of the read that registered `seq` for `key`: stored as a fresh copy if nothing
   * invalidated the key (or changed the epoch) since, else dropped. `null` (no such key) stores
   * nothing.
   */
  install(key: string, seq: number, value: string | Buffer | null): void {
    if (seq === 0) return;
    this.#settled(key, seq);
    const provisional = this.#provisional.delete(key);
    if (!this.#claim(key, seq) || value === null) {
      if (provisional) this.#dropProvisional(key);
      return;
    }
    if (typeof value === 'string') this.store.set(key, value, { meta: this.#epoch });
    else this.store.setBuffer(key, value, { meta: this.#epoch });
  }

  /** {@link install} for a whole hash (`HGETALL`); an empty one (no such key) stores nothing. */
  installHash(key: string, seq: number, record: Record<string, string>): void {
    if (seq === 0 || !this.#claim(key, seq)) return;
    for (const _ in record) {
      this.store.setHash(key, record, { meta: this.#epoch });
      return;
    }
  }

  /** The read that registered `seq` ended without a reply to install (failed, timed out). */
  end(key: string, seq: number): void {
    if (seq === 0) return;
    this.#settled(key, seq);
    this.#claim(key, seq);
    if (this.#provisional.delete(key)) this.#dropProvisional(key);
  }

  /** A provisional copy whose read did not install: nothing tracks it, it must not be served. */
  #dropProvisional(key: string): void {
    const entry = this.store.peek(key);
    if (entry !== undefined && entry.meta === this.#epoch) this.store.del(key);
  }

  /** True (and the marker removed) when `seq` is still the marker of `key`. */
  #claim(key: string, seq: number): boolean {
    const markers = this.#markers;
    if (markers.get(key) !== seq) return false;
    markers.delete(key);
    return true;
  }

  #inScope(key: string): boolean {
    const prefixes = this.#scope.prefixes;
    if (prefixes === undefined || prefixes.length === 0) return true;
    for (const p of prefixes) if (key.startsWith(p)) return true;
    return false;
  }

  // ---- writes and invalidations ------------------------------------------------------------------

  /** A write of `key` by this client: its copy and any read in flight are void. */
  drop(key: string): void {
    this.#voidReads(key);
    if (this.#scope.optIn) {
      const written = this.#written;
      // Bounded by forgetting them all at once (then the next reads are tracked at once, as
      // without this): cheaper than evicting one per write.
      if (written.size >= MAX_WRITTEN) written.clear();
      written.add(key);
    }
    const entry = this.store.peek(key);
    if (entry !== undefined && isKept(entry.meta)) this.store.del(key);
  }

  /** Reads of `key` in flight install nothing, and later reads send their own. */
  #voidReads(key: string): void {
    this.#markers.delete(key);
    this.#inFlight.delete(key);
  }

  /**
   * A plain write of `key` = `value` by this client, about to be sent. A key that had a copy is
   * hot: instead of leaving its readers to wait for a read of their own (one round trip each time
   * the key is written), `value` is served as its copy at once, and the returned marker is for a
   * tracked read the caller sends right behind the write (same connection, same tick, so Redis
   * runs it after the write and tracks the key again). Its reply replaces the copy with what Redis
   * holds; if it fails, or an invalidation comes first, the copy is gone. Reads in between get
   * this client's own newest write, at most one round trip longer than a write by another client
   * that Redis ran meanwhile (well inside the invalidation bound). `0`: a plain {@link drop}, send
   * nothing more.
   *
   * The copy is replaced in place, never removed and added again: a JS `Map` keeps a removed
   * entry in its hash chain until the table is rebuilt, so a hot key removed and re-added
   * thousands of times makes every lookup of it while it is absent walk thousands of dead entries
   * (measured: 56 µs per lookup after 20 000 such writes, instead of ~20 ns).
   */
  writeThrough(key: string, value: string): number {
    const entry = this.store.peek(key);
    if (
      entry === undefined ||
      !isKept(entry.meta) ||
      !this.#fresh ||
      !this.#inScope(key) ||
      // Bounded without forgetting any: a provisional copy must be dropped if its read fails.
      this.#provisional.size >= MAX_MARKERS
    ) {
      this.drop(key);
      return 0;
    }
    // What drop() does, but the copy stays to be overwritten below.
    this.#voidReads(key);
    if (this.#scope.optIn) this.#written.delete(key);
    const seq = this.begin(key);
    if (seq === 0) {
      this.store.del(key);
      return 0;
    }
    this.#provisional.add(key);
    this.store.set(key, value, { meta: this.#epoch });
    return seq;
  }

  /**
   * Redis invalidated `key`: its copy is void. It is kept (marked {@link SUPERSEDED} in place, at
   * no cost: invalidations can come by the thousand per second) as the last value known, which
   * `getOrSet` may fall back on when its loader fails, within `keepSupersededMs`; nothing else
   * serves it, and the store's bound evicts it like any entry.
   */
  #supersede(key: string): void {
    this.#voidReads(key);
    const store = this.store;
    const entry = store.peek(key);
    if (entry === undefined || !isCopy(entry.meta)) return;
    if (this.#scope.keepSupersededMs === 0 || !store.retag(key, SUPERSEDED)) store.del(key);
  }

  /** {@link drop} for several keys. */
  dropMany(keys: readonly string[]): void {
    for (const key of keys) this.drop(key);
  }

  /** What Redis invalidated (server key names), `null` for FLUSHALL / FLUSHDB. */
  invalidated(keys: readonly Buffer[] | null): void {
    if (keys === null) {
      this.invalidations++;
      // Every copy is void, also for the fail-safe; nothing is swept (they stop matching).
      this.#flushed = this.#epoch + 1;
      this.#epoch++;
      this.#markers.clear();
      this.#inFlight.clear();
      return;
    }
    const prefix = this.#scope.keyPrefix;
    for (const raw of keys) {
      let key = raw.toString('utf8');
      if (prefix !== '') {
        if (!key.startsWith(prefix)) continue;
        key = key.slice(prefix.length);
      }
      this.invalidations++;
      this.#supersede(key);
    }
  }

  // ---- freshness ---------------------------------------------------------------------------------

  /** Tracking was established (`true`) or lost. */
  setTracking(on: boolean): void {
    this.#tracking = on;
    this.#update();
  }

  /** Redis became usable (`true`) or unusable. */
  setUsable(on: boolean): void {
    this.#usable = on;
    this.#update();
  }

  /**
   * Invalidations arrive in time (`true`) or may be held up on the way (`false`: the tracker's
   * lease ran out while tracking holds). While held up, copies are not served, but nothing else
   * changes: the epoch stays, reads still install, and invalidations still void copies as they
   * arrive; the tracker says `true` again once a PING, answered in time, proves that everything
   * Redis sent before it has arrived. Copies then are as valid as if nothing had been held up.
   */
  setDelivering(on: boolean): void {
    if (on === this.#delivering) return;
    this.#delivering = on;
    if (!on) this.#heldSince = now();
    this.#serving = this.#fresh && on;
  }

  /** Copies are not served after `at` (`performance.now()`) unless delivery is confirmed again. */
  setLeaseEnd(at: number): void {
    this.#leaseEnd = at;
  }

  #update(): void {
    const fresh = this.#tracking && this.#usable;
    if (fresh === this.#fresh) return;
    const ended = this.#ended;
    if (this.#fresh) {
      // Copies were last known to be Redis' values when delivery was last confirmed.
      ended.set(this.#epoch, this.#delivering ? now() : this.#heldSince);
      if (ended.size > MAX_ENDED) ended.delete(ended.keys().next().value as number);
    }
    this.#fresh = fresh;
    this.#serving = fresh && this.#delivering;
    this.#epoch++;
    this.#markers.clear();
    this.#inFlight.clear();
  }

  /**
   * When a copy stored in `epoch` was last known to be Redis' value: now while its epoch is
   * current and fresh, else when its epoch ended; `-Infinity` when that is unknown (too old) or
   * the copy was flushed.
   */
  confirmedAt(epoch: number, at: number): number {
    if (epoch < this.#flushed) return Number.NEGATIVE_INFINITY;
    if (epoch === this.#epoch && this.#fresh) return this.#delivering ? at : this.#heldSince;
    return this.#ended.get(epoch) ?? Number.NEGATIVE_INFINITY;
  }

  /** Forgets every marker and copy (the client closes). */
  clear(): void {
    this.#markers.clear();
    this.#inFlight.clear();
  }

  /** `stats().near`. */
  stats(): NearCacheStats {
    const s = this.store.stats();
    return {
      hits: this.hits,
      misses: this.misses,
      invalidations: this.invalidations,
      staleServes: this.staleServes,
      entries: s.size,
      bytes: s.calculatedSize,
      maxBytes: s.maxBytes,
      evictions: s.evictions,
      tracking: this.#serving,
      epoch: this.#epoch,
    };
  }
}

/** True for the `meta` of a tracked copy (an epoch), false for an outage write (none). */
export function isCopy(meta: unknown): meta is number {
  return typeof meta === 'number' && meta > 0;
}

/** True for a copy, tracked or superseded (anything the near cache stored). */
export function isKept(meta: unknown): meta is number {
  return typeof meta === 'number' && meta >= 0;
}
