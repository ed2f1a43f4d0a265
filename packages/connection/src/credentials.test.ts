import { startRedis, waitFor, withAdmin } from '@x/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type Connection, createConnection } from './index.js';

const open: Connection[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

describe('rotating credentials', () => {
  it('the connection and its duplicates authenticate with fresh credentials; a failed refresh is a problem, not an outage', async () => {
    const server = await startRedis();
    let password = 'pw-0';
    let fail = false;
    await withAdmin(server.port, (c) =>
      c.call('ACL', 'SETUSER', 'app', 'on', `>${password}`, '~*', '&*', '+@all'),
    );
    const connection = createConnection({
      logger: false,
      redis: {
        host: '127.0.0.1',
        port: server.port,
        credentialsRefreshMs: 100,
        credentials: () => {
          if (fail) throw new Error('the token service is down');
          return { username: 'app', password };
        },
      },
    });
    open.push(connection);
    await connection.ready();
    const sub = connection.duplicate('subscriber');
    await waitFor('subscriber ready', () => sub.status === 'ready');

    // Rotate: add the new password, drop the old one, kill every connection of the user.
    const next = 'pw-1';
    await withAdmin(server.port, (c) => c.call('ACL', 'SETUSER', 'app', `>${next}`));
    password = next;
    await withAdmin(server.port, (c) => c.call('ACL', 'SETUSER', 'app', '<pw-0'));
    await withAdmin(server.port, (c) => c.call('CLIENT', 'KILL', 'USER', 'app'));
    // Usable again: a call answers and the connection says so (its state follows the client's
    // ready event after its own check of the server, a moment after the first call can pass).
    await waitFor(
      'reconnected',
      async () =>
        (await connection.execute((r) => r.ping())) === 'PONG' && connection.state === 'ready',
      { timeoutMs: 3_000 },
    );
    await waitFor('subscriber back', () => sub.status === 'ready', { timeoutMs: 3_000 });
    expect(connection.state).toBe('ready');
    expect(connection.diagnosis()).toBeNull();

    // The provider fails: the refresh fails, the connection keeps serving, the problem says why.
    fail = true;
    await waitFor('a diagnosis', () => connection.diagnosis()?.kind === 'auth', {
      timeoutMs: 3_000,
    });
    expect(connection.diagnosis()?.hint).toMatch(/credentials provider/);
    expect(connection.state).toBe('ready');
    expect(await connection.execute((r) => r.ping())).toBe('PONG');
  });
});
