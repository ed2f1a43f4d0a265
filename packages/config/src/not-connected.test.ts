import { startRedis } from '@x/testkit';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createRedisClient } from './client.js';
import { isRedisNotConnectedError } from './errors.js';
import { waitForReady } from './wait-for-ready.js';

describe('a command sent on a connection the server just closed', () => {
  it('says the connection was lost and the command was not sent, not that the client is still connecting', async () => {
    const server = await startRedis();
    const client = createRedisClient({ url: server.url }) as Redis;
    try {
      await waitForReady(client, { timeoutMs: 5_000 });
      // As after CLIENT KILL: the socket is gone, ioredis has not processed its 'close' yet
      // (status still 'ready'), so the command is refused before it is written.
      client.stream.destroy();
      const error = await client.get('k').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isRedisNotConnectedError(error)).toBe(true);
      const message = (error as Error).message;
      expect(message).toMatch(/the connection was lost/);
      expect(message).toMatch(/the command was not sent/);
      expect(message).not.toMatch(/still connecting|waitForReady/);
    } finally {
      client.disconnect();
    }
  });
});
