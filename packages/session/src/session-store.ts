import {
  announceInstance,
  type Connection,
  createConnection,
  isXError,
  type Log,
  type Problem,
  type ReadyOptions,
  type RedisStats,
  toLog,
  type UnusableEvent,
  type UsableEvent,
} from '@x/connection';
import { isWellFormedId, newId, tagOf, userTag } from './_internal/ids.js';
import { indexKey, ownerOf, recordKey } from './_internal/keys.js';
import type { MemoryBackend } from './_internal/memory-backend.js';
import { Owners } from './_internal/owners.js';
import {
  CREATE,
  DESTROY,
  DESTROY_MANY,
  LIST,
  READ,
  ROTATE,
  TOUCH,
  UPDATE,
} from './_internal/scripts.js';
import { SessionUnavailableError } from './errors.js';
import {
  type ResolvedSessionOptions,
  resolveSessionOptions,
  type SessionStoreOptions,
  toSessionOptionsError,
} from './options.js';
import {
  checkId,
  checkUser,
  decodeRecord,
  encodeData,
  type ReadReply,
  type Session,
  type SessionData,
} from './records.js';
import { StoreCalls } from './store-calls.js';

const PKG = '@x/session';

/** Options of {@link SessionStore.destroyUserSessions}. */
export interface DestroyUserSessionsOptions {
  /** Session id(s) to keep, e.g. the current one for "log out my other devices". */
  except?: string | readonly string[];
}

/** Counters (monotonic) and gauges of a store. */
export interface SessionStoreStats {
  /** The connection's block, as in every x package: state, calls, failures, breaker, problem... */
  redis: RedisStats;
  /** Sessions created. */
  created: number;
  /** `get` calls answered (a session or `null`). */
  read: number;
  /** `update` calls that patched a session. */
  updated: number;
  /** `touch` calls that extended a session. */
  touched: number;
  /** Sessions destroyed (`destroy`, and each one `destroyUserSessions` removed). */
  destroyed: number;
  /** Sessions moved to a new id by `rotate`. */
  rotated: number;
  /**
   * Calls (of this store and of the express store on it) that failed with
   * `SessionUnavailableError`: Redis refused, frozen past the deadline, circuit open,
   * misconfigured, or the store closed. Each one is also published on `x:session:fail-closed`.
   */
  failedClosed: number;
  /** Calls answered by the memory fallback because Redis could not (`fallback: 'memory'`). */
  servedFromMemory: number;
  /**
   * Changes made in memory during an outage (sessions written, ids destroyed) still waiting to be
   * replayed into Redis. Always 0 without `fallback: 'memory'`.
   */
  pendingReconcile: number;
  /** Changes replayed into Redis after an outage: destroys applied and sessions copied. */
  reconciled: number;
  /**
   * Copies not made: Redis already had a record under that id (it is never overwritten), or the
   * session had expired or left memory (LRU) before its turn.
   */
  reconcileSkipped: number;
  /**
   * Changes given up: pushed out because `maxEntries` changes were already pending, or refused by
   * Redis with a command error during the replay.
   */
  reconcileDropped: number;
}

/** Sessions in Redis; see {@link createSessionStore}. */
export interface SessionStore<T extends SessionData = SessionData> {
  /** Creates a session for `userId`; resolves with its new id. */
  create(userId: string, data: T): Promise<string>;
  /** Reads a session; `null` when it does not exist or expired. Does not extend it. */
  get(id: string): Promise<Session<T> | null>;
  /**
   * Patches the data atomically (top-level keys; a key set to `undefined` is removed) and keeps
   * the remaining TTL. Resolves `false` if the session does not exist: a destroyed session is
   * never brought back by an update that was in flight.
   */
  update(id: string, patch: Partial<T>): Promise<boolean>;
  /**
   * Slides the expiry to now + `ttlMs` (capped by the absolute lifetime); resolves with the new
   * expiry (epoch ms) or `null` if the session does not exist.
   */
  touch(id: string): Promise<number | null>;
  /** Destroys a session; resolves `true` if it existed. */
  destroy(id: string): Promise<boolean>;
  /** The user's live sessions, oldest expiry first; expired ones are never returned. */
  listUserSessions(userId: string): Promise<Session<T>[]>;
  /** Destroys every session of the user but `except`; resolves with how many were destroyed. */
  destroyUserSessions(userId: string, options?: DestroyUserSessionsOptions): Promise<number>;
  /**
   * Moves the session to a new id (same data, same remaining TTL); the old id is gone. Call it
   * on login and privilege changes (session fixation). Resolves `null` if it does not exist.
   */
  rotate(id: string): Promise<string | null>;
  /** Whether `id` has the shape of an id this store issues (no Redis call). */
  isValidId(id: unknown): id is string;
  /**
   * Resolves once Redis is usable (at once when it is): for a readiness check or a start-up that
   * wants to know. Rejects with `SessionUnavailableError` (`operation: 'ready'`, `problem`: what is
   * wrong) at once on a misconfiguration (wrong password, TLS mismatch...), at the deadline
   * (`timeoutMs` of the store unless given) when Redis is refused or frozen, with `signal.reason`
   * when aborted. The store keeps trying in the background either way; its calls never need it.
   */
  ready(options?: ReadyOptions): Promise<void>;
  /** Counters, with the connection's `redis` block. */
  stats(): SessionStoreStats;
  /**
   * Stops the reconciler and the connection's timers, frees the memory fallback (changes still
   * pending are lost), and closes the client if the store created it (a client passed in is left
   * untouched). Idempotent; settles within about `timeoutMs` (at most 1 s), also when Redis is
   * frozen. Later calls fail with `SessionUnavailableError`.
   */
  close(): Promise<void>;
}

/** The rounds of `destroyUserSessions`: sessions created while it runs are caught by the next. */
const DESTROY_ROUNDS = 5;
/** Session owners remembered (see `_internal/owners.ts`). */
const OWNERS = 10_000;
const NO_RECONCILE = {
  pendingReconcile: 0,
  reconciled: 0,
  reconcileSkipped: 0,
  reconcileDropped: 0,
} as const;

/** @internal Shared with the express-session store. */
// Symbol.for: the CJS build inlines this module into both entry points.
export const kInternals: unique symbol = Symbol.for('@x/session.internals') as never;

/** @internal What the express-session store uses of a session store. */
export interface StoreInternals {
  readonly keyPrefix: string;
  readonly ttlMs: number;
  readonly calls: StoreCalls;
}

/**
 * Creates a session store on its own connection of `@x/connection`. Synchronous and
 * non-blocking: Redis being down never throws here. Every record and its user's index change
 * together in one Lua script; every key of one user shares a hash tag, so it all works on Redis
 * Cluster.
 * @throws SessionOptionsError (`E_SESSION_OPTIONS`) naming the invalid option; ConfigError of
 * `@x/config` for an invalid URL or config.
 * @example
 * const sessions = createSessionStore({ redis: 'redis://localhost:6379', ttlMs: 3_600_000 });
 * const id = await sessions.create('user-42', { role: 'admin' });
 * const session = await sessions.get(id); // { id, userId: 'user-42', data: { role: 'admin' }, ... }
 */
export function createSessionStore<T extends SessionData = SessionData>(
  options: SessionStoreOptions,
): SessionStore<T> {
  return new RedisSessionStore<T>(options);
}

class RedisSessionStore<T extends SessionData> implements SessionStore<T> {
  readonly #o: ResolvedSessionOptions;
  readonly #connection: Connection;
  readonly #calls: StoreCalls;
  readonly #log: Log;
  readonly #owners = new Owners(OWNERS);
  #closing: Promise<void> | undefined;
  #created = 0;
  #read = 0;
  #updated = 0;
  #touched = 0;
  #destroyed = 0;
  #rotated = 0;

  constructor(options: SessionStoreOptions) {
    const o = resolveSessionOptions(options);
    this.#o = o;
    this.#log = toLog(o.logger);
    try {
      this.#connection = createConnection({
        redis: o.redis,
        ioredis: o.ioredis,
        timeoutMs: o.timeoutMs,
        breaker: o.breaker,
        logger: o.logger,
        name: PKG,
      });
    } catch (error) {
      throw toSessionOptionsError(error);
    }
    this.#calls = new StoreCalls({
      connection: this.#connection,
      timeoutMs: o.timeoutMs,
      fallback: o.fallback,
      maxEntries: o.maxEntries,
      keyPrefix: o.keyPrefix,
    });
    this.#connection.on('unusable', this.#onUnusable);
    this.#connection.on('usable', this.#onUsable);
    announceInstance(PKG, 'open', this);
  }

  get [kInternals](): StoreInternals {
    return { keyPrefix: this.#o.keyPrefix, ttlMs: this.#o.ttlMs, calls: this.#calls };
  }

  isValidId(id: unknown): id is string {
    return isWellFormedId(id);
  }

  async create(userId: string, data: T): Promise<string> {
    checkUser(userId);
    const fields = encodeData(data, false);
    const until = this.#calls.deadline();
    const tag = userTag(userId);
    const index = this.#indexKey(tag, userId);
    for (;;) {
      const id = newId(this.#o.idBytes, tag);
      const record = this.#recordKey(id);
      const reply = await this.#calls.script(
        'create',
        until,
        CREATE,
        [record, index],
        [userId, this.#o.ttlMs, this.#o.absoluteTtlMs, id, ...fields],
      );
      // -1: the id is taken (a 2^-192 event); draw another.
      if (reply === -1) continue;
      this.#owners.remember(id, userId);
      this.#created++;
      return id;
    }
  }

  async get(id: string): Promise<Session<T> | null> {
    checkId(id);
    const session = await this.#get('get', id, this.#calls.deadline());
    this.#read++;
    return session;
  }

  async update(id: string, patch: Partial<T>): Promise<boolean> {
    checkId(id);
    const sets = encodeData(patch, true);
    const dels: string[] = [];
    for (const key of Object.keys(patch)) if (patch[key] === undefined) dels.push(`d:${key}`);
    const until = this.#calls.deadline();
    if (sets.length === 0 && dels.length === 0)
      return (await this.#get('update', id, until)) !== null;
    const key = this.#recordKey(id);
    const reply = await this.#calls.script(
      'update',
      until,
      UPDATE,
      [key],
      [sets.length, ...sets, ...dels],
      [key],
      key,
    );
    if (reply !== 1) return false;
    this.#updated++;
    return true;
  }

  async touch(id: string): Promise<number | null> {
    checkId(id);
    const until = this.#calls.deadline();
    const userId = await this.#owner('touch', id, until);
    if (userId === null) return null;
    const key = this.#recordKey(id);
    const reply = (await this.#calls.script(
      'touch',
      until,
      TOUCH,
      [key, this.#indexKey(tagOf(id), userId)],
      [userId, id, this.#o.ttlMs],
      undefined,
      key,
    )) as number;
    if (reply === 0) {
      this.#owners.forget(id);
      return null;
    }
    this.#touched++;
    return reply;
  }

  async destroy(id: string): Promise<boolean> {
    checkId(id);
    const until = this.#calls.deadline();
    const userId = await this.#owner('destroy', id, until);
    if (userId === null) return false;
    const reply = await this.#calls.script(
      'destroy',
      until,
      DESTROY,
      [this.#recordKey(id), this.#indexKey(tagOf(id), userId)],
      [userId, id],
    );
    this.#owners.forget(id);
    if (reply !== 1) return false;
    this.#destroyed++;
    return true;
  }

  async rotate(id: string): Promise<string | null> {
    checkId(id);
    const until = this.#calls.deadline();
    const userId = await this.#owner('rotate', id, until);
    if (userId === null) return null;
    const tag = tagOf(id);
    for (;;) {
      const next = newId(this.#o.idBytes, tag);
      const reply = await this.#calls.script(
        'rotate',
        until,
        ROTATE,
        [this.#recordKey(id), this.#recordKey(next), this.#indexKey(tag, userId)],
        [userId, id, next],
      );
      if (reply === -1) continue;
      this.#owners.forget(id);
      if (reply === 0) return null;
      this.#owners.remember(next, userId);
      this.#rotated++;
      return next;
    }
  }

  async listUserSessions(userId: string): Promise<Session<T>[]> {
    checkUser(userId);
    const until = this.#calls.deadline();
    const index = this.#indexKey(userTag(userId), userId);
    const flat = (await this.#calls.script(
      'listUserSessions',
      until,
      LIST,
      [index],
      [],
    )) as string[];
    const reads: Promise<Session<T> | null>[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      reads.push(this.#get('listUserSessions', flat[i] as string, until));
    }
    const out: Session<T>[] = [];
    // A session may have been destroyed between the two reads: skip it.
    for (const session of await Promise.all(reads)) {
      if (session !== null && session.userId === userId) out.push(session);
    }
    return out;
  }

  async destroyUserSessions(
    userId: string,
    options: DestroyUserSessionsOptions = {},
  ): Promise<number> {
    checkUser(userId);
    const except = options.except === undefined ? [] : [options.except].flat();
    for (const id of except) checkId(id);
    const until = this.#calls.deadline();
    const index = this.#indexKey(userTag(userId), userId);
    const calls = this.#calls;
    let destroyed = 0;
    const listInMemory = (memory: MemoryBackend): string[] => {
      // Memory only knows the sessions it created: Redis must destroy the others once it is back.
      calls.reconciler?.userSessionsDestroyed(index, userId, except);
      return memory.run(LIST, [index], []) as string[];
    };
    for (let round = 0; round < DESTROY_ROUNDS; round++) {
      const flat = await calls.command(
        'destroyUserSessions',
        until,
        () => calls.connection.script(LIST).run(1, index) as Promise<string[]>,
        listInMemory,
        [index],
      );
      const ids: string[] = [];
      for (let i = 0; i < flat.length; i += 2) {
        const id = flat[i] as string;
        if (!except.includes(id)) ids.push(id);
      }
      if (ids.length === 0) break;
      const [gone, remaining] = (await calls.script(
        'destroyUserSessions',
        until,
        DESTROY_MANY,
        [index, ...ids.map((id) => this.#recordKey(id))],
        [userId, ...ids, '', ...except],
      )) as [number, number];
      destroyed += gone;
      for (const id of ids) this.#owners.forget(id);
      if (remaining === 0) break;
    }
    this.#destroyed += destroyed;
    return destroyed;
  }

  async ready(options: ReadyOptions = {}): Promise<void> {
    if (this.#closing !== undefined) {
      throw new SessionUnavailableError(
        'ready',
        new Error('the store is closed: create a new one with createSessionStore()'),
        undefined,
      );
    }
    try {
      await this.#connection.ready({
        timeoutMs: options.timeoutMs ?? this.#o.timeoutMs,
        signal: options.signal,
      });
    } catch (error) {
      const problem = (error as { problem?: Problem }).problem;
      if (problem === undefined && !isXError(error, 'E_CONNECTION_CLOSED')) throw error; // aborted
      throw new SessionUnavailableError('ready', error, problem);
    }
  }

  stats(): SessionStoreStats {
    const calls = this.#calls;
    return {
      redis: this.#connection.stats(),
      created: this.#created,
      read: this.#read,
      updated: this.#updated,
      touched: this.#touched,
      destroyed: this.#destroyed,
      rotated: this.#rotated,
      failedClosed: calls.failedClosed,
      servedFromMemory: calls.servedFromMemory,
      ...(calls.reconciler?.stats() ?? NO_RECONCILE),
    };
  }

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#calls.close();
    this.#connection.off('unusable', this.#onUnusable);
    this.#connection.off('usable', this.#onUsable);
    this.#closing = this.#connection.close();
    announceInstance(PKG, 'close', this);
    return this.#closing;
  }

  // ---- reads shared by the operations ----------------------------------------------------------

  async #get(operation: string, id: string, until: number): Promise<Session<T> | null> {
    const key = this.#recordKey(id);
    const reconciler = this.#calls.reconciler;
    const usersReplayed = reconciler?.usersReplayed;
    let reply = (await this.#calls.script(operation, until, READ, [key], [])) as ReadReply | null;
    if (reply === null) return null;
    if (
      reconciler !== undefined &&
      (reconciler.pending > 0 || reconciler.usersReplayed !== usersReplayed)
    ) {
      // A "destroy every session of this user" made in memory may not be in Redis yet (or landed
      // while this read was in flight): replay it (or ask memory) and read again.
      const owner = ownerOf(reply[0]);
      const index = owner === null ? undefined : this.#indexKey(tagOf(id), owner);
      if (
        index !== undefined &&
        (reconciler.isPending(index) || reconciler.usersReplayed !== usersReplayed)
      ) {
        reply = (await this.#calls.script(
          operation,
          until,
          READ,
          [key],
          [],
          [key, index],
        )) as ReadReply | null;
        if (reply === null) return null;
      }
    }
    const session = decodeRecord<T>(id, reply);
    if (session !== null) this.#owners.remember(id, session.userId);
    return session;
  }

  // The user of a session id (its record's `m:u`), remembered or read (one round trip).
  async #owner(operation: string, id: string, until: number): Promise<string | null> {
    const known = this.#owners.get(id);
    if (known !== undefined) return known;
    const key = this.#recordKey(id);
    const reconciler = this.#calls.reconciler;
    const userId = await this.#calls.command<string | ReadReply | null>(
      operation,
      until,
      (client) => client.hget(key, 'm:u'),
      (memory) => {
        const reply = memory.run(READ, [key], []) as ReadReply | null;
        // Memory does not know it, Redis may: the caller is told it is gone, so once Redis is
        // back it must be gone there too.
        if (reply === null && (operation === 'destroy' || operation === 'rotate')) {
          reconciler?.sessionDestroyed(key, null);
        }
        return reply;
      },
      [key],
    );
    if (typeof userId === 'string') {
      this.#owners.remember(id, userId);
      return userId;
    }
    // The memory fallback answers with a READ reply.
    return userId === null ? null : ownerOf(userId[0]);
  }

  #recordKey(id: string): string {
    return recordKey(this.#o.keyPrefix, tagOf(id), id);
  }

  #indexKey(tag: string, userId: string): string {
    return indexKey(this.#o.keyPrefix, tag, userId);
  }

  // ---- logs: once per outage, and once when Redis is back --------------------------------------

  readonly #onUnusable = (event: UnusableEvent): void => {
    // A misconfiguration is logged by the connection itself, once, at error level.
    if (event.problem?.misconfiguration) return;
    const problem = event.problem;
    this.#log(
      'warn',
      `[${PKG}] Redis unusable (${event.reason}${problem === null ? '' : `, ${problem.kind}: ${problem.message}`}): ${
        this.#o.fallback === 'memory'
          ? 'sessions are served from memory, and replayed into Redis once it is back'
          : 'session calls fail closed with SessionUnavailableError until it is back'
      }`,
      { reason: 'redis_unusable', cause: event.reason, kind: problem?.kind ?? null },
    );
  };

  readonly #onUsable = (event: UsableEvent): void => {
    if (event.reason !== 'recovered') return;
    this.#log('info', `[${PKG}] Redis usable again after ${event.outageMs} ms`, {
      reason: 'redis_usable',
      outageMs: event.outageMs,
      pendingReconcile: this.#calls.reconciler?.pending ?? 0,
    });
  };
}
