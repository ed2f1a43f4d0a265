import { type RedisHandle, startRedis, waitFor } from '@x/testkit';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSessionError } from './errors.js';
import { createExpressSessionStore } from './express-store.js';
import { createSessionStore, type SessionStore } from './session-store.js';

// Bad input: a session id comes from a cookie, so it is attacker-controlled. Anything that is not
// the shape of an id this store issues is rejected with a typed error before any Redis call; an id
// of the right shape that was never issued reaches Redis and finds nothing. (The express-session
// store is different: there the application chooses the id; see the last describe.)

/** The documented shape: base64url of >= 16 random bytes, a dot, 4 hex digits of hash tag. */
const ID_SHAPE = /^[A-Za-z0-9_-]{22,172}\.[0-9a-f]{4}$/;

let server: RedisHandle;
let raw: Redis;
let store: SessionStore;

beforeAll(async () => {
  server = await startRedis();
  raw = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  raw.on('error', () => {});
  await waitFor('raw client ready', () => raw.status === 'ready');
  store = createSessionStore({ redis: server.url, timeoutMs: 1_000 });
  // Warm up: the store's connection is open (its start-up PING answered) and its scripts loaded
  // before anything is counted.
  await store.ready();
  const id = await store.create('warm-up', { n: 1 });
  expect(await store.destroy(id)).toBe(true);
});

afterAll(async () => {
  await store.close();
  raw.disconnect();
});

/** Commands the server has run so far, except the INFO calls this count makes itself. */
async function commandsRun(): Promise<number> {
  const text = await raw.info('commandstats');
  let total = 0;
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (m[1] !== 'info') total += Number(m[2]);
  }
  return total;
}

const wellFormedArb = fc
  .tuple(fc.stringMatching(/^[A-Za-z0-9_-]{22,172}$/), fc.stringMatching(/^[0-9a-f]{4}$/))
  .map(([random, tag]) => `${random}.${tag}`);

/** Ids one edit away from the right shape. */
const nearMissArb = fc
  .tuple(
    wellFormedArb,
    fc.constantFrom(
      (id: string) => `${id}\n`,
      (id: string) => ` ${id}`,
      (id: string) => id.toUpperCase().replace(/\.([0-9A-F]{4})$/, '.$1X'),
      (id: string) => id.replace('.', ''),
      (id: string) => id.replace('.', '..'),
      (id: string) => id.slice(0, -1),
      (id: string) => `${id}0`,
      (id: string) => `{${id}}`,
      (id: string) => id.replace(/^./, '+'),
      (id: string) => id.replace(/^./, '/'),
      (id: string) => id.replace(/^./, '='),
      (id: string) => id.replace(/^./, '*'),
      (id: string) => id.replace(/^./, '\u0000'),
      (id: string) => id.replace(/^./, 'é'),
      (id: string) => `${'A'.repeat(21)}${id.slice(-5)}`,
      (id: string) => `${'A'.repeat(173)}${id.slice(-5)}`,
      (id: string) => id.replace(/\.[0-9a-f]{4}$/, '.ABCD'),
      (id: string) => id.replace(/\.[0-9a-f]{4}$/, '.gggg'),
      (id: string) => `sess:${id}`,
      (id: string) => `${id}*`,
    ),
  )
  .map(([id, edit]) => edit(id));

const anyIdArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.base64String(),
  fc.string({ unit: fc.constantFrom(...'Aa0_-.*?[]{}\\:'), maxLength: 200 }),
  nearMissArb,
  fc.anything(),
);

type Op = 'get' | 'update' | 'touch' | 'destroy' | 'rotate';
const OPS: readonly Op[] = ['get', 'update', 'touch', 'destroy', 'rotate'];

function call(op: Op, id: unknown): Promise<unknown> {
  const s = store as unknown as Record<Op, (id: unknown, patch?: object) => Promise<unknown>>;
  return op === 'update' ? s.update(id, { x: 1 }) : s[op](id);
}

describe('session ids from untrusted input', () => {
  it('a string not of the id shape is rejected with InvalidSessionIdError, before any Redis call', async () => {
    let rejected = 0;
    await fc.assert(
      fc.asyncProperty(anyIdArb, fc.constantFrom(...OPS), async (id, op) => {
        fc.pre(!(typeof id === 'string' && ID_SHAPE.test(id)));
        expect(store.isValidId(id)).toBe(false);
        const before = await commandsRun();
        let caught: unknown;
        try {
          await call(op, id);
        } catch (error) {
          caught = error;
        }
        expect(isSessionError(caught)).toBe(true);
        const error = caught as { code: string; name: string; message: string };
        expect(error.code).toBe('E_SESSION_INVALID_ID');
        expect(error.name).toBe('InvalidSessionIdError');
        // The forged value is never echoed.
        if (typeof id === 'string' && id.length >= 8) expect(error.message).not.toContain(id);
        expect(await commandsRun()).toBe(before);
        rejected++;
      }),
      { numRuns: 400 },
    );
    expect(rejected).toBeGreaterThan(300);
  });

  it('an id of the right shape that was never issued reaches Redis and finds nothing', async () => {
    await fc.assert(
      fc.asyncProperty(wellFormedArb, fc.constantFrom(...OPS), async (id, op) => {
        expect(ID_SHAPE.test(id)).toBe(true);
        expect(store.isValidId(id)).toBe(true);
        const before = await commandsRun();
        const result = await call(op, id);
        const expected = { get: null, update: false, touch: null, destroy: false, rotate: null };
        expect(result).toBe(expected[op]);
        // It did reach Redis (so the count above would see a call that should not be there).
        expect(await commandsRun()).toBeGreaterThan(before);
      }),
      { numRuns: 100 },
    );
    // Nothing was created by those misses.
    expect(await raw.dbsize()).toBe(0);
  });

  it('a real id still works after all that noise (the store is not poisoned)', async () => {
    const id = await store.create('alice', { role: 'admin' });
    expect(ID_SHAPE.test(id)).toBe(true);
    expect((await store.get(id))?.data).toEqual({ role: 'admin' });
    expect(await store.destroy(id)).toBe(true);
    expect(await store.get(id)).toBeNull();
  });
});

describe('express-session store with random sids', () => {
  // express-session and @fastify/session let the application choose the sid (`genid`): any
  // string is a valid sid there. The store keeps each one under a key of its own, safe for Cluster
  // hash tags and SCAN patterns, and refuses only one longer than `maxIdLength` (typed, no Redis call).
  const KEY_SHAPE = /^bad:x:\{[A-Za-z0-9_.%-]+\}$/;
  const cb = <T>(fn: (done: (error?: unknown, value?: T) => void) => void) =>
    new Promise<{ error: unknown; value: T | undefined }>((resolve) => {
      fn((error, value) => resolve({ error, value }));
    });

  it('any sid: stored under a safe key of its own, read back, listed, destroyed', async () => {
    const sessions = createSessionStore({ redis: server.url, keyPrefix: 'bad:', timeoutMs: 1_000 });
    const express = createExpressSessionStore({ store: sessions, maxIdLength: 300 });
    const cookie = { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000).toISOString() };
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.string({ maxLength: 300 }),
            fc.string({ unit: 'binary', maxLength: 300 }),
            nearMissArb,
            fc.base64String({ maxLength: 300 }),
          ),
          async (sid) => {
            await raw.del(...(await raw.keys('bad:*')), 'bad:none');
            expect(await cb((d) => express.get(sid, d))).toEqual({ error: null, value: null });
            const session = { cookie, sid };
            expect((await cb((d) => express.set(sid, session, d))).error).toBeNull();
            expect(await cb((d) => express.get(sid, d))).toEqual({ error: null, value: session });
            const keys = await raw.keys('bad:*');
            expect(keys).toHaveLength(1);
            expect(keys[0]).toMatch(KEY_SHAPE);
            expect(await express.ids()).toEqual([sid]);
            expect((await cb((d) => express.touch(sid, session, d))).error).toBeNull();
            expect((await cb((d) => express.destroy(sid, d))).error).toBeNull();
            expect(await express.get(sid)).toBeNull();
            expect(await express.length()).toBe(0);
          },
        ),
        { numRuns: 200 },
      );
    } finally {
      await sessions.close();
    }
  });

  it('a sid longer than maxIdLength, or not a string: a typed error, no Redis call', async () => {
    const express = createExpressSessionStore({ store, maxIdLength: 64 });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ minLength: 65, maxLength: 2_000 }),
          fc.constantFrom(undefined, null, 42, {}, ['a']),
        ),
        async (sid) => {
          const before = await commandsRun();
          const session = { cookie: { originalMaxAge: 1000 } };
          for (const result of [
            await cb((d) => express.get(sid as string, d)),
            await cb((d) => express.set(sid as string, session, d)),
            await cb((d) => express.touch(sid as string, session, d)),
            await cb((d) => express.destroy(sid as string, d)),
          ]) {
            expect(isSessionError(result.error)).toBe(true);
            expect((result.error as { code: string }).code).toBe('E_SESSION_INVALID_ID');
          }
          expect(await commandsRun()).toBe(before);
        },
      ),
      { numRuns: 100 },
    );
  });
});
