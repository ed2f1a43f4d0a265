const BRAND: unique symbol = Symbol.for('@x/local-cache.error') as never;

/**
 * Stable codes of {@link LocalCacheError}.
 * - `E_OPTIONS`: an option passed to {@link createLocalCache} is invalid.
 * - `E_WRONGTYPE`: the key holds another kind of value (Redis' `WRONGTYPE`).
 * - `E_NOT_INTEGER`: the value is not an integer or the result would overflow (Redis' `ERR value is not an integer`).
 * - `E_ARGUMENT`: an argument is invalid (for example a TTL that is not a positive integer).
 */
export type LocalCacheErrorCode = 'E_OPTIONS' | 'E_WRONGTYPE' | 'E_NOT_INTEGER' | 'E_ARGUMENT';

/** Options of {@link LocalCacheError}. */
export interface LocalCacheErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
  /** The option or argument at fault. */
  field?: string;
  /** The rejected value (never a secret here: this package holds no credentials). */
  value?: unknown;
}

/** Every error thrown by `@x/local-cache`. Detect it with {@link isLocalCacheError}. */
export class LocalCacheError extends Error {
  override readonly name = 'LocalCacheError';
  /** Stable machine-readable code. */
  readonly code: LocalCacheErrorCode;
  /** The option or argument at fault, when there is one. */
  readonly field: string | undefined;
  /** The rejected value, when there is one. */
  readonly value: unknown;
  readonly [BRAND] = true;

  constructor(code: LocalCacheErrorCode, message: string, options: LocalCacheErrorOptions = {}) {
    super(`[@x/local-cache] ${message}`, { cause: options.cause });
    this.code = code;
    this.field = options.field;
    this.value = options.value;
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
    'E_WRONGTYPE',
    'WRONGTYPE Operation against a key holding the wrong kind of value',
  );
}
