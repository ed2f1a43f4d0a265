import {
  type Guard,
  type GuardOperation,
  type GuardSendOperation,
  isBreakerOpenError,
} from '@x/breaker';
import type { RedisClient } from '@x/config';
import { type Connection, connectionCallChannel } from '@x/connection';
import type { LocalCache } from '@x/local-cache';
import { Command, Redis, type RedisOptions } from 'ioredis';
import { KEEP_EXPIRY } from './_internal/journal.js';
import type { Backend, Entries, HybridSetOptions } from './backend.js';
import { HybridUnavailableError } from './errors.js';
import { expiry, type MemoryBackend } from './memory-backend.js';

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
  value: string,
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
  // True when GET / SET are sent as ioredis commands the guard rejects itself at the deadline.
  #direct = false;
  // The options the client's own methods give their commands (shared: a Command only reads them).
  #commandOptions: { keyPrefix?: string; replyEncoding: 'utf8' } = { replyEncoding: 'utf8' };

  constructor(
    connection: Connection,
    memory: MemoryBackend,
    host: FailureHost,
    serveFromMemory: boolean,
  ) {
    this.#connection = connection;
    this.#client = connection.client;
    this.#guard = connection.guard;
    this.#cluster = connection.isCluster;
    this.#memory = memory;
    this.#host = host;
    this.#serveFromMemory = serveFromMemory;
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
  static readonly #GET: GuardOperation<string | null, RedisBackend, string> = {
    run: (self, key) => self.#client.get(key),
    fallback: (error, self, key) => {
      self.#failed(error, false, 'get');
      return self.#memory.store.get(key);
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
  // that the caller's promise is the command's own, chained once (Guard.send).
  static readonly #SEND_GET: GuardSendOperation<string | null, RedisBackend, string> = {
    start: (self, key) => self.#send('get', [key]),
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
    }
  }

  #send(name: string, args: (string | number)[]): Command {
    const command = new Command(name, args, this.#commandOptions);
    (this.#client as Redis).sendCommand(command);
    return command;
  }

  /** True when a hot-path call may skip `connection.execute`: ready, and nobody traces calls. */
  #fast(): boolean {
    return this.#client.status === 'ready' && !connectionCallChannel.hasSubscribers;
  }

  get(key: string): Promise<string | null> {
    this.calls++;
    if (this.#fast()) {
      return this.#direct
        ? this.#guard.send(RedisBackend.#SEND_GET, this, key)
        : this.#guard.call(RedisBackend.#GET, this, key);
    }
    return this.#connection.execute((c) => c.get(key), {
      operation: 'get',
      fallback: (error) => RedisBackend.#GET.fallback!(error, this, key, undefined, undefined),
    });
  }

  set(key: string, value: string, options: HybridSetOptions | undefined): Promise<boolean> {
    this.calls++;
    if (this.#fast()) {
      return this.#direct
        ? this.#guard.send(RedisBackend.#SEND_SET, this, key, value, options)
        : this.#guard.call(RedisBackend.#SET, this, key, value, options);
    }
    return this.#connection.execute((c) => redisSet(c, key, value, options).then(isOk), {
      operation: 'set',
      fallback: (error) => RedisBackend.#SET.fallback!(error, this, key, value, options),
    });
  }

  // ---- the other operations: through `connection.execute` -------------------------------------

  /**
   * Runs `redisOp` through the connection; on timeout, open circuit or infrastructure error the
   * call is served by `memoryOp` on the store (and a write journaled).
   */
  #run<T>(
    operation: string,
    write: boolean,
    keys: string | readonly string[],
    expiresAt: number,
    redisOp: (client: RedisClient) => Promise<T>,
    memoryOp: (store: LocalCache) => T,
  ): Promise<T> {
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
    return this.#run(
      'mget',
      false,
      keys,
      0,
      (c) =>
        this.#cluster && keys.length > 1 ? Promise.all(keys.map((k) => c.get(k))) : c.mget(...keys),
      (s) => s.mget(keys),
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

  hget(key: string, field: string): Promise<string | null> {
    return this.#run(
      'hget',
      false,
      key,
      0,
      (c) => c.hget(key, field),
      (s) => s.hget(key, field),
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

  hgetall(key: string): Promise<Record<string, string>> {
    return this.#run(
      'hgetall',
      false,
      key,
      0,
      (c) => c.hgetall(key),
      (s) => s.hgetall(key),
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
