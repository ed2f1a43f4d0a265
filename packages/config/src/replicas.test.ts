import { type ReplicaSetHandle, startRedis, startReplicaSet, waitFor } from '@x/testkit';
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RedisClient } from './client.js';
import { loadConfig } from './load-config.js';
import { createClientPool, createReplicaRouter, defaultShouldFallback } from './replicas.js';
import { waitForReady } from './wait-for-ready.js';

async function allReady(clients: readonly RedisClient[]): Promise<void> {
  await Promise.all(clients.map((c) => waitForReady(c, { timeoutMs: 5_000 })));
}

const role = async (c: RedisClient): Promise<string> =>
  ((await (c as Redis).role()) as string[])[0]!;

describe('createReplicaRouter (standalone replicas)', () => {
  // One replica set for both tests (a replica's first sync takes a few seconds); the test that
  // kills the replica runs last.
  let rs: ReplicaSetHandle;
  beforeAll(async () => {
    rs = await startReplicaSet({ replicas: 1, sentinels: 0 });
  });

  it('falls back when the replica command fails, not on a command error', async () => {
    const router = createReplicaRouter({
      url: rs.primary.url,
      readReplicaUrls: [rs.replicas[0]!.url],
    });
    try {
      await allReady([router.primary, ...router.replicas]);
      // a replica refuses writes (READONLY): that goes to the primary
      expect(await router.read((c) => c.set('fallback:key', '1'))).toBe('OK');
      expect(router.stats().fallbacks).toBe(1);
      await router.write((c) => c.set('str', 'x'));
      await waitFor('replicated', () => router.read((c) => c.get('str')));
      // WRONGTYPE would fail on the primary too: no fallback
      await expect(router.read((c) => c.hget('str', 'f'))).rejects.toThrow(/WRONGTYPE/);
      expect(router.stats().fallbacks).toBe(1);
    } finally {
      await router.close();
    }
    const wrongType = Object.assign(new Error('WRONGTYPE Operation'), { name: 'ReplyError' });
    expect(defaultShouldFallback(wrongType)).toBe(false);
    expect(defaultShouldFallback(Object.assign(new Error('LOADING'), { name: 'ReplyError' }))).toBe(
      true,
    );
    expect(defaultShouldFallback(new Error('Command timed out'))).toBe(true);
  });
  it('serves reads from a replica, falls back to the primary once the replica is killed', async () => {
    const config = loadConfig({
      env: { REDIS_URL: rs.primary.url, REDIS_READ_REPLICA_URLS: rs.replicas[0]!.url },
    });
    const router = createReplicaRouter(config);
    try {
      expect(router.replicas).toHaveLength(1);
      await allReady([router.primary, ...router.replicas]);
      await router.write((c) => c.set('r:key', 'v1'));
      // the connection that served the read is a replica's
      expect(await router.read(role)).toBe('slave');
      await waitFor('replicated', () => router.read((c) => c.get('r:key')));
      expect(await router.read((c) => c.get('r:key'))).toBe('v1');
      const before = router.stats();
      expect(before.replicaReads).toBeGreaterThanOrEqual(2);
      expect(before.fallbacks).toBe(0);

      await rs.replicas[0]!.kill();
      // reads keep working: the first may fail on the dying replica and fall back
      for (let i = 0; i < 5; i++) expect(await router.read((c) => c.get('r:key'))).toBe('v1');
      expect(await router.read(role)).toBe('master');
      const after = router.stats();
      expect(after.primaryReads).toBeGreaterThanOrEqual(6);
      expect(after.replicaReads).toBe(before.replicaReads);
    } finally {
      await router.close();
    }
    expect(router.primary.status).toBe('end');
    // the killed replica's client was between attempts: disconnect() cancelled the next one
    expect(['end', 'reconnecting']).toContain(router.replicas[0]!.status);
  });
});

describe('createClientPool', () => {
  it('hands out its connections round-robin and closes them all', async () => {
    const server = await startRedis();
    const pool = createClientPool({ url: server.url }, { size: 3 });
    await allReady(pool.clients);
    const seen = [pool.next(), pool.next(), pool.next(), pool.next()];
    expect(new Set(seen.slice(0, 3)).size).toBe(3);
    expect(seen[3]).toBe(seen[0]);
    const ids = await Promise.all(seen.slice(0, 3).map((c) => (c as Redis).client('ID')));
    expect(new Set(ids).size).toBe(3);
    const admin = new Redis(server.port, '127.0.0.1');
    const list = (await admin.client('LIST')) as string;
    expect(list.trim().split('\n').length).toBeGreaterThanOrEqual(4);
    admin.disconnect();
    await pool.close();
    expect(pool.clients.map((c) => c.status)).toEqual(['end', 'end', 'end']);
  });

  it('defaults to poolSize and validates size', () => {
    const pool = createClientPool({ url: 'redis://127.0.0.1:1', poolSize: 2 });
    expect(pool.size).toBe(2);
    for (const c of pool.clients) c.disconnect();
    expect(() => createClientPool('redis://127.0.0.1:1', { size: 0 })).toThrow(
      /size: must be an integer/,
    );
  });
});
