import { firstInvalid, invalid, rejectArgument, rejectItem } from './_internal/args.js';
import type { HybridSetOptions, HybridTtlOptions } from './backend.js';
import { CODECS, type Codec, type CodecName } from './codecs.js';
import { HybridClientError } from './errors.js';
import type { HybridEntry } from './fail-safe.js';
import type { GetOrSetOptions } from './get-or-set.js';

type Raw = string | Buffer;

/** Options of `HybridClient.namespace`. */
export interface NamespaceOptions<T> {
  /**
   * How values are stored: `'json'` (JSON text), `'buffer'` (bytes, exactly), `'text'` (strings
   * as they are), or your own {@link Codec}.
   * @default 'json'
   */
  codec?: CodecName | Codec<T> | undefined;
}

/**
 * A typed view of the client: keys are prefixed (`<prefix>:<key>`), values go through the codec.
 * Reads are served by the near cache and the fail-safe exactly as the client's own (bytes are
 * cached as bytes). Every call settles like the client's: a miss is `null`, a bad key or a value
 * the codec refuses rejects with `E_HYBRID_ARGUMENT` / `E_HYBRID_CODEC` before anything is sent,
 * and a stored value the codec cannot decode rejects with `E_HYBRID_CODEC`.
 * @typeParam T the type of the values
 */
export interface HybridNamespace<T> {
  /** The prefix, with its trailing `:`. */
  readonly prefix: string;
  /** The key stored in Redis for `key` (`prefix + key`). */
  key(key: string): string;
  get(key: string): Promise<T | null>;
  /** `get` with where the value came from (see `HybridClient.getEntry`). */
  getEntry(key: string): Promise<HybridEntry<T> | null>;
  set(key: string, value: T, options?: HybridSetOptions): Promise<boolean>;
  setNX(key: string, value: T, options?: HybridTtlOptions): Promise<boolean>;
  mget(keys: readonly string[]): Promise<(T | null)[]>;
  /** Sets every entry (one `set` per key: not atomic across keys). */
  mset(
    entries: Record<string, T> | readonly (readonly [string, T])[],
    options?: HybridTtlOptions,
  ): Promise<void>;
  /** See `HybridClient.getOrSet`: the loader's value goes through the codec. */
  getOrSet(key: string, loader: () => T | Promise<T>, options?: GetOrSetOptions): Promise<T>;
  del(...keys: string[]): Promise<number>;
  exists(...keys: string[]): Promise<number>;
  expire(key: string, ttlMs: number): Promise<boolean>;
  ttl(key: string): Promise<number>;
}

/** @internal What a namespace needs from its client: the operations on stored (raw) values. */
export interface RawAccess {
  get(key: string, bytes: boolean): Promise<Raw | null>;
  getEntry(key: string, bytes: boolean): Promise<HybridEntry<Raw> | null>;
  set(key: string, value: Raw, options: HybridSetOptions | undefined): Promise<boolean>;
  mget(keys: readonly string[], bytes: boolean): Promise<(Raw | null)[]>;
  getOrSet(
    key: string,
    loader: () => Promise<Raw>,
    bytes: boolean,
    options: GetOrSetOptions | undefined,
  ): Promise<Raw>;
  del(...keys: string[]): Promise<number>;
  exists(...keys: string[]): Promise<number>;
  expire(key: string, ttlMs: number): Promise<boolean>;
  ttl(key: string): Promise<number>;
}

function codecError(what: string, cause: unknown): HybridClientError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new HybridClientError(
    'E_HYBRID_CODEC',
    `the namespace's codec could not ${what} (${why}): check the value, or the codec`,
    { cause },
  );
}

/** Resolves the codec option; throws `E_HYBRID_ARGUMENT` for anything else. */
function resolveCodec<T>(codec: NamespaceOptions<T>['codec']): Codec<T> {
  if (codec === undefined) return CODECS.json as Codec<T>;
  if (typeof codec === 'string' && Object.hasOwn(CODECS, codec)) {
    return CODECS[codec] as unknown as Codec<T>;
  }
  if (
    typeof codec === 'object' &&
    codec !== null &&
    typeof codec.encode === 'function' &&
    typeof codec.decode === 'function'
  ) {
    return codec;
  }
  throw new HybridClientError(
    'E_HYBRID_ARGUMENT',
    "codec must be 'json', 'buffer', 'text' or an object with encode(value) and decode(raw)",
    { field: 'codec', value: codec },
  );
}

/**
 * Creates the view for `prefix` over `raw`.
 * @throws {HybridClientError} `E_HYBRID_ARGUMENT` for an empty or malformed prefix or a bad codec
 */
export function createNamespace<T>(
  raw: RawAccess,
  prefix: string,
  options: NamespaceOptions<T> = {},
): HybridNamespace<T> {
  if (invalid(prefix) || prefix === '') {
    throw new HybridClientError(
      'E_HYBRID_ARGUMENT',
      'the namespace prefix must be a non-empty string',
      {
        field: 'prefix',
        value: prefix,
      },
    );
  }
  if (typeof options !== 'object' || options === null) {
    throw new HybridClientError('E_HYBRID_ARGUMENT', 'namespace options must be an object', {
      field: 'options',
      value: options,
    });
  }
  return new Namespace<T>(
    raw,
    prefix.endsWith(':') ? prefix : `${prefix}:`,
    resolveCodec(options.codec),
  );
}

class Namespace<T> implements HybridNamespace<T> {
  readonly prefix: string;
  readonly #raw: RawAccess;
  readonly #codec: Codec<T>;
  readonly #bytes: boolean;

  constructor(raw: RawAccess, prefix: string, codec: Codec<T>) {
    this.#raw = raw;
    this.prefix = prefix;
    this.#codec = codec;
    this.#bytes = codec.binary === true;
  }

  key(key: string): string {
    return this.prefix + key;
  }

  /** The stored form of `value`, or the error to reject with. */
  #encode(value: T): Raw | HybridClientError {
    let out: string | Uint8Array;
    try {
      out = this.#codec.encode(value);
    } catch (error) {
      return codecError('encode the value', error);
    }
    if (this.#bytes) {
      if (out instanceof Uint8Array) return Buffer.isBuffer(out) ? out : Buffer.from(out);
      return codecError('encode the value', new TypeError('a binary codec must return bytes'));
    }
    if (typeof out === 'string' && !invalid(out)) return out;
    return codecError(
      'encode the value',
      new TypeError(
        typeof out === 'string'
          ? 'it returned a string with a lone surrogate'
          : 'a text codec must return a string (set binary: true for bytes)',
      ),
    );
  }

  #decode(raw: Raw): T {
    try {
      return this.#codec.decode(raw);
    } catch (error) {
      throw codecError('decode the stored value', error);
    }
  }

  #decodeOrNull = (raw: Raw | null): T | null => (raw === null ? null : this.#decode(raw));

  get(key: string): Promise<T | null> {
    if (invalid(key)) return rejectArgument('key', key);
    return this.#raw.get(this.prefix + key, this.#bytes).then(this.#decodeOrNull);
  }

  getEntry(key: string): Promise<HybridEntry<T> | null> {
    if (invalid(key)) return rejectArgument('key', key);
    return this.#raw
      .getEntry(this.prefix + key, this.#bytes)
      .then((entry) => (entry === null ? null : { ...entry, value: this.#decode(entry.value) }));
  }

  set(key: string, value: T, options?: HybridSetOptions): Promise<boolean> {
    if (invalid(key)) return rejectArgument('key', key);
    const raw = this.#encode(value);
    if (raw instanceof HybridClientError) return Promise.reject(raw);
    return this.#raw.set(this.prefix + key, raw, options);
  }

  setNX(key: string, value: T, options?: HybridTtlOptions): Promise<boolean> {
    return this.set(key, value, { ttl: options?.ttl, nx: true });
  }

  mget(keys: readonly string[]): Promise<(T | null)[]> {
    if (!Array.isArray(keys)) return rejectArgument('keys', keys);
    const bad = firstInvalid(keys);
    if (bad !== -1) return rejectItem('keys', keys, bad);
    return this.#raw
      .mget(
        keys.map((k) => this.prefix + k),
        this.#bytes,
      )
      .then((values) => values.map(this.#decodeOrNull));
  }

  mset(
    entries: Record<string, T> | readonly (readonly [string, T])[],
    options?: HybridTtlOptions,
  ): Promise<void> {
    if (typeof entries !== 'object' || entries === null) return rejectArgument('entries', entries);
    const list = Array.isArray(entries)
      ? (entries as readonly (readonly [string, T])[])
      : (Object.entries(entries) as [string, T][]);
    // Every entry is encoded before anything is sent: a bad one writes nothing.
    const encoded: [string, Raw][] = [];
    for (let i = 0; i < list.length; i++) {
      const pair = list[i] as unknown;
      if (!Array.isArray(pair)) return rejectArgument(`entries[${i}]`, pair);
      if (invalid(pair[0])) return rejectArgument(`entries[${i}][0]`, pair[0]);
      const raw = this.#encode(pair[1] as T);
      if (raw instanceof HybridClientError) return Promise.reject(raw);
      encoded.push([this.prefix + (pair[0] as string), raw]);
    }
    const ttl = options?.ttl === undefined ? undefined : { ttl: options.ttl };
    return Promise.all(encoded.map(([k, v]) => this.#raw.set(k, v, ttl))).then(() => undefined);
  }

  getOrSet(key: string, loader: () => T | Promise<T>, options?: GetOrSetOptions): Promise<T> {
    if (invalid(key)) return rejectArgument('key', key);
    if (typeof loader !== 'function') return rejectArgument('loader', loader);
    const load = async (): Promise<Raw> => {
      const raw = this.#encode(await loader());
      if (raw instanceof HybridClientError) throw raw;
      return raw;
    };
    return this.#raw
      .getOrSet(this.prefix + key, load, this.#bytes, options)
      .then((raw) => this.#decode(raw));
  }

  del(...keys: string[]): Promise<number> {
    const bad = firstInvalid(keys);
    if (bad !== -1) return rejectItem('keys', keys, bad);
    return this.#raw.del(...keys.map((k) => this.prefix + k));
  }

  exists(...keys: string[]): Promise<number> {
    const bad = firstInvalid(keys);
    if (bad !== -1) return rejectItem('keys', keys, bad);
    return this.#raw.exists(...keys.map((k) => this.prefix + k));
  }

  expire(key: string, ttlMs: number): Promise<boolean> {
    if (invalid(key)) return rejectArgument('key', key);
    return this.#raw.expire(this.prefix + key, ttlMs);
  }

  ttl(key: string): Promise<number> {
    if (invalid(key)) return rejectArgument('key', key);
    return this.#raw.ttl(this.prefix + key);
  }
}
