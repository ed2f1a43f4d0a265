import { HybridClientError } from '../errors.js';

// Argument checks of the hot path. Keys, fields and values must be strings that are well-formed
// UTF-16: ioredis encodes strings as UTF-8, which turns a lone surrogate into U+FFFD, so Redis
// would hand back another string than the one written (and two keys could collide) while memory
// keeps it exactly. Rejecting them before any backend is touched keeps both backends equal.
// `isWellFormed` has a fast path in V8 and allocates nothing; the error is built only on failure.

/** `String.prototype.isWellFormed` (Node 20; not in the ES2023 lib the project compiles with). */
interface WellFormed {
  isWellFormed(): boolean;
}

/** True unless `value` is a well-formed string. */
export function invalid(value: unknown): boolean {
  return typeof value !== 'string' || !(value as unknown as WellFormed).isWellFormed();
}

/** Index of the first item of `values` that is not a well-formed string, `-1` when none. */
export function firstInvalid(values: readonly unknown[]): number {
  for (let i = 0; i < values.length; i++) if (invalid(values[i])) return i;
  return -1;
}

/**
 * The `E_HYBRID_ARGUMENT` error for `value`, given as the argument `field`.
 * @param what how the message names it (default: `field`)
 */
export function argumentError(field: string, value: unknown, what = field): HybridClientError {
  if (typeof value === 'string') {
    return new HybridClientError(
      'E_HYBRID_ARGUMENT',
      `${what} must be a well-formed string (a lone surrogate cannot be stored in Redis as is)`,
      { field, value },
    );
  }
  const shown = Array.isArray(value)
    ? 'an array'
    : value === null
      ? 'null'
      : typeof value === 'object'
        ? 'an object'
        : typeof value;
  return new HybridClientError('E_HYBRID_ARGUMENT', `${what} must be a string, got ${shown}`, {
    field,
    value,
  });
}

/** A promise rejected with {@link argumentError}: the API is async, it never throws. */
export function rejectArgument(field: string, value: unknown): Promise<never> {
  return Promise.reject(argumentError(field, value));
}

/** {@link rejectArgument} for the item `index` of the list argument `field`. */
export function rejectItem(
  field: string,
  values: readonly unknown[],
  index: number,
): Promise<never> {
  return rejectArgument(`${field}[${index}]`, values[index]);
}
