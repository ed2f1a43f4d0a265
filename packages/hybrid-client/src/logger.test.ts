// The `logger` option: every shape of the one logger contract of @x/connection, seen through the
// line a start without Redis logs.
import { startRedis } from '@x/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createHybridClient, type HybridClientOptions } from './index.js';

let url: string;
beforeAll(async () => {
  const redis = await startRedis();
  url = redis.url;
  await redis.kill();
});

const open: { close(): Promise<void> }[] = [];
afterAll(async () => {
  for (const c of open.splice(0)) await c.close();
});

async function startWith(logger: HybridClientOptions['logger']): Promise<void> {
  const client = await createHybridClient({ redis: url, startupProbeTimeoutMs: 100, logger });
  open.push(client);
  expect(client.activeBackend).toBe('fallback');
}

describe('logger', () => {
  it('a function gets (msg, fields) with the level added', async () => {
    const fn = vi.fn();
    await startWith(fn);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(fn).toHaveBeenCalledWith(
      expect.stringMatching(/^\[@x\/hybrid-client\] Redis unavailable at start-up/),
      expect.objectContaining({ level: 'warn', reason: 'primary_unavailable', cause: 'startup' }),
    );
  });

  it('pino is called (fields, msg)', async () => {
    const pino = {
      levels: { values: {} },
      child: () => pino,
      info: vi.fn(),
      warn: vi.fn(),
      error: vi.fn(),
    };
    await startWith(pino);
    expect(pino.warn).toHaveBeenCalledWith(
      expect.objectContaining({ reason: 'primary_unavailable' }),
      expect.stringContaining('serving from memory'),
    );
  });

  it('console-like loggers are called (msg, fields)', async () => {
    const con = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    await startWith(con);
    expect(con.warn).toHaveBeenCalledWith(
      expect.stringContaining('serving from memory'),
      expect.objectContaining({ reason: 'primary_unavailable' }),
    );
  });

  it('false is silent; the default is console', async () => {
    const spy = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      await startWith(false);
      expect(spy).not.toHaveBeenCalled();
      await startWith(undefined);
      expect(spy).toHaveBeenCalledWith(
        expect.stringContaining('serving from memory'),
        expect.objectContaining({ reason: 'primary_unavailable' }),
      );
    } finally {
      spy.mockRestore();
    }
  });
});
