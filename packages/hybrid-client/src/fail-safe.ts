import type { LocalEntry } from '@x/local-cache';
import { isCopy, type NearCache, SUPERSEDED } from './near-cache/near-cache.js';

/** Where a value came from (see `HybridClient.getEntry`). */
export type EntrySource = 'near' | 'redis' | 'memory';

/** A value with where it came from and how old it may be. */
export interface HybridEntry<T = string> {
  /** The value. */
  value: T;
  /**
   * `'near'`: a copy Redis tracks for this client (as fresh as Redis, up to the invalidation
   * delay); `'redis'`: Redis answered; `'memory'`: the local store while Redis is unusable.
   */
  source: EntrySource;
  /**
   * True for a copy served while Redis is unusable (the fail-safe): Redis may hold a newer value.
   * Always false for `'near'` and `'redis'`, and for values written in memory during the outage.
   */
  stale: boolean;
  /**
   * `'near'`: how long ago the copy was read from Redis; `'redis'`: 0; `'memory'`, stale: how long
   * ago the copy stopped being tracked (it was Redis' value until then); `'memory'`, not stale:
   * how long ago it was written in memory (0 when unknown, e.g. after `incrBy`).
   */
  ageMs: number;
}

/**
 * The fail-safe: while Redis is unusable, a copy that Redis tracked for this client is served
 * (marked stale) for `maxAgeMs` after it was last known to be Redis' value, i.e. after tracking
 * stopped, not after it was read: a hot key read an hour ago and valid until the outage is as good
 * as one read a second ago. Older copies, and copies that a FLUSHALL voided, are not served (and
 * are removed when met). Values written in memory during the outage are served as they are.
 */
export class FailSafe {
  readonly #near: NearCache;
  readonly #maxAgeMs: number;

  constructor(near: NearCache, maxAgeMs: number) {
    this.#near = near;
    this.#maxAgeMs = maxAgeMs;
  }

  /**
   * The entry of `key` that may be served from memory, `undefined` when none (a copy too old is
   * removed). Counts a stale serve for a copy.
   */
  entry(key: string): LocalEntry | undefined {
    const store = this.#near.store;
    const entry = store.entry(key);
    if (entry === undefined) return undefined;
    if (!isCopy(entry.meta)) return entry.meta === SUPERSEDED ? undefined : entry;
    const at = performance.now();
    if (at - this.#near.confirmedAt(entry.meta, at) >= this.#maxAgeMs) {
      store.del(key);
      return undefined;
    }
    this.#near.staleServes++;
    return entry;
  }

  /**
   * Before an operation on memory other than a read: a copy Redis invalidated is not a value
   * (the key was changed or deleted there), so it goes.
   */
  clean(keys: string | readonly string[]): void {
    const store = this.#near.store;
    if (typeof keys === 'string') {
      if (store.peek(keys)?.meta === SUPERSEDED) store.del(keys);
      return;
    }
    for (const key of keys) if (store.peek(key)?.meta === SUPERSEDED) store.del(key);
  }

  /**
   * The last value known for `key`, for `getOrSet`'s fail-safe: a copy (tracked or not) or a
   * copy Redis invalidated, as long as it was Redis' value less than `maxAgeMs` ago; `undefined`
   * when there is none. Not counted as a read.
   */
  lastKnown(key: string, bytes: boolean): string | Buffer | undefined {
    const entry = this.#near.store.peek(key);
    if (entry === undefined || typeof entry.meta !== 'number' || entry.meta < 0) return undefined;
    const at = performance.now();
    const since =
      entry.meta === SUPERSEDED ? entry.storedAt : this.#near.confirmedAt(entry.meta, at);
    if (at - since >= this.#maxAgeMs) return undefined;
    const value = entry.value;
    if (typeof value === 'string') return bytes ? Buffer.from(value, 'utf8') : value;
    if (Buffer.isBuffer(value)) return bytes ? Buffer.from(value) : value.toString('utf8');
    return undefined;
  }

  /** {@link entry} as a {@link HybridEntry} with its age, for `getEntry`. */
  describe(entry: LocalEntry): { stale: boolean; ageMs: number } {
    const at = performance.now();
    if (isCopy(entry.meta)) {
      return { stale: true, ageMs: Math.max(0, at - this.#near.confirmedAt(entry.meta, at)) };
    }
    return { stale: false, ageMs: Number.isNaN(entry.storedAt) ? 0 : at - entry.storedAt };
  }
}
