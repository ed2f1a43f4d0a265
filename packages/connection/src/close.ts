import type { RedisClient } from '@x/config';

/**
 * Closes a client: `QUIT` when it is connected (so the server frees the connection at once),
 * bounded by `capMs` (a frozen server never answers), then the socket is dropped and reconnection
 * stops. Never rejects; settles within about `capMs`.
 */
export async function closeClient(client: RedisClient, capMs: number): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'ready') {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      client.quit().catch(noop),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, capMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }
  // Also clears a pending reconnection timer of a client that was reconnecting.
  client.disconnect();
}

function noop(): void {}
