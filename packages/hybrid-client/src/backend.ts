/** Options of `HybridClient.set`. */
export interface HybridSetOptions {
  /** Time to live in ms (a positive integer). */
  ttl?: number | undefined;
  /** Only set if the key does not exist. */
  nx?: boolean | undefined;
  /** Only set if the key exists. */
  xx?: boolean | undefined;
}

/** Options of operations that only take a TTL. */
export interface HybridTtlOptions {
  /** Time to live in ms (a positive integer). */
  ttl?: number | undefined;
}

/** `[key, value]` pairs of `mset`. */
export type Entries = readonly (readonly [string, string])[];

/**
 * @internal What serves the client's operations: Redis (`RedisBackend`) or the in-process store
 * (`MemoryBackend`). Both give the same results for the same calls; the client routes each call to
 * one of them. Arguments are checked by the client before a backend sees them.
 */
export interface Backend {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options: HybridSetOptions | undefined): Promise<boolean>;
  del(keys: readonly string[]): Promise<number>;
  exists(keys: readonly string[]): Promise<number>;
  incrBy(key: string, by: number): Promise<number>;
  expire(key: string, ttlMs: number): Promise<boolean>;
  ttl(key: string): Promise<number>;
  mget(keys: readonly string[]): Promise<(string | null)[]>;
  mset(entries: Entries, ttl: number | undefined): Promise<void>;
  hget(key: string, field: string): Promise<string | null>;
  hset(key: string, record: Record<string, string>): Promise<number>;
  hsetField(key: string, field: string, value: string): Promise<number>;
  hgetall(key: string): Promise<Record<string, string>>;
  hdel(key: string, fields: readonly string[]): Promise<number>;
  push(key: string, values: readonly string[], left: boolean): Promise<number>;
  lrange(key: string, start: number, stop: number): Promise<string[]>;
  ping(): Promise<string>;
}
