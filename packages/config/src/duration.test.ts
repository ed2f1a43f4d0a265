import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';
import { isConfigError } from './errors.js';

describe('parseDuration', () => {
  it.each([
    [250, 250],
    ['250', 250],
    ['500ms', 500],
    ['5s', 5_000],
    ['1.5s', 1_500],
    ['10m', 600_000],
    ['24h', 86_400_000],
    ['1d', 86_400_000],
    ['1m30s', 90_000],
    [' 5s ', 5_000],
    ['-5s', -5_000],
    [0, 0],
  ])('%o -> %d ms', (input, expected) => {
    expect(parseDuration(input)).toBe(expected);
  });

  it.each(['', 'soon', '5 parsecs', '5x', 's5', '1h-3m'])('rejects %o with E_CONFIG', (input) => {
    let caught: unknown;
    try {
      parseDuration(input);
    } catch (error) {
      caught = error;
    }
    expect(isConfigError(caught)).toBe(true);
    expect((caught as Error).message).toContain(`invalid duration ${JSON.stringify(input)}`);
  });

  it('rejects non-finite numbers and other types', () => {
    expect(() => parseDuration(Number.POSITIVE_INFINITY)).toThrow(/invalid duration Infinity/);
    expect(() => parseDuration({} as never)).toThrow(/invalid duration an object/);
  });
});
