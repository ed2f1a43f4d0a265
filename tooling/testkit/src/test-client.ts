import { Redis } from 'ioredis';
import { track } from './_internal/registry';
import { waitFor } from './_internal/wait';

/**
 * A plain ioredis client for a test's own reads and writes next to the code under test. It fails
 * fast instead of queueing (no offline queue, one retry per command, a reconnection every 50 ms),
 * its `error` events are swallowed (a test that kills its server expects them), and it is
 * disconnected at the end of the test file like every server of the kit (or earlier by the test).
 *
 * @example
 * const redis = testClient(server.url);
 * await redis.set('k', 'v');
 */
export function testClient(url: string): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 50,
  });
  client.on('error', () => {});
  track({ stop: async () => client.disconnect() });
  return client;
}

/** A {@link testClient} once it is ready for commands (it queues none before). */
export async function readyClient(url: string): Promise<Redis> {
  const client = testClient(url);
  await waitFor('the test client ready', () => client.status === 'ready');
  return client;
}
