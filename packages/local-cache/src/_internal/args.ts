import { LocalCacheError } from '../errors.js';

// Argument checks of the hot path: a `typeof` per key, field and value, nothing allocated unless
// the check fails (the error is built only then).

/**
 * The error for a key, field or value that is not a string.
 * @param expected what it must be instead, for the message
 */
export function notAString(field: string, value: unknown, expected = 'a string'): LocalCacheError {
  const shown = typeof value === 'object' && value !== null ? 'an object' : typeof value;
  return new LocalCacheError(
    'E_LOCAL_CACHE_ARGUMENT',
    `${field} must be ${expected}, got ${Array.isArray(value) ? 'an array' : shown}`,
    { field, value },
  );
}

/**
 * Throws `E_LOCAL_CACHE_ARGUMENT` unless `value` is a string.
 * @param field the argument's name, for the message (`'key'`, `'value'`, `'field'`...)
 */
export function checkString(value: unknown, field: string): void {
  if (typeof value !== 'string') throw notAString(field, value);
}

/** Throws `E_LOCAL_CACHE_ARGUMENT` unless every item is a string (`field` names the list, e.g. `'keys'`). */
export function checkStrings(values: readonly unknown[], field: string): void {
  for (let i = 0; i < values.length; i++) {
    if (typeof values[i] !== 'string') throw notAString(`${field}[${i}]`, values[i]);
  }
}

/** The error for an `mset` entry that is not a `[key, value]` pair. */
export function notAPair(index: number, value: unknown): LocalCacheError {
  return new LocalCacheError(
    'E_LOCAL_CACHE_ARGUMENT',
    `entries[${index}] must be a [key, value] pair`,
    {
      field: `entries[${index}]`,
      value,
    },
  );
}

/** Throws `E_LOCAL_CACHE_ARGUMENT` unless `value` is an array. */
export function checkArray(value: unknown, field: string): void {
  if (!Array.isArray(value)) {
    throw new LocalCacheError('E_LOCAL_CACHE_ARGUMENT', `${field} must be an array`, {
      field,
      value,
    });
  }
}
