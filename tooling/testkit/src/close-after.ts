/** Something to clean up: a function, or an object with `close()` (a client, a store, a proxy). */
export type Closable = (() => unknown) | { close(): unknown };

/** The clean-ups of a test file, run by the hook they were registered with. */
export interface CloseList {
  /** Adds clean-ups; they run last added first, each awaited. */
  push(...items: Closable[]): void;
  /** Adds one object to close and returns it, for `const ps = open.add(createPubSub(...))`. */
  add<T extends { close(): unknown }>(item: T): T;
}

/**
 * A list of clean-ups that `hook` runs (`afterEach` or `afterAll` of vitest, passed in so the kit
 * does not depend on the runner): last added first, each awaited, every one of them even when one
 * throws (the first error is thrown after). `first` runs before them, e.g. `resumeFrozen`: a
 * server a failed assertion left frozen would hold every `close()`.
 * @default options.first none
 *
 * @example
 * const open = closeAfter(afterEach);
 * const ps = open.add(createPubSub({ redis: server.url }));
 * open.push(() => client.disconnect());
 */
export function closeAfter(
  hook: (fn: () => Promise<void>) => unknown,
  options: { first?: () => unknown } = {},
): CloseList {
  const items: Closable[] = [];
  hook(async () => {
    let failure: { error: unknown } | undefined;
    const run = async (fn: () => unknown): Promise<void> => {
      try {
        await fn();
      } catch (error) {
        failure ??= { error };
      }
    };
    if (options.first) await run(options.first);
    for (const item of items.splice(0).reverse()) {
      await run(typeof item === 'function' ? item : () => item.close());
    }
    if (failure) throw failure.error;
  });
  return {
    push: (...added) => void items.push(...added),
    add: (item) => {
      items.push(item);
      return item;
    },
  };
}
