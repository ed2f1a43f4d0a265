import {
  CONNECTION_CHANNELS,
  type ConnectionCallContext,
  INSTANCES_CHANNEL,
  type InstanceMessage,
  type LogFields,
} from '@x/connection';
import { closeAfter, listenChannels, startRedis, waitFor } from '@x/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { SESSION_CHANNELS, type SessionFailClosedMessage } from './channels.js';
import { createExpressSessionStore } from './express-store.js';
import type { SessionStoreOptions } from './options.js';
import { createSessionStore, type SessionStore } from './session-store.js';
import type { SessionStoreStats } from './stats.js';

const cleanup = closeAfter(afterEach);

function store(options: SessionStoreOptions): SessionStore {
  const s = createSessionStore({ logger: false, ...options });
  cleanup.push(() => s.close());
  return s;
}

describe('observability', () => {
  it('announces every instance on x:instances, with stats() carrying the redis block and the counters', async () => {
    using channels = listenChannels([INSTANCES_CHANNEL]);
    const instances = channels.of<InstanceMessage>(INSTANCES_CHANNEL);
    const server = await startRedis();
    const s = store({ redis: server.url });
    const mine = () => instances.filter((m) => m.instance === s);
    expect(mine().map((m) => [m.package, m.event])).toEqual([['@x/session', 'open']]);
    const id = await s.create('ann', { n: 1 });
    expect(await s.get(id)).not.toBeNull();
    expect(await s.update(id, { n: 2 })).toBe(true);
    expect(await s.touch(id)).toBeGreaterThan(Date.now());
    const next = (await s.rotate(id))!;
    const other = await s.create('ann', {});
    expect(await s.destroy(other)).toBe(true);
    expect(await s.destroyUserSessions('ann')).toBe(1);
    expect(await s.update(next, { n: 3 })).toBe(false); // gone: not counted
    const stats = mine()[0]!.instance.stats() as SessionStoreStats;
    expect(stats).toMatchObject({
      created: 2,
      read: 1,
      updated: 1,
      touched: 1,
      rotated: 1,
      destroyed: 2,
      failedClosed: 0,
      servedFromMemory: 0,
      pendingReconcile: 0,
    });
    expect(stats.redis).toMatchObject({ name: '@x/session', state: 'ready', failures: 0 });
    expect(stats.redis.calls).toBeGreaterThanOrEqual(9);
    await s.close();
    await s.close();
    expect(mine().map((m) => m.event)).toEqual(['open', 'close']);
  });

  it('traces each Redis call on x:connection:call with the store operation', async () => {
    using channels = listenChannels([`tracing:${CONNECTION_CHANNELS.call}:start`]);
    const calls = channels.of<ConnectionCallContext>(`tracing:${CONNECTION_CHANNELS.call}:start`);
    const server = await startRedis();
    const s = store({ redis: server.url });
    const express = createExpressSessionStore({ store: s });
    const id = await s.create('bob', {});
    await s.get(id);
    await s.update(id, { a: 1 });
    await s.touch(id);
    await s.rotate(id);
    await s.listUserSessions('bob');
    await s.destroyUserSessions('bob');
    await express.set('sid', { cookie: { originalMaxAge: 1_000 } });
    await express.get('sid');
    await express.destroy('sid');
    const operations = calls.filter((c) => c.connection === '@x/session').map((c) => c.operation);
    expect(new Set(operations)).toEqual(
      new Set([
        'create',
        'get',
        'update',
        'touch',
        'rotate',
        'listUserSessions',
        'destroyUserSessions',
        'set',
        'destroy',
      ]),
    );
  });

  it('publishes x:session:fail-closed per call that failed closed, and logs the outage and the recovery once each', async () => {
    using channels = listenChannels([SESSION_CHANNELS.failClosed]);
    const failed = channels.of<SessionFailClosedMessage>(SESSION_CHANNELS.failClosed);
    const server = await startRedis();
    const lines: { msg: string; fields: LogFields }[] = [];
    const s = store({ redis: server.url, logger: (msg, fields) => lines.push({ msg, fields }) });
    await s.ready();
    const id = await s.create('cat', {});
    await server.kill();
    await waitFor('unusable', () => s.stats().redis.state === 'unusable');
    await expect(s.get(id)).rejects.toMatchObject({ code: 'E_SESSION_UNAVAILABLE' });
    await expect(s.create('cat', {})).rejects.toMatchObject({ code: 'E_SESSION_UNAVAILABLE' });
    expect(failed).toEqual([
      { operation: 'get', kind: 'refused' },
      { operation: 'create', kind: 'refused' },
    ]);
    expect(s.stats().failedClosed).toBe(2);
    await server.restart();
    await waitFor('usable', () => s.stats().redis.state === 'ready', { timeoutMs: 5_000 });
    expect(await s.get(id)).toBeNull(); // restarted empty
    expect(lines.map((l) => [l.fields.level, l.fields.reason])).toEqual([
      ['warn', 'redis_unusable'],
      ['info', 'redis_usable'],
    ]);
    expect(lines[0]!.msg).toMatch(/fail closed/);
    expect(lines[1]!.fields).toMatchObject({ outageMs: expect.any(Number) });
  });
});
