import { EventEmitter } from 'node:events';
import { isCluster, type RedisClient } from '@x/config';
import { deliver, type StoreCallback } from './_internal/express-callback.js';
import { sidKey, sidOfKey, sidScanPattern, sidTombstoneKey } from './_internal/express-keys.js';
import { withCookie, XTOUCH } from './_internal/express-scripts.js';
import { expressSessionStoreMethods } from './_internal/express-session-module.js';
import type { MemoryBackend } from './_internal/memory-backend.js';
import { XDESTROY, XSET } from './_internal/scripts.js';
import { InvalidSessionIdError, SessionDataError, SessionOptionsError } from './errors.js';
import { kInternals, type SessionStore, type StoreInternals } from './session-store.js';
import type { StoreCalls } from './store-calls.js';

export type { StoreCallback } from './_internal/express-callback.js';

/** Options of {@link createExpressSessionStore}. */
export interface ExpressSessionStoreOptions {
  /**
   * The store from `createSessionStore` whose connection, key prefix, deadline, breaker and
   * fallback are used. Closing it is the caller's job.
   */
  store: SessionStore<any>;
  /**
   * Lifetime of a session whose cookie has no expiry (a browser-session cookie), in ms.
   * @default the store's `ttlMs`
   */
  ttlMs?: number;
  /**
   * A destroyed session id is remembered for the rest of the session's lifetime, and at least this
   * long, so a request still in flight cannot write the session back (`set` is then refused).
   * @default 60_000
   */
  tombstoneMs?: number;
  /**
   * Longest session id accepted, in UTF-16 code units. A longer id is refused with
   * `InvalidSessionIdError` (passed to the callback, or as the rejection), before any Redis call.
   * Ids are stored under an encoding of at most 6 characters per code unit (see the README).
   * @default 512
   */
  maxIdLength?: number;
}

/**
 * The cookie of a stored session, as express-session and @fastify/session serialize it. Only
 * `expires` is read by the store (the record's lifetime follows it).
 */
export interface ExpressSessionCookie {
  expires?: Date | string | null;
  originalMaxAge?: number | null;
  [field: string]: any;
}

/** A session as express-session or @fastify/session hands it to the store: a JSON-serializable object. */
export interface ExpressSessionRecord {
  cookie?: ExpressSessionCookie;
  [field: string]: any;
}

const DEFAULT_TOMBSTONE_MS = 60_000;
const DEFAULT_MAX_ID_LENGTH = 512;
const MAX_ID_LENGTH_LIMIT = 65_536;
const SCAN_COUNT = 1000;
/** What a page read answers when the memory fallback served it instead of Redis. */
const MEMORY = Symbol('memory');

/**
 * An express-session `Store` on Redis, also usable as a @fastify/session store (same interface).
 *
 * How the frameworks map onto Redis: the framework chooses the session id (any string: its
 * `genid` / `idGenerator`) and hands the whole session object to `set(sid, session)`. Each one is
 * stored as one JSON string at `<prefix>x:{<encoded sid>}` (an encoding that is safe for Cluster
 * hash tags and SCAN patterns; the identity for the usual ids) with a TTL from the cookie's expiry
 * (else `ttlMs`); these records are anonymous, outside the per-user index of `createSessionStore`.
 * `set` of a session whose cookie has already expired deletes it. `touch` rewrites the stored
 * `cookie` and the TTL together. `destroy` leaves a tombstone, so a concurrent request that still
 * holds the session cannot write it back. `ids`, `all`, `length` and `clear` walk the records with
 * SCAN (every master on a Cluster).
 *
 * Every method takes a Node-style callback, called on a later tick and outside any promise chain,
 * or returns a promise when no callback is given. Nothing is ever thrown at the caller: a bad id or
 * session is a typed error in the callback. Redis down: `SessionUnavailableError` (fail closed),
 * unless the session store has `fallback: 'memory'`.
 */
export class ExpressSessionStore extends EventEmitter {
  readonly #store: StoreInternals;
  readonly #calls: StoreCalls;
  readonly #ttlMs: number;
  readonly #tombstoneMs: number;
  readonly #maxIdLength: number;

  /** Prefer {@link createExpressSessionStore}. */
  constructor(options: ExpressSessionStoreOptions) {
    super();
    if (typeof options !== 'object' || options === null) {
      throw new SessionOptionsError('options', options, 'an object with `store`');
    }
    const internals = (options.store as unknown as { [kInternals]?: StoreInternals } | undefined)?.[
      kInternals
    ];
    if (internals === undefined) {
      throw new SessionOptionsError('store', options.store, 'a store from createSessionStore');
    }
    const ttlMs = options.ttlMs ?? internals.ttlMs;
    const tombstoneMs = options.tombstoneMs ?? DEFAULT_TOMBSTONE_MS;
    const maxIdLength = options.maxIdLength ?? DEFAULT_MAX_ID_LENGTH;
    for (const [field, value] of [
      ['ttlMs', ttlMs],
      ['tombstoneMs', tombstoneMs],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new SessionOptionsError(field, value, 'an integer >= 1');
      }
    }
    if (
      !Number.isSafeInteger(maxIdLength) ||
      maxIdLength < 1 ||
      maxIdLength > MAX_ID_LENGTH_LIMIT
    ) {
      throw new SessionOptionsError(
        'maxIdLength',
        maxIdLength,
        `an integer from 1 to ${MAX_ID_LENGTH_LIMIT}`,
      );
    }
    this.#store = internals;
    this.#calls = internals.calls;
    this.#ttlMs = ttlMs;
    this.#tombstoneMs = tombstoneMs;
    this.#maxIdLength = maxIdLength;
  }

  /**
   * Reads a session: `null` when there is none, or when its cookie has expired.
   * @param callback `(error, session)`; without it, a promise.
   */
  get(sid: string): Promise<ExpressSessionRecord | null>;
  get(sid: string, callback: StoreCallback<ExpressSessionRecord | null>): void;
  get(
    sid: string,
    callback?: StoreCallback<ExpressSessionRecord | null>,
  ): Promise<ExpressSessionRecord | null> | undefined {
    return deliver(
      (async () => {
        const key = this.#key(sid);
        const json = await this.#calls.command(
          'get',
          this.#calls.deadline(),
          (client) => client.get(key),
          (memory) => memory.get(key),
          [key],
        );
        return json === null ? null : live(parse(json), Date.now());
      })(),
      callback,
    );
  }

  /**
   * Writes a session with the lifetime of its cookie (a session whose cookie has already expired
   * is deleted instead). A destroyed sid stays destroyed for a while (`tombstoneMs`): the write is
   * then dropped, and still reported as a success.
   * @param callback `(error)`; without it, a promise.
   */
  set(sid: string, session: ExpressSessionRecord): Promise<void>;
  set(sid: string, session: ExpressSessionRecord, callback: StoreCallback): void;
  set(
    sid: string,
    session: ExpressSessionRecord,
    callback?: StoreCallback,
  ): Promise<void> | undefined {
    return deliver(
      (async () => {
        const key = this.#key(sid);
        checkSession(session, 'set');
        const ttl = this.#ttl(session);
        const json = serialize(session);
        if (ttl <= 0) {
          await this.#expire('set', key);
          return;
        }
        const calls = this.#calls;
        const keys = [key, sidTombstoneKey(key)];
        await calls.script('set', calls.deadline(), XSET, keys, [json, ttl], keys, key);
      })(),
      callback,
    );
  }

  /**
   * Extends a session to its cookie's new expiry: the stored `cookie` (so `cookie.expires`) and the
   * record's TTL change together, in one step; the rest of the record is kept as stored. No effect
   * when the session does not exist; a cookie that has already expired deletes it.
   * @param callback `(error)`; without it, a promise.
   */
  touch(sid: string, session: ExpressSessionRecord): Promise<void>;
  touch(sid: string, session: ExpressSessionRecord, callback: StoreCallback): void;
  touch(
    sid: string,
    session: ExpressSessionRecord,
    callback?: StoreCallback,
  ): Promise<void> | undefined {
    return deliver(
      (async () => {
        const key = this.#key(sid);
        checkSession(session, 'touch');
        const ttl = this.#ttl(session);
        if (ttl <= 0) {
          await this.#expire('touch', key);
          return;
        }
        const calls = this.#calls;
        if (session.cookie === undefined || session.cookie === null) {
          // No cookie to store: only the lifetime changes.
          await calls.command(
            'touch',
            calls.deadline(),
            (client) => client.pexpire(key, ttl),
            (memory) => memory.pexpire(key, ttl),
            [key],
            key,
          );
          return;
        }
        const cookie = serialize(session.cookie);
        await calls.command(
          'touch',
          calls.deadline(),
          () => calls.connection.script(XTOUCH).run(1, key, cookie, ttl),
          (memory) => {
            const json = memory.get(key);
            if (json === null) return 0;
            return memory.run(
              XSET,
              [key, sidTombstoneKey(key)],
              [withCookie(json, cookie) ?? json, ttl],
            );
          },
          [key],
          key,
        );
      })(),
      callback,
    );
  }

  /**
   * Destroys a session and leaves a tombstone (see `tombstoneMs`).
   * @param callback `(error)`; without it, a promise.
   */
  destroy(sid: string): Promise<void>;
  destroy(sid: string, callback: StoreCallback): void;
  destroy(sid: string, callback?: StoreCallback): Promise<void> | undefined {
    return deliver(
      (async () => {
        const key = this.#key(sid);
        const calls = this.#calls;
        const keys = [key, sidTombstoneKey(key)];
        await calls.script('destroy', calls.deadline(), XDESTROY, keys, [this.#tombstoneMs]);
      })(),
      callback,
    );
  }

  /**
   * The id of every session of this store (connect-redis' `ids`).
   * @param callback `(error, ids)`; without it, a promise.
   */
  ids(): Promise<string[]>;
  ids(callback: StoreCallback<string[]>): void;
  ids(callback?: StoreCallback<string[]>): Promise<string[]> | undefined {
    return deliver(
      (async () => {
        const ids: string[] = [];
        const prefix = this.#store.keyPrefix;
        const add = (keys: readonly string[]): void => {
          for (const key of keys) {
            const sid = sidOfKey(prefix, key);
            if (sid !== null) ids.push(sid);
          }
        };
        await this.#walk(
          'ids',
          async (keys) => add(keys),
          (memory) => add(memory.xkeys()),
        );
        return ids;
      })(),
      callback,
    );
  }

  /**
   * Every live session, by id (the shape of express-session's `MemoryStore#all`).
   * @param callback `(error, sessions)`; without it, a promise.
   */
  all(): Promise<Record<string, ExpressSessionRecord>>;
  all(callback: StoreCallback<Record<string, ExpressSessionRecord>>): void;
  all(
    callback?: StoreCallback<Record<string, ExpressSessionRecord>>,
  ): Promise<Record<string, ExpressSessionRecord>> | undefined {
    return deliver(
      (async () => {
        const out: Record<string, ExpressSessionRecord> = Object.create(null);
        const prefix = this.#store.keyPrefix;
        const add = (keys: readonly string[], values: readonly (string | null)[]): void => {
          const now = Date.now();
          keys.forEach((key, i) => {
            const sid = sidOfKey(prefix, key);
            const json = values[i];
            if (sid === null || json == null) return;
            const session = live(parse(json), now);
            if (session !== null) out[sid] = session;
          });
        };
        await this.#walk(
          'all',
          async (keys, node) => {
            const values = await this.#calls.command(
              'all',
              this.#calls.deadline(),
              async (): Promise<(string | null)[]> => {
                const replies = (await node.pipeline(keys.map((key) => ['get', key])).exec()) ?? [];
                return replies.map(([error, value]) => {
                  if (error) throw error;
                  return value as string | null;
                });
              },
              () => {
                throw this.#unavailableDuringWalk('all');
              },
            );
            add(keys, values);
          },
          (memory) => {
            const keys = memory.xkeys();
            add(
              keys,
              keys.map((key) => memory.get(key)),
            );
          },
        );
        return { ...out };
      })(),
      callback,
    );
  }

  /**
   * Number of sessions.
   * @param callback `(error, count)`; without it, a promise.
   */
  length(): Promise<number>;
  length(callback: StoreCallback<number>): void;
  length(callback?: StoreCallback<number>): Promise<number> | undefined {
    return deliver(
      (async () => {
        let count = 0;
        const prefix = this.#store.keyPrefix;
        const add = (keys: readonly string[]): void => {
          for (const key of keys) if (sidOfKey(prefix, key) !== null) count++;
        };
        await this.#walk(
          'length',
          async (keys) => add(keys),
          (memory) => add(memory.xkeys()),
        );
        return count;
      })(),
      callback,
    );
  }

  /**
   * Deletes every session of this store (express-session records only; tombstones are kept).
   * @param callback `(error)`; without it, a promise.
   */
  clear(): Promise<void>;
  clear(callback: StoreCallback): void;
  clear(callback?: StoreCallback): Promise<void> | undefined {
    return deliver(
      (async () => {
        await this.#walk(
          'clear',
          async (keys, node) => {
            await this.#calls.command(
              'clear',
              this.#calls.deadline(),
              async () => {
                const replies =
                  (await node.pipeline(keys.map((key) => ['unlink', key])).exec()) ?? [];
                for (const [error] of replies) if (error) throw error;
              },
              () => {
                throw this.#unavailableDuringWalk('clear');
              },
            );
          },
          (memory) => {
            memory.del(memory.xkeys());
          },
        );
      })(),
      callback,
    );
  }

  /**
   * Called by express-session for `req.session.regenerate()`: destroys the session and lets
   * express-session generate a new one. (express-session's own `Store#regenerate`.)
   */
  regenerate(req: any, callback: (error?: any) => any): void {
    this.destroy(req.sessionID, (error) => {
      (this as unknown as { generate(req: unknown): void }).generate(req);
      callback(error);
    });
  }

  /** Loads a session as an express-session `Session` (express-session's own `Store#load`). */
  load(sid: string, callback: (error: any, session?: any) => any): void {
    this.get(sid, (error, session) => {
      if (error) return callback(error);
      if (!session) return callback(undefined);
      let loaded: unknown;
      try {
        loaded = this.createSession({ sessionID: sid, sessionStore: this }, session);
      } catch (failure) {
        return callback(failure);
      }
      return callback(null, loaded);
    });
  }

  /**
   * Called by express-session to turn a stored session into its `Session` object
   * (express-session's own `Store#createSession`, loaded on first use).
   */
  createSession(req: any, session: any): any {
    return expressSessionStoreMethods().createSession.call(this, req, session);
  }

  #key(sid: unknown): string {
    if (typeof sid !== 'string' || sid.length > this.#maxIdLength) {
      throw new InvalidSessionIdError(sid, this.#maxIdLength);
    }
    return sidKey(this.#store.keyPrefix, sid);
  }

  /** The record's lifetime in ms from the cookie's expiry (<= 0: expired), else `ttlMs`. */
  #ttl(session: ExpressSessionRecord | null | undefined): number {
    const expires = session?.cookie?.expires;
    if (expires !== undefined && expires !== null) {
      const at = new Date(expires).getTime();
      if (Number.isFinite(at)) return Math.ceil(at - Date.now());
    }
    return this.#ttlMs;
  }

  /**
   * A session written with an expired cookie is deleted, as express-session's MemoryStore and
   * connect-redis do. In Redis: a plain delete (no tombstone: the sid may be written again with a
   * valid cookie). Served by the memory fallback: a destroy with the shortest tombstone, so that
   * the replay after the outage deletes the copy Redis may still hold instead of letting it live.
   */
  async #expire(operation: string, key: string): Promise<void> {
    await this.#calls.command(
      operation,
      this.#calls.deadline(),
      (client) => client.del(key),
      (memory) => memory.run(XDESTROY, [key, sidTombstoneKey(key)], [1]),
      [key],
    );
  }

  #unavailableDuringWalk(operation: string): Error {
    return this.#calls.unavailable(
      operation,
      new Error('Redis became unavailable while the records were being walked'),
    );
  }

  /**
   * Walks every record key of this prefix with SCAN (each master of a Cluster), page by page, each
   * page one call with its own deadline (`timeoutMs` of the store). When the memory fallback serves the first page
   * (Redis unavailable), `inMemory` answers instead; if Redis fails after the walk started, the
   * walk fails with `SessionUnavailableError` rather than mixing the two.
   */
  async #walk(
    operation: string,
    onPage: (keys: string[], node: RedisClient) => Promise<void>,
    inMemory: (memory: MemoryBackend) => void,
  ): Promise<void> {
    const pattern = sidScanPattern(this.#store.keyPrefix);
    let nodes: RedisClient[] | undefined;
    let memory: MemoryBackend | undefined;
    let pages = 0;
    for (let index = 0; nodes === undefined || index < nodes.length; index++) {
      let cursor = '0';
      do {
        const reply = await this.#calls.command<[string, string[]] | null | typeof MEMORY>(
          operation,
          this.#calls.deadline(),
          async (client) => {
            nodes ??= isCluster(client) ? client.nodes('master') : [client];
            const node = nodes[index];
            if (node === undefined) return null;
            return node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
          },
          (fallback): typeof MEMORY => {
            if (pages > 0) throw this.#unavailableDuringWalk(operation);
            memory = fallback;
            return MEMORY;
          },
        );
        if (reply === MEMORY) {
          inMemory(memory as MemoryBackend);
          return;
        }
        if (reply === null || nodes === undefined) return;
        pages++;
        const [next, keys] = reply;
        cursor = next;
        if (keys.length > 0) await onPage(keys, nodes[index] as RedisClient);
      } while (cursor !== '0');
    }
  }
}

/**
 * Creates an express-session store (also a @fastify/session store) on top of a session store.
 * @example
 * import session from 'express-session';
 * const sessions = createSessionStore({ redis: process.env.REDIS_URL });
 * app.use(session({ store: createExpressSessionStore({ store: sessions }), secret, resave: false, saveUninitialized: false }));
 * @throws SessionOptionsError (`E_SESSION_OPTIONS`) naming the invalid option.
 */
export function createExpressSessionStore(
  options: ExpressSessionStoreOptions,
): ExpressSessionStore {
  return new ExpressSessionStore(options);
}

function checkSession(
  session: unknown,
  operation: string,
): asserts session is ExpressSessionRecord {
  if (typeof session !== 'object' || session === null || Array.isArray(session)) {
    throw new SessionDataError(`the session to ${operation} must be an object`);
  }
}

function serialize(value: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new SessionDataError('the session is not JSON-serializable', error);
  }
  if (json === undefined) throw new SessionDataError('the session is not JSON-serializable');
  return json;
}

function parse(json: string): ExpressSessionRecord | null {
  try {
    const value = JSON.parse(json) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as ExpressSessionRecord)
      : null;
  } catch {
    // Only this store writes these keys; a foreign value reads as "no session", not as an error.
    return null;
  }
}

/** The session, or `null` when its cookie says it has expired (Redis' TTL may lag by 1 ms). */
function live(session: ExpressSessionRecord | null, now: number): ExpressSessionRecord | null {
  const expires = session?.cookie?.expires;
  if (expires === undefined || expires === null) return session;
  const at = new Date(expires).getTime();
  return Number.isFinite(at) && at <= now ? null : session;
}
