import { isSessionError } from '../errors.js';
import type { ReadReply } from '../records.js';
import { tagOf } from './ids.js';
import { expressTombstoneKey, idOfRecordKey, indexKey, ownerOf, recordKey } from './keys.js';
import type { MemoryBackend, MemoryJournal } from './memory-backend.js';
import { type Entry, PendingChanges, type UserDestroy } from './pending-changes.js';
import { COPY_SESSION, DESTROY, DESTROY_OLDER, LIST, READ, XCOPY, XDESTROY } from './scripts.js';

/** What a {@link Reconciler} needs from its store. */
export interface ReconcilerOptions {
  readonly memory: MemoryBackend;
  /** Most changes held (the store's `maxEntries`). */
  readonly capacity: number;
  /** The store's key prefix. */
  readonly prefix: string;
  /**
   * Runs a script (a source of scripts.ts) on Redis, never on memory, under the store's deadline
   * and breaker. Rejects with `SessionUnavailableError` when Redis is unusable (not connected,
   * timeout, open circuit...).
   */
  run(script: string, keys: string[], args: (string | number)[]): Promise<unknown>;
  /** Whether Redis is usable now: the connection's state is `'ready'` (cheap; no Redis call). */
  usable(): boolean;
}

/** A settle in progress (see {@link Reconciler.settle}). */
export interface Settling {
  readonly done: Promise<boolean>;
  memoryKnows(): boolean;
}

/** Counters of the reconciliation; the store's `stats()` includes them. */
export interface ReconcileStats {
  pendingReconcile: number;
  reconciled: number;
  reconcileSkipped: number;
  reconcileDropped: number;
}

/** Ids per DESTROY_OLDER script call. */
const USER_CHUNK = 100;
/** Changes replayed at once. */
const BATCH = 16;
/** How often, while changes are pending and Redis is usable, the reconciler tries again. */
const TICK_MS = 250;
const DONE: Promise<boolean> = Promise.resolve(true);

/**
 * Remembers, bounded ({@link PendingChanges}), what the memory fallback did that Redis must learn
 * (sessions written there, ids destroyed there), and replays it into Redis once Redis is usable
 * again:
 *
 * - **When**: when the connection becomes usable again (the store calls {@link kick} on its
 *   `usable` event), right after any call of the store that Redis answered, and every 250 ms
 *   while changes are pending and the connection is usable (an `unref`ed timer: a replay refused by
 *   a breaker that is still open, or isolated, is tried again). Never on a caller's path, except
 *   {@link settle}.
 * - **Order**: destroys first (a logout made during the outage wins), then copies with NX
 *   semantics (a record Redis already has is never overwritten). One script per change, so each
 *   session (record + index entry) is replayed atomically.
 * - **Failure**: a change whose replay fails because Redis is unavailable again stays pending for
 *   the next recovery; a command error (Redis answered, e.g. OOM) drops it (counted).
 */
export class Reconciler implements MemoryJournal {
  readonly #options: ReconcilerOptions;
  readonly #memory: MemoryBackend;
  readonly #prefix: string;
  readonly #changes: PendingChanges;
  readonly #inflight = new Map<string, Promise<boolean>>();
  // Records whose last copy failed after it may have been sent (see copyInDoubt); bounded.
  readonly #doubtful = new Set<string>();
  // Index keys of users some of whose copies landed (and left memory) while other changes of
  // theirs still wait: memory's view of those users is partial (see settle); bounded.
  readonly #partial = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #closed = false;
  #usersReplayed = 0;
  #reconciled = 0;
  #skipped = 0;

  constructor(options: ReconcilerOptions) {
    this.#options = options;
    this.#memory = options.memory;
    this.#prefix = options.prefix;
    this.#changes = new PendingChanges(options.capacity);
  }

  /** Changes waiting to be replayed. */
  get pending(): number {
    return this.#changes.size;
  }

  stats(): ReconcileStats {
    return {
      pendingReconcile: this.pending,
      reconciled: this.#reconciled,
      reconcileSkipped: this.#skipped,
      reconcileDropped: this.#changes.dropped,
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
    this.#recorded(this.#changes.putWrite(recordKey, { kind: 'session', id, userId, index }));
  }

  sessionDestroyed(recordKey: string, userId: string | null): void {
    const changes = this.#changes;
    const known = userId ?? changes.ownerOf(recordKey);
    changes.remove(changes.writes, recordKey);
    const id = idOfRecordKey(this.#prefix, recordKey);
    const index = known === null ? null : indexKey(this.#prefix, tagOf(id), known);
    this.#recorded(changes.putDestroy(recordKey, { kind: 'destroy', id, userId: known, index }));
  }

  /**
   * `destroyUserSessions(userId, { except })` served from memory: memory only knows the sessions
   * it created, so Redis must destroy the user's older sessions too. Two such calls before the
   * replay merge conservatively: the latest time, and only the ids both kept.
   */
  userSessionsDestroyed(index: string, userId: string, except: readonly string[]): void {
    const previous = this.#changes.destroys.get(index);
    const keep =
      previous?.kind === 'user' ? except.filter((id) => previous.except.includes(id)) : except;
    const entry: UserDestroy = { kind: 'user', userId, except: keep, at: Date.now() };
    this.#recorded(this.#changes.putDestroy(index, entry));
  }

  expressWritten(key: string): void {
    this.#recorded(this.#changes.putWrite(key, { kind: 'express' }));
  }

  expressDestroyed(key: string, tombstoneKey: string, tombstoneMs: number): void {
    const changes = this.#changes;
    changes.remove(changes.writes, key);
    this.#recorded(
      changes.putDestroy(key, { kind: 'xdestroy', tombstone: tombstoneKey, tombstoneMs }),
    );
  }

  // ---- replay -----------------------------------------------------------------------------------

  /** Starts a background replay if changes are pending and Redis is usable. Never throws. */
  kick(): void {
    if (this.#running || this.#closed || this.pending === 0 || !this.#options.usable()) return;
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
   * answers with them applied. `undefined` when nothing is pending for them (the common case).
   * Else `done` resolves `true` once they are all in Redis (memory then no longer holds them), or
   * `false` when they could not all be replayed now (Redis unusable); it never rejects, and the
   * caller bounds its wait (it may give up before it settles). Until `done` is `true`,
   * `memoryKnows()` tells whether memory still holds every record those changes were about
   * (none of their copies landed yet): only then may memory answer for them.
   */
  settle(keys: readonly string[]): Settling | undefined {
    const pending: string[] = [];
    for (const key of keys) {
      if (this.#isPending(key)) pending.push(key);
      const related = this.#changes.related(key);
      if (related !== undefined) pending.push(...related);
    }
    if (pending.length === 0) return undefined;
    const writes = this.#changes.writes;
    const copies = pending.filter((key) => writes.has(key));
    return {
      done: this.#settle(pending),
      // A copy that landed is dropped from memory (and its entry with it); a user some of whose
      // copies landed while other changes of theirs wait is only partly known to memory.
      memoryKnows: () =>
        copies.every((key) => writes.has(key)) && !keys.some((key) => this.#isPartial(key)),
    };
  }

  /**
   * Whether a copy of the record `key` may be on its way to Redis: its replay is in flight, or
   * failed after it may have been sent (a timeout, a lost link) and has not completed since. Memory
   * must not rewrite that record meanwhile: a copy that landed is never overwritten, so the
   * rewrite would be lost.
   */
  copyInDoubt(key: string): boolean {
    return this.#inflight.has(key) || this.#doubtful.has(key);
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
    return this.#changes.has(key) || this.#inflight.has(key);
  }

  async #settle(keys: string[]): Promise<boolean> {
    if (!this.#options.usable()) {
      // Only wait for replays already under way: memory must not change under them.
      await Promise.all(keys.map((key) => this.#inflight.get(key)));
    } else {
      const destroys = keys.filter((key) => this.#changes.destroys.has(key));
      await Promise.all(destroys.map((key) => this.#replay(key)));
      if (destroys.some((key) => this.#isPending(key))) return false;
      await Promise.all(keys.map((key) => this.#replay(key)));
      this.kick();
    }
    return !keys.some((key) => this.#isPending(key));
  }

  async #replayAll(): Promise<void> {
    const changes = this.#changes;
    for (const phase of [changes.destroys, changes.writes] as const) {
      const keys = [...phase.keys()];
      for (let i = 0; i < keys.length; i += BATCH) {
        if (this.#closed || !this.#options.usable()) return;
        const batch = keys.slice(i, i + BATCH);
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
    const changes = this.#changes;
    if (!changes.destroys.has(key) && !changes.writes.has(key)) return DONE;
    const promise = this.#replayKey(key)
      .catch(() => false)
      .finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, promise);
    return promise;
  }

  async #replayKey(key: string): Promise<boolean> {
    const changes = this.#changes;
    const destroy = changes.destroys.get(key);
    if (destroy !== undefined && !(await this.#replayEntry(key, destroy, changes.destroys))) {
      return false;
    }
    const write = changes.writes.get(key);
    if (write !== undefined && !(await this.#replayEntry(key, write, changes.writes))) {
      return false;
    }
    const done = !changes.destroys.has(key) && !changes.writes.has(key);
    if (done) this.#doubtful.delete(key);
    return done;
  }

  async #replayEntry<E extends Entry>(
    key: string,
    entry: E,
    map: Map<string, E>,
  ): Promise<boolean> {
    const changes = this.#changes;
    let copied: boolean;
    try {
      copied = await this.#apply(key, entry);
    } catch (error) {
      if (isSessionError(error) && error.code === 'E_SESSION_UNAVAILABLE') {
        if (entry.kind === 'session' || entry.kind === 'express') this.#doubt(key);
        return false;
      }
      // Redis answered with an error (e.g. OOM): replaying again would not help.
      if (map.get(key) === entry) {
        changes.remove(map, key);
        changes.dropped++;
      }
      return true;
    }
    // Recorded again meanwhile: the newer change stays pending.
    if (map.get(key) !== entry) return true;
    changes.remove(map, key);
    if (copied) this.#reconciled++;
    else this.#skipped++;
    if (entry.kind === 'user') this.#usersReplayed++;
    if (entry.kind === 'session') {
      this.#memory.forgetSession(key, entry.index, entry.id);
      if (this.#isWaiting(entry.index)) this.#remember(this.#partial, entry.index);
    } else if (entry.kind === 'express') this.#memory.forgetExpress(key);
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
          const reply = (await run(READ, [key], [])) as ReadReply | null;
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

  #doubt(key: string): void {
    this.#remember(this.#doubtful, key);
  }

  // A bounded set: the oldest member leaves first.
  #remember(set: Set<string>, key: string): void {
    set.delete(key);
    set.add(key);
    if (set.size > this.#options.capacity) {
      const oldest = set.values().next();
      if (!oldest.done) set.delete(oldest.value);
    }
  }

  // Whether changes of the user with this index key wait (their sessions', or a destroy of all).
  #isWaiting(index: string): boolean {
    return this.#changes.related(index) !== undefined || this.#changes.destroys.has(index);
  }

  #isPartial(key: string): boolean {
    if (!this.#partial.has(key)) return false;
    if (this.#isWaiting(key)) return true;
    this.#partial.delete(key); // nothing waits any more: calls go to Redis
    return false;
  }

  #isPending(key: string): boolean {
    const changes = this.#changes;
    return changes.destroys.has(key) || changes.writes.has(key) || this.#inflight.has(key);
  }

  // A change was recorded (`kept`), or dropped for lack of room: a kept one needs a replay.
  #recorded(kept: boolean): void {
    if (kept) this.#arm();
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#running || this.#closed || this.pending === 0) return;
    // Unusable: the store kicks on the connection's `usable` event instead of polling.
    if (!this.#options.usable()) return;
    this.#timer = setTimeout(this.#tick, TICK_MS);
    this.#timer.unref();
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    this.kick();
  };
}
