import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { waitFor } from './_internal/wait';
import { resumeFrozen, startFailingRedis } from './failing-redis';
import { readyClient, testClient } from './test-client';
import { rejection, timed } from './timed';

/** What a raw PING to `port` meets within 300 ms: the reply, `'silence'`, or the socket error. */
function rawPing(port: number): Promise<string> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    const timer = setTimeout(() => finish('silence'), 300);
    const finish = (what: string): void => {
      clearTimeout(timer);
      socket.destroy();
      done(what);
    };
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => finish(data.toString().trim()));
    socket.once('error', (error) => finish(String(error)));
  });
}

/** The first error a client meets connecting to `url`. */
async function connectError(url: string): Promise<string> {
  const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null });
  const first = new Promise<Error>((resolve) => client.once('error', resolve));
  await client.connect().catch(() => {});
  client.disconnect();
  return String(await first);
}

describe('startFailingRedis', () => {
  it('refused: nothing listens at the url', async () => {
    const failing = await startFailingRedis('refused');
    expect(failing.server.stopped).toBe(true);
    expect(await rawPing(failing.server.port)).toMatch(/ECONNREFUSED/);
  });

  it('frozen: connections are accepted, nothing answers; resumeFrozen() thaws it', async () => {
    const failing = await startFailingRedis('frozen');
    expect(failing.server.frozen).toBe(true);
    expect(await rawPing(failing.server.port)).toBe('silence');
    await resumeFrozen();
    expect(failing.server.frozen).toBe(false);
    const client = await readyClient(failing.url);
    expect((await timed(client.ping())).value).toBe('PONG');
  });

  it('wrong password: the server refuses the url, which does not hold the real password', async () => {
    const failing = await startFailingRedis('wrong-password');
    expect(failing.url).not.toContain(failing.password);
    expect(await connectError(failing.url)).toMatch(/WRONGPASS/);
    const right = testClient(failing.server.url);
    expect(right.options.enableOfflineQueue).toBe(false);
    await waitFor('the client ready', () => right.status === 'ready');
    expect(await right.ping()).toBe('PONG');
  });

  it('tls mismatch: a redis:// url on a TLS-only port', async () => {
    const failing = await startFailingRedis('tls-mismatch');
    expect(failing.url).toBe(`redis://127.0.0.1:${failing.server.port}`);
    expect(failing.server.url).toMatch(/^rediss:/);
    // The server drops a connection that does not start a TLS handshake.
    expect(await rawPing(failing.server.port)).not.toBe('PONG');
  });
});

describe('timed and rejection', () => {
  it('measure how a promise settled, and say when it did not reject', async () => {
    const slow = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms, 'done'));
    const resolved = await timed(slow(50));
    expect(resolved.value).toBe('done');
    expect(resolved.ms).toBeGreaterThanOrEqual(45);
    const rejected = await rejection(Promise.reject(new Error('no')));
    expect(rejected.error).toMatchObject({ message: 'no' });
    await expect(rejection(slow(1))).rejects.toThrow(/expected a rejection, it resolved/);
  });
});
