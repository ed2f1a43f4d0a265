import { startRedis, waitFor } from '@x/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type Connection, createConnection, type UsableEvent } from './index.js';

const open: Connection[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

describe('the usable event', () => {
  it('says how long this outage lasted, not every outage so far', async () => {
    const server = await startRedis();
    const connection = createConnection({ redis: server.url, logger: false, probeIntervalMs: 50 });
    open.push(connection);
    await connection.ready({ timeoutMs: 5_000 });
    const usable: UsableEvent[] = [];
    connection.on('usable', (event) => usable.push(event));

    // A long outage, then a short one.
    for (const downMs of [1_500, 100]) {
      const seen = usable.length;
      await server.kill();
      await waitFor('the connection to notice', () => connection.state === 'unusable');
      await new Promise((r) => setTimeout(r, downMs));
      await server.restart();
      await waitFor('the connection to recover', () => usable.length > seen, { timeoutMs: 10_000 });
    }

    const [long, short] = usable;
    expect(long?.reason).toBe('recovered');
    expect(long?.outageMs).toBeGreaterThanOrEqual(1_500);
    // The second outage alone: about 100 ms plus the restart, far from the 1.5 s before it.
    expect(short?.reason).toBe('recovered');
    expect(short?.outageMs).toBeLessThan(long!.outageMs);
    expect(short?.outageMs).toBeLessThan(1_500);
    // stats() keeps the total.
    expect(connection.stats().unusableMs).toBeGreaterThanOrEqual(
      long!.outageMs + short!.outageMs - 5,
    );
  }, 40_000);
});
