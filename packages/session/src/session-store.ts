import {
  type Breaker,
  type BreakerOptions,
  createGuard,
  type Guard,
  type GuardStats,
  GuardTimeoutError,
  isBreakerError,
  isInfrastructureError,
} from '@x/breaker';
import { type RedisClient, type RedisSource, resolveRedis } from '@x/config';
import type { Redis, RedisOptions } from 'ioredis';
import { isWellFormedId, newId, tagOf, userTag } from './_internal/ids.js';
import { indexKey, ownerOf, recordKey } from './_internal/keys.js';
import { MemoryBackend } from './_internal/memory-backend.js';
import { Reconciler, type RedisState } from './_internal/reconciler.js';
import { runScript } from './_internal/run-script.js';
import {
  CREATE,
  DESTROY,
  DESTROY_MANY,
  LIST,
  READ,
  ROTATE,
  type Script,
  TOUCH,
  UPDATE,
} from './_internal/scripts.js';
import {
  InvalidSessionIdError,
  SessionDataError,
  SessionOptionsError,
  SessionUnavailableError,
} from './errors.js';

/** Session data: a plain object whose top-level values are JSON-serializable. */
export type SessionData = Record<string, unknown>;

/** Options of {@link createSessionStore}. */
export interface SessionStoreOptions {
  /**
   * Where Redis is: a URL, a config from `@x/config`, or an existing ioredis `Redis` / `Cluster`
   * (never closed by the store).
   */
  redis: RedisSource;
  /**
   * Idle lifetime in ms: a session expires this long after its creation or its last `touch`.
   * @default 86_400_000 (24 h)
   */
  ttlMs?: number;
  /**
   * Absolute lifetime in ms: no `touch` extends a session past `createdAt + absoluteTtlMs`.
   * @default undefined (no absolute limit)
   */
  absoluteTtlMs?: number;
  /**
   * Prefix of every key. Must not contain `{` or `}` (the hash tag is added by the store).
   * @default 'sess:'
   */
  prefix?: string;
  /**
   * Deadline of every call in ms, also when Redis is frozen.
   * @default 1000
   */
  timeoutMs?: number;
  /**
   * Circuit breaker: an existing breaker from `@x/breaker`, options for a new one, or `false`.
   * While it is open, calls fail at once (or go to memory with `fallback: 'memory'`).
   * @default { maxFailures: 5, resetTimeout: 5000 }
   */
  breaker?: Breaker | BreakerOptions | false;
  /**
   * What to do when Redis is unavailable: `'none'` fails closed with `SessionUnavailableError`;
   * `'memory'` serves from an in-process store, and once Redis is usable again replays into it
   * what happened there: destroys first (a logout made during the outage wins), then copies of
   * the sessions written there, never overwriting a record Redis already has. Until an id's
   * change is replayed, calls about that id replay it first, or are served from memory. See the
   * README ("Reconciliation") for the exact rules and limits.
   * @default 'none'
   */
  fallback?: 'none' | 'memory';
  /**
   * With `fallback: 'memory'`: most keys the memory fallback holds (least recently used evicted
   * first), and most changes waiting to be replayed into Redis (beyond it the oldest pending copy
   * is dropped first; counted in `stats().reconcileDropped`).
   * @default 10_000
   */
  memoryMaxEntries?: number;
  /**
   * Random bytes in a session id (from `crypto.randomBytes`); at least 16 (128 bits).
   * @default 24
   */
  idBytes?: number;
  /** ioredis options used only when `redis` is a URL or a config (not an existing client). */
  ioredis?: Partial<RedisOptions>;
}

/** A session as read from the store. */
export interface Session<T extends SessionData = SessionData> {
  readonly id: string;
  readonly userId: string;
  readonly data: T;
  /** Creation time (epoch ms, Redis server clock). */
  readonly createdAt: number;
  /** When the session expires unless touched (epoch ms). */
  readonly expiresAt: number;
  /** The absolute limit (epoch ms), or `null` without `absoluteTtlMs`. */
  readonly absoluteExpiresAt: number | null;
}

/** Options of {@link SessionStore.destroyUserSessions}. */
export interface DestroyUserSessionsOptions {
  /** Session id(s) to keep, e.g. the current one for "log out my other devices". */
  except?: string | readonly string[];
}

/** Counters of a store. */
export interface SessionStoreStats {
  /** Calls served from memory because Redis was unavailable. */
  fallbacks: number;
  /** Calls that failed with `SessionUnavailableError`. */
  unavailable: number;
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
   * Changes given up: pushed out because `memoryMaxEntries` changes were already pending, or
   * refused by Redis with a command error during the replay.
   */
  reconcileDropped: number;
  /** Deadline, breaker and latency counters of Redis calls. */
  guard: GuardStats;
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
  /** Counters. */
  stats(): SessionStoreStats;
  /** Releases the memory fallback and closes the client if the store created it. */
  close(): Promise<void>;
}

const DAY = 86_400_000;
const DEFAULT_BREAKER: BreakerOptions = { maxFailures: 5, resetTimeout: 5_000 };
const OWNER_CACHE = 10_000;
const DESTROY_ROUNDS = 5;
const NO_RECONCILE = {
  pendingReconcile: 0,
  reconciled: 0,
  reconcileSkipped: 0,
  reconcileDropped: 0,
} as const;

/** @internal Shared with the express-session store. */
// Symbol.for: the CJS build inlines this module into both entry points.
export const kInternals: unique symbol = Symbol.for('@x/session.internals') as never;

/** @internal */
export interface StoreInternals {
  readonly prefix: string;
  readonly ttlMs: number;
  call(
    operation: string,
    script: Script,
    keys: string[],
    args: (string | number)[],
  ): Promise<unknown>;
  /** `settleKeys`: keys whose changes pending from an outage are replayed into Redis first. */
  command<R>(
    operation: string,
    redis: (client: RedisClient) => Promise<R>,
    memory: (m: MemoryBackend) => R,
    settleKeys?: readonly string[],
  ): Promise<R>;
}

/**
 * Creates a session store. Every record and its user's index change together in one Lua script
 * (EVALSHA); every key of one user shares a hash tag, so it all works on Redis Cluster.
 * @throws SessionOptionsError (`E_SESSION_OPTIONS`) naming the invalid option.
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
  readonly #client: RedisClient;
  readonly #owned: boolean;
  readonly #guard: Guard;
  readonly #memory: MemoryBackend | undefined;
  readonly #reconciler: Reconciler | undefined;
  readonly #ttlMs: number;
  readonly #absoluteTtlMs: number;
  readonly #prefix: string;
  readonly #idBytes: number;
  readonly #timeoutMs: number;
  readonly #owners = new Map<string, string>();
  #readyWait: Promise<void> | undefined;
  #fallbacks = 0;
  #unavailable = 0;
  #closed = false;

  constructor(options: SessionStoreOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new SessionOptionsError('options', options, 'an object with `redis`');
    }
    const ttlMs = options.ttlMs ?? DAY;
    checkInt('ttlMs', ttlMs, 1);
    const absoluteTtlMs = options.absoluteTtlMs ?? 0;
    if (options.absoluteTtlMs !== undefined) checkInt('absoluteTtlMs', absoluteTtlMs, 1);
    const prefix = options.prefix ?? 'sess:';
    if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
      throw new SessionOptionsError('prefix', prefix, 'a string without { or }');
    }
    const timeoutMs = options.timeoutMs ?? 1_000;
    checkInt('timeoutMs', timeoutMs, 1);
    const fallback = options.fallback ?? 'none';
    if (fallback !== 'none' && fallback !== 'memory') {
      throw new SessionOptionsError('fallback', fallback, "'none' | 'memory'");
    }
    const memoryMaxEntries = options.memoryMaxEntries ?? 10_000;
    checkInt('memoryMaxEntries', memoryMaxEntries, 1);
    const idBytes = options.idBytes ?? 24;
    checkInt('idBytes', idBytes, 16);
    if (idBytes > 128) throw new SessionOptionsError('idBytes', idBytes, 'at most 128');
    if (options.redis === undefined || options.redis === null) {
      throw new SessionOptionsError('redis', options.redis, 'a URL, a config or an ioredis client');
    }
    this.#guard = createGuard({ timeoutMs, breaker: options.breaker ?? DEFAULT_BREAKER });
    const resolved = resolveRedis(
      options.redis,
      options.ioredis === undefined ? undefined : { ioredis: options.ioredis },
    );
    this.#client = resolved.client;
    this.#owned = resolved.owned;
    if (this.#owned) this.#client.on('error', noop);
    if (fallback === 'memory') {
      const memory = new MemoryBackend(memoryMaxEntries);
      const reconciler = new Reconciler({
        memory,
        capacity: memoryMaxEntries,
        prefix,
        run: (script, keys, args) => this.#replayCall(script, keys, args),
        state: () => this.#redisState(),
      });
      memory.journal = reconciler;
      this.#memory = memory;
      this.#reconciler = reconciler;
    }
    this.#ttlMs = ttlMs;
    this.#absoluteTtlMs = absoluteTtlMs;
    this.#prefix = prefix;
    this.#idBytes = idBytes;
    this.#timeoutMs = timeoutMs;
  }

  get [kInternals](): StoreInternals {
    return {
      prefix: this.#prefix,
      ttlMs: this.#ttlMs,
      call: (operation, script, keys, args) => this.#call(operation, script, keys, args),
      command: (operation, redis, memory, settleKeys) =>
        this.#command(operation, redis, memory, settleKeys),
    };
  }

  isValidId(id: unknown): id is string {
    return isWellFormedId(id);
  }

  async create(userId: string, data: T): Promise<string> {
    checkUser(userId);
    const fields = encodeData(data, false);
    const tag = userTag(userId);
    for (;;) {
      const id = newId(this.#idBytes, tag);
      const reply = await this.#call(
        'create',
        CREATE,
        [this.#recordKey(id), this.#indexKey(tag, userId)],
        [userId, this.#ttlMs, this.#absoluteTtlMs, id, ...fields],
      );
      // -1: the id is taken (a 2^-192 event); draw another.
      if (reply === -1) continue;
      this.#remember(id, userId);
      return id;
    }
  }

  async get(id: string): Promise<Session<T> | null> {
    checkId(id);
    const key = this.#recordKey(id);
    const reconciler = this.#reconciler;
    const usersReplayed = reconciler?.usersReplayed;
    let reply = (await this.#call('get', READ, [key], [])) as [string[], number, number] | null;
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
        reply = (await this.#call('get', READ, [key], [], [key, index])) as typeof reply;
        if (reply === null) return null;
      }
    }
    const session = decodeRecord<T>(id, reply[0], reply[1], reply[2]);
    if (session !== null) this.#remember(id, session.userId);
    return session;
  }

  async update(id: string, patch: Partial<T>): Promise<boolean> {
    checkId(id);
    const sets = encodeData(patch, true);
    const dels: string[] = [];
    for (const key of Object.keys(patch)) if (patch[key] === undefined) dels.push(`d:${key}`);
    if (sets.length === 0 && dels.length === 0) return (await this.get(id)) !== null;
    const reply = await this.#call(
      'update',
      UPDATE,
      [this.#recordKey(id)],
      [sets.length, ...sets, ...dels],
    );
    return reply === 1;
  }

  async touch(id: string): Promise<number | null> {
    checkId(id);
    const userId = await this.#owner(id, 'touch');
    if (userId === null) return null;
    const reply = (await this.#call(
      'touch',
      TOUCH,
      [this.#recordKey(id), this.#indexKey(tagOf(id), userId)],
      [userId, id, this.#ttlMs],
    )) as number;
    if (reply === 0) {
      this.#owners.delete(id);
      return null;
    }
    return reply;
  }

  async destroy(id: string): Promise<boolean> {
    checkId(id);
    const userId = await this.#owner(id, 'destroy');
    if (userId === null) return false;
    const reply = await this.#call(
      'destroy',
      DESTROY,
      [this.#recordKey(id), this.#indexKey(tagOf(id), userId)],
      [userId, id],
    );
    this.#owners.delete(id);
    return reply === 1;
  }

  async rotate(id: string): Promise<string | null> {
    checkId(id);
    const userId = await this.#owner(id, 'rotate');
    if (userId === null) return null;
    const tag = tagOf(id);
    for (;;) {
      const next = newId(this.#idBytes, tag);
      const reply = await this.#call(
        'rotate',
        ROTATE,
        [this.#recordKey(id), this.#recordKey(next), this.#indexKey(tag, userId)],
        [userId, id, next],
      );
      if (reply === -1) continue;
      this.#owners.delete(id);
      if (reply === 0) return null;
      this.#remember(next, userId);
      return next;
    }
  }

  async listUserSessions(userId: string): Promise<Session<T>[]> {
    checkUser(userId);
    const tag = userTag(userId);
    const flat = (await this.#call(
      'listUserSessions',
      LIST,
      [this.#indexKey(tag, userId)],
      [],
    )) as string[];
    const reads: Promise<Session<T> | null>[] = [];
    for (let i = 0; i < flat.length; i += 2) reads.push(this.get(flat[i] as string));
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
    const tag = userTag(userId);
    const index = this.#indexKey(tag, userId);
    let destroyed = 0;
    const listInMemory = (memory: MemoryBackend): string[] => {
      // Memory only knows the sessions it created: Redis must destroy the others once it is back.
      this.#reconciler?.userSessionsDestroyed(index, userId, except);
      return memory.run(LIST, [index], []) as string[];
    };
    // Sessions created while this runs are caught by the next round (bounded).
    for (let round = 0; round < DESTROY_ROUNDS; round++) {
      const flat = await this.#command(
        'destroyUserSessions',
        (client) => runScript(client, LIST, [index], []) as Promise<string[]>,
        listInMemory,
        [index],
      );
      const ids: string[] = [];
      for (let i = 0; i < flat.length; i += 2) {
        const id = flat[i] as string;
        if (!except.includes(id)) ids.push(id);
      }
      if (ids.length === 0) break;
      const [gone, remaining] = (await this.#call(
        'destroyUserSessions',
        DESTROY_MANY,
        [index, ...ids.map((id) => this.#recordKey(id))],
        [userId, ...ids, '', ...except],
      )) as [number, number];
      destroyed += gone;
      for (const id of ids) this.#owners.delete(id);
      if (remaining === 0) break;
    }
    return destroyed;
  }

  stats(): SessionStoreStats {
    return {
      fallbacks: this.#fallbacks,
      unavailable: this.#unavailable,
      ...(this.#reconciler?.stats() ?? NO_RECONCILE),
      guard: this.#guard.stats(),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#reconciler?.close();
    this.#memory?.close();
    if (this.#owned) this.#client.disconnect();
  }

  // ---- keys -------------------------------------------------------------------------------------

  #recordKey(id: string): string {
    return recordKey(this.#prefix, tagOf(id), id);
  }

  #indexKey(tag: string, userId: string): string {
    return indexKey(this.#prefix, tag, userId);
  }

  // ---- owners: the user of a session id never changes, so it is safe to remember ------------

  #remember(id: string, userId: string): void {
    if (this.#owners.size >= OWNER_CACHE) {
      const oldest = this.#owners.keys().next().value;
      if (oldest !== undefined) this.#owners.delete(oldest);
    }
    this.#owners.set(id, userId);
  }

  async #owner(id: string, operation: string): Promise<string | null> {
    const known = this.#owners.get(id);
    if (known !== undefined) return known;
    const key = this.#recordKey(id);
    const userId = await this.#command(
      operation,
      (client) => client.hget(key, 'm:u'),
      (memory) => {
        const reply = memory.run(READ, [key], []);
        // Memory does not know it, Redis may: the caller is told it is gone, so once Redis is
        // back it must be gone there too.
        if (reply === null && (operation === 'destroy' || operation === 'rotate')) {
          this.#reconciler?.sessionDestroyed(key, null);
        }
        return reply as never;
      },
      [key],
    );
    if (typeof userId === 'string') {
      this.#remember(id, userId);
      return userId;
    }
    // The memory fallback answers with a READ reply.
    if (Array.isArray(userId)) {
      const fields = userId[0] as string[];
      const at = fields.indexOf('m:u');
      return at >= 0 && at % 2 === 0 ? (fields[at + 1] as string) : null;
    }
    return null;
  }

  // ---- guarded calls ----------------------------------------------------------------------------

  #call(
    operation: string,
    script: Script,
    keys: string[],
    args: (string | number)[],
    settleKeys: readonly string[] = keys,
  ): Promise<unknown> {
    return this.#command(
      operation,
      (client) => runScript(client, script, keys, args),
      (memory) => memory.run(script, keys, args),
      settleKeys,
    );
  }

  async #command<R>(
    operation: string,
    redis: (client: RedisClient) => Promise<R>,
    memory: (m: MemoryBackend) => R,
    settleKeys?: readonly string[],
  ): Promise<R> {
    if (this.#closed)
      throw new SessionUnavailableError(operation, new Error('the store is closed'));
    const reconciler = this.#reconciler;
    if (reconciler !== undefined && settleKeys !== undefined && reconciler.pending > 0) {
      const settling = reconciler.settle(settleKeys);
      if (settling !== undefined && !(await settling)) {
        // A change about these keys made in memory is not in Redis yet: memory has the truth.
        return this.#fail(operation, new Error('changes made in memory not replayed yet'), memory);
      }
    }
    const client = this.#client;
    const status = client.status;
    const fallback = this.#memory;
    if (status === 'end' || status === 'close' || status === 'reconnecting') {
      // Not connected: a command would queue or fail anyway; answer at once.
      return this.#fail(operation, new Error(`Redis client status is "${status}"`), memory);
    }
    let servedByMemory = false;
    try {
      const result = await this.#guard.execute<R>(
        status === 'ready' ? () => redis(client) : () => this.#afterConnect(client, redis),
        fallback === undefined
          ? undefined
          : () => {
              servedByMemory = true;
              this.#fallbacks++;
              return memory(fallback);
            },
      );
      // Redis answered: a good moment to replay what the memory fallback did meanwhile.
      if (!servedByMemory && reconciler !== undefined && reconciler.pending > 0) reconciler.kick();
      return result;
    } catch (error) {
      if (isBreakerError(error) || isInfrastructureError(error)) {
        this.#unavailable++;
        throw new SessionUnavailableError(operation, error);
      }
      throw error;
    }
  }

  // ---- reconciliation after an outage (fallback: 'memory') ---------------------------------------

  #redisState(): RedisState {
    if (this.#closed || this.#client.status !== 'ready') return 'down';
    const state = this.#guard.breaker?.state ?? 'closed';
    return state === 'closed' ? 'up' : state === 'half-open' ? 'probing' : 'down';
  }

  // A replay call: Redis only (no fallback), under the same deadline and breaker as every call.
  async #replayCall(script: Script, keys: string[], args: (string | number)[]): Promise<unknown> {
    const client = this.#client;
    if (this.#closed || client.status !== 'ready') {
      throw new SessionUnavailableError('reconcile', new Error(`Redis client is ${client.status}`));
    }
    try {
      return await this.#guard.execute(() => runScript(client, script, keys, args));
    } catch (error) {
      if (isBreakerError(error) || isInfrastructureError(error)) {
        throw new SessionUnavailableError('reconcile', error);
      }
      throw error;
    }
  }

  #fail<R>(operation: string, cause: unknown, memory: (m: MemoryBackend) => R): R {
    if (this.#memory !== undefined) {
      this.#fallbacks++;
      return memory(this.#memory);
    }
    this.#unavailable++;
    throw new SessionUnavailableError(operation, cause);
  }

  // The client may still be (re)connecting: wait for it (one shared listener),
  // within the deadline, and never send a command after its caller gave up.
  async #afterConnect<R>(
    client: RedisClient,
    redis: (client: RedisClient) => Promise<R>,
  ): Promise<R> {
    const started = performance.now();
    if (client.status === 'wait') (client as Redis).connect().catch(noop);
    this.#readyWait ??= new Promise<void>((resolve) => {
      const done = (): void => {
        client.off('ready', done);
        client.off('close', done);
        client.off('end', done);
        this.#readyWait = undefined;
        resolve();
      };
      client.on('ready', done);
      client.on('close', done);
      client.on('end', done);
    });
    await this.#readyWait;
    // The attempt failed (e.g. refused): report it now instead of waiting for the deadline.
    if (client.status !== 'ready') throw new Error('Connection is closed (connect attempt failed)');
    if (performance.now() - started >= this.#timeoutMs)
      throw new GuardTimeoutError(this.#timeoutMs);
    return redis(client);
  }
}

function encodeData(data: unknown, patch: boolean): string[] {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new SessionDataError(`session ${patch ? 'patch' : 'data'} must be a plain object`);
  }
  const out: string[] = [];
  for (const [key, value] of Object.entries(data)) {
    if (value === undefined) continue;
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (error) {
      throw new SessionDataError(`session data "${key}" is not JSON-serializable`, error);
    }
    if (json === undefined)
      throw new SessionDataError(`session data "${key}" is not JSON-serializable`);
    out.push(`d:${key}`, json);
  }
  return out;
}

function decodeRecord<T extends SessionData>(
  id: string,
  fields: string[],
  pttl: number,
  now: number,
): Session<T> | null {
  let userId: string | undefined;
  let createdAt = 0;
  let absolute = 0;
  const data: SessionData = {};
  for (let i = 0; i < fields.length; i += 2) {
    const field = fields[i] as string;
    const value = fields[i + 1] as string;
    if (field.startsWith('d:')) {
      try {
        data[field.slice(2)] = JSON.parse(value);
      } catch {
        // Only this store writes these fields; a foreign write is ignored, not fatal.
      }
    } else if (field === 'm:u') userId = value;
    else if (field === 'm:c') createdAt = Number(value);
    else if (field === 'm:a') absolute = Number(value);
  }
  if (userId === undefined) return null;
  // PTTL counts from the script's start time and `now` is read later in it (TIME): the sum can
  // be 1 ms past the absolute limit the expiry was capped at.
  let expiresAt = pttl > 0 ? now + pttl : now;
  if (absolute > 0 && expiresAt > absolute) expiresAt = absolute;
  return {
    id,
    userId,
    data: data as T,
    createdAt,
    expiresAt,
    absoluteExpiresAt: absolute > 0 ? absolute : null,
  };
}

function checkId(id: unknown): asserts id is string {
  if (!isWellFormedId(id)) throw new InvalidSessionIdError(id);
}

function checkUser(userId: unknown): asserts userId is string {
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > 512) {
    throw new SessionDataError('userId must be a non-empty string of at most 512 characters');
  }
}

function checkInt(field: string, value: unknown, min: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new SessionOptionsError(field, value, `an integer >= ${min}`);
  }
}

function noop(): void {}
