import { isSessionError } from '../errors.js';
import { tagOf } from './ids.js';
import { expressTombstoneKey, idOfRecordKey, indexKey, ownerOf, recordKey } from './keys.js';
import type { MemoryBackend, MemoryJournal } from './memory-backend.js';
import {
  COPY_SESSION,
  DESTROY,
  DESTROY_OLDER,
  LIST,
  READ,
  type Script,
  XCOPY,
  XDESTROY,
} from './scripts.js';

/**
 * How usable Redis looks to the store right now: `'up'` (client connected, circuit closed or no
 * breaker), `'probing'` (connected, circuit half-open: one call at a time), `'down'` (anything else).
 */
export type RedisState = 'up' | 'probing' | 'down';

/** What a {@link Reconciler} needs from its store. */
export interface ReconcilerOptions {
  readonly memory: MemoryBackend;
  /** Most changes held (the store's `memoryMaxEntries`). */
  readonly capacity: number;
  /** The store's key prefix. */
  readonly prefix: string;
  /**
   * Runs a script on Redis (never on memory) under the store's deadline and breaker. Rejects with
   * `SessionUnavailableError` when Redis is unusable (not connected, timeout, open circuit...).
   */
  run(script: Script, keys: string[], args: (string | number)[]): Promise<unknown>;
  /** How usable Redis looks now (cheap; no Redis call). */
  state(): RedisState;
}

/** Counters of the reconciliation; the store's `stats()` includes them. */
export interface ReconcileStats {
  pendingReconcile: number;
  reconciled: number;
  reconcileSkipped: number;
  reconcileDropped: number;
}

// A pending change, keyed by the Redis key it is about. Writes copy what memory holds at replay
// time (latest wins); destroys carry what they need to be replayed.
interface SessionWrite {
  readonly kind: 'session';
  readonly id: string;
  readonly userId: string;
  readonly index: string;
}
interface ExpressWrite {
  readonly kind: 'express';
}
interface SessionDestroy {
  readonly kind: 'destroy';
  readonly id: string;
  /** `null`: the owner was not known in memory; it is read from Redis at replay. */
  readonly userId: string | null;
  readonly index: string | null;
}
interface UserDestroy {
  readonly kind: 'user';
  readonly userId: string;
  readonly except: readonly string[];
  /** When it was called (epoch ms, this process's clock): sessions created later survive. */
  readonly at: number;
}
interface ExpressDestroy {
  readonly kind: 'xdestroy';
  readonly tombstone: string;
  readonly tombstoneMs: number;
}
type Write = SessionWrite | ExpressWrite;
type Destroy = SessionDestroy | UserDestroy | ExpressDestroy;
type Entry = Write | Destroy;

/** Ids per DESTROY_OLDER script call. */
const USER_CHUNK = 100;
/** Changes replayed at once while the circuit is closed (one at a time while it is half-open). */
const BATCH = 16;
/** How often, while changes are pending, the reconciler looks whether Redis is back. */
const TICK_MS = 250;
const DONE: Promise<boolean> = Promise.resolve(true);

/**
 * Remembers, bounded, what the memory fallback did that Redis must learn (sessions written there,
 * ids destroyed there), and replays it into Redis once Redis is usable again:
 *
 * - **When**: right after any call of the store that Redis answered, and every 250 ms while
 *   changes are pending (an `unref`ed timer, so an idle process reconciles too), provided the
 *   client is connected and the circuit is not open (half-open: one change at a time, which serves
 *   as the breaker's probe). Never on a caller's path, except {@link settle}.
 * - **Order**: destroys first (a logout made during the outage wins), then copies with NX
 *   semantics (a record Redis already has is never overwritten). One script per change, so each
 *   session (record + index entry) is replayed atomically.
 * - **Failure**: a change whose replay fails because Redis is unavailable again stays pending for
 *   the next recovery; a command error (Redis answered, e.g. OOM) drops it (counted).
 * - **Bound**: at most `capacity` changes; when full, the oldest pending copy is dropped first (a
 *   lost copy means a new login, a lost destroy would revive a session), then the oldest destroy.
 */
export class Reconciler implements MemoryJournal {
  readonly #options: ReconcilerOptions;
  readonly #memory: MemoryBackend;
  readonly #prefix: string;
  // Insertion order = oldest change first (a change moves to the end when recorded again).
  readonly #writes = new Map<string, Write>();
  readonly #destroys = new Map<string, Destroy>();
  // Index key -> record keys of that user's pending session changes, so that a call about a user
  // (list, destroy all, create) settles them first.
  readonly #byIndex = new Map<string, Set<string>>();
  readonly #inflight = new Map<string, Promise<boolean>>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #closed = false;
  #usersReplayed = 0;
  #reconciled = 0;
  #skipped = 0;
  #dropped = 0;

  constructor(options: ReconcilerOptions) {
    this.#options = options;
    this.#memory = options.memory;
    this.#prefix = options.prefix;
  }

  /** Changes waiting to be replayed. */
  get pending(): number {
    return this.#writes.size + this.#destroys.size;
  }

  stats(): ReconcileStats {
    return {
      pendingReconcile: this.pending,
      reconciled: this.#reconciled,
      reconcileSkipped: this.#skipped,
      reconcileDropped: this.#dropped,
    };
  }

  /** Stops the timer; what is still pending is forgotten with the memory fallback. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  // ---- recording (MemoryJournal, and the store for what only it knows) --------------------------

  sessionWritten(recordKey: string, userId: string): void {
    const id = idOfRecordKey(this.#prefix, recordKey);
    const index = indexKey(this.#prefix, tagOf(id), userId);
    this.#record(this.#writes, recordKey, { kind: 'session', id, userId, index }, false);
  }

  sessionDestroyed(recordKey: string, userId: string | null): void {
    const known = userId ?? this.#ownerOf(recordKey);
    this.#remove(this.#writes, recordKey);
    const id = idOfRecordKey(this.#prefix, recordKey);
    const index = known === null ? null : indexKey(this.#prefix, tagOf(id), known);
    this.#record(this.#destroys, recordKey, { kind: 'destroy', id, userId: known, index }, true);
  }

  /**
   * `destroyUserSessions(userId, { except })` served from memory: memory only knows the sessions
   * it created, so Redis must destroy the user's older sessions too. Two such calls before the
   * replay merge conservatively: the latest time, and only the ids both kept.
   */
  userSessionsDestroyed(index: string, userId: string, except: readonly string[]): void {
    const previous = this.#destroys.get(index);
    const keep =
      previous?.kind === 'user' ? except.filter((id) => previous.except.includes(id)) : except;
    const entry: UserDestroy = { kind: 'user', userId, except: keep, at: Date.now() };
    this.#record(this.#destroys, index, entry, true);
  }

  expressWritten(key: string): void {
    this.#record(this.#writes, key, { kind: 'express' }, false);
  }

  expressDestroyed(key: string, tombstoneKey: string, tombstoneMs: number): void {
    this.#remove(this.#writes, key);
    const entry: ExpressDestroy = { kind: 'xdestroy', tombstone: tombstoneKey, tombstoneMs };
    this.#record(this.#destroys, key, entry, true);
  }

  // ---- replay -----------------------------------------------------------------------------------

  /** Starts a background replay if changes are pending and Redis looks usable. Never throws. */
  kick(): void {
    if (this.#running || this.#closed || this.pending === 0) return;
    if (this.#options.state() === 'down') {
      this.#arm();
      return;
    }
    this.#running = true;
    const done = (): void => {
      this.#running = false;
      this.#arm();
    };
    this.#replayAll().then(done, done);
  }

  /**
   * Called before a Redis call about `keys` (record, index or express keys): replays the pending
   * changes of those keys first (for an index key: the user's pending changes), so that Redis
   * answers with them applied. `undefined` when nothing is pending for them (the common case);
   * else resolves `true` once they are in Redis, or `false` when they could not be replayed now
   * (Redis unusable): the call must then be served from memory, which holds the truth.
   */
  settle(keys: readonly string[]): Promise<boolean> | undefined {
    const pending: string[] = [];
    for (const key of keys) {
      if (this.#isPending(key)) pending.push(key);
      const related = this.#byIndex.get(key);
      if (related !== undefined) pending.push(...related);
    }
    return pending.length === 0 ? undefined : this.#settle(pending);
  }

  /**
   * How many "destroy every session of this user" changes have been replayed so far: a read that
   * started before one of them completed may have seen a session it destroyed.
   */
  get usersReplayed(): number {
    return this.#usersReplayed;
  }

  /** Whether a change about `key` (or, for an index key, about that user) is pending. */
  isPending(key: string): boolean {
    return this.#isPending(key) || this.#byIndex.has(key);
  }

  async #settle(keys: string[]): Promise<boolean> {
    if (this.#options.state() === 'down') {
      // Only wait for replays already under way: memory must not change under them.
      await Promise.all(keys.map((key) => this.#inflight.get(key)));
    } else {
      const destroys = keys.filter((key) => this.#destroys.has(key));
      await Promise.all(destroys.map((key) => this.#replay(key)));
      if (destroys.some((key) => this.#isPending(key))) return false;
      await Promise.all(keys.map((key) => this.#replay(key)));
      this.kick();
    }
    return !keys.some((key) => this.#isPending(key));
  }

  async #replayAll(): Promise<void> {
    for (const phase of [this.#destroys, this.#writes]) {
      const keys = [...phase.keys()];
      for (let i = 0; i < keys.length; ) {
        if (this.#closed) return;
        const state = this.#options.state();
        if (state === 'down') return;
        const width = state === 'up' ? BATCH : 1;
        const batch = keys.slice(i, i + width);
        i += width;
        const results = await Promise.all(batch.map((key) => this.#replay(key)));
        // Redis is gone again: what is left waits for the next recovery.
        if (results.includes(false)) return;
      }
    }
  }

  // One replay per key at a time, shared by the background run and the callers that settle it.
  #replay(key: string): Promise<boolean> {
    const running = this.#inflight.get(key);
    if (running !== undefined) return running;
    if (!this.#destroys.has(key) && !this.#writes.has(key)) return DONE;
    const promise = this.#replayKey(key)
      .catch(() => false)
      .finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, promise);
    return promise;
  }

  async #replayKey(key: string): Promise<boolean> {
    const destroy = this.#destroys.get(key);
    if (destroy !== undefined && !(await this.#replayEntry(key, destroy, this.#destroys))) {
      return false;
    }
    const write = this.#writes.get(key);
    if (write !== undefined && !(await this.#replayEntry(key, write, this.#writes))) return false;
    return !this.#destroys.has(key) && !this.#writes.has(key);
  }

  async #replayEntry<E extends Entry>(
    key: string,
    entry: E,
    map: Map<string, E>,
  ): Promise<boolean> {
    let copied: boolean;
    try {
      copied = await this.#apply(key, entry);
    } catch (error) {
      if (isSessionError(error) && error.code === 'E_SESSION_UNAVAILABLE') return false;
      // Redis answered with an error (e.g. OOM): replaying again would not help.
      if (map.get(key) === entry) {
        this.#remove(map, key);
        this.#dropped++;
      }
      return true;
    }
    // Recorded again meanwhile: the newer change stays pending.
    if (map.get(key) !== entry) return true;
    this.#remove(map, key);
    if (copied) this.#reconciled++;
    else this.#skipped++;
    if (entry.kind === 'user') this.#usersReplayed++;
    if (entry.kind === 'session') this.#memory.forgetSession(key, entry.index, entry.id);
    else if (entry.kind === 'express') this.#memory.forgetExpress(key);
    return true;
  }

  /** Applies one change to Redis: `true` if applied, `false` if there was nothing to copy. */
  async #apply(key: string, entry: Entry): Promise<boolean> {
    const run = this.#options.run;
    switch (entry.kind) {
      case 'destroy': {
        let { userId, index } = entry;
        if (userId === null || index === null) {
          // The owner was unknown in memory: read it from Redis (a session never changes owner,
          // so DESTROY's own owner check keeps this atomic).
          const reply = (await run(READ, [key], [])) as [string[], number, number] | null;
          userId = reply === null ? null : ownerOf(reply[0]);
          if (userId === null) return true;
          index = indexKey(this.#prefix, tagOf(entry.id), userId);
        }
        await run(DESTROY, [key, index], [userId, entry.id]);
        return true;
      }
      case 'user': {
        const flat = (await run(LIST, [key], [])) as string[];
        const ids: string[] = [];
        for (let i = 0; i < flat.length; i += 2) {
          const id = flat[i] as string;
          if (!entry.except.includes(id)) ids.push(id);
        }
        for (let i = 0; i < ids.length; i += USER_CHUNK) {
          const chunk = ids.slice(i, i + USER_CHUNK);
          await run(
            DESTROY_OLDER,
            [key, ...chunk.map((id) => recordKey(this.#prefix, tagOf(id), id))],
            [entry.userId, Math.max(0, Date.now() - entry.at), ...chunk],
          );
        }
        return true;
      }
      case 'xdestroy':
        await run(XDESTROY, [key, entry.tombstone], [entry.tombstoneMs]);
        return true;
      case 'session': {
        const snapshot = this.#memory.sessionSnapshot(key);
        if (snapshot === null) return false; // expired, destroyed or evicted meanwhile
        const { fields, ttlMs } = snapshot;
        const now = Date.now();
        const hard = Number(fields['m:a'] ?? 0);
        const args: (string | number)[] = [
          entry.userId,
          entry.id,
          ttlMs,
          hard > 0 ? Math.max(1, hard - now) : 0,
          Math.max(0, now - Number(fields['m:c'] ?? now)),
        ];
        for (const [field, value] of Object.entries(fields)) {
          if (field.startsWith('d:')) args.push(field, value);
        }
        return (await run(COPY_SESSION, [key, entry.index], args)) === 1;
      }
      case 'express': {
        const snapshot = this.#memory.expressSnapshot(key);
        if (snapshot === null) return false;
        const reply = await run(
          XCOPY,
          [key, expressTombstoneKey(key)],
          [snapshot.json, snapshot.ttlMs],
        );
        return reply === 1;
      }
    }
  }

  // ---- the bounded journal ----------------------------------------------------------------------

  #record<E extends Entry>(map: Map<string, E>, key: string, entry: E, isDestroy: boolean): void {
    // Recorded again: moves to the end (the most recent change).
    if (map.has(key)) this.#remove(map, key);
    else if (!this.#makeRoom(isDestroy)) {
      this.#dropped++;
      return;
    }
    map.set(key, entry);
    const index = indexOf(entry);
    if (index !== null) {
      const keys = this.#byIndex.get(index);
      if (keys === undefined) this.#byIndex.set(index, new Set([key]));
      else keys.add(key);
    }
    this.#arm();
  }

  #remove<E extends Entry>(map: Map<string, E>, key: string): void {
    const entry = map.get(key);
    if (entry === undefined) return;
    map.delete(key);
    const index = indexOf(entry);
    if (index === null) return;
    const keys = this.#byIndex.get(index);
    keys?.delete(key);
    if (keys?.size === 0) this.#byIndex.delete(index);
  }

  // Full: drop the oldest pending copy; only a destroy may push out another destroy.
  #makeRoom(forDestroy: boolean): boolean {
    if (this.pending < this.#options.capacity) return true;
    const oldestWrite = this.#writes.keys().next();
    if (!oldestWrite.done) {
      this.#remove(this.#writes, oldestWrite.value);
      this.#dropped++;
      return true;
    }
    const oldestDestroy = this.#destroys.keys().next();
    if (!forDestroy || oldestDestroy.done) return false;
    this.#remove(this.#destroys, oldestDestroy.value);
    this.#dropped++;
    return true;
  }

  #isPending(key: string): boolean {
    return this.#destroys.has(key) || this.#writes.has(key) || this.#inflight.has(key);
  }

  #ownerOf(recordKey: string): string | null {
    const write = this.#writes.get(recordKey);
    if (write?.kind === 'session') return write.userId;
    const destroy = this.#destroys.get(recordKey);
    return destroy?.kind === 'destroy' ? destroy.userId : null;
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#running || this.#closed || this.pending === 0) return;
    this.#timer = setTimeout(this.#tick, TICK_MS);
    this.#timer.unref();
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    this.kick();
  };
}

function indexOf(entry: Entry): string | null {
  if (entry.kind === 'session') return entry.index;
  if (entry.kind === 'destroy') return entry.index;
  return null;
}
