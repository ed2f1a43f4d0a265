import { describe, expect, it } from 'vitest';
import { closeAfter } from './close-after';

describe('closeAfter', () => {
  it('runs first, then every clean-up last added first, also after one throws; then throws it', async () => {
    let registered: (() => Promise<void>) | undefined;
    const order: string[] = [];
    const list = closeAfter(
      (fn) => {
        registered = fn;
      },
      { first: () => void order.push('first') },
    );
    list.push(() => void order.push('a'));
    const closable = list.add({ close: async () => void order.push('b') });
    expect(typeof closable.close).toBe('function');
    list.push(() => {
      order.push('c');
      throw new Error('c failed');
    });
    await expect(registered!()).rejects.toThrow('c failed');
    expect(order).toEqual(['first', 'c', 'b', 'a']);
    // Emptied: the next run (the next test's) starts from nothing.
    await registered!();
    expect(order).toEqual(['first', 'c', 'b', 'a', 'first']);
  });
});
