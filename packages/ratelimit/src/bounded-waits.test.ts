import diagnostics_channel from 'node:diagnostics_channel';
import {
  CONNECTION_CHANNELS,
  type ConnectionProblemMessage,
  type LogFields,
  type Problem,
} from '@x/connection';
import {
  closeAfter,
  rejection,
  resumeFrozen,
  sleep,
  startFailingRedis,
  startRedis,
  timed,
  waitFor,
} from '@x/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { smallLimiter } from './_fixtures/limiters.js';
import { isRateLimitUnavailableError } from './errors.js';
import type { RateLimitResult } from './types.js';

// Every wait a user can meet (consume, peek, reset, close) settles by its deadline when Redis is
// refused, frozen or misconfigured: consume and peek are decided by the fallback, reset rejects
// with RateLimitUnavailableError carrying the connection's diagnosis; a misconfiguration is
// noticed at once (not after the deadline), shown in stats() and logged once.

// A server a failed assertion left frozen would hold every close() below.
const open = closeAfter(afterEach, { first: resumeFrozen });

function problemOf(error: unknown): Problem | undefined {
  return (error as { problem?: Problem }).problem;
}

const summary = (r: RateLimitResult) => [r.allowed, r.remaining, r.source];

describe('Redis refused (nothing listens)', () => {
  it('consume and peek decide locally at once; reset rejects with a refused problem; close is bounded', async () => {
    const { server } = await startFailingRedis('refused');
    const rl = smallLimiter(open, { redis: server.url, timeoutMs: 300 });
    const first = await timed(rl.consume('k'));
    expect(first.ms).toBeLessThan(800);
    expect(summary(first.value)).toEqual([true, 1, 'local']);
    const peeked = await timed(rl.peek('k'));
    expect(peeked.ms).toBeLessThan(100);
    expect(summary(peeked.value)).toEqual([true, 1, 'local']);
    const reset = await rejection(rl.reset('k'));
    expect(reset.ms).toBeLessThan(800);
    expect(isRateLimitUnavailableError(reset.error)).toBe(true);
    expect(reset.error).toMatchObject({
      name: 'RateLimitUnavailableError',
      code: 'E_RATELIMIT_UNAVAILABLE',
      operation: 'reset',
    });
    expect(problemOf(reset.error)?.kind).toBe('refused');
    expect((reset.error as Error).message).toMatch(
      /^\[@x\/ratelimit\] Redis unavailable during reset: .*ECONNREFUSED/,
    );
    // The local state was reset all the same.
    expect(summary(await rl.consume('k'))).toEqual([true, 1, 'local']);
    expect(rl.stats()).toMatchObject({
      source: 'local',
      resetFailures: 1,
      redis: { name: '@x/ratelimit', state: 'unusable', problem: { kind: 'refused' } },
    });
    const closing = await timed(rl.close());
    expect(closing.ms).toBeLessThan(1_100);
  });

  it("with fallback 'closed' and 'open', every decision is the fallback's, within the deadline", async () => {
    const { server } = await startFailingRedis('refused');
    const closed = smallLimiter(open, { redis: server.url, timeoutMs: 300, fallback: 'closed' });
    const opened = smallLimiter(open, { redis: server.url, timeoutMs: 300, fallback: 'open' });
    for (let i = 0; i < 3; i++) {
      const c = await timed(closed.consume('k'));
      const o = await timed(opened.peek('k'));
      expect(c.ms).toBeLessThan(800);
      expect(o.ms).toBeLessThan(800);
      expect(summary(c.value)).toEqual([false, 0, 'closed']);
      expect(summary(o.value)).toEqual([true, 2, 'open']);
    }
    expect(closed.stats().redis.problem?.kind).toBe('refused');
    expect(problemOf((await rejection(opened.reset('k'))).error)?.kind).toBe('refused');
  });
});

describe('Redis frozen (SIGSTOP: connections accepted, nothing answers)', () => {
  it('a new limiter: consume, peek and reset settle at the deadline with a timeout problem; back on Redis after resume', async () => {
    const { server } = await startFailingRedis('frozen');
    const rl = smallLimiter(open, { redis: server.url, timeoutMs: 300, breaker: false });
    const [consumed, peeked, reset] = await Promise.all([
      timed(rl.consume('k')),
      timed(rl.peek('k')),
      rejection(rl.reset('k')),
    ]);
    for (const { ms } of [consumed, peeked, reset]) {
      expect(ms).toBeGreaterThanOrEqual(250);
      expect(ms).toBeLessThan(800);
    }
    expect(consumed.value.source).toBe('local');
    expect(peeked.value.source).toBe('local');
    expect(reset.error).toMatchObject({ code: 'E_RATELIMIT_UNAVAILABLE', operation: 'reset' });
    expect(problemOf(reset.error)?.kind).toBe('timeout');
    expect(rl.stats().redis.problem?.kind).toBe('timeout');

    await server.resume();
    await waitFor('back on Redis', async () => (await rl.consume('k2')).source === 'redis', {
      timeoutMs: 5_000,
      intervalMs: 50,
    });
  });

  it('a limiter in use: decisions cost at most the deadline; reset rejects by it; close is bounded and idempotent', async () => {
    const server = await startRedis();
    const rl = smallLimiter(open, { redis: server.url, timeoutMs: 300, breaker: false });
    expect((await rl.consume('k')).source).toBe('redis');
    await server.freeze();
    const consumed = await timed(rl.consume('k'));
    expect(consumed.ms).toBeLessThan(800);
    expect(consumed.value.source).toBe('local');
    const peeked = await timed(rl.peek('k'));
    expect(peeked.ms).toBeLessThan(800);
    const reset = await rejection(rl.reset('k'));
    expect(reset.ms).toBeLessThan(800);
    expect(problemOf(reset.error)?.kind).toBe('timeout');
    const started = performance.now();
    const closing = rl.close();
    expect(rl.close()).toBe(closing);
    await closing;
    expect(performance.now() - started).toBeLessThan(1_100);
    expect(rl.stats().redis.state).toBe('closed');
  });
});

describe('Redis misconfigured: noticed at once, not after the deadline', () => {
  it('wrong password: decided locally at once, reset rejects with an auth problem, logged once each', async () => {
    const bad = await startFailingRedis('wrong-password');
    const lines: { msg: string; fields: LogFields }[] = [];
    const rl = smallLimiter(open, {
      redis: bad.url,
      timeoutMs: 5_000,
      logger: (msg, fields) => lines.push({ msg, fields }),
    });
    const consumed = await timed(rl.consume('k'));
    expect(consumed.ms).toBeLessThan(1_000);
    expect(summary(consumed.value)).toEqual([true, 1, 'local']);
    const reset = await rejection(rl.reset('k'));
    expect(reset.ms).toBeLessThan(1_000);
    expect(reset.error).toMatchObject({ code: 'E_RATELIMIT_UNAVAILABLE' });
    expect(problemOf(reset.error)).toMatchObject({ kind: 'auth', misconfiguration: true });
    expect((reset.error as Error).message).toMatch(/WRONGPASS.*REDIS_PASSWORD/);
    expect(rl.stats().redis.problem?.kind).toBe('auth');
    const peeked = await timed(rl.peek('k'));
    expect(peeked.ms).toBeLessThan(100);
    expect(peeked.value.source).toBe('local');
    await sleep(300);
    // One error line from the connection (the misconfiguration), one warning from the limiter.
    const levels = lines.map((l) => l.fields.level);
    expect(levels.filter((l) => l === 'error')).toHaveLength(1);
    expect(levels.filter((l) => l === 'warn')).toHaveLength(1);
    expect(lines.find((l) => l.fields.level === 'error')!.msg).toMatch(/misconfigured \(auth\)/);
    expect(lines.find((l) => l.fields.level === 'warn')!.msg).toMatch(
      /^\[@x\/ratelimit\] Redis unavailable: deciding locally \(limit 2 per instance\)/,
    );
    expect(JSON.stringify(lines)).not.toContain(bad.password);
  });

  it('TLS mismatch (a TLS server reached with redis://): a tls problem, decided locally meanwhile', async () => {
    const { url } = await startFailingRedis('tls-mismatch');
    const rl = smallLimiter(open, { redis: url, timeoutMs: 3_000 });
    const consumed = await timed(rl.consume('k'));
    expect(consumed.ms).toBeLessThan(3_000);
    expect(consumed.value.source).toBe('local');
    // Found by asking the server which protocol it speaks, well before the deadline. The reset is
    // made as the connection publishes that diagnosis: its later reconnection attempts report
    // `refused` again a few ms after (a fault of @x/connection, reported).
    let reset: Promise<{ error: unknown; ms: number }> | undefined;
    const onProblem = (message: unknown): void => {
      const { connection, problem } = message as ConnectionProblemMessage;
      if (connection === '@x/ratelimit' && problem?.kind === 'tls' && reset === undefined) {
        reset = rejection(rl.reset('k'));
      }
    };
    diagnostics_channel.subscribe(CONNECTION_CHANNELS.problem, onProblem);
    try {
      await waitFor('a tls problem', () => reset !== undefined, { timeoutMs: 2_000 });
    } finally {
      diagnostics_channel.unsubscribe(CONNECTION_CHANNELS.problem, onProblem);
    }
    const { error, ms } = await reset!;
    expect(ms).toBeLessThan(100);
    expect(error).toMatchObject({ code: 'E_RATELIMIT_UNAVAILABLE', operation: 'reset' });
    expect(problemOf(error)).toMatchObject({ kind: 'tls', misconfiguration: true });
    expect(problemOf(error)!.hint).toMatch(/rediss:\/\//);
    const peeked = await timed(rl.peek('k'));
    expect(peeked.ms).toBeLessThan(100);
    expect(peeked.value.source).toBe('local');
  });
});
