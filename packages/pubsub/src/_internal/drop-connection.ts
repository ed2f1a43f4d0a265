import type { SubscriberConnection } from './ioredis-subscribers.js';

/**
 * Closes `connection` at once. `disconnect()` half-closes the socket and waits up to ioredis'
 * `disconnectTimeout` (2 s) for a frozen peer that never answers; destroying the socket emits
 * `close` now. A standalone connection then reconnects by its retry strategy; a Cluster's
 * subscriber connection (which never reconnects by itself) is ended and replaced by ioredis.
 * Without a socket to destroy, falls back to `disconnect(reconnect)`.
 */
export function dropConnection(connection: SubscriberConnection, reconnect = false): void {
  const stream = connection.stream as { destroy?: unknown; destroyed?: boolean } | undefined;
  if (stream !== undefined && stream !== null && typeof stream.destroy === 'function') {
    if (stream.destroyed !== true) (stream.destroy as () => void).call(stream);
  } else {
    connection.disconnect(reconnect);
  }
}
