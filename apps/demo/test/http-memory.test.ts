import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, json, type RunningDemo, startDemo } from './helpers';
import { defineRouteTests } from './route-suite';

// The demo with no Redis at all: everything served from memory.
let running: RunningDemo;

beforeAll(async () => {
  running = await startDemo();
});

afterAll(async () => {
  await running?.close();
});

describe('without Redis', () => {
  it('starts on memory with exactly one warning in the log', async () => {
    expect(running.demo.activeBackend).toBe('fallback');
    const warnings = running.logs.filter((line) => line.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toMatch(/REDIS_URL is not set/);
    const status = await json(await get(`${running.url}/status`));
    // No Redis: no breaker to show (the page says "no Redis"), nothing diagnosed.
    expect(status.breaker).toBeNull();
    expect(status.problem).toBeNull();
    expect(status.redis).toMatchObject({ configured: false, health: 'not configured' });
    const ready = await get(`${running.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await json(ready)).toEqual({
      ready: true,
      status: 'memory-only',
      redis: 'not configured',
      problem: null,
    });
    expect(status.modes.sessions).toMatch(/memory/);
    expect(status.modes.events).toMatch(/in-process/);
  });

  defineRouteTests(() => running, {
    hit: 'memory',
    backend: 'fallback',
    lockMode: 'single-instance',
    rateLimitSource: 'local',
    via: 'local',
  });

  it('logged nothing above info while serving every route', () => {
    const loud = running.logs.filter((line) => line.level >= 40);
    expect(loud.map((line) => line.msg)).toEqual([expect.stringMatching(/REDIS_URL is not set/)]);
  });
});
