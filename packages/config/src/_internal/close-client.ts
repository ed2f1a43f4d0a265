import type { RedisClient } from '../client.js';

/**
 * QUIT when connected (bounded by the command timeout) and wait for the connection to end
 * (at most `endTimeoutMs`); otherwise drop the socket and stop reconnecting. Never rejects.
 */
export async function closeClient(client: RedisClient, endTimeoutMs = 1_000): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'ready') {
    const ended = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, endTimeoutMs);
      timer.unref();
      client.once('end', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    try {
      await client.quit();
      await ended;
      return;
    } catch {
      // Fall through: the connection is unusable, drop it.
    }
  }
  // Clears a pending reconnection timer too (the status of a client that was reconnecting
  // then stays 'reconnecting', but nothing runs any more).
  client.disconnect();
}
