import { sleep, startRedis } from '@x/testkit';
import { expect, it } from 'vitest';
import { createConnection } from './index.js';

it('a TLS mismatch stays the diagnosis while the reconnection attempts keep failing', async () => {
  const server = await startRedis({ tls: true });
  const connection = createConnection({
    redis: `redis://127.0.0.1:${server.port}`,
    logger: false,
    timeoutMs: 3_000,
  });
  await expect(connection.ready({ timeoutMs: 3_000 })).rejects.toMatchObject({
    code: 'E_REDIS_MISCONFIGURED',
    problem: { kind: 'tls' },
  });
  await sleep(1_000);
  // Nothing changed on either side: the setup is still wrong.
  expect(connection.diagnosis()?.kind).toBe('tls');
  expect(connection.stats().problem?.kind).toBe('tls');
  await expect(connection.ready({ timeoutMs: 500 })).rejects.toMatchObject({
    code: 'E_REDIS_MISCONFIGURED',
  });
  await connection.close();
});
