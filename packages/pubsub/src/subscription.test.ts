import { describe, expect, it } from 'vitest';
import { globMatch } from './_internal/glob.js';
import { RingBuffer } from './_internal/ring-buffer.js';
import { SubscriptionOverflowError } from './errors.js';
import { type DropReport, Subscription, type SubscriptionHost } from './subscription.js';

function make(
  options: Partial<{
    bufferSize: number;
    overflow: 'drop-oldest' | 'drop-newest' | 'error';
    dropReportIntervalMs: number;
  }> = {},
) {
  const detached: string[] = [];
  const host: SubscriptionHost = {
    detach: (_s, channels, patterns) => detached.push(...channels, ...patterns),
    totals: { delivered: 0, dropped: 0 },
  };
  const sub = new Subscription<number>(host, ['a', 'b'], ['p.*'], {
    bufferSize: options.bufferSize ?? 4,
    overflow: options.overflow ?? 'drop-oldest',
    dropReportIntervalMs: options.dropReportIntervalMs ?? 60_000,
  });
  return { sub, detached };
}

describe('Subscription (buffer logic, no Redis)', () => {
  it('never holds more than bufferSize messages and keeps received = delivered + dropped + buffered', async () => {
    const { sub } = make({ bufferSize: 4 });
    for (let i = 0; i < 1_000; i++) {
      sub._deliver({ channel: 'a', data: i });
      expect(sub.stats().buffered).toBeLessThanOrEqual(4);
    }
    const first = await sub.next();
    expect(first.value?.data).toBe(996);
    const { received, delivered, dropped, buffered } = sub.stats();
    expect(received).toBe(delivered + dropped + buffered);
    expect([received, delivered, dropped, buffered]).toEqual([1_000, 1, 996, 3]);
  });

  it('reports drops once per burst: when the reader catches up, or after the interval', async () => {
    const { sub } = make({ bufferSize: 4 });
    const reports: DropReport[] = [];
    sub.on('drop', (r) => reports.push(r));
    for (let i = 0; i < 10; i++) sub._deliver({ channel: 'a', data: i });
    expect(reports).toEqual([]);
    await sub.next();
    expect(reports).toEqual([]); // 3 buffered of 4: not caught up yet
    await sub.next();
    expect(reports).toEqual([{ dropped: 6, total: 6, policy: 'drop-oldest', channel: 'a' }]);
    for (let i = 0; i < 5; i++) sub._deliver({ channel: 'b', data: i });
    sub.close();
    expect(reports[1]).toEqual({ dropped: 3, total: 9, policy: 'drop-oldest', channel: 'b' });

    const timed = make({ bufferSize: 1, dropReportIntervalMs: 0 }).sub;
    const each: number[] = [];
    timed.on('drop', (r) => each.push(r.dropped));
    for (let i = 0; i < 4; i++) timed._deliver({ channel: 'a', data: i });
    expect(each).toEqual([1, 1, 1]);
  });

  it('hands messages straight to a waiting reader', async () => {
    const { sub } = make();
    const pending = sub.next();
    sub._deliver({ channel: 'b', data: 7 });
    expect(await pending).toEqual({ value: { channel: 'b', data: 7 }, done: false });
    expect(sub.stats()).toMatchObject({ delivered: 1, buffered: 0 });
  });

  it("overflow 'error' ends after the buffered messages and detaches from the host", async () => {
    const { sub, detached } = make({ bufferSize: 2, overflow: 'error' });
    for (let i = 0; i < 3; i++) sub._deliver({ channel: 'a', data: i });
    expect(sub.closed).toBe(true);
    expect(detached.sort()).toEqual(['a', 'b', 'p.*']);
    expect((await sub.next()).value?.data).toBe(0);
    expect((await sub.next()).value?.data).toBe(1);
    await expect(sub.next()).rejects.toBeInstanceOf(SubscriptionOverflowError);
    expect(await sub.next()).toEqual({ value: undefined, done: true });
  });

  it('close() resolves a pending next() with done, and ready rejects with a closed error', async () => {
    const { sub } = make();
    const pending = sub.next();
    sub.close();
    expect(await pending).toEqual({ value: undefined, done: true });
    await expect(sub.ready).rejects.toMatchObject({ code: 'E_PUBSUB_CLOSED' });
  });

  it('a throwing message listener is reported as an error, not thrown into Redis', () => {
    const { sub } = make();
    const errors: unknown[] = [];
    sub.on('error', (e) => errors.push(e));
    sub.on('message', () => {
      throw new Error('listener bug');
    });
    expect(() => sub._deliver({ channel: 'a', data: 1 })).not.toThrow();
    expect((errors[0] as Error).message).toBe('listener bug');
    expect(sub.stats().delivered).toBe(1);
  });
});

describe('globMatch (Redis pattern syntax, used for local delivery)', () => {
  it.each([
    ['news.*', 'news.sport', true],
    ['news.*', 'news', false],
    ['h?llo', 'hello', true],
    ['h?llo', 'hllo', false],
    ['h[ae]llo', 'hallo', true],
    ['h[ae]llo', 'hillo', false],
    ['h[^e]llo', 'hallo', true],
    ['h[^e]llo', 'hello', false],
    ['room.[0-9]', 'room.7', true],
    ['room.[0-9]', 'room.x', false],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['*', '', true],
    ['a*b*c', 'aXXbYYc', true],
    ['a*b*c', 'aXXbYY', false],
  ])('%s vs %s -> %s', (pattern, text, expected) => {
    expect(globMatch(pattern, text)).toBe(expected);
  });
});

describe('RingBuffer', () => {
  it('wraps around without growing', () => {
    const ring = new RingBuffer<number>(3);
    for (let i = 0; i < 10; i++) {
      if (ring.full) ring.shift();
      ring.push(i);
    }
    expect([ring.shift(), ring.shift(), ring.shift(), ring.shift()]).toEqual([7, 8, 9, undefined]);
    expect(ring.length).toBe(0);
  });
});
