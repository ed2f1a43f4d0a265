const BRAND: unique symbol = Symbol.for('@x/local-cache.error') as never;
// The brand every x error carries (`isXError` of `@x/connection` checks it). Set here rather than
// by extending `XError`: this package stands alone (lru-cache is its only dependency), and a
// `Symbol.for` key is the same in every copy.
const X_ERROR: unique symbol = Symbol.for('@x/error') as never;
const PKG = '@x/local-cache';

/**
 * Stable codes of {@link LocalCacheError}, unique across the x packages.
 * - `E_LOCAL_CACHE_OPTIONS`: an option passed to {@link createLocalCache} is invalid.
 * - `E_LOCAL_CACHE_WRONGTYPE`: the key holds another kind of value (Redis' `WRONGTYPE`).
 * - `E_LOCAL_CACHE_NOT_INTEGER`: the value is not an integer or the result would overflow (Redis'
 *   `ERR value is not an integer`).
 * - `E_LOCAL_CACHE_ARGUMENT`: an argument is invalid (for example a TTL that is not a positive
 *   integer).
 */
export type LocalCacheErrorCode =
  | 'E_LOCAL_CACHE_OPTIONS'
  | 'E_LOCAL_CACHE_WRONGTYPE'
  | 'E_LOCAL_CACHE_NOT_INTEGER'
  | 'E_LOCAL_CACHE_ARGUMENT';

/** Options of {@link LocalCacheError}. */
export interface LocalCacheErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
  /** The option or argument at fault. */
  field?: string;
  /** The rejected value (never a secret here: this package holds no credentials). */
  value?: unknown;
}

/**
 * Every error thrown by `@x/local-cache`: a stable `code`, a `name`, the `package`
 * (`'@x/local-cache'`), a `cause` when there is one, and a message starting with
 * `[@x/local-cache]`. Detect it with {@link isLocalCacheError}; `isXError` of `@x/connection`
 * recognises it too (the shared x error brand).
 */
export class LocalCacheError extends Error {
  /** Stable machine-readable code. */
  readonly code: LocalCacheErrorCode;
  /** The package that threw it: `'@x/local-cache'`. */
  readonly package: string = PKG;
  /** The option or argument at fault, when there is one. */
  readonly field: string | undefined;
  /** The rejected value, when there is one. */
  readonly value: unknown;

  constructor(code: LocalCacheErrorCode, message: string, options: LocalCacheErrorOptions = {}) {
    super(
      `[${PKG}] ${message}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'LocalCacheError';
    this.code = code;
    this.field = options.field;
    this.value = options.value;
  }

  static {
    // On the prototype: inherited, free to construct, found from any installed copy.
    Object.defineProperty(LocalCacheError.prototype, BRAND, { value: true });
    Object.defineProperty(LocalCacheError.prototype, X_ERROR, { value: true });
  }
}

/**
 * Brand check for {@link LocalCacheError}; true across two installed copies of the package.
 * @param error anything caught
 */
export function isLocalCacheError(error: unknown): error is LocalCacheError {
  return typeof error === 'object' && error !== null && (error as never)[BRAND] === true;
}

/** @internal */
export function wrongType(): LocalCacheError {
  return new LocalCacheError(
    'E_LOCAL_CACHE_WRONGTYPE',
    'WRONGTYPE Operation against a key holding the wrong kind of value',
  );
}
