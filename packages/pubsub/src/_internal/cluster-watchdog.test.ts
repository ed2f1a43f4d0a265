import {
  type ClusterHandle,
  closeAfter,
  type RedisHandle,
  sleep,
  startCluster,
  waitFor,
  withAdmin,
} from '@x/testkit';
import { Cluster } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { stringCodec } from '../codec.js';
import { createPubSub, type PubSub, type PubSubEvents } from '../pubsub.js';
import type { GapInfo, Message, Subscription } from '../subscription.js';

// Small intervals keep each test at a few seconds. A cluster-node-timeout longer than any freeze or
// kill below lasts keeps the cluster itself from failing the node over meanwhile: the only thing
// that notices it is the pub/sub, and every run sees the same sequence of events.
const PING_INTERVAL_MS = 200;
const PING_TIMEOUT_MS = 300;
const NODE_TIMEOUT_MS = 5_000;
// Detection within interval + timeout, plus room for a loaded 2-core machine.
const DETECTION_BUDGET_MS = PING_INTERVAL_MS + PING_TIMEOUT_MS + 1_000;

const open = closeAfter(afterEach);

async function setup(sharded: boolean): Promise<{
  c: ClusterHandle;
  cluster: Cluster;
  ps: PubSub<string>;
  downs: PubSubEvents['disconnect'][0][];
}> {
  const c = await startCluster({
    masters: 3,
    replicasPerMaster: 1,
    nodeTimeoutMs: NODE_TIMEOUT_MS,
  });
  // Resumes a node a failed assertion left frozen, so that the cluster stops at once.
  open.push({ close: () => Promise.all(c.nodes.map((n) => (n.frozen ? n.resume() : undefined))) });
  const cluster = new Cluster(c.startupNodes, { enableOfflineQueue: true });
  cluster.on('error', () => {});
  open.push({ close: () => cluster.disconnect() });
  await waitFor('cluster client ready', () => cluster.status === 'ready');
  const ps = createPubSub<string>({
    redis: cluster,
    logger: false,
    codec: stringCodec,
    sharded,
    breaker: false,
    pingIntervalMs: PING_INTERVAL_MS,
    pingTimeoutMs: PING_TIMEOUT_MS,
    reconnect: { minDelayMs: 20, maxDelayMs: 100 },
  });
  open.push(ps);
  const downs: PubSubEvents['disconnect'][0][] = [];
  ps.on('disconnect', (info) => downs.push(info));
  return { c, cluster, ps, downs };
}

function gapsOf(sub: Subscription<string>): GapInfo[] {
  const gaps: GapInfo[] = [];
  sub.on('gap', (gap) => gaps.push(gap));
  return gaps;
}

/** Collects every message as `channel=data` (listeners, not the iterator: a `break` would end it). */
function collect(sub: Subscription<string>): string[] {
  const got: string[] = [];
  sub.on('message', (m: Message<string>) => got.push(`${m.channel}=${m.data}`));
  return got;
}

/** The one node with a classic subscriber on `channel` (PUBSUB NUMSUB counts local clients only). */
async function classicSubscriberNode(c: ClusterHandle, channel: string): Promise<RedisHandle> {
  return waitFor(`one node with a subscriber on ${channel}`, async () => {
    const found: RedisHandle[] = [];
    for (const node of c.nodes) {
      if (node.stopped || node.frozen) continue;
      const reply = await withAdmin(node.port, (a) => a.pubsub('NUMSUB', channel));
      if (Number(reply[1]) > 0) found.push(node);
    }
    return found.length === 1 ? found[0] : undefined;
  });
}

/** Classic PUBLISH on one given node: the cluster bus forwards it to every other node. */
function publishOn(node: RedisHandle, channel: string, message: string): Promise<number> {
  return withAdmin(node.port, (a) => a.publish(channel, message));
}

/** Waits until `got` holds `expected` (in order), then checks it holds nothing else. */
async function received(got: string[], expected: string[]): Promise<void> {
  await waitFor(`messages ${expected.join(', ')}`, () => got.length >= expected.length, {
    timeoutMs: 5_000,
  });
  expect(got.splice(0)).toEqual(expected);
}

describe('cluster watchdog: classic (cluster-wide) pub/sub', () => {
  it('notices a frozen subscriber node by PING, moves to another node, emits disconnect and gap once', async () => {
    const { c, ps, downs } = await setup(false);
    const sub = ps.subscribe({ channels: ['news'], patterns: ['room.*'] });
    const got = collect(sub);
    const gaps = gapsOf(sub);
    const psGaps: GapInfo[] = [];
    ps.on('gap', (gap) => psGaps.push(gap));
    await sub.ready;
    const frozen = await classicSubscriberNode(c, 'news');
    const publisher = c.nodes.find((n) => n !== frozen)!;
    await publishOn(publisher, 'news', 'before');
    await received(got, ['news=before']);

    await frozen.freeze();
    const frozenAt = Date.now();
    await waitFor('disconnect', () => downs.length > 0, { timeoutMs: 5_000 });
    expect(Date.now() - frozenAt).toBeLessThan(DETECTION_BUDGET_MS);
    expect(downs[0]).toMatchObject({ reason: 'ping-timeout', error: expect.any(Error) });
    await waitFor('gap', () => gaps.length > 0, { timeoutMs: 5_000 });
    expect(Date.now() - frozenAt).toBeLessThan(DETECTION_BUDGET_MS + 1_000);
    expect(gaps[0]?.reason).toBe('ping-timeout');
    expect(ps.stats().connected).toBe(true);
    // The subscriber now lives on another node, and messages published there arrive again.
    const moved = await classicSubscriberNode(c, 'news');
    expect(moved).not.toBe(frozen);
    await publishOn(publisher, 'news', 'while-frozen');
    await publishOn(publisher, 'room.7', 'pattern-too');
    await received(got, ['news=while-frozen', 'room.7=pattern-too']);

    await frozen.resume();
    await withAdmin(frozen.port, (a) => a.ping());
    await publishOn(publisher, 'news', 'after-resume');
    await received(got, ['news=after-resume']);
    // One incident: one disconnect, one gap (on the subscription and on the pub/sub).
    expect(downs.map((d) => d.reason)).toEqual(['ping-timeout']);
    expect(gaps).toHaveLength(1);
    expect(psGaps).toHaveLength(1);
    expect(ps.stats().gaps).toBe(1);
  });

  it('re-subscribes on another node when the subscriber node is killed, and emits gap once', async () => {
    const { c, ps, downs } = await setup(false);
    const sub = ps.subscribe({ channels: ['news'], patterns: ['room.*'] });
    const got = collect(sub);
    const gaps = gapsOf(sub);
    await sub.ready;
    const killed = await classicSubscriberNode(c, 'news');
    const publisher = c.nodes.find((n) => n !== killed)!;

    await killed.kill();
    await waitFor('gap', () => gaps.length > 0, { timeoutMs: 5_000 });
    expect(gaps[0]?.reason).toBe('connection-closed');
    expect(downs.map((d) => d.reason)).toEqual(['connection-closed']);
    const moved = await classicSubscriberNode(c, 'news');
    expect(moved).not.toBe(killed);
    await publishOn(publisher, 'news', 'after-kill');
    await publishOn(publisher, 'room.1', 'pattern-too');
    await received(got, ['news=after-kill', 'room.1=pattern-too']);
    expect(gaps).toHaveLength(1);
    expect(ps.stats()).toMatchObject({ gaps: 1, connected: true });
  });
});

describe('cluster watchdog: sharded pub/sub', () => {
  it('notices a frozen shard master by PING, emits gap once it answers again, other shards unaffected', async () => {
    const { c, cluster, ps, downs } = await setup(true);
    const channels = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'];
    const sub = ps.subscribe(channels);
    const got = collect(sub);
    const gaps = gapsOf(sub);
    await sub.ready;
    const ownerOf = async (channel: string): Promise<number> => {
      const slot = Number(await cluster.cluster('KEYSLOT', channel));
      return Number(cluster.slots[slot]?.[0]?.split(':')[1]);
    };
    const frozenPort = await ownerOf('alpha');
    const frozen = c.nodes.find((n) => n.port === frozenPort)!;
    let other: string | undefined;
    for (const channel of channels) if ((await ownerOf(channel)) !== frozenPort) other = channel;
    expect(other).toBeDefined();

    await frozen.freeze();
    const frozenAt = Date.now();
    await waitFor('disconnect', () => downs.length > 0, { timeoutMs: 5_000 });
    expect(Date.now() - frozenAt).toBeLessThan(DETECTION_BUDGET_MS);
    expect(downs[0]).toMatchObject({ reason: 'ping-timeout', error: expect.any(Error) });
    expect(ps.stats().connected).toBe(false);
    // The other shards keep delivering while one is frozen.
    await ps.publish(other!, 'during');
    await received(got, [`${other}=during`]);
    // No gap while it stays frozen: ioredis opens new connections to the frozen master (the TCP
    // handshake succeeds), and they miss their PING too. Long enough for a few such rounds.
    await sleep(3 * (PING_INTERVAL_MS + PING_TIMEOUT_MS));
    expect(gaps).toEqual([]);
    expect(ps.stats().connected).toBe(false);

    await frozen.resume();
    await waitFor('gap', () => gaps.length > 0, { timeoutMs: 10_000 });
    expect(gaps[0]?.reason).toBe('ping-timeout');
    expect(await ps.publish('alpha', 'after')).toBeGreaterThanOrEqual(1);
    await received(got, ['alpha=after']);
    expect(downs.map((d) => d.reason)).toEqual(['ping-timeout']);
    expect(gaps).toHaveLength(1);
    expect(ps.stats()).toMatchObject({ gaps: 1, connected: true });
  });
});
