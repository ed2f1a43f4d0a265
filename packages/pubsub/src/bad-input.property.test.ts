import { type RedisHandle, startRedis, waitFor } from '@x/testkit';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferCodec } from './codec.js';
import { createPubSub, type PubSub } from './pubsub.js';
import type { MalformedReport, Message, Subscription } from './subscription.js';

// Bad input: whatever bytes another process publishes, a subscriber counts and reports what it
// cannot decode and keeps delivering the rest. Nothing is thrown, nothing is left unhandled.

let server: RedisHandle;
let raw: Redis;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  server = await startRedis();
  raw = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  raw.on('error', () => {});
  await waitFor('raw client ready', () => raw.status === 'ready');
});

afterAll(() => {
  raw.disconnect();
  process.off('unhandledRejection', onUnhandled);
});

/** The next message of `sub`, or a failure after `ms`. */
async function next<T>(sub: Subscription<T>, ms = 2_000): Promise<Message<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no message within ${ms} ms`)), ms);
  });
  try {
    const result = await Promise.race([sub.next(), timeout]);
    if (result.done) throw new Error('the iterator ended');
    return result.value;
  } finally {
    clearTimeout(timer);
  }
}

/** What the default JSON codec makes of `bytes`: the value, or `malformed`. */
function expectedJson(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(Buffer.from(bytes).toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

/** Random bytes, plus text that is almost JSON, plus real JSON (so both outcomes are exercised). */
const payloadArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 2_048 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary' }).map(utf8) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.json(), fc.nat(), fc.constantFrom('truncate', 'append', 'flip'))
      .map(([json, at, how]) => {
        const bytes = Buffer.from(json, 'utf8');
        const i = bytes.length === 0 ? 0 : at % bytes.length;
        if (how === 'truncate') return new Uint8Array(bytes.subarray(0, i));
        if (how === 'append') return new Uint8Array(Buffer.concat([bytes, Buffer.from([0xff])]));
        const copy = Buffer.from(bytes);
        if (copy.length > 0) copy[i] = copy[i]! ^ 0x80;
        return new Uint8Array(copy);
      }),
  },
  { weight: 2, arbitrary: fc.json().map(utf8) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      new Uint8Array(0),
      utf8('\uFEFF{}'),
      new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]),
      utf8('{"__proto__":{"polluted":true}}'),
      utf8('undefined'),
      utf8('NaN'),
      new Uint8Array([0xc0, 0x80]),
      new Uint8Array([0xed, 0xa0, 0x80]),
    ),
  },
);

describe('pub/sub with random payloads published by a raw client', () => {
  it('JSON codec: a non-JSON payload is counted and reported, a JSON one delivered, the iterator goes on', async () => {
    const ps: PubSub = createPubSub({ redis: server.url, logger: false });
    const sub = ps.subscribe('bytes');
    const psub = ps.subscribe({ patterns: ['byt?s'] });
    const reports: MalformedReport[] = [];
    const patternReports: MalformedReport[] = [];
    const errors: unknown[] = [];
    sub.on('malformed', (r) => reports.push(r));
    psub.on('malformed', (r) => patternReports.push(r));
    sub.on('error', (e) => errors.push(e));
    psub.on('error', (e) => errors.push(e));
    ps.on('error', (e) => errors.push(e));
    try {
      await Promise.all([sub.ready, psub.ready]);
      let seq = 0;
      let expectedMalformed = 0;
      let expectedValid = 0;
      await fc.assert(
        fc.asyncProperty(payloadArb, async (bytes) => {
          seq++;
          const expected = expectedJson(bytes);
          const before = reports.length;
          expect(await raw.publish('bytes', Buffer.from(bytes))).toBe(2);
          // A valid marker after each payload: the iterator must still deliver it.
          expect(await raw.publish('bytes', JSON.stringify({ seq }))).toBe(2);
          for (const [s, pattern] of [
            [sub, undefined],
            [psub, 'byt?s'],
          ] as const) {
            if (expected.ok) {
              const m = await next(s);
              expect(m.channel).toBe('bytes');
              expect(m.pattern).toBe(pattern);
              expect(m.data).toEqual(expected.value);
            }
            const marker = await next(s);
            expect(marker).toEqual(
              pattern === undefined
                ? { channel: 'bytes', data: { seq } }
                : { channel: 'bytes', pattern, data: { seq } },
            );
          }
          if (expected.ok) {
            expectedValid++;
            expect(reports.length).toBe(before);
          } else {
            expectedMalformed++;
            expect(reports.length).toBe(before + 1);
            const report = reports[reports.length - 1]!;
            expect(report.channel).toBe('bytes');
            expect(Buffer.compare(report.payload, Buffer.from(bytes))).toBe(0);
            expect(report.error).toBeInstanceOf(Error);
            const patternReport = patternReports[patternReports.length - 1]!;
            expect(patternReport.pattern).toBe('byt?s');
            expect(Buffer.compare(patternReport.payload, Buffer.from(bytes))).toBe(0);
          }
          expect(sub.stats().malformed).toBe(expectedMalformed);
          expect(psub.stats().malformed).toBe(expectedMalformed);
        }),
        { numRuns: 100 },
      );
      expect(expectedMalformed).toBeGreaterThan(20);
      expect(expectedValid).toBeGreaterThan(0);
      expect(patternReports.length).toBe(expectedMalformed);
      expect(sub.stats()).toMatchObject({
        malformed: expectedMalformed,
        delivered: seq + expectedValid,
        dropped: 0,
        buffered: 0,
      });
      // One decode per Redis message: both subscriptions share it, so the instance counts once
      // per message for the channel and once for the pattern delivery.
      expect(ps.stats().malformed).toBe(expectedMalformed * 2);
      expect(errors).toEqual([]);
      expect(unhandled).toEqual([]);
    } finally {
      await ps.close();
    }
  });

  it('buffer codec: any bytes are delivered exactly, never malformed', async () => {
    const ps = createPubSub<Buffer | string>({ redis: server.url, codec: bufferCodec });
    const sub = ps.subscribe('raw');
    const errors: unknown[] = [];
    sub.on('error', (e) => errors.push(e));
    try {
      await sub.ready;
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 4_096 }), async (bytes) => {
          expect(await raw.publish('raw', Buffer.from(bytes))).toBe(1);
          const m = await next(sub);
          expect(Buffer.isBuffer(m.data)).toBe(true);
          expect(Buffer.compare(m.data as Buffer, Buffer.from(bytes))).toBe(0);
        }),
        { numRuns: 100 },
      );
      expect(sub.stats().malformed).toBe(0);
      expect(errors).toEqual([]);
      expect(unhandled).toEqual([]);
    } finally {
      await ps.close();
    }
  });
});
