import { isCluster, type RedisClient } from '@x/config';
import { type SessionData as ExpressSessionData, Store } from 'express-session';
import { expressKey, expressTombstoneKey } from './_internal/keys.js';
import { XDESTROY, XSET } from './_internal/scripts.js';
import { InvalidSessionIdError, SessionOptionsError } from './errors.js';
import { kInternals, type SessionStore, type StoreInternals } from './session-store.js';

/** Options of {@link createExpressSessionStore}. */
export interface ExpressSessionStoreOptions {
  /**
   * The store from `createSessionStore` whose Redis, prefix, deadline, breaker and fallback are
   * used. Closing it is the caller's job.
   */
  store: SessionStore<any>;
  /**
   * Lifetime of a session whose cookie has no expiry, in ms.
   * @default the store's `ttlMs`
   */
  ttlMs?: number;
  /**
   * A destroyed session id is remembered for the rest of the session's lifetime, and at least this
   * long, so a request still in flight cannot write the session back (`set` is then refused).
   * @default 60_000
   */
  tombstoneMs?: number;
}

type Callback<T = void> = (error?: unknown, value?: T) => void;

// express-session ids (uid-safe, 24 bytes by default) and this package's ids both match.
const SID = /^[A-Za-z0-9_.-]{16,256}$/;

/**
 * An express-session `Store` on Redis.
 *
 * How express-session maps onto Redis: express-session chooses the session id (its `genid`, 192
 * random bits by default) and hands the whole session object to `set(sid, session)`. Each one is
 * stored as one JSON string at `<prefix>x:{<sid>}` with a TTL from the cookie's expiry (else
 * `ttlMs`); these records are anonymous, outside the per-user index of `createSessionStore`.
 * `destroy` leaves a tombstone, so a concurrent request that still holds the session cannot write
 * it back. `all`, `length` and `clear` walk the records with SCAN (every master on a Cluster).
 * Redis down: callbacks receive `SessionUnavailableError` (or the store's memory fallback serves;
 * once Redis is back, the records set there are copied into it unless it has that sid, and the
 * destroys made there are replayed first, tombstone included).
 */
export class ExpressSessionStore extends Store {
  readonly #store: StoreInternals;
  readonly #ttlMs: number;
  readonly #tombstoneMs: number;

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
    const tombstoneMs = options.tombstoneMs ?? 60_000;
    for (const [field, value] of [
      ['ttlMs', ttlMs],
      ['tombstoneMs', tombstoneMs],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new SessionOptionsError(field, value, 'an integer >= 1');
      }
    }
    this.#store = internals;
    this.#ttlMs = ttlMs;
    this.#tombstoneMs = tombstoneMs;
  }

  /** Reads a session; a malformed sid or a missing session yields `null` (no Redis call for the former). */
  override get(sid: string, callback: Callback<ExpressSessionData | null>): void {
    if (!SID.test(sid)) {
      callback(undefined, null);
      return;
    }
    const key = this.#key(sid);
    settle(
      this.#store
        .command(
          'get',
          (client) => client.get(key),
          (memory) => memory.get(key),
          [key],
        )
        .then((json) => (json === null ? null : parse(json))),
      callback,
    );
  }

  /** Writes a session, unless it was destroyed meanwhile (then it stays destroyed). */
  override set(sid: string, session: ExpressSessionData, callback?: Callback): void {
    if (!SID.test(sid)) {
      callback?.(new InvalidSessionIdError(sid));
      return;
    }
    const ttl = this.#ttl(session);
    let json: string;
    try {
      json = JSON.stringify(session);
    } catch (error) {
      callback?.(error);
      return;
    }
    settle(
      this.#store.call('set', XSET, [this.#key(sid), this.#tomb(sid)], [json, ttl]).then(noop),
      callback,
    );
  }

  /** Extends a session's lifetime to its cookie's expiry (no-op if it does not exist). */
  override touch(sid: string, session: ExpressSessionData, callback?: Callback): void {
    if (!SID.test(sid)) {
      callback?.();
      return;
    }
    const key = this.#key(sid);
    const ttl = this.#ttl(session);
    settle(
      this.#store
        .command(
          'touch',
          (client) => client.pexpire(key, ttl),
          (memory) => memory.pexpire(key, ttl),
          [key],
        )
        .then(noop),
      callback,
    );
  }

  /** Destroys a session and leaves a tombstone. */
  override destroy(sid: string, callback?: Callback): void {
    if (!SID.test(sid)) {
      callback?.();
      return;
    }
    settle(
      this.#store
        .call('destroy', XDESTROY, [this.#key(sid), this.#tomb(sid)], [this.#tombstoneMs])
        .then(noop),
      callback,
    );
  }

  /** Every session, by sid. */
  override all(callback: Callback<Record<string, ExpressSessionData>>): void {
    settle(
      this.#keys('all').then(async (keys) => {
        const out: Record<string, ExpressSessionData> = {};
        const values = await this.#store.command(
          'all',
          (client) => Promise.all(keys.map((key) => client.get(key))),
          (memory) => keys.map((key) => memory.get(key)),
        );
        keys.forEach((key, i) => {
          const json = values[i];
          const session = json == null ? null : parse(json);
          if (session !== null) out[this.#sidOf(key)] = session;
        });
        return out;
      }),
      callback,
    );
  }

  /** Number of sessions. */
  override length(callback: Callback<number>): void {
    settle(
      this.#keys('length').then((keys) => keys.length),
      callback,
    );
  }

  /** Destroys every session of this store (express-session records only). */
  override clear(callback?: Callback): void {
    settle(
      this.#keys('clear').then((keys) =>
        this.#store
          .command(
            'clear',
            async (client) => {
              for (const key of keys) await client.unlink(key);
              return keys.length;
            },
            (memory) => memory.del(keys),
          )
          .then(noop),
      ),
      callback,
    );
  }

  #key(sid: string): string {
    return expressKey(this.#store.prefix, sid);
  }

  #tomb(sid: string): string {
    return expressTombstoneKey(this.#key(sid));
  }

  #sidOf(key: string): string {
    return key.slice(this.#store.prefix.length + 3, -1);
  }

  #ttl(session: ExpressSessionData | undefined): number {
    const expires = session?.cookie?.expires;
    if (expires !== undefined && expires !== null) {
      const ms = new Date(expires).getTime() - Date.now();
      if (Number.isFinite(ms)) return Math.max(1, Math.ceil(ms));
    }
    return this.#ttlMs;
  }

  #keys(operation: string): Promise<string[]> {
    const match = `${escapeGlob(this.#store.prefix)}x:{*}`;
    return this.#store.command(
      operation,
      async (client) => {
        const nodes: RedisClient[] = isCluster(client) ? client.nodes('master') : [client];
        const keys: string[] = [];
        for (const node of nodes) {
          let cursor = '0';
          do {
            const [next, batch] = await node.scan(cursor, 'MATCH', match, 'COUNT', 1000);
            cursor = next;
            keys.push(...batch);
          } while (cursor !== '0');
        }
        return keys;
      },
      (memory) => memory.xkeys(),
    );
  }
}

/**
 * Creates an express-session store on top of a session store.
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

function parse(json: string): ExpressSessionData | null {
  try {
    const value = JSON.parse(json) as unknown;
    return typeof value === 'object' && value !== null ? (value as ExpressSessionData) : null;
  } catch {
    return null;
  }
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

function settle<T>(promise: Promise<T>, callback: Callback<T> | undefined): void {
  promise.then(
    (value) => callback?.(undefined, value),
    (error: unknown) => callback?.(error),
  );
}

function noop(): void {}
