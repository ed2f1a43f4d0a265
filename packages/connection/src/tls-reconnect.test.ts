import { startFaultProxy, startRedis, waitFor } from '@x/testkit';
import { expect, it } from 'vitest';
import { createConnection } from './index.js';

it('a TLS mismatch met on a reconnection is diagnosed as tls, like one met at start', async () => {
  const plain = await startRedis();
  const secure = await startRedis({ tls: true });
  const target = { host: '127.0.0.1', port: plain.port };
  const proxy = await startFaultProxy({ target });
  const connection = createConnection({ redis: proxy.url, logger: false, probeIntervalMs: 200 });
  try {
    await connection.ready();
    target.port = secure.port; // the server now speaks TLS on the address the client knows
    proxy.reset();
    proxy.pass();
    await waitFor('diagnosis tls', () => connection.diagnosis()?.kind === 'tls', {
      timeoutMs: 5_000,
    });
    expect(connection.diagnosis()).toMatchObject({ kind: 'tls', misconfiguration: true });
  } finally {
    await connection.close();
  }
});
