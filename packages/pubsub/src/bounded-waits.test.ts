import {
  CONNECTION_CHANNELS,
  type ConnectionProblemMessage,
  type LogFields,
  type Problem,
} from '@x/connection';
import {
  closeAfter,
  listenChannels,
  rejection,
  resumeFrozen,
  sleep,
  startFailingRedis,
  startRedis,
  waitFor,
} from '@x/testkit';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { isPubSubError } from './errors.js';
import { createPubSub, type PubSub } from './pubsub.js';
import type { GapInfo, Message, Subscription } from './subscription.js';

// Every wait a user can meet settles by its deadline when Redis is refused, frozen or
// misconfigured, with the connection's diagnosis; and the pub/sub keeps trying in the background.

// A server a failed assertion left frozen would hold every close() below.
const open = closeAfter(afterEach, { first: resumeFrozen });

function pubsub<T = unknown>(options: Parameters<typeof createPubSub<T>>[0]): PubSub<T> {
  const ps = createPubSub<T>({
    logger: false,
    reconnect: { minDelayMs: 20, maxDelayMs: 100 },
    ...options,
  });
  open.push(ps);
  return ps;
}

function problemOf(error: unknown): Problem | undefined {
  return (error as { problem?: Problem }).problem;
}

/** The next message of `sub`, or a failure after `ms`. */
async function next<T>(sub: Subscription<T>, ms = 5_000): Promise<IteratorResult<Message<T>>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no message within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([sub.next(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('Redis refused (nothing listens)', () => {
  it('subscription.ready rejects at timeoutMs with the diagnosis; the subscription recovers without a gap, later losses get one', async () => {
    const { server } = await startFailingRedis('refused');
    const ps = pubsub<string>({ redis: server.url, timeoutMs: 300 });
    const sub = ps.subscribe('orders');
    const gaps: GapInfo[] = [];
    let subscribed = 0;
    sub.on('gap', (gap) => gaps.push(gap));
    sub.on('subscribed', () => subscribed++);
    const errors: unknown[] = [];
    sub.on('error', (error) => errors.push(error));
    // A reader waiting meanwhile: a rejected ready neither ends nor fails the iterator.
    const pending = next(sub, 10_000);

    const { error, ms } = await rejection(sub.ready);
    expect(ms).toBeGreaterThanOrEqual(280);
    expect(ms).toBeLessThan(800);
    expect(isPubSubError(error)).toBe(true);
    expect(error).toMatchObject({
      name: 'PubSubUnavailableError',
      code: 'E_PUBSUB_UNAVAILABLE',
      operation: 'subscribe',
      channels: ['orders'],
    });
    expect(problemOf(error)?.kind).toBe('refused');
    expect((error as Error).message).toMatch(
      /^\[@x\/pubsub\] Redis unavailable during subscribe: .*ECONNREFUSED.*start Redis there/,
    );
    expect(errors).toEqual([]); // not an 'error' event: Redis is retried, nothing was refused
    expect(sub.closed).toBe(false);
    expect(ps.stats()).toMatchObject({ readyFailures: 1, subscriptions: 1, channels: 1 });
    expect(ps.stats().redis).toMatchObject({ name: '@x/pubsub', problem: { kind: 'refused' } });

    // pubsub.ready and publish are bounded the same way.
    const ready = await rejection(ps.ready());
    expect(ready.ms).toBeLessThan(800);
    expect(ready.error).toMatchObject({ code: 'E_PUBSUB_UNAVAILABLE', operation: 'ready' });
    expect(problemOf(ready.error)?.kind).toBe('refused');
    const publish = await rejection(ps.publish('orders', 'lost'));
    expect(publish.ms).toBeLessThan(400);
    expect(publish.error).toMatchObject({ code: 'E_PUBSUB_UNAVAILABLE', channel: 'orders' });
    expect(problemOf(publish.error)?.kind).toBe('refused');

    // Redis comes back: the subscription is confirmed ('subscribed', no gap) and delivers.
    await server.restart();
    await waitFor('subscribed', () => subscribed === 1, { timeoutMs: 5_000 });
    await ps.ready({ timeoutMs: 3_000 });
    expect(await ps.publish('orders', 'first')).toBe(1);
    expect(await pending).toEqual({ value: { channel: 'orders', data: 'first' }, done: false });
    expect(gaps).toEqual([]);
    expect(ps.stats()).toMatchObject({ gaps: 0, connected: true });

    // A loss after that is a gap, exactly once.
    await server.restart();
    await waitFor('gap', () => gaps.length === 1, { timeoutMs: 5_000 });
    await sleep(200);
    expect(gaps).toHaveLength(1);
    expect(subscribed).toBe(1);
    await waitFor('publisher back', async () => {
      try {
        return (await ps.publish('orders', 'second')) === 1;
      } catch {
        return false;
      }
    });
    expect((await next(sub)).value?.data).toBe('second');
    expect(sub.stats().gaps).toBe(1);
  });

  it('a subscription made during an outage gets no gap, the ones confirmed before it get one each', async () => {
    const server = await startRedis();
    const ps = pubsub<string>({ redis: server.url, timeoutMs: 300 });
    const before = ps.subscribe('a');
    await before.ready;
    const beforeGaps: GapInfo[] = [];
    before.on('gap', (gap) => beforeGaps.push(gap));
    await server.kill();
    await waitFor('loss noticed', () => !ps.stats().connected, { timeoutMs: 2_000 });
    const during = ps.subscribe('b');
    const duringGaps: GapInfo[] = [];
    let subscribed = 0;
    during.on('gap', (gap) => duringGaps.push(gap));
    during.on('subscribed', () => subscribed++);
    expect(problemOf((await rejection(during.ready)).error)?.kind).toBe('refused');
    await server.restart();
    await waitFor('gap and subscribed', () => beforeGaps.length === 1 && subscribed === 1, {
      timeoutMs: 5_000,
    });
    await sleep(200);
    expect(beforeGaps).toHaveLength(1);
    expect(duringGaps).toEqual([]);
    expect(ps.stats().gaps).toBe(1);
  });
});

describe('Redis frozen (SIGSTOP: connections accepted, nothing answers)', () => {
  it('subscription.ready, pubsub.ready and publish reject by their deadline with a timeout problem; recovery after resume', async () => {
    const { server } = await startFailingRedis('frozen');
    const ps = pubsub<string>({ redis: server.url, timeoutMs: 300, breaker: false });
    const sub = ps.subscribe('orders');
    let subscribed = 0;
    sub.on('subscribed', () => subscribed++);
    const [subReady, psReady] = await Promise.all([rejection(sub.ready), rejection(ps.ready())]);
    for (const { error, ms } of [subReady, psReady]) {
      expect(ms).toBeGreaterThanOrEqual(280);
      expect(ms).toBeLessThan(800);
      expect(error).toMatchObject({ code: 'E_PUBSUB_UNAVAILABLE' });
      expect(problemOf(error)?.kind).toBe('timeout');
    }
    const publish = await rejection(ps.publish('orders', 'x'));
    expect(publish.ms).toBeLessThan(600);
    expect(publish.error).toMatchObject({ code: 'E_PUBSUB_UNAVAILABLE' });

    await server.resume();
    await waitFor('subscribed after resume', () => subscribed === 1, { timeoutMs: 5_000 });
    await ps.ready({ timeoutMs: 3_000 });
    expect(await ps.publish('orders', 'back')).toBe(1);
    expect((await next(sub)).value?.data).toBe('back');
  });

  it('close() is bounded while the server is frozen, and idempotent', async () => {
    const server = await startRedis();
    const ps = pubsub({ redis: server.url, timeoutMs: 300 });
    const sub = ps.subscribe('a');
    await sub.ready;
    await server.freeze();
    const started = performance.now();
    const closing = ps.close();
    expect(ps.close()).toBe(closing);
    await closing;
    expect(performance.now() - started).toBeLessThan(800);
    expect(sub.closed).toBe(true);
    expect(ps.stats().redis.state).toBe('closed');
    await expect(ps.ready()).rejects.toMatchObject({ code: 'E_PUBSUB_CLOSED' });
  });
});

describe('Redis misconfigured: reported at once, not after the deadline', () => {
  it('wrong password: ready rejects at once with an auth problem, logged once at error level', async () => {
    const bad = await startFailingRedis('wrong-password');
    const lines: { msg: string; fields: LogFields }[] = [];
    const ps = pubsub({
      redis: bad.url,
      timeoutMs: 5_000,
      logger: (msg, fields) => lines.push({ msg, fields }),
    });
    const sub = ps.subscribe('orders');
    const [subReady, psReady] = await Promise.all([rejection(sub.ready), rejection(ps.ready())]);
    for (const { error, ms } of [subReady, psReady]) {
      expect(ms).toBeLessThan(1_000);
      expect(error).toMatchObject({ code: 'E_PUBSUB_UNAVAILABLE' });
      expect(problemOf(error)).toMatchObject({ kind: 'auth', misconfiguration: true });
      expect((error as Error).message).toMatch(/WRONGPASS.*REDIS_PASSWORD/);
    }
    expect(ps.stats().redis.problem?.kind).toBe('auth');
    await sleep(300);
    const errors = lines.filter((l) => l.fields.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toMatch(/misconfigured \(auth\)/);
    expect(JSON.stringify(lines)).not.toContain(bad.password);
  });

  it('TLS mismatch (a TLS server reached with redis://): a tls problem, not an outage', async () => {
    const { url } = await startFailingRedis('tls-mismatch');
    const ps = pubsub({ redis: url, timeoutMs: 3_000 });
    const sub = ps.subscribe('orders');
    const { error, ms } = await rejection(sub.ready);
    expect(ms).toBeLessThan(3_000 + 300);
    expect(error).toMatchObject({ code: 'E_PUBSUB_UNAVAILABLE' });
    expect(problemOf(error)).toMatchObject({ kind: 'tls', misconfiguration: true });
    expect(problemOf(error)!.hint).toMatch(/rediss:\/\//);
    expect(ps.stats().redis.problem?.kind).toBe('tls');
  });

  it('a channel the ACL forbids: SubscribeError, final for ready, seen by the diagnosis', async () => {
    const server = await startRedis();
    const admin = new Redis(server.url);
    await admin.call('ACL', 'SETUSER', 'sub', 'on', '>pw', '~*', '&allowed*', '+@all');
    admin.disconnect();
    const ps = pubsub({ redis: `redis://sub:pw@127.0.0.1:${server.port}`, timeoutMs: 2_000 });
    const allowed = ps.subscribe('allowed.1');
    await allowed.ready;
    using channels = listenChannels([CONNECTION_CHANNELS.problem]);
    const problems = channels.of<ConnectionProblemMessage>(CONNECTION_CHANNELS.problem);
    const forbidden = ps.subscribe('forbidden');
    const errors: unknown[] = [];
    forbidden.on('error', (error) => errors.push(error));
    const { error, ms } = await rejection(forbidden.ready);
    expect(ms).toBeLessThan(1_000);
    expect(error).toMatchObject({
      name: 'SubscribeError',
      code: 'E_PUBSUB_SUBSCRIBE',
      channels: ['forbidden'],
    });
    expect((error as Error).message).toMatch(/NOPERM/);
    expect(errors).toEqual([error]);
    expect(problems).toContainEqual({
      connection: '@x/pubsub',
      problem: expect.objectContaining({ kind: 'permission', misconfiguration: true }),
    });
    expect(await ps.publish('allowed.1', 1)).toBe(1);
  });
});
