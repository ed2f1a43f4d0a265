import {
  announceInstance,
  type Connection,
  createConnection,
  isXError,
  type Problem,
  type ReadyOptions,
  toLog,
} from '@x/connection';
import type { CallDeadline } from './_internal/deadline.js';
import { isWellFormedId, newId, tagOf, userTag } from './_internal/ids.js';
import { indexKey, ownerOf, recordKey } from './_internal/keys.js';
import type { MemoryBackend } from './_internal/memory-backend.js';
import { logOutages } from './_internal/outage-log.js';
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
import { SessionOptionsError, SessionUnavailableError } from './errors.js';
import {
  type ResolvedSessionOptions,
  resolveSessionOptions,
  type SessionStoreOptions,
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
import { SessionCounts, type SessionStoreStats, sessionStats } from './stats.js';
import { StoreCalls } from './store-calls.js';

const PKG = '@x/session';

/** Options of {@link SessionStore.destroyUserSessions}. */
export interface DestroyUserSessionsOptions {
  /** Session id(s) to keep, e.g. the current one for "log out my other devices". */
  except?: string | readonly string[];
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
  readonly #stopLogging: () => void;
  readonly #owners = new Owners(OWNERS);
  #closing: Promise<void> | undefined;
  readonly #counts = new SessionCounts();

  constructor(options: SessionStoreOptions) {
    const o = resolveSessionOptions(options);
    this.#o = o;
    this.#connection = createConnection({
      redis: o.redis,
      ioredis: o.ioredis,
      timeoutMs: o.timeoutMs,
      breaker: o.breaker,
      logger: o.logger,
      name: PKG,
      optionError: (field, value, expected) => new SessionOptionsError(field, value, expected),
    });
    this.#calls = new StoreCalls({
      connection: this.#connection,
      timeoutMs: o.timeoutMs,
      fallback: o.fallback,
      maxEntries: o.maxEntries,
      keyPrefix: o.keyPrefix,
    });
    this.#stopLogging = logOutages(this.#connection, toLog(o.logger), o.fallback, () =>
      this.#calls.reconciler === undefined ? 0 : this.#calls.reconciler.pending,
    );
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
    const deadline = this.#calls.deadline();
    const tag = userTag(userId);
    const index = this.#indexKey(tag, userId);
    for (;;) {
      const id = newId(this.#o.idBytes, tag);
      const record = this.#recordKey(id);
      const reply = await this.#calls.script(
        'create',
        deadline,
        CREATE,
        [record, index],
        [userId, this.#o.ttlMs, this.#o.absoluteTtlMs, id, ...fields],
      );
      // -1: the id is taken (a 2^-192 event); draw another.
      if (reply === -1) continue;
      this.#owners.remember(id, userId);
      this.#counts.created++;
      return id;
    }
  }

  async get(id: string): Promise<Session<T> | null> {
    checkId(id);
    const session = await this.#get('get', id, this.#calls.deadline());
    this.#counts.read++;
    return session;
  }

  async update(id: string, patch: Partial<T>): Promise<boolean> {
    checkId(id);
    const sets = encodeData(patch, true);
    const dels: string[] = [];
    for (const key of Object.keys(patch)) if (patch[key] === undefined) dels.push(`d:${key}`);
    const deadline = this.#calls.deadline();
    if (sets.length === 0 && dels.length === 0)
      return (await this.#get('update', id, deadline)) !== null;
    const key = this.#recordKey(id);
    const reply = await this.#calls.script(
      'update',
      deadline,
      UPDATE,
      [key],
      [sets.length, ...sets, ...dels],
      [key],
      key,
    );
    if (reply !== 1) return false;
    this.#counts.updated++;
    return true;
  }

  async touch(id: string): Promise<number | null> {
    checkId(id);
    const deadline = this.#calls.deadline();
    const userId = await this.#owner('touch', id, deadline);
    if (userId === null) return null;
    const key = this.#recordKey(id);
    const reply = (await this.#calls.script(
      'touch',
      deadline,
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
    this.#counts.touched++;
    return reply;
  }

  async destroy(id: string): Promise<boolean> {
    checkId(id);
    const deadline = this.#calls.deadline();
    const userId = await this.#owner('destroy', id, deadline);
    if (userId === null) return false;
    const reply = await this.#calls.script(
      'destroy',
      deadline,
      DESTROY,
      [this.#recordKey(id), this.#indexKey(tagOf(id), userId)],
      [userId, id],
    );
    this.#owners.forget(id);
    if (reply !== 1) return false;
    this.#counts.destroyed++;
    return true;
  }

  async rotate(id: string): Promise<string | null> {
    checkId(id);
    const deadline = this.#calls.deadline();
    const userId = await this.#owner('rotate', id, deadline);
    if (userId === null) return null;
    const tag = tagOf(id);
    for (;;) {
      const next = newId(this.#o.idBytes, tag);
      const reply = await this.#calls.script(
        'rotate',
        deadline,
        ROTATE,
        [this.#recordKey(id), this.#recordKey(next), this.#indexKey(tag, userId)],
        [userId, id, next],
      );
      if (reply === -1) continue;
      this.#owners.forget(id);
      if (reply === 0) return null;
      this.#owners.remember(next, userId);
      this.#counts.rotated++;
      return next;
    }
  }

  async listUserSessions(userId: string): Promise<Session<T>[]> {
    checkUser(userId);
    const deadline = this.#calls.deadline();
    const index = this.#indexKey(userTag(userId), userId);
    const flat = (await this.#calls.script(
      'listUserSessions',
      deadline,
      LIST,
      [index],
      [],
    )) as string[];
    const reads: Promise<Session<T> | null>[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      reads.push(this.#get('listUserSessions', flat[i] as string, deadline));
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
    const deadline = this.#calls.deadline();
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
        deadline,
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
        deadline,
        DESTROY_MANY,
        [index, ...ids.map((id) => this.#recordKey(id))],
        [userId, ...ids, '', ...except],
      )) as [number, number];
      destroyed += gone;
      for (const id of ids) this.#owners.forget(id);
      if (remaining === 0) break;
    }
    this.#counts.destroyed += destroyed;
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
    return sessionStats(this.#connection, this.#calls, this.#counts);
  }

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#calls.close();
    this.#stopLogging();
    this.#closing = this.#connection.close();
    announceInstance(PKG, 'close', this);
    return this.#closing;
  }

  // ---- reads shared by the operations ----------------------------------------------------------

  async #get(operation: string, id: string, deadline: CallDeadline): Promise<Session<T> | null> {
    const key = this.#recordKey(id);
    const reconciler = this.#calls.reconciler;
    const usersReplayed = reconciler?.usersReplayed;
    let reply = (await this.#calls.script(
      operation,
      deadline,
      READ,
      [key],
      [],
    )) as ReadReply | null;
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
          deadline,
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
  async #owner(operation: string, id: string, deadline: CallDeadline): Promise<string | null> {
    const known = this.#owners.get(id);
    if (known !== undefined) return known;
    const key = this.#recordKey(id);
    const reconciler = this.#calls.reconciler;
    const userId = await this.#calls.command<string | ReadReply | null>(
      operation,
      deadline,
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
}
