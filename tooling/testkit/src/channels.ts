import diagnostics_channel from 'node:diagnostics_channel';

/** What was published on some diagnostics channels while a {@link listenChannels} listened. */
export interface ChannelMessages extends Disposable {
  /**
   * The messages of channel `name` so far, oldest first. The same array every time: it keeps
   * growing until {@link ChannelMessages.close}.
   */
  of<T = unknown>(name: string): T[];
  /** Unsubscribes from every channel (idempotent); the messages stay readable. */
  close(): void;
}

/**
 * Subscribes to the `node:diagnostics_channel` channels `names` and collects what is published
 * on them until `close()` (or the end of a `using` block). For a `TracingChannel`, name its
 * sub-channels, e.g. `tracing:x:connection:call:start`.
 *
 * @example
 * using channels = listenChannels([INSTANCES_CHANNEL]);
 * const instances = channels.of<InstanceMessage>(INSTANCES_CHANNEL);
 */
export function listenChannels(names: readonly string[]): ChannelMessages {
  const seen = new Map<string, unknown[]>();
  const listeners = names.map((name) => {
    const messages: unknown[] = [];
    seen.set(name, messages);
    const listener = (message: unknown): void => void messages.push(message);
    diagnostics_channel.subscribe(name, listener);
    return { name, listener };
  });
  let open = true;
  const close = (): void => {
    if (!open) return;
    open = false;
    for (const { name, listener } of listeners) diagnostics_channel.unsubscribe(name, listener);
  };
  return {
    of<T>(name: string): T[] {
      const messages = seen.get(name);
      if (messages === undefined) {
        throw new Error(`[@x/testkit] not listening to "${name}": pass it to listenChannels()`);
      }
      return messages as T[];
    },
    close,
    [Symbol.dispose]: close,
  };
}
