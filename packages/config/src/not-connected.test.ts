import { startFaultProxy, startRedis, waitFor } from '@x/testkit';
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

describe('a server that keeps dropping the reconnections (a TLS port reached in plain text)', () => {
  it('says why in every error, and no message nests the previous one', async () => {
    const secure = await startRedis({ tls: true });
    // Through a proxy: the connection is accepted, then closed once the server drops it, so the
    // ready check meets a closed socket (refused with a "not connected" error of our own).
    const proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: secure.port } });
    const client = createRedisClient({
      url: proxy.url,
      reconnect: { minDelayMs: 20, maxDelayMs: 40 },
    }) as Redis;
    const messages: string[] = [];
    client.on('error', (error: Error) => messages.push(error.message));
    let attempts = 0;
    client.on('reconnecting', () => attempts++);
    try {
      await waitFor('a few reconnection attempts', () => attempts >= 8, { timeoutMs: 10_000 });
      // A command now is refused with what the attempts ran into (ioredis 6 emits no error event
      // for a dropped attempt, 5 emits one each time).
      const refused = await client.get('k').then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(isRedisNotConnectedError(refused)).toBe(true);
      messages.push((refused as Error).message);
      for (const message of messages) {
        expect(message.split('the last connection attempt failed').length).toBeLessThanOrEqual(2);
        expect(message.length).toBeLessThan(400);
      }
      // What the moment shows: the last attempt's reset, the connection lost, or (refused during
      // an attempt's handshake) a server that accepted the connection and has not answered.
      expect(messages.at(-1)).toMatch(
        /the connection was lost|ECONNRESET|accepted the connection but has not answered/,
      );
    } finally {
      client.disconnect();
    }
  });
});
