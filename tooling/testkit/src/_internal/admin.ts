import Redis from 'ioredis';

/**
 * Runs `fn` with a short-lived control connection to 127.0.0.1:`port` (no retries, no offline
 * queue, short timeouts), closing it afterwards.
 */
export async function withAdmin<T>(port: number, fn: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1_000,
    commandTimeout: 2_000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return await fn(client);
  } finally {
    client.disconnect();
  }
}
