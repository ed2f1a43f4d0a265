// Repro for @x/connection: after a probe PING passed its deadline, the watch does not probe again
// until the next probe tick (probeIntervalMs), so a frozen server that resumes is noticed late.

import { sleep, startRedis } from '@x/testkit';
import { expect, it } from 'vitest';
import { createConnection } from './index.js';

it('a frozen server: usable again as soon as it resumes, not at the next probe tick', async () => {
  const server = await startRedis();
  const connection = createConnection({
    redis: server.url,
    timeoutMs: 100,
    probeIntervalMs: 5_000,
    logger: false,
  });
  try {
    await connection.ready();
    await server.freeze();
    connection.markUnusable('test');
    await sleep(300); // the probe's PING passed its 100 ms deadline
    await server.resume();
    const resumedAt = performance.now();
    await connection.ready({ timeoutMs: 3_000 });
    expect(performance.now() - resumedAt).toBeLessThan(1_000);
  } finally {
    await connection.close();
    await server.stop();
  }
});
