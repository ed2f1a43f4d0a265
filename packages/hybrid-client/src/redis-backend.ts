import {
  type Guard,
  type GuardOperation,
  type GuardSendOperation,
  isBreakerOpenError,
} from '@x/breaker';
import type { RedisClient } from '@x/config';
import {
  type Connection,
  connectionCallChannel,
  corkUntilNextTick,
  isNoScriptError,
  scriptSha,
} from '@x/connection';
import type { LocalCache } from '@x/local-cache';
import { Command, Redis, type RedisOptions } from 'ioredis';
import { KEEP_EXPIRY } from './_internal/journal.js';
import type { Backend, Entries, HybridSetOptions } from './backend.js';
import { HybridUnavailableError } from './errors.js';
import type { HybridEntry } from './fail-safe.js';
import { expiry, type MemoryBackend } from './memory-backend.js';
import type { NearCache } from './near-cache/near-cache.js';

/** What the Redis backend tells when a call could not be served by Redis. */
export interface FailureHost {
  /** A call sent to Redis ended in memory (`write`: it was a write): decide whether to fail over. */
  failed(error: unknown, write: boolean): void;
}

const isOk = (reply: unknown): boolean => reply === 'OK';
const sum = (counts: number[]): number => {
  let n = 0;
  for (const c of counts) n += c;
  return n;
};

// Errors after which the command certainly did not reach Redis.
function notSent(error: unknown): boolean {
  if (isBreakerOpenError(error)) return true;
  const message = error instanceof Error ? error.message : '';
  return message.includes("isn't writeable") || message.startsWith('Connection is closed');
}

/** The arguments of SET for these options (nx with xx is rejected before). */
function setArguments(
  key: string,
  value: string,
  o: HybridSetOptions | undefined,
): (string | number)[] {
  if (o === undefined) return [key, value];
  const ttl = o.ttl;
  const args: (string | number)[] = ttl === undefined ? [key, value] : [key, value, 'PX', ttl];
  if (o.nx === true) args.push('NX');
  else if (o.xx === true) args.push('XX');
  return args;
}

/** The SET command for these options; its reply is `'OK'`, or `null` when nx / xx prevented it. */
function redisSet(
  c: RedisClient,
  key: string,
  value: string | Buffer,
  o: HybridSetOptions | undefined,
): Promise<string | null> {
  if (o === undefined || (o.ttl === undefined && o.nx !== true && o.xx !== true)) {
    return c.set(key, value);
  }
  const ttl = o.ttl;
  if (o.nx === true)
    return ttl === undefined ? c.set(key, value, 'NX') : c.set(key, value, 'PX', ttl, 'NX');
  if (o.xx === true)
    return ttl === undefined ? c.set(key, value, 'XX') : c.set(key, value, 'PX', ttl, 'XX');
  return c.set(key, value, 'PX', ttl!);
}

/**
 * The operations on Redis, each through the connection's guard (deadline + breaker) with the
 * same operation on memory as its fallback. Multi-key operations are split per key on Cluster
 * (keys in different slots work). GET and SET, the hot path, go through the guard directly with
 * preallocated operations (and as hand-made ioredis `Command`s where that is exactly what the
 * client's own methods send), so they allocate no closure; while the client is not ready, or when
 * someone traces calls (`x:connection:call`), they go through `connection.execute` instead.
 *
 * With a near cache, reads (`get`, `mget`, `hget`, `hgetall` and their byte forms) look for a
 * fresh copy first and skip Redis on a hit; a read sent to Redis registers a marker and installs
 * its reply in the same reaction (the guard's `map`), unless the key was invalidated meanwhile
 * (see `NearCache`). Every write drops the copies of its keys before it is sent.
 */
export class RedisBackend implements Backend {
  /** Calls sent to Redis. */
  calls = 0;
  /** Calls sent to Redis that ended in memory (or rejected, with `fallback: 'none'`). */
  failures = 0;
  readonly #connection: Connection;
  readonly #client: RedisClient;
  readonly #guard: Guard;
  readonly #cluster: boolean;
  readonly #memory: MemoryBackend;
  readonly #host: FailureHost;
  // false with `fallback: 'none'`: a failed call rejects instead.
  readonly #serveFromMemory: boolean;
  readonly #near: NearCache | undefined;
  // True when GET / SET are sent as ioredis commands the guard rejects itself at the deadline.
  #direct = false;
  // Cork the socket per tick (one writev for the commands of a tick instead of one write system
  // call each, which dominates a busy client's CPU): standalone and Sentinel, a given client too
  // (its other commands of the same tick leave with ours, at the end of the tick, in order).
  readonly #cork: boolean;
  // The options the client's own methods give their commands (shared: a Command only reads them).
  #commandOptions: { keyPrefix?: string; replyEncoding: 'utf8' } = { replyEncoding: 'utf8' };
  // A plain SET of a hot key is sent as one script that writes the key and reads it back (see
  // #setTracked): on a standalone client of ours (NOLOOP tracking), sent by hand, without a key
  // prefix. `'load'`: the script is not known to be in the server's cache (SCRIPT LOAD is sent at
  // the next such write, which goes as SET + GET meanwhile); `'off'` for good when the server
  // refuses scripting (no permission: a refused EVALSHA would count as an auth failure).
  #trackedWrites: 'off' | 'load' | 'on' = 'off';
  #loadingScript = false;

  constructor(
    connection: Connection,
    memory: MemoryBackend,
    host: FailureHost,
    serveFromMemory: boolean,
    near: NearCache | undefined,
  ) {
    this.#near = near;
    this.#connection = connection;
    this.#client = connection.client;
    this.#guard = connection.guard;
    this.#cluster = connection.isCluster;
    this.#memory = memory;
    this.#host = host;
    this.#serveFromMemory = serveFromMemory;
    this.#cork = !connection.isCluster;
    this.#directCommands(connection.client);
  }

  /**
   * A call could not be served by Redis (timeout, open circuit, infrastructure error): counts it,
   * tells the failover controller, and lets the caller serve it from memory; with
   * `fallback: 'none'` throws the typed error instead.
   */
  #failed(error: unknown, write: boolean, operation: string): void {
    this.failures++;
    if (!this.#serveFromMemory) {
      throw new HybridUnavailableError(operation, error, this.#connection.diagnosis() ?? undefined);
    }
    this.#memory.calls++;
    this.#host.failed(error, write);
  }

  /** Journals the keys of a write that ended in memory (uncertain unless it was never sent). */
  #journal(error: unknown, keys: string | readonly string[], expiresAt: number): void {
    const uncertain = !notSent(error);
    if (typeof keys === 'string') this.#memory.journalFailed(keys, expiresAt, uncertain);
    else this.#memory.journalFailedMany(keys, expiresAt, uncertain);
  }

  // ---- the hot path -------------------------------------------------------------------------

  // Preallocated operations: no closure and no `.then` layer per call on this side (see the
  // guard's `call` and `send`).
  // `seq`: the near cache's marker of this read (0: nothing to install).
  static readonly #GET: GuardOperation<string | null, RedisBackend, string, number> = {
    run: (self, key, seq) => {
      if (seq !== 0) self.#announce(self.#client);
      return self.#client.get(key);
    },
    map: (value, self, key, seq) => {
      if (seq !== 0) self.#near!.install(key, seq, value);
      return value;
    },
    fallback: (error, self, key, seq) => {
      if (seq !== 0) self.#near!.end(key, seq);
      self.#failed(error, false, 'get');
      return self.#memory.read(key);
    },
  };

  static readonly #SET: GuardOperation<
    boolean,
    RedisBackend,
    string,
    string,
    HybridSetOptions | undefined,
    string | null
  > = {
    run: (self, key, value, options) => redisSet(self.#client, key, value, options),
    map: isOk,
    fallback: (error, self, key, value, options) => {
      self.#failed(error, true, 'set');
      const written = self.#memory.store.set(key, value, options);
      self.#journal(error, key, expiry(options?.ttl));
      return written;
    },
  };

  // The same two operations as commands sent by hand (what `client.get` / `client.set` do), so
  // that the caller's promise is the command's own, chained once (Guard.execute with a `start` operation).
  static readonly #SEND_GET: GuardSendOperation<string | null, RedisBackend, string, number> = {
    start: (self, key, seq) => {
      if (seq !== 0) self.#announce(self.#client);
      return self.#send('get', [key]);
    },
    map: RedisBackend.#GET.map,
    fallback: RedisBackend.#GET.fallback,
  };

  static readonly #SEND_SET: GuardSendOperation<
    boolean,
    RedisBackend,
    string,
    string,
    HybridSetOptions | undefined,
    string | null
  > = {
    start: (self, key, value, options) => self.#send('set', setArguments(key, value, options)),
    map: isOk,
    fallback: RedisBackend.#SET.fallback,
  };

  // A plain SET of a hot key and the tracked read behind it, as one command (see #setTracked).
  // `seq`: the near-cache marker of the provisional copy; the reply makes it a tracked copy.
  static readonly #SEND_SET_TRACKED: GuardSendOperation<
    boolean,
    RedisBackend,
    string,
    string,
    number,
    number
  > = {
    start: (self, key, value) => self.#send('evalsha', [SET_TRACKED_SHA, 1, key, value]),
    map: (_length, self, key, value, seq) => {
      self.#near!.install(key, seq, value);
      return true;
    },
    fallback: (error, self, key, value, seq) => {
      self.#near!.end(key, seq);
      return RedisBackend.#SET.fallback!(error, self, key, value, undefined);
    },
  };

  /**
   * Sends commands by hand only where that is exactly what the client's own methods do: a
   * standalone `Redis` of this package's copy of ioredis, without auto-pipelining or friendly
   * error stacks (each needs ioredis' own command path).
   */
  #directCommands(client: RedisClient): void {
    if (this.#cluster || !(client instanceof Redis)) return;
    const options = client.options as RedisOptions | undefined;
    if (
      options === undefined ||
      options.enableAutoPipelining === true ||
      options.showFriendlyErrorStack === true
    ) {
      return;
    }
    this.#direct = true;
    if (typeof options.keyPrefix === 'string' && options.keyPrefix !== '') {
      this.#commandOptions = { keyPrefix: options.keyPrefix, replyEncoding: 'utf8' };
    } else if (this.#near !== undefined && this.#connection.owned && !this.#near.optIn) {
      this.#trackedWrites = 'load';
    }
  }

  /**
   * With `OPTIN` tracking, the read sent right after this (same connection, same tick: nothing
   * can come between) is tracked by Redis; without it, nothing to do. Its reply is `OK`; an error
   * (tracking lost meanwhile) only means the read is not tracked, and its marker is void by then.
   */
  #announce(client: RedisClient): void {
    if (this.#near?.optIn !== true) return;
    if (this.#direct) this.#send('client', ['CACHING', 'YES']).promise.catch(noop);
    else client.call('CLIENT', 'CACHING', 'YES').catch(noop);
  }

  /**
   * A plain SET of a hot key whose copy `writeThrough` made provisional (`seq`): one `EVALSHA` that
   * writes the key and reads it back in one step. Redis tracks a read made inside a script for the
   * caller, and nothing can run between the two, so the copy (the written value) is tracked as
   * soon as the reply arrives: one command instead of a SET and a GET behind it. `NOSCRIPT` (the
   * script cache was flushed) wrote nothing: the write is sent again as SET + GET, and the script
   * loaded for the next time.
   */
  #setTracked(key: string, value: string, seq: number): Promise<boolean> {
    return this.#guard
      .execute(RedisBackend.#SEND_SET_TRACKED, this, key, value, seq)
      .then(undefined, (error: unknown) => this.#setTrackedRefused(error, key, value, seq));
  }

  #setTrackedRefused(error: unknown, key: string, value: string, seq: number): Promise<boolean> {
    if (!isNoScriptError(error)) {
      this.#near!.end(key, seq);
      throw error;
    }
    // The script cache was flushed (a restart, SCRIPT FLUSH): nothing was written. The same write
    // goes as SET + GET (keeping its provisional copy and marker); the script is loaded again.
    this.#trackedWrites = 'load';
    this.#loadScript();
    this.#corkTick();
    return this.#setThenRead(key, value, undefined, seq);
  }

  /** SCRIPT LOAD of the scripted write; refused (no scripting for this user): off for good. */
  #loadScript(): void {
    if (this.#loadingScript) return;
    this.#loadingScript = true;
    (this.#client as Redis).script('LOAD', SET_TRACKED).then(
      (sha: unknown) => {
        this.#loadingScript = false;
        if (this.#trackedWrites === 'load')
          this.#trackedWrites = sha === SET_TRACKED_SHA ? 'on' : 'off';
      },
      (error: unknown) => {
        this.#loadingScript = false;
        // Not connected, a timeout: tried again at a later write. A refusal: never again.
        const message = error instanceof Error ? error.message : '';
        if (/^(NOPERM|ERR)/.test(message)) this.#trackedWrites = 'off';
      },
    );
  }

  /** SET, and with a near-cache marker (`seq` ≠ 0) the tracked GET right behind it. */
  #setThenRead(
    key: string,
    value: string,
    options: HybridSetOptions | undefined,
    seq: number,
  ): Promise<boolean> {
    const written = this.#direct
      ? this.#guard.execute(RedisBackend.#SEND_SET, this, key, value, options)
      : this.#guard.execute(RedisBackend.#SET, this, key, value, options);
    if (seq !== 0) {
      const reply = this.#sendGet(key, seq);
      this.#near!.sent(key, seq, reply);
      reply.catch(noop);
    }
    return written;
  }

  #send(name: string, args: (string | number)[]): Command {
    const command = new Command(name, args, this.#commandOptions);
    (this.#client as Redis).sendCommand(command);
    return command;
  }

  /** GET of `key` through the guard (`seq`: its near-cache marker), as a sent command when it can. */
  #sendGet(key: string, seq: number): Promise<string | null> {
    return this.#direct
      ? this.#guard.execute(RedisBackend.#SEND_GET, this, key, seq)
      : this.#guard.execute(RedisBackend.#GET, this, key, seq);
  }

  /** Corks the socket for the rest of the tick (see `#cork`), when it is connected. */
  #corkTick(): void {
    if (this.#cork && this.#client.status === 'ready') corkUntilNextTick(this.#client);
  }

  /** True when a hot-path call may skip `connection.execute`: ready, and nobody traces calls. */
  #fast(): boolean {
    return this.#client.status === 'ready' && !connectionCallChannel.hasSubscribers;
  }

  get(key: string): Promise<string | null> {
    const near = this.#near;
    let seq = 0;
    if (near !== undefined) {
      const hit = near.get(key);
      if (hit !== undefined) return Promise.resolve(hit);
      const joined = near.joinable(key);
      if (joined !== undefined) return joined;
      seq = near.begin(key);
    }
    this.calls++;
    this.#corkTick();
    if (this.#fast()) {
      const reply = this.#sendGet(key, seq);
      if (seq !== 0) near!.sent(key, seq, reply);
      return reply;
    }
    return this.#connection.execute(
      (c) => {
        if (seq !== 0) this.#announce(c);
        return c.get(key).then((v) => RedisBackend.#GET.map!(v, this, key, seq, undefined));
      },
      {
        operation: 'get',
        fallback: (error) => RedisBackend.#GET.fallback!(error, this, key, seq, undefined),
      },
    );
  }

  set(key: string, value: string, options: HybridSetOptions | undefined): Promise<boolean> {
    const near = this.#near;
    this.calls++;
    this.#corkTick();
    if (this.#fast()) {
      // A plain SET of a hot key: its copy becomes the value at once, re-read right behind it.
      const seq =
        near === undefined
          ? 0
          : options?.nx === true || options?.xx === true
            ? (near.drop(key), 0)
            : near.writeThrough(key, value);
      if (seq !== 0 && options === undefined && this.#trackedWrites !== 'off') {
        if (this.#trackedWrites === 'on') return this.#setTracked(key, value, seq);
        this.#loadScript();
      }
      return this.#setThenRead(key, value, options, seq);
    }
    near?.drop(key);
    return this.#connection.execute((c) => redisSet(c, key, value, options).then(isOk), {
      operation: 'set',
      fallback: (error) => RedisBackend.#SET.fallback!(error, this, key, value, options),
    });
  }

  // ---- the other operations: through `connection.execute` -------------------------------------

  /**
   * Runs `redisOp` through the connection; on timeout, open circuit or infrastructure error the
   * call is served by `memoryOp` on the store (and a write journaled). A write drops the near
   * copies of its keys first.
   */
  #run<T>(
    operation: string,
    write: boolean,
    keys: string | readonly string[],
    expiresAt: number,
    redisOp: (client: RedisClient) => Promise<T>,
    memoryOp: (store: LocalCache) => T,
  ): Promise<T> {
    const near = this.#near;
    if (write && near !== undefined) {
      if (typeof keys === 'string') near.drop(keys);
      else near.dropMany(keys);
    }
    this.calls++;
    return this.#connection.execute(redisOp, {
      operation,
      fallback: (error) => {
        this.#failed(error, write, operation);
        const result = memoryOp(this.#memory.store);
        if (write) this.#journal(error, keys, expiresAt);
        return result;
      },
    });
  }

  del(keys: readonly string[]): Promise<number> {
    return this.#count('del', true, keys);
  }

  exists(keys: readonly string[]): Promise<number> {
    return this.#count('exists', false, keys);
  }

  /** DEL / EXISTS: one command, or one per key on Cluster (the keys may sit in other slots). */
  #count(operation: 'del' | 'exists', write: boolean, keys: readonly string[]): Promise<number> {
    return this.#run(
      operation,
      write,
      keys,
      0,
      (c) => {
        const command = c[operation].bind(c) as (...keys: string[]) => Promise<number>;
        return this.#cluster && keys.length > 1
          ? Promise.all(keys.map((k) => command(k))).then(sum)
          : command(...keys);
      },
      (s) => s[operation](...keys),
    );
  }

  incrBy(key: string, by: number): Promise<number> {
    return this.#run(
      'incrBy',
      true,
      key,
      KEEP_EXPIRY,
      (c) => c.incrby(key, by),
      (s) => s.incrBy(key, by),
    );
  }

  expire(key: string, ttlMs: number): Promise<boolean> {
    return this.#run(
      'expire',
      true,
      key,
      ttlMs > 0 ? performance.now() + ttlMs : 0,
      (c) => c.pexpire(key, ttlMs).then((n) => n === 1),
      (s) => s.expire(key, ttlMs),
    );
  }

  ttl(key: string): Promise<number> {
    return this.#run(
      'ttl',
      false,
      key,
      0,
      (c) => c.pttl(key),
      (s) => s.ttl(key),
    );
  }

  mget(keys: readonly string[]): Promise<(string | null)[]> {
    return this.#mget(keys, false) as Promise<(string | null)[]>;
  }

  /** `MGET` as bytes (`mgetBuffer`). */
  mgetBuffer(keys: readonly string[]): Promise<(Buffer | null)[]> {
    return this.#mget(keys, true) as Promise<(Buffer | null)[]>;
  }

  /**
   * MGET: the keys with a fresh copy are served from it; the others are read from Redis (one MGET,
   * or one GET per key on Cluster) and their replies installed.
   */
  #mget(keys: readonly string[], bytes: boolean): Promise<(string | Buffer | null)[]> {
    const near = this.#near;
    const out: (string | Buffer | null)[] = new Array(keys.length);
    let missing: string[] = keys as string[];
    let at: number[] | undefined;
    let seqs: number[] | undefined;
    if (near !== undefined) {
      missing = [];
      at = [];
      seqs = [];
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const copy = near.entry(key, bytes ? 'bytes' : 'text');
        if (copy !== undefined) {
          out[i] = copyValue(copy.value as string | Buffer, bytes);
          continue;
        }
        missing.push(key);
        at.push(i);
        seqs.push(near.begin(key));
      }
      if (missing.length === 0) return Promise.resolve(out);
    }
    return this.#run(
      'mget',
      false,
      missing,
      0,
      async (c) => {
        if (seqs?.some((seq) => seq !== 0)) this.#announce(c);
        const one = (k: string): Promise<string | Buffer | null> =>
          bytes ? c.getBuffer(k) : c.get(k);
        const values: (string | Buffer | null)[] =
          this.#cluster && missing.length > 1
            ? await Promise.all(missing.map(one))
            : bytes
              ? await c.mgetBuffer(...missing)
              : await c.mget(...missing);
        if (at === undefined) return values;
        for (let j = 0; j < missing.length; j++) {
          near!.install(missing[j]!, seqs![j]!, values[j] ?? null);
          out[at[j]!] = values[j] ?? null;
        }
        return out;
      },
      () => {
        for (let j = 0; j < missing.length; j++) near?.end(missing[j]!, seqs![j]!);
        const memory = this.#memory;
        const values = bytes
          ? missing.map((k) => nilOnWrongType(() => memory.readBuffer(k)))
          : memory.readMany(missing);
        if (at === undefined) return values;
        for (let j = 0; j < missing.length; j++) out[at[j]!] = values[j] ?? null;
        return out;
      },
    );
  }

  /** `GET` as bytes (`getBuffer`): bytes that are not UTF-8 come back exactly. */
  getBuffer(key: string): Promise<Buffer | null> {
    const near = this.#near;
    let seq = 0;
    if (near !== undefined) {
      const copy = near.entry(key, 'bytes');
      if (copy !== undefined) return Promise.resolve(Buffer.from(copy.value as Buffer));
      seq = near.begin(key);
    }
    return this.#run(
      'get',
      false,
      key,
      0,
      async (c) => {
        if (seq !== 0) this.#announce(c);
        const value = await c.getBuffer(key);
        near?.install(key, seq, value);
        return value;
      },
      () => {
        near?.end(key, seq);
        return this.#memory.readBuffer(key);
      },
    );
  }

  /** `SET` of bytes. */
  setBuffer(key: string, value: Buffer, options: HybridSetOptions | undefined): Promise<boolean> {
    this.#near?.drop(key);
    this.calls++;
    return this.#connection.execute((c) => redisSet(c, key, value, options).then(isOk), {
      operation: 'set',
      fallback: (error) => {
        this.#failed(error, true, 'set');
        const written = this.#memory.store.setBuffer(key, value, options);
        this.#journal(error, key, expiry(options?.ttl));
        return written;
      },
    });
  }

  /** `GET` with where the value came from: a fresh copy, Redis, or memory (the fail-safe). */
  getEntry<T extends string | Buffer>(key: string, bytes: boolean): Promise<HybridEntry<T> | null> {
    const near = this.#near;
    let seq = 0;
    if (near !== undefined) {
      const copy = near.entry(key, bytes ? 'bytes' : 'text');
      if (copy !== undefined) {
        return Promise.resolve({
          value: copyValue(copy.value as string | Buffer, bytes) as T,
          source: 'near',
          stale: false,
          ageMs: performance.now() - copy.storedAt,
        });
      }
      seq = near.begin(key);
    }
    return this.#run<HybridEntry<T> | null>(
      'get',
      false,
      key,
      0,
      async (c) => {
        if (seq !== 0) this.#announce(c);
        const value = bytes ? await c.getBuffer(key) : await c.get(key);
        near?.install(key, seq, value);
        return value === null
          ? null
          : { value: value as T, source: 'redis', stale: false, ageMs: 0 };
      },
      () => {
        near?.end(key, seq);
        return this.#memory.readEntry<T>(key, bytes);
      },
    );
  }

  mset(entries: Entries, ttl: number | undefined): Promise<void> {
    const keys = entries.map((e) => e[0]);
    return this.#run(
      'mset',
      true,
      keys,
      expiry(ttl),
      async (c) => {
        if (entries.length === 0) return;
        if (this.#cluster) {
          await Promise.all(
            entries.map(([k, v]) => (ttl === undefined ? c.set(k, v) : c.set(k, v, 'PX', ttl))),
          );
          return;
        }
        if (ttl !== undefined) {
          const tx = c.multi();
          for (const [k, v] of entries) tx.set(k, v, 'PX', ttl);
          const results = await tx.exec();
          for (const [error] of results ?? []) if (error) throw error;
          return;
        }
        await c.mset(entries.flat());
      },
      (s) => s.mset(entries, ttl === undefined ? undefined : { ttl }),
    );
  }

  /** HGET: from a fresh copy of the whole hash (installed by `hgetall`), else Redis. */
  hget(key: string, field: string): Promise<string | null> {
    const copy = this.#near?.entry(key, 'hash');
    if (copy !== undefined) {
      return Promise.resolve((copy.value as ReadonlyMap<string, string>).get(field) ?? null);
    }
    return this.#run(
      'hget',
      false,
      key,
      0,
      (c) => c.hget(key, field),
      () => this.#memory.readField(key, field),
    );
  }

  hset(key: string, record: Record<string, string>): Promise<number> {
    return this.#run(
      'hset',
      true,
      key,
      KEEP_EXPIRY,
      (c) => c.hset(key, record),
      (s) => s.hset(key, record),
    );
  }

  hsetField(key: string, field: string, value: string): Promise<number> {
    return this.#run(
      'hset',
      true,
      key,
      KEEP_EXPIRY,
      (c) => c.hset(key, field, value),
      (s) => s.hset(key, field, value),
    );
  }

  /** HGETALL: from a fresh copy, else Redis (the reply is installed as a copy of the hash). */
  hgetall(key: string): Promise<Record<string, string>> {
    const near = this.#near;
    let seq = 0;
    if (near !== undefined) {
      const copy = near.entry(key, 'hash');
      if (copy !== undefined) return Promise.resolve(toRecord(copy.value as Map<string, string>));
      seq = near.begin(key);
    }
    return this.#run(
      'hgetall',
      false,
      key,
      0,
      async (c) => {
        if (seq !== 0) this.#announce(c);
        const record = await c.hgetall(key);
        near?.installHash(key, seq, record);
        return record;
      },
      () => {
        near?.end(key, seq);
        return this.#memory.readHash(key);
      },
    );
  }

  hdel(key: string, fields: readonly string[]): Promise<number> {
    return this.#run(
      'hdel',
      true,
      key,
      KEEP_EXPIRY,
      (c) => c.hdel(key, ...fields),
      (s) => s.hdel(key, ...fields),
    );
  }

  push(key: string, values: readonly string[], left: boolean): Promise<number> {
    return this.#run(
      left ? 'lpush' : 'rpush',
      true,
      key,
      KEEP_EXPIRY,
      (c) => (left ? c.lpush(key, ...values) : c.rpush(key, ...values)),
      (s) => (left ? s.lpush(key, ...values) : s.rpush(key, ...values)),
    );
  }

  lrange(key: string, start: number, stop: number): Promise<string[]> {
    return this.#run(
      'lrange',
      false,
      key,
      0,
      (c) => c.lrange(key, start, stop),
      (s) => s.lrange(key, start, stop),
    );
  }

  ping(): Promise<string> {
    return this.#run(
      'ping',
      false,
      '',
      0,
      (c) => c.ping(),
      () => 'PONG',
    );
  }
}

/** A value handed out of the store: bytes are copied (the caller may change them), text as is. */
function copyValue(value: string | Buffer, bytes: boolean): string | Buffer {
  if (typeof value === 'string') return bytes ? Buffer.from(value, 'utf8') : value;
  return bytes ? Buffer.from(value) : value.toString('utf8');
}

/** `op()`, or `null` when the key holds another type (MGET answers nil for it). */
function nilOnWrongType<T>(op: () => T | null): T | null {
  try {
    return op();
  } catch {
    return null;
  }
}

/** A hash copy as the plain object `hgetall` returns (a `__proto__` field an own property). */
function toRecord(map: ReadonlyMap<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, value] of map) {
    if (field === '__proto__') {
      Object.defineProperty(out, field, {
        value,
        configurable: true,
        enumerable: true,
        writable: true,
      });
    } else out[field] = value;
  }
  return out;
}

function noop(): void {}

/**
 * Writes `KEYS[1]` = `ARGV[1]` and reads it back: the read (inside the script, so nothing runs
 * between) makes Redis track the key for the caller again, which its own write had ended.
 */
const SET_TRACKED = "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('STRLEN', KEYS[1])";
const SET_TRACKED_SHA = scriptSha(SET_TRACKED);
