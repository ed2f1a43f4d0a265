import { HybridClientError } from './errors.js';

/** Builds key names one way for every service: `prefix:part:part`. */
export interface KeyHelper {
  /** The prefix (without the trailing separator), `''` when none. */
  readonly prefix: string;
  /**
   * Joins `parts` with `:` after the prefix: `of('user', 123)` → `'app:user:123'`.
   * @throws {HybridClientError} `E_HYBRID_ARGUMENT` for no parts, an empty part, or a part that is not a
   * string, a finite number or a bigint
   */
  of(...parts: readonly (string | number | bigint)[]): string;
}

/**
 * Creates a {@link KeyHelper}. The hybrid client exposes one as `client.keys`, built from its
 * `keyPrefix` option.
 * @param prefix e.g. `'app'`; `''` for none
 * @example
 * const keys = createKeys('app');
 * keys.of('user', 123); // 'app:user:123'
 */
export function createKeys(prefix = ''): KeyHelper {
  if (typeof prefix !== 'string') {
    throw new HybridClientError(
      'E_HYBRID_ARGUMENT',
      `keyPrefix must be a string, got ${typeof prefix}`,
      {
        field: 'keyPrefix',
        value: prefix,
      },
    );
  }
  const head = prefix === '' ? '' : prefix.endsWith(':') ? prefix : `${prefix}:`;
  return {
    prefix: head === '' ? '' : head.slice(0, -1),
    of(...parts) {
      if (parts.length === 0) {
        throw new HybridClientError('E_HYBRID_ARGUMENT', 'keys.of needs at least one part', {
          field: 'parts',
        });
      }
      let out = head;
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i];
        const ok =
          (typeof part === 'string' && part !== '') ||
          (typeof part === 'number' && Number.isFinite(part)) ||
          typeof part === 'bigint';
        if (!ok) {
          throw new HybridClientError(
            'E_HYBRID_ARGUMENT',
            `key part ${i} must be a non-empty string, a finite number or a bigint, got ${JSON.stringify(part) ?? String(part)}`,
            { field: `parts[${i}]`, value: part },
          );
        }
        out += i === 0 ? String(part) : `:${String(part)}`;
      }
      return out;
    },
  };
}
