/** One journaled key. */
export interface JournalEntry {
  /** When the value written in memory expires (ms, performance.now() clock), 0 = never. */
  expiresAt: number;
  /**
   * A write to Redis failed or timed out for this key: it may still be executed by Redis (bytes
   * already in the server's socket buffer run when it resumes), so it must be overridden on
   * recovery whatever the policy.
   */
  uncertain: boolean;
}

/** What {@link Journal.drain} hands over. */
export interface JournalBatch {
  entries: [string, JournalEntry][];
  overflowed: boolean;
  dropped: number;
}

/** `expiresAt` value meaning "keep the previous expiry" (writes that keep a key's TTL). */
export const KEEP_EXPIRY = -1;
const PRUNE_EVERY_MS = 1_000;

/**
 * The keys written or deleted in memory during an outage: bounded, latest wins (a key is moved
 * to the end on every write), expired entries dropped. On overflow the oldest entry goes.
 */
export class Journal {
  readonly max: number;
  #map = new Map<string, JournalEntry>();
  #overflowed = false;
  #dropped = 0;
  #lastPrune = 0;

  constructor(max: number) {
    this.max = max;
  }

  get size(): number {
    return this.#map.size;
  }

  get overflowed(): boolean {
    return this.#overflowed;
  }

  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Records a write of `key`.
   * @param expiresAt absolute expiry of the written value, 0 = none, KEEP_EXPIRY = unchanged
   */
  record(key: string, expiresAt: number, uncertain: boolean, now: number): void {
    const map = this.#map;
    const old = map.get(key);
    if (old !== undefined) {
      map.delete(key);
      old.expiresAt = expiresAt === KEEP_EXPIRY ? old.expiresAt : expiresAt;
      old.uncertain ||= uncertain;
      map.set(key, old);
      return;
    }
    if (map.size >= this.max) this.#makeRoom(now);
    map.set(key, { expiresAt: expiresAt === KEEP_EXPIRY ? 0 : expiresAt, uncertain });
  }

  #makeRoom(now: number): void {
    const map = this.#map;
    if (now - this.#lastPrune >= PRUNE_EVERY_MS) {
      this.#lastPrune = now;
      for (const [key, entry] of map) if (isExpired(entry, now)) map.delete(key);
    }
    while (map.size >= this.max) {
      const oldest = map.keys().next().value as string;
      map.delete(oldest);
      this.#overflowed = true;
      this.#dropped++;
    }
  }

  /** Takes every live entry (expired ones are dropped) and empties the journal. */
  drain(now: number): JournalBatch {
    const entries: [string, JournalEntry][] = [];
    for (const item of this.#map) if (!isExpired(item[1], now)) entries.push(item);
    const batch = { entries, overflowed: this.#overflowed, dropped: this.#dropped };
    this.clear();
    return batch;
  }

  /** Puts back a batch that could not be applied; entries written since then win. */
  restore(batch: JournalBatch, now: number): void {
    const newer = this.#map;
    this.#map = new Map();
    for (const [key, entry] of batch.entries) this.#map.set(key, entry);
    for (const [key, entry] of newer) {
      this.#map.delete(key);
      this.#map.set(key, entry);
    }
    this.#overflowed ||= batch.overflowed;
    this.#dropped += batch.dropped;
    if (this.#map.size > this.max) {
      this.#lastPrune = 0;
      this.#makeRoom(now);
      // #makeRoom leaves size < max; the bound is size <= max.
    }
  }

  clear(): void {
    this.#map.clear();
    this.#overflowed = false;
    this.#dropped = 0;
  }
}

// Uncertain entries are never dropped as expired: a late write would set the key with a fresh TTL.
function isExpired(entry: JournalEntry, now: number): boolean {
  return !entry.uncertain && entry.expiresAt !== 0 && entry.expiresAt <= now;
}
