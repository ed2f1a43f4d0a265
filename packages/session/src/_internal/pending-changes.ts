/** A session record written in memory: copied into Redis from what memory holds at replay time. */
export interface SessionWrite {
  readonly kind: 'session';
  readonly id: string;
  readonly userId: string;
  readonly index: string;
}
/** An express-session record written in memory: copied likewise. */
export interface ExpressWrite {
  readonly kind: 'express';
}
/** A session id destroyed in memory (Redis may hold it). */
export interface SessionDestroy {
  readonly kind: 'destroy';
  readonly id: string;
  /** `null`: the owner was not known in memory; it is read from Redis at replay. */
  readonly userId: string | null;
  readonly index: string | null;
}
/** A `destroyUserSessions` served from memory (keyed by the user's index key). */
export interface UserDestroy {
  readonly kind: 'user';
  readonly userId: string;
  readonly except: readonly string[];
  /** When it was called (epoch ms, this process's clock): sessions created later survive. */
  readonly at: number;
}
/** An express-session record destroyed in memory, with its tombstone. */
export interface ExpressDestroy {
  readonly kind: 'xdestroy';
  readonly tombstone: string;
  readonly tombstoneMs: number;
}
export type Write = SessionWrite | ExpressWrite;
export type Destroy = SessionDestroy | UserDestroy | ExpressDestroy;
export type Entry = Write | Destroy;

/**
 * The bounded journal of what the memory fallback changed and Redis has not learnt yet: one entry
 * per Redis key (record, index or express key), writes and destroys apart, oldest first (an entry
 * recorded again moves to the end: the most recent change).
 *
 * At most `capacity` entries. When full, the oldest pending write is dropped first (a lost copy
 * means a new login), and a destroy is only ever pushed out by another destroy (a lost destroy
 * would revive a session). Each drop is counted in {@link PendingChanges.dropped}.
 */
export class PendingChanges {
  readonly writes = new Map<string, Write>();
  readonly destroys = new Map<string, Destroy>();
  /** Changes given up (no room, or refused by Redis at replay). */
  dropped = 0;
  readonly #capacity: number;
  // Index key -> record keys of that user's pending session changes, so that a call about a user
  // (list, destroy all, create) settles them first.
  readonly #byIndex = new Map<string, Set<string>>();

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Entries waiting. */
  get size(): number {
    return this.writes.size + this.destroys.size;
  }

  /** Whether a change about `key` (or, for an index key, about that user) is waiting. */
  has(key: string): boolean {
    return this.destroys.has(key) || this.writes.has(key) || this.#byIndex.has(key);
  }

  /** The record keys of the user's pending session changes (`index`: the user's index key). */
  related(index: string): ReadonlySet<string> | undefined {
    return this.#byIndex.get(index);
  }

  /** The owner of a record key, as far as the pending changes know it. */
  ownerOf(recordKey: string): string | null {
    const write = this.writes.get(recordKey);
    if (write?.kind === 'session') return write.userId;
    const destroy = this.destroys.get(recordKey);
    return destroy?.kind === 'destroy' ? destroy.userId : null;
  }

  /** Records a write of `key` (the newest change); false when it was dropped (no room). */
  putWrite(key: string, entry: Write): boolean {
    return this.#put(this.writes, key, entry, false);
  }

  /** Records a destroy of `key` (the newest change); false when it was dropped (no room). */
  putDestroy(key: string, entry: Destroy): boolean {
    return this.#put(this.destroys, key, entry, true);
  }

  /** Forgets the entry of `key` in `map`, if any. */
  remove<E extends Entry>(map: Map<string, E>, key: string): void {
    const entry = map.get(key);
    if (entry === undefined) return;
    map.delete(key);
    const index = indexOf(entry);
    if (index === null) return;
    const keys = this.#byIndex.get(index);
    keys?.delete(key);
    if (keys?.size === 0) this.#byIndex.delete(index);
  }

  #put<E extends Entry>(map: Map<string, E>, key: string, entry: E, isDestroy: boolean): boolean {
    if (map.has(key)) this.remove(map, key);
    else if (!this.#makeRoom(isDestroy)) {
      this.dropped++;
      return false;
    }
    map.set(key, entry);
    const index = indexOf(entry);
    if (index !== null) {
      const keys = this.#byIndex.get(index);
      if (keys === undefined) this.#byIndex.set(index, new Set([key]));
      else keys.add(key);
    }
    return true;
  }

  // Full: drop the oldest pending write; only a destroy may push out another destroy.
  #makeRoom(forDestroy: boolean): boolean {
    if (this.size < this.#capacity) return true;
    const oldestWrite = this.writes.keys().next();
    if (!oldestWrite.done) {
      this.remove(this.writes, oldestWrite.value);
      this.dropped++;
      return true;
    }
    const oldestDestroy = this.destroys.keys().next();
    if (!forDestroy || oldestDestroy.done) return false;
    this.remove(this.destroys, oldestDestroy.value);
    this.dropped++;
    return true;
  }
}

function indexOf(entry: Entry): string | null {
  if (entry.kind === 'session') return entry.index;
  if (entry.kind === 'destroy') return entry.index;
  return null;
}
