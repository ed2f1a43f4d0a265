import { createLocalCache, type LocalCache } from '@x/local-cache';
import {
  CREATE,
  DESTROY,
  DESTROY_MANY,
  LIST,
  READ,
  ROTATE,
  TOUCH,
  UPDATE,
  XDESTROY,
  XSET,
} from './scripts.js';

/**
 * What the memory fallback tells about its writes, so that Redis can learn them once it is back
 * (see reconciler.ts). Called synchronously, after the change was made in memory.
 */
export interface MemoryJournal {
  /** A session record now held in memory (created, rotated to, touched or updated). */
  sessionWritten(recordKey: string, userId: string): void;
  /**
   * A session id destroyed in memory (destroy, destroyUserSessions, the old id of rotate), also
   * when memory did not hold it: Redis may. `userId` is `null` when the owner is not known.
   */
  sessionDestroyed(recordKey: string, userId: string | null): void;
  /** An express-session record written (set or touched) in memory. */
  expressWritten(key: string): void;
  /** An express-session record destroyed in memory, with its tombstone key and minimum life. */
  expressDestroyed(key: string, tombstoneKey: string, tombstoneMs: number): void;
}

/** A session record held in memory, as the reconciliation copies it. */
export interface MemorySessionSnapshot {
  /** Every field of the hash (`m:u`, `m:c`, `m:a`, `d:<key>`...). */
  readonly fields: Record<string, string>;
  /** Remaining lifetime in ms (>= 1). */
  readonly ttlMs: number;
}

/** An express-session record held in memory. */
export interface MemoryExpressSnapshot {
  readonly json: string;
  /** Remaining lifetime in ms (>= 1). */
  readonly ttlMs: number;
}

/**
 * The in-process stand-in used while Redis is unavailable (opt-in `fallback: 'memory'`): the same
 * operations as the Lua scripts, with the same replies, on `@x/local-cache`. Every change it makes
 * is reported to its {@link MemoryJournal}, which replays it into Redis once Redis is back and then
 * drops the replayed records from here ({@link forgetSession}, {@link forgetExpress}).
 */
export class MemoryBackend {
  readonly #cache: LocalCache;
  // Keys of express-session records, so `all/length/clear` can enumerate them; swept when large.
  readonly #xkeys = new Set<string>();
  readonly #maxKeys: number;
  /** Where changes are reported; set once by the store. */
  journal: MemoryJournal | undefined;

  constructor(maxEntries: number) {
    this.#cache = createLocalCache({ maxEntries, janitorIntervalMs: 60_000 });
    this.#maxKeys = maxEntries;
  }

  close(): void {
    this.#cache.close();
  }

  /**
   * Runs one of the store's scripts (a source of scripts.ts) on memory, with the reply Redis would
   * give. Synchronous.
   */
  run(script: string, keys: readonly string[], args: readonly (string | number)[]): unknown {
    const c = this.#cache;
    const now = Date.now();
    const a = args.map(String);
    switch (script) {
      case CREATE: {
        const [rec, idx] = keys as [string, string];
        if (c.exists(rec) === 1) return -1;
        const idle = Number(a[1]);
        const abs = Number(a[2]);
        const hard = abs > 0 ? now + abs : 0;
        let exp = now + idle;
        if (hard > 0 && hard < exp) exp = hard;
        const record: Record<string, string> = {
          'm:u': a[0] as string,
          'm:c': String(now),
          'm:a': String(hard),
        };
        for (let i = 4; i < a.length; i += 2) record[a[i] as string] = a[i + 1] as string;
        c.hset(rec, record);
        c.expire(rec, exp - now);
        c.hset(idx, a[3] as string, String(exp));
        this.#prune(idx, now);
        this.journal?.sessionWritten(rec, a[0] as string);
        return [now, exp, hard];
      }
      case READ: {
        const [rec] = keys as [string];
        const h = c.hgetall(rec);
        const flat = Object.entries(h).flat();
        if (flat.length === 0) return null;
        return [flat, c.ttl(rec), now];
      }
      case UPDATE: {
        const [rec] = keys as [string];
        if (c.exists(rec) === 0) return 0;
        const n = Number(a[0]);
        for (let i = 1; i < n; i += 2) c.hset(rec, a[i] as string, a[i + 1] as string);
        const dels = a.slice(n + 1);
        if (dels.length > 0) c.hdel(rec, ...dels);
        const owner = c.hget(rec, 'm:u');
        if (owner !== null) this.journal?.sessionWritten(rec, owner);
        return 1;
      }
      case TOUCH: {
        const [rec, idx] = keys as [string, string];
        if (c.hget(rec, 'm:u') !== a[0]) return 0;
        const hard = Number(c.hget(rec, 'm:a'));
        let exp = now + Number(a[2]);
        if (hard > 0 && hard < exp) exp = hard;
        if (exp <= now) {
          c.del(rec);
          c.hdel(idx, a[1] as string);
          this.#prune(idx, now);
          return 0;
        }
        c.expire(rec, exp - now);
        c.hset(idx, a[1] as string, String(exp));
        this.#prune(idx, now);
        this.journal?.sessionWritten(rec, a[0] as string);
        return exp;
      }
      case DESTROY: {
        const [rec, idx] = keys as [string, string];
        let gone = 0;
        if (c.hget(rec, 'm:u') === a[0]) gone = c.del(rec);
        c.hdel(idx, a[1] as string);
        this.#prune(idx, now);
        this.journal?.sessionDestroyed(rec, a[0] as string);
        return gone;
      }
      case ROTATE: {
        const [oldRec, newRec, idx] = keys as [string, string, string];
        if (c.hget(oldRec, 'm:u') !== a[0]) {
          // Not here, but Redis may hold it: the caller was told it is gone, so it must stay gone.
          this.journal?.sessionDestroyed(oldRec, a[0] as string);
          return 0;
        }
        if (c.exists(newRec) === 1) return -1;
        const ttl = c.ttl(oldRec);
        const record = c.hgetall(oldRec);
        c.del(oldRec);
        c.hset(newRec, record);
        if (ttl > 0) c.expire(newRec, ttl);
        c.hdel(idx, a[1] as string);
        const exp = now + Math.max(ttl, 0);
        c.hset(idx, a[2] as string, String(exp));
        this.#prune(idx, now);
        this.journal?.sessionDestroyed(oldRec, a[0] as string);
        this.journal?.sessionWritten(newRec, a[0] as string);
        return exp;
      }
      case LIST: {
        const [idx] = keys as [string];
        this.#prune(idx, now);
        return Object.entries(c.hgetall(idx))
          .sort((x, y) => Number(x[1]) - Number(y[1]))
          .flat();
      }
      case DESTROY_MANY: {
        const [idx, ...recs] = keys as [string, ...string[]];
        const sep = a.indexOf('', 1);
        const ids = a.slice(1, sep);
        const keep = new Set(a.slice(sep + 1));
        let destroyed = 0;
        recs.forEach((rec, i) => {
          const id = ids[i] as string;
          if (keep.has(id)) return;
          if (c.hget(rec, 'm:u') === a[0]) destroyed += c.del(rec);
          c.hdel(idx, id);
          this.journal?.sessionDestroyed(rec, a[0] as string);
        });
        this.#prune(idx, now);
        const remaining = Object.keys(c.hgetall(idx)).filter((id) => !keep.has(id)).length;
        return [destroyed, remaining];
      }
      case XSET: {
        const [rec, tomb] = keys as [string, string];
        if (c.exists(tomb) === 1) return 0;
        c.set(rec, a[0] as string, { ttl: Math.max(1, Math.ceil(Number(a[1]))) });
        this.#xkeys.add(rec);
        if (this.#xkeys.size > this.#maxKeys) this.#sweep();
        this.journal?.expressWritten(rec);
        return 1;
      }
      case XDESTROY: {
        const [rec, tomb] = keys as [string, string];
        const ttl = c.ttl(rec);
        const gone = c.del(rec);
        this.#xkeys.delete(rec);
        c.set(tomb, '1', { ttl: Math.max(ttl, Number(a[0]), 1) });
        this.journal?.expressDestroyed(rec, tomb, Number(a[0]));
        return gone;
      }
      default:
        throw new Error('unknown script');
    }
  }

  get(key: string): string | null {
    return this.#cache.get(key);
  }

  pexpire(key: string, ms: number): number {
    if (!this.#cache.expire(key, ms)) return 0;
    if (this.#xkeys.has(key)) this.journal?.expressWritten(key);
    return 1;
  }

  /** Keys of express-session records held now. */
  xkeys(): string[] {
    this.#sweep();
    return [...this.#xkeys];
  }

  /** A session record with its remaining lifetime, or `null` when it is not (or no longer) here. */
  sessionSnapshot(recordKey: string): MemorySessionSnapshot | null {
    const fields = this.#cache.hgetall(recordKey);
    const ttlMs = this.#cache.ttl(recordKey);
    if (ttlMs <= 0 || fields['m:u'] === undefined) return null;
    return { fields, ttlMs };
  }

  /** Drops a session replayed into Redis (record and index entry), without reporting it. */
  forgetSession(recordKey: string, indexKey: string, id: string): void {
    this.#cache.del(recordKey);
    this.#cache.hdel(indexKey, id);
    this.#prune(indexKey, Date.now());
  }

  /** An express-session record with its remaining lifetime, or `null`. */
  expressSnapshot(key: string): MemoryExpressSnapshot | null {
    const json = this.#cache.get(key);
    const ttlMs = this.#cache.ttl(key);
    return json === null || ttlMs <= 0 ? null : { json, ttlMs };
  }

  /** Drops an express-session record replayed into Redis, without reporting it. */
  forgetExpress(key: string): void {
    this.#cache.del(key);
    this.#xkeys.delete(key);
  }

  del(keys: string[]): number {
    for (const key of keys) this.#xkeys.delete(key);
    return keys.length === 0 ? 0 : this.#cache.del(...keys);
  }

  #sweep(): void {
    for (const key of this.#xkeys) if (this.#cache.exists(key) === 0) this.#xkeys.delete(key);
  }

  #prune(idx: string, now: number): void {
    const c = this.#cache;
    let max = 0;
    for (const [id, score] of Object.entries(c.hgetall(idx))) {
      const exp = Number(score);
      if (exp <= now) c.hdel(idx, id);
      else if (exp > max) max = exp;
    }
    if (max === 0) c.del(idx);
    else c.expire(idx, max - now);
  }
}
