import type { LogFields, Problem } from '@x/connection';
import {
  closeAfter,
  resumeFrozen,
  sleep,
  startFailingRedis,
  startFaultProxy,
  startRedis,
  waitFor,
} from '@x/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { userTag } from './_internal/ids.js';
import { isSessionError } from './errors.js';
import { createExpressSessionStore } from './express-store.js';
import type { SessionStoreOptions } from './options.js';
import { createSessionStore, type SessionStore } from './session-store.js';

// Every call of the store, and of the express store on it, settles within the store's timeoutMs
// when Redis is refused, frozen or misconfigured, with a SessionUnavailableError whose
// `problem.kind` says which: at once for a refusal or a misconfiguration, at the deadline for a
// frozen server. `ready()` and `close()` are bounded too.

// A server a failed assertion left frozen would hold every close() below.
const open = closeAfter(afterEach, { first: resumeFrozen });

function store(options: SessionStoreOptions): SessionStore {
  const s = createSessionStore({ logger: false, ...options });
  open.push(s);
  return s;
}

interface Outcome {
  name: string;
  ms: number;
  error: unknown;
  value: unknown;
}

async function timed(name: string, call: () => Promise<unknown>): Promise<Outcome> {
  const started = performance.now();
  try {
    const value = await call();
    return { name, ms: performance.now() - started, error: undefined, value };
  } catch (error) {
    return { name, ms: performance.now() - started, error, value: undefined };
  }
}

function problemOf(error: unknown): Problem | undefined {
  return (error as { problem?: Problem }).problem;
}

/** An id of the right shape that was never issued (its owner is read from Redis first). */
const unknownId = `${'A'.repeat(32)}.${userTag('ann')}`;

/** Every call of the store and of the express store on it, one after the other. */
async function everyCall(s: SessionStore): Promise<Outcome[]> {
  const express = createExpressSessionStore({ store: s });
  const cookie = { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000) };
  const calls: [string, () => Promise<unknown>][] = [
    ['create', () => s.create('ann', { n: 1 })],
    ['get', () => s.get(unknownId)],
    ['update', () => s.update(unknownId, { n: 2 })],
    ['touch', () => s.touch(unknownId)],
    ['destroy', () => s.destroy(unknownId)],
    ['rotate', () => s.rotate(unknownId)],
    ['listUserSessions', () => s.listUserSessions('ann')],
    ['destroyUserSessions', () => s.destroyUserSessions('ann')],
    ['express get', () => express.get('sid-1')],
    ['express set', () => express.set('sid-1', { cookie })],
    ['express touch', () => express.touch('sid-1', { cookie })],
    ['express destroy', () => express.destroy('sid-1')],
    ['express length', () => express.length()],
  ];
  const outcomes: Outcome[] = [];
  for (const [name, call] of calls) outcomes.push(await timed(name, call));
  return outcomes;
}

/** Asserts every call failed closed within `maxMs`, with a problem of `kind`. */
function expectFailedClosed(outcomes: Outcome[], kind: string, maxMs: number): void {
  for (const { name, ms, error } of outcomes) {
    expect(isSessionError(error), `${name}: ${String(error)}`).toBe(true);
    expect(error, name).toMatchObject({
      name: 'SessionUnavailableError',
      code: 'E_SESSION_UNAVAILABLE',
    });
    expect(problemOf(error)?.kind, `${name}: ${String(error)}`).toBe(kind);
    expect((error as Error).message).toMatch(/^\[@x\/session\] Redis unavailable during /);
    expect(ms, name).toBeLessThan(maxMs);
  }
}

describe('Redis refused (nothing listens)', () => {
  it('every call fails closed at once with a refused problem; ready() at its deadline; close() at once', async () => {
    const { server } = await startFailingRedis('refused');
    const s = store({ redis: server.url, timeoutMs: 500 });
    const outcomes = await everyCall(s);
    expectFailedClosed(outcomes, 'refused', 250);
    expect(s.stats()).toMatchObject({ failedClosed: outcomes.length, servedFromMemory: 0 });
    expect(s.stats().redis.problem?.kind).toBe('refused');
    expect((outcomes[0]!.error as Error).message).toMatch(/ECONNREFUSED.*start Redis there/);

    const ready = await timed('ready', () => s.ready({ timeoutMs: 300 }));
    expect(ready.ms).toBeGreaterThanOrEqual(280);
    expect(ready.ms).toBeLessThan(600);
    expect(ready.error).toMatchObject({ code: 'E_SESSION_UNAVAILABLE', operation: 'ready' });
    expect(problemOf(ready.error)?.kind).toBe('refused');

    const closed = await timed('close', () => s.close());
    expect(closed.ms).toBeLessThan(200);
    expect(s.stats().redis.state).toBe('closed');
  });

  it('with fallback memory, every call is served from memory at once', async () => {
    const { server } = await startFailingRedis('refused');
    const s = store({ redis: server.url, timeoutMs: 500, fallback: 'memory' });
    const outcomes = await everyCall(s);
    for (const { name, ms, error } of outcomes) {
      expect(error, name).toBeUndefined();
      expect(ms, name).toBeLessThan(250);
    }
    expect(outcomes.find((o) => o.name === 'listUserSessions')?.value).toHaveLength(1);
    expect(s.stats()).toMatchObject({ failedClosed: 0, created: 1 });
    expect(s.stats().servedFromMemory).toBeGreaterThanOrEqual(outcomes.length);
  });
});

describe('Redis frozen (SIGSTOP: connections accepted, nothing answers)', () => {
  it('every call fails closed by its deadline with a timeout problem, also those of two round trips', async () => {
    const { server } = await startFailingRedis('frozen');
    const s = store({ redis: server.url, timeoutMs: 300, breaker: false });
    const outcomes = await everyCall(s);
    expectFailedClosed(outcomes, 'timeout', 300 + 150);
    // The first one waited for its deadline; later ones may end sooner, when the connection resets
    // a handshake that never completes (it then reconnects), still with the timeout diagnosis.
    expect(outcomes[0]!.ms).toBeGreaterThanOrEqual(280);
    expect(s.stats().failedClosed).toBe(outcomes.length);

    const ready = await timed('ready', () => s.ready());
    expect(ready.ms).toBeGreaterThanOrEqual(280);
    expect(ready.ms).toBeLessThan(600);
    expect(problemOf(ready.error)?.kind).toBe('timeout');
  });

  it('a frozen server met after start: each call within its deadline, then at once once the breaker opened; close() bounded', async () => {
    const server = await startRedis();
    const s = store({ redis: server.url, timeoutMs: 300 });
    const id = await s.create('bea', { n: 1 });
    await server.freeze();
    const outcomes: Outcome[] = [];
    for (let i = 0; i < 7; i++) outcomes.push(await timed(`get ${i}`, () => s.get(id)));
    expectFailedClosed(outcomes, 'timeout', 300 + 150);
    // Five timeouts open the breaker (its default): the calls after it skip Redis.
    expect(outcomes[6]!.ms).toBeLessThan(50);
    expect(s.stats().redis).toMatchObject({ breaker: 'open', state: 'unusable', timeouts: 5 });

    const closed = await timed('close', () => s.close());
    expect(closed.ms).toBeLessThan(1_000 + 200);
    expect(s.stats().redis.state).toBe('closed');
  });

  it('a call of several round trips shares one deadline (slow link: one trip fits, two do not)', async () => {
    const server = await startRedis();
    const proxy = await startFaultProxy({ target: server });
    open.push(proxy);
    const s = store({ redis: proxy.url, timeoutMs: 400, breaker: false });
    // A second process: it does not know the session's owner, so its touch reads it first.
    const other = store({ redis: proxy.url, timeoutMs: 400, breaker: false });
    await Promise.all([s.ready(), other.ready()]);
    const id = await s.create('cid', { n: 1 });
    // Every script loaded (EVALSHA then answers in one round trip, no NOSCRIPT + EVAL).
    const warm = await s.create('cid', { n: 0 });
    await Promise.all([s.get(warm), s.listUserSessions('cid'), other.touch(warm)]);
    proxy.latency(120); // a round trip now takes about 240 ms
    const get = await timed('get', () => s.get(id));
    expect(get.error).toBeUndefined();
    expect(get.value).toMatchObject({ id, userId: 'cid' });
    expect(get.ms).toBeLessThan(400);
    const outcomes = [
      await timed('listUserSessions', () => s.listUserSessions('cid')), // LIST, then READ
      await timed('touch', () => other.touch(id)), // the owner, then TOUCH
    ];
    expectFailedClosed(outcomes, 'timeout', 400 + 100);
    for (const { name, ms } of outcomes) expect(ms, name).toBeGreaterThanOrEqual(380);
    proxy.pass();
    expect((await s.listUserSessions('cid')).map((x) => x.id).sort()).toEqual([id, warm].sort());
  });
});

describe('Redis misconfigured: reported at once, not after the deadline', () => {
  it('wrong password: every call fails closed at once with an auth problem, logged once at error level', async () => {
    const bad = await startFailingRedis('wrong-password');
    const lines: { msg: string; fields: LogFields }[] = [];
    const s = store({
      redis: bad.url,
      timeoutMs: 5_000,
      logger: (msg, fields) => lines.push({ msg, fields }),
    });
    const outcomes = await everyCall(s);
    expectFailedClosed(outcomes, 'auth', 1_000);
    expect((outcomes[0]!.error as Error).message).toMatch(/WRONGPASS.*REDIS_PASSWORD/);
    const ready = await timed('ready', () => s.ready());
    expect(ready.ms).toBeLessThan(200);
    expect(ready.error).toMatchObject({ code: 'E_SESSION_UNAVAILABLE', operation: 'ready' });
    expect(problemOf(ready.error)).toMatchObject({ kind: 'auth', misconfiguration: true });
    expect(s.stats().redis.problem?.kind).toBe('auth');
    await sleep(200);
    const errors = lines.filter((l) => l.fields.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toMatch(/misconfigured \(auth\)/);
    expect(JSON.stringify(lines)).not.toContain(bad.password);
    const closed = await timed('close', () => s.close());
    expect(closed.ms).toBeLessThan(1_200);
  });

  it('wrong password with fallback memory: served from memory at once, the cause still in stats', async () => {
    const bad = await startFailingRedis('wrong-password');
    const s = store({
      redis: bad.url,
      timeoutMs: 5_000,
      fallback: 'memory',
    });
    await expect(s.ready()).rejects.toMatchObject({ problem: { kind: 'auth' } });
    const outcomes = await everyCall(s);
    for (const { name, ms, error } of outcomes) {
      expect(error, name).toBeUndefined();
      expect(ms, name).toBeLessThan(200);
    }
    expect(s.stats().redis.problem?.kind).toBe('auth');
    expect(s.stats().failedClosed).toBe(0);
  });

  it('TLS mismatch (a TLS server reached with redis://): a tls problem, not an outage', async () => {
    const { url } = await startFailingRedis('tls-mismatch');
    const s = store({ redis: url, timeoutMs: 3_000 });
    const first = await timed('create', () => s.create('ann', {}));
    expect(first.ms).toBeLessThan(3_000 + 200);
    expect(first.error).toMatchObject({ code: 'E_SESSION_UNAVAILABLE' });
    // The server drops the plain-text connection before the connection has asked it which
    // protocol it speaks (a few ms later): the very first call may still see that refusal.
    expect(['refused', 'tls']).toContain(problemOf(first.error)?.kind);
    const ready = await timed('ready', () => s.ready());
    expect(ready.ms).toBeLessThan(1_000);
    expect(problemOf(ready.error)).toMatchObject({ kind: 'tls', misconfiguration: true });
    expect(problemOf(ready.error)!.hint).toMatch(/rediss:\/\//);
    const outcomes = await everyCall(s);
    expectFailedClosed(outcomes, 'tls', 200);
    expect(s.stats().redis.problem?.kind).toBe('tls');
  });
});

describe('close()', () => {
  it('is idempotent and bounded; later calls fail closed without a problem', async () => {
    const server = await startRedis();
    const s = store({ redis: server.url });
    await s.ready();
    const closing = s.close();
    expect(s.close()).toBe(closing);
    await closing;
    const error = await s.get(unknownId).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_SESSION_UNAVAILABLE', operation: 'get' });
    expect(problemOf(error)).toBeUndefined();
    expect((error as Error).message).toMatch(/closed: create a new one/);
    await expect(s.ready()).rejects.toMatchObject({ code: 'E_SESSION_UNAVAILABLE' });
    await waitFor('client closed', () => s.stats().redis.state === 'closed');
  });
});
