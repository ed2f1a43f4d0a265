import { ConfigError } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const WHOLE = /^\s*-?(?:\d+(?:\.\d+)?(?:ms|s|m|h|d)\s*)+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const PLAIN = /^\s*-?\d+(?:\.\d+)?\s*$/;

/**
 * Parses a duration into milliseconds.
 * - a number is already milliseconds;
 * - a string is a number of ms (`'250'`) or number-unit pairs: `'500ms'`, `'5s'`, `'10m'`,
 *   `'24h'`, `'1d'`, `'1m30s'`.
 * @throws ConfigError (`E_CONFIG`) when the value is not a duration.
 * @example parseDuration('5s') // 5000
 */
export function parseDuration(value: number | string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
  } else if (typeof value === 'string') {
    if (PLAIN.test(value)) return Number(value);
    if (WHOLE.test(value)) {
      let total = 0;
      for (const [, amount, unit] of value.matchAll(PART)) total += Number(amount) * UNITS[unit!]!;
      return value.trimStart().startsWith('-') ? -total : total;
    }
  }
  throw new ConfigError([
    {
      path: '',
      message: `invalid duration ${describeValue(value)} (expected ms as a number, or e.g. '500ms', '5s', '10m', '24h')`,
    },
  ]);
}

/** Short, secret-free description of a value for messages. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null)
    return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}
