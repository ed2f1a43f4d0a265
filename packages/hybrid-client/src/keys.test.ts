import { describe, expect, it } from 'vitest';
import { isHybridClientError } from './errors.js';
import { createKeys } from './keys.js';

describe('createKeys', () => {
  it('joins the prefix and parts with ":"', () => {
    const keys = createKeys('app');
    expect(keys.of('user', 123)).toBe('app:user:123');
    expect(keys.of('a', 1n, 'b')).toBe('app:a:1:b');
    expect(keys.prefix).toBe('app');
    expect(createKeys('app:').of('x')).toBe('app:x');
    expect(createKeys().of('user', 1)).toBe('user:1');
    expect(createKeys().prefix).toBe('');
  });

  it('rejects empty or non-scalar parts with E_ARGUMENT naming the part', () => {
    const keys = createKeys('app');
    for (const bad of [
      [],
      [''],
      ['user', undefined],
      ['user', Number.NaN],
      ['user', {}],
    ] as unknown[][]) {
      try {
        keys.of(...(bad as string[]));
        expect.unreachable();
      } catch (error) {
        expect(isHybridClientError(error) && error.code).toBe('E_HYBRID_ARGUMENT');
      }
    }
    expect(() => createKeys(1 as never)).toThrow(/keyPrefix/);
  });
});
