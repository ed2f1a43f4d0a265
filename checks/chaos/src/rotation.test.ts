import { type ClusterHandle, type RedisHandle, startCluster, startRedis } from '@x/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type RotationOutcome, runRotationLoad } from './rotation-load';

// Issue 14, item 5, across the packages: an ACL user whose password is rotated every 200 ms (the
// new one added, then the one before the previous removed: two are valid during the switch) and
// whose connections are all killed (`CLIENT KILL USER`) every 300 ms, while 50 workers drive
// @x/hybrid-client, @x/lock, @x/ratelimit, @x/session and @x/pubsub, all created from one
// @x/config config whose `credentials` provider reads the current password. The default user
// keeps no key and no channel, so a connection that skipped the provider fails loudly.
//
// What must hold (see rotation-load.ts for how each is measured):
// - no failure for credentials anywhere: no call error, no connection problem of kind `auth`, no
//   log line, no failover of the hybrid client for it (its failovers are all `connection_lost`);
// - no failed call other than those a kill cut: a call that failed with a lost connection while a
//   kill round ran is retried once where RETRY_POLICY says that is harmless, after the connection
//   is usable again; what still fails must have met a kill in its last attempt (a create in flight
//   when its connection was killed may have run: it is not sent twice);
// - every pub/sub message published while subscribed is received, except inside a reported gap;
// - lock holds never overlap and fencing tokens increase; the rate limit is never exceeded on Redis.

function summary(name: string, o: RotationOutcome): string {
  const calls = Object.values(o.calls);
  const sum = (f: (c: (typeof calls)[number]) => number) => calls.reduce((a, c) => a + f(c), 0);
  return [
    `${name}: ${sum((c) => c.calls)} calls (${sum((c) => c.retried)} retried once after a kill,`,
    `${sum((c) => c.failed)} failed: ${JSON.stringify(o.killedFailures)}),`,
    `${o.rotation.rotations} rotations, ${o.rotation.killRounds} kill rounds killing ${o.rotation.killed} connections,`,
    `${o.providerCalls} provider calls (reconnects and re-authentications), ${o.outages} outages seen,`,
    `${o.failoverCauses.length} hybrid failovers (${[...new Set(o.failoverCauses)].join(', ') || 'none'}),`,
    `pub/sub ${o.pubsub.published} published / ${o.pubsub.received} received, ${o.pubsub.gaps} gaps`,
    `(${o.pubsub.lostInGaps} lost inside them, ${o.pubsub.duplicates} duplicates of retried publishes),`,
    `${o.lock.holds} lock holds, rate limit max ${o.rate.maxRedisWindow}/${o.rate.limit} per Redis window`,
  ].join(' ');
}

function expectHeld(name: string, o: RotationOutcome): void {
  const line = summary(name, o);
  console.log(line);
  const detail = JSON.stringify({ ...o, rotation: { ...o.rotation, killTimes: undefined } });
  // Never a failure for credentials.
  expect(o.authFailures, detail).toEqual([]);
  expect(
    o.failoverCauses.filter((c) => c !== 'connection_lost'),
    detail,
  ).toEqual([]);
  // No failed call that a kill does not explain.
  expect(o.failures, detail).toEqual({});
  // Pub/sub: nothing lost outside a reported gap; the subscriber was killed (gaps), once per loss.
  expect(o.pubsub.lostOutsideGaps, detail).toBe(0);
  expect(o.pubsub.published, detail).toBeGreaterThan(100);
  expect(o.pubsub.gaps, detail).toBeGreaterThanOrEqual(1);
  expect(o.pubsub.gaps, detail).toBeLessThanOrEqual(o.rotation.killRounds);
  // Locks and rate limits keep their guarantees.
  expect(o.lock.overlaps, detail).toBe(0);
  expect(o.lock.tokensIncrease, detail).toBe(true);
  expect(o.lock.holds, detail).toBeGreaterThan(100);
  expect(o.rate.redisDecisions, detail).toBeGreaterThan(100);
  expect(o.rate.maxRedisWindow, detail).toBeLessThanOrEqual(o.rate.limit);
  // The harness did rotate and kill (25 rotations and 16 kill rounds are planned; a loaded
  // machine runs fewer, each step waiting for every node), and every package kept working.
  expect(o.rotation.errors, detail).toEqual([]);
  expect(o.rotation.rotations, detail).toBeGreaterThanOrEqual(10);
  expect(o.rotation.killRounds, detail).toBeGreaterThanOrEqual(5);
  expect(o.rotation.killed, detail).toBeGreaterThan(o.rotation.killRounds);
  // Each killed connection that reconnected asked the provider for the current password.
  expect(o.providerCalls, detail).toBeGreaterThan(o.rotation.killRounds);
  for (const [op, c] of Object.entries(o.calls)) {
    expect(c.calls, `${op}: ${detail}`).toBeGreaterThan(50);
    expect(c.failed - c.failedKilled, `${op}: ${detail}`).toBe(0);
  }
}

describe('credential rotation every 200 ms + CLIENT KILL USER every 300 ms, 50 workers, every package', () => {
  let handles: (RedisHandle | ClusterHandle)[] = [];
  afterEach(async () => {
    await Promise.all(handles.map((h) => h.stop()));
    handles = [];
  });

  it('standalone: no failure for credentials, no call failed but by a kill, no message lost outside a gap', async () => {
    const redis = await startRedis();
    handles.push(redis);
    const outcome = await runRotationLoad({
      redisEnv: { REDIS_URL: `redis://127.0.0.1:${redis.port}` },
      nodes: () => [redis.port],
    });
    expectHeld('standalone', outcome);
  }, 60_000);

  it('Cluster: no failure for credentials, no call failed but by a kill, no message lost outside a gap', async () => {
    const cluster = await startCluster({ masters: 3 });
    handles.push(cluster);
    const outcome = await runRotationLoad({
      redisEnv: {
        REDIS_CLUSTER_MODE: 'true',
        REDIS_CLUSTER_NODES: cluster.startupNodes.map((n) => `${n.host}:${n.port}`).join(','),
      },
      nodes: () => cluster.nodes.map((n) => n.port),
      // ioredis' cluster-wide subscriber connection does not take the credentials connector
      // (@x/config README, "What Redis allows"): sharded pub/sub, whose connections do.
      sharded: true,
    });
    expectHeld('Cluster', outcome);
  }, 60_000);
});
