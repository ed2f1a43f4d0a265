import { startRedis, waitFor } from '@x/testkit';
import Redis, { Command, type RedisOptions } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createBreaker } from './breaker.js';
import {
  BreakerOpenError,
  GuardTimeoutError,
  isBreakerOpenError,
  isGuardTimeoutError,
} from './errors.js';
import {
  createGuard,
  type GuardOperation,
  type GuardOptions,
  type GuardSendOperation,
} from './guard.js';

const clients: Redis[] = [];
async function client(port: number, options: RedisOptions = {}): Promise<Redis> {
  // Fail-fast options as @x/config sets them: no offline queue, bounded retries.
  const c = new Redis(port, '127.0.0.1', {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 50,
    lazyConnect: true,
    ...options,
  });
  c.on('error', () => {});
  clients.push(c);
  await c.connect();
  return c;
}
afterEach(() => {
  for (const c of clients.splice(0)) c.disconnect();
});

async function settle(p: Promise<unknown>): Promise<unknown> {
  try {
    return await p;
  } catch (error) {
    return error;
  }
}

const never = (): Promise<never> => new Promise(() => {});

describe('createGuard against a real frozen server (SIGSTOP)', () => {
  it('settles every call by its deadline, opens the breaker, then serves the fallback without touching Redis', async () => {
    const r = await startRedis();
    const redis = await client(r.port);
    await redis.set('k', 'from-redis');
    const timeoutMs = 150;
    const guard = createGuard({ timeoutMs, breaker: { maxFailures: 3, resetTimeout: 60_000 } });
    let redisCalls = 0;
    const get = (): Promise<string | null> => {
      redisCalls++;
      return redis.get('k');
    };
    const fallback = (error: unknown): string => (isGuardTimeoutError(error) ? 'timeout' : 'open');

    expect(await guard.execute(get, fallback)).toBe('from-redis');
    await r.freeze();

    // Three calls in parallel and one after: each settles within its deadline + a margin.
    const started = performance.now();
    const parallel = await Promise.all([1, 2, 3].map(() => guard.execute(get, fallback)));
    const elapsed = performance.now() - started;
    expect(parallel).toEqual(['timeout', 'timeout', 'timeout']);
    expect(elapsed).toBeGreaterThanOrEqual(timeoutMs * 0.85);
    expect(elapsed).toBeLessThan(timeoutMs + 100);
    expect(guard.breaker?.state).toBe('open');
    expect(redisCalls).toBe(4);

    // Open: the fallback is served and Redis is not called at all.
    for (let i = 0; i < 100; i++) expect(await guard.execute(get, fallback)).toBe('open');
    expect(redisCalls).toBe(4);
    const stats = guard.stats();
    expect(stats).toMatchObject({
      requests: 104,
      successes: 1,
      timeouts: 3,
      rejects: 100,
      fallbacks: 103,
      pending: 0,
    });
    expect(stats.breaker).toMatchObject({ state: 'open', failures: 3, timeouts: 3, rejects: 100 });
    await r.resume();
  });

  it('without a fallback rejects with GuardTimeoutError, then BreakerOpenError', async () => {
    const r = await startRedis();
    const redis = await client(r.port);
    await redis.ping();
    await r.freeze();
    const guard = createGuard({ timeoutMs: 100, breaker: { maxFailures: 1 } });
    const started = performance.now();
    const timeout = await settle(guard.execute(() => redis.get('k')));
    expect(performance.now() - started).toBeLessThan(200);
    expect(timeout).toBeInstanceOf(GuardTimeoutError);
    expect(timeout).toMatchObject({ code: 'E_GUARD_TIMEOUT', timeoutMs: 100 });
    const open = await settle(guard.execute(() => redis.get('k')));
    expect(open).toBeInstanceOf(BreakerOpenError);
    expect(open).toMatchObject({ code: 'E_BREAKER_OPEN', state: 'open' });
    await r.resume();
  });

  it('recovers: half-open probes reach the resumed server and close the circuit', async () => {
    const r = await startRedis();
    const redis = await client(r.port);
    await redis.set('k', 'v');
    const guard = createGuard({
      timeoutMs: 100,
      breaker: { maxFailures: 1, resetTimeout: 200, successThreshold: 2 },
    });
    await r.freeze();
    expect(
      await guard.execute(
        () => redis.get('k'),
        () => 'fallback',
      ),
    ).toBe('fallback');
    expect(guard.breaker?.state).toBe('open');
    await r.resume();
    const closed = new Promise((resolve) => guard.breaker?.once('close', () => resolve('closed')));
    const deadline = Date.now() + 3000;
    const seen: string[] = [];
    while (guard.breaker?.state !== 'closed' && Date.now() < deadline) {
      seen.push(
        String(
          await guard.execute(
            () => redis.get('k'),
            () => 'fallback',
          ),
        ),
      );
      await new Promise((res) => setTimeout(res, 20));
    }
    expect(await closed).toBe('closed');
    expect(seen.at(-1)).toBe('v');
    expect(seen.filter((v) => v === 'v')).toHaveLength(2);
  });
});

describe('createGuard against a real server', () => {
  it('rethrows WRONGTYPE untouched: no fallback, no breaker failure', async () => {
    const r = await startRedis();
    const redis = await client(r.port);
    await redis.set('s', 'v');
    const guard = createGuard({ timeoutMs: 500, breaker: { maxFailures: 1 } });
    let fallbacks = 0;
    for (let i = 0; i < 3; i++) {
      const error = await settle(
        guard.execute(
          () => redis.lpush('s', 'x'),
          () => {
            fallbacks++;
            return 0;
          },
        ),
      );
      expect((error as Error).message).toMatch(/^WRONGTYPE /);
      expect((error as Error).name).toBe('ReplyError');
    }
    expect(fallbacks).toBe(0);
    expect(guard.breaker?.state).toBe('closed');
    expect(guard.stats()).toMatchObject({ ignoredErrors: 3, failures: 0, fallbacks: 0 });
    expect(guard.stats().breaker).toMatchObject({ failures: 0, ignoredErrors: 3 });
  });

  it('sends a refused connection to the fallback, or rejects with the original error', async () => {
    const r = await startRedis();
    const redis = await client(r.port, { retryStrategy: () => null });
    await redis.ping();
    await r.kill();
    await waitFor('the client to give up', () => redis.status === 'end');
    const guard = createGuard({ timeoutMs: 500, breaker: { maxFailures: 2 } });
    const viaFallback = await guard.execute(
      () => redis.get('k'),
      (error) => `fallback: ${(error as Error).message}`,
    );
    expect(viaFallback).toMatch(/^fallback: (Connection is closed\.|Stream isn't writeable)/);
    const error = await settle(guard.execute(() => redis.get('k')));
    expect((error as Error).message).toMatch(/^(Connection is closed\.|Stream isn't writeable)/);
    expect(guard.breaker?.state).toBe('open');
  });
});

describe('createGuard: deadline mechanics', () => {
  it('times out each call at its own deadline, in start order', async () => {
    const guard = createGuard({ timeoutMs: 100, breaker: false });
    const order: number[] = [];
    const took: number[] = [];
    const calls = [0, 40, 80].map(async (delay, i) => {
      await new Promise((res) => setTimeout(res, delay));
      const start = performance.now();
      const error = await settle(guard.execute(never));
      expect(isGuardTimeoutError(error)).toBe(true);
      took.push(performance.now() - start);
      order.push(i);
    });
    await Promise.all(calls);
    expect(order).toEqual([0, 1, 2]);
    // Never more than one tick (timeoutMs / 10) early; late only by the event loop's delay.
    for (const t of took) {
      expect(t).toBeGreaterThanOrEqual(85);
      expect(t).toBeLessThan(200);
    }
    expect(guard.stats()).toMatchObject({ timeouts: 3, pending: 0, breaker: undefined });
  });

  it('keeps one list for many concurrent calls and empties it', async () => {
    const guard = createGuard({ timeoutMs: 50, breaker: false });
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        guard.execute(i % 2 === 0 ? never : () => Promise.resolve(i), () => -1),
      ),
    );
    expect(results.filter((v) => v === -1)).toHaveLength(500);
    expect(results.filter((v) => v !== -1).reduce((a, b) => a + b, 0)).toBe(250_000);
    expect(guard.stats()).toMatchObject({
      pending: 0,
      timeouts: 500,
      successes: 500,
      fallbacks: 500,
    });
  });

  it('leaves no timer running once every call has settled', async () => {
    const timers = (): number =>
      process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await new Promise((res) => setTimeout(res, 120)); // earlier tests' timers run out
    const before = timers();
    const guard = createGuard({ timeoutMs: 100, breaker: false });
    const calls = Promise.all([
      guard.execute(() => Promise.resolve(1)),
      guard.execute(never, () => 0),
    ]);
    expect(timers()).toBe(before + 1); // one shared timer for both calls
    expect(await calls).toEqual([1, 0]);
    await new Promise((res) => setTimeout(res, 30)); // it stops within one tick (10 ms)
    expect(timers()).toBe(before);
  });

  it('ignores a result that arrives after the deadline', async () => {
    const guard = createGuard({ timeoutMs: 50, breaker: { maxFailures: 10 } });
    let late!: (v: string) => void;
    const result = await guard.execute(
      () => new Promise<string>((res) => (late = res)),
      () => 'fallback',
    );
    expect(result).toBe('fallback');
    late('late');
    await new Promise((res) => setTimeout(res, 10));
    expect(guard.stats()).toMatchObject({ successes: 0, timeouts: 1, pending: 0 });
  });

  it('a late rejection after the deadline is not an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => {
      unhandled.push(e);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const guard = createGuard({ timeoutMs: 30 });
      let fail!: (e: Error) => void;
      const error = await settle(guard.execute(() => new Promise((_, rej) => (fail = rej))));
      expect(isGuardTimeoutError(error)).toBe(true);
      fail(new Error('late'));
      await new Promise((res) => setTimeout(res, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('counts a timed-out half-open probe as a failed probe', async () => {
    const breaker = createBreaker({ maxFailures: 1, resetTimeout: 50 });
    const guard = createGuard({ timeoutMs: 30, breaker });
    await guard.execute(never, () => 0);
    expect(breaker.state).toBe('open');
    await new Promise((res) => setTimeout(res, 60));
    expect(breaker.state).toBe('half-open');
    const probe = guard.execute(never, () => 'probe timed out');
    expect(await guard.execute(never, (e) => (isBreakerOpenError(e) ? 'rejected' : '?'))).toBe(
      'rejected',
    );
    expect(await probe).toBe('probe timed out');
    expect(breaker.state).toBe('open');
  });
});

describe('createGuard: fallback, signal, breaker sharing', () => {
  it('passes the error to the fallback; a throwing or rejecting fallback rejects the call', async () => {
    const guard = createGuard({ timeoutMs: 100, breaker: false });
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    let seen: unknown;
    expect(
      await guard.execute(
        () => Promise.reject(refused),
        (e) => {
          seen = e;
          return 'x';
        },
      ),
    ).toBe('x');
    expect(seen).toBe(refused);
    const thrown = new Error('fallback failed');
    expect(
      await settle(
        guard.execute(
          () => Promise.reject(refused),
          () => {
            throw thrown;
          },
        ),
      ),
    ).toBe(thrown);
    expect(
      await settle(
        guard.execute(
          () => Promise.reject(refused),
          () => Promise.reject(thrown),
        ),
      ),
    ).toBe(thrown);
    expect(await guard.execute(never, async () => 'async fallback')).toBe('async fallback');
  });

  it('settles at once with the reason when the signal aborts, without a breaker failure', async () => {
    const breaker = createBreaker({ maxFailures: 1 });
    const guard = createGuard({ timeoutMs: 1000, breaker });
    const controller = new AbortController();
    let received: AbortSignal | undefined;
    const call = guard.execute(
      (signal) => {
        received = signal;
        return never();
      },
      () => 'fallback',
      { signal: controller.signal },
    );
    const reason = new Error('client went away');
    setTimeout(() => controller.abort(reason), 20);
    const started = performance.now();
    expect(await settle(call)).toBe(reason);
    expect(performance.now() - started).toBeLessThan(200);
    expect(received).toBe(controller.signal);
    expect(breaker.state).toBe('closed');
    expect(guard.stats()).toMatchObject({ pending: 0, failures: 0, timeouts: 0 });

    let runs = 0;
    expect(
      await settle(guard.execute(() => ++runs, undefined, { signal: AbortSignal.abort(reason) })),
    ).toBe(reason);
    expect(runs).toBe(0);
  });

  it('abortOnTimeout: gives fn a signal that aborts at the deadline or with the caller', async () => {
    const guard = createGuard({ timeoutMs: 50, breaker: false, abortOnTimeout: true });
    let timedOut: AbortSignal | undefined;
    const sent: string[] = [];
    const error = await settle(
      guard.execute(async (signal) => {
        timedOut = signal;
        await new Promise((res) => setTimeout(res, 100)); // e.g. waiting for a connection
        if (!signal?.aborted) sent.push('late command');
      }),
    );
    expect(isGuardTimeoutError(error)).toBe(true);
    expect(timedOut?.aborted).toBe(true);
    expect(timedOut?.reason).toBe(error);
    await new Promise((res) => setTimeout(res, 80));
    expect(sent).toEqual([]);

    const controller = new AbortController();
    let fromCaller: AbortSignal | undefined;
    const call = guard.execute(
      (signal) => {
        fromCaller = signal;
        return never();
      },
      undefined,
      { signal: controller.signal },
    );
    expect(fromCaller).not.toBe(controller.signal);
    expect(fromCaller?.aborted).toBe(false);
    const reason = new Error('caller left');
    controller.abort(reason);
    expect(await settle(call)).toBe(reason);
    expect(fromCaller?.reason).toBe(reason);

    let untouched: AbortSignal | undefined;
    await guard.execute((signal) => {
      untouched = signal;
      return 1;
    });
    expect(untouched?.aborted).toBe(false);
  });

  it('removes its abort listener when the call settles', async () => {
    const guard = createGuard({ timeoutMs: 1000, breaker: false });
    const controller = new AbortController();
    let added = 0;
    let removed = 0;
    const signal = controller.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => {
      added++;
      add(...args);
    }) as typeof signal.addEventListener;
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      removed++;
      remove(...args);
    }) as typeof signal.removeEventListener;
    for (let i = 0; i < 10; i++)
      await guard.execute(() => Promise.resolve(i), undefined, { signal });
    expect(added).toBe(10);
    expect(removed).toBe(10);
  });

  it('shares one breaker between guards', async () => {
    const breaker = createBreaker({ maxFailures: 2 });
    const a = createGuard({ timeoutMs: 30, breaker });
    const b = createGuard({ timeoutMs: 30, breaker });
    await a.execute(never, () => 0);
    await b.execute(never, () => 0);
    expect(breaker.state).toBe('open');
    let runs = 0;
    expect(
      await a.execute(
        () => ++runs,
        () => -1,
      ),
    ).toBe(-1);
    expect(runs).toBe(0);
    expect(a.breaker).toBe(breaker);
    expect(breaker.stats()).toMatchObject({ timeouts: 2, fallbacks: 3, rejects: 1 });
  });

  it('uses the breaker isFailure to decide what goes to the fallback', async () => {
    const busy = new Error('busy');
    const guard = createGuard({ timeoutMs: 100, breaker: { isFailure: (e) => e === busy } });
    expect(
      await guard.execute(
        () => Promise.reject(busy),
        () => 'fb',
      ),
    ).toBe('fb');
    const other = Object.assign(new Error('x'), { code: 'ECONNREFUSED' });
    expect(
      await settle(
        guard.execute(
          () => Promise.reject(other),
          () => 'fb',
        ),
      ),
    ).toBe(other);
  });

  it('treats an error from a throwing isFailure as a failure, never leaving a call unsettled', async () => {
    const guard = createGuard({
      timeoutMs: 1000,
      breaker: { maxFailures: 1 },
      isFailure: () => {
        throw new Error('predicate bug');
      },
    });
    const started = performance.now();
    expect(
      await guard.execute(
        () => Promise.reject(new Error('x')),
        () => 'fb',
      ),
    ).toBe('fb');
    expect(performance.now() - started).toBeLessThan(100);
    expect(guard.breaker?.state).toBe('open');
  });

  it('resolves plain (non-promise) values and catches synchronous throws', async () => {
    const guard = createGuard({ timeoutMs: 100 });
    expect(await guard.execute(() => 42)).toBe(42);
    const refused = Object.assign(new Error('x'), { code: 'ECONNREFUSED' });
    expect(
      await guard.execute(
        () => {
          throw refused;
        },
        () => 'fb',
      ),
    ).toBe('fb');
  });

  it.each<[string, unknown]>([
    ['options', null],
    ['timeoutMs', { timeoutMs: 0 }],
    ['timeoutMs', { timeoutMs: '1s' }],
    ['timeoutMs', {}],
    ['breaker', { timeoutMs: 10, breaker: 'yes' }],
    ['breaker', { timeoutMs: 10, breaker: { execute() {} } }],
    ['maxFailures', { timeoutMs: 10, breaker: { maxFailures: -1 } }],
    ['isFailure', { timeoutMs: 10, isFailure: 1 }],
    ['abortOnTimeout', { timeoutMs: 10, abortOnTimeout: 'yes' }],
  ])('rejects an invalid %s', (field, options) => {
    expect(() => createGuard(options as GuardOptions)).toThrow(
      expect.objectContaining({ code: 'E_BREAKER_OPTIONS', field }),
    );
  });
});

describe('guard.execute(operation): preallocated operations', () => {
  interface Seen {
    runs: number;
    fallbacks: [string, unknown, unknown, unknown][];
  }
  // One long-lived operation, as a hot path would hold it: arguments arrive per call.
  const SET: GuardOperation<boolean, Redis, string, string, Seen, 'OK' | null> = {
    run: (redis, key, value, seen) => {
      seen.runs++;
      return redis.set(key, value, 'NX');
    },
    map: (reply) => reply === 'OK',
    fallback: (error, redis, key, value, seen) => {
      seen.fallbacks.push([
        isGuardTimeoutError(error) ? 'timeout' : isBreakerOpenError(error) ? 'open' : 'error',
        redis,
        key,
        value,
      ]);
      return false;
    },
  };

  it('passes the target and arguments to run, maps the value, and serves the fallback with them on a frozen server', async () => {
    const r = await startRedis();
    const redis = await client(r.port);
    const guard = createGuard({
      timeoutMs: 150,
      breaker: { maxFailures: 2, resetTimeout: 60_000 },
    });
    const seen: Seen = { runs: 0, fallbacks: [] };
    expect(await guard.execute(SET, redis, 'a', '1', seen)).toBe(true);
    expect(await guard.execute(SET, redis, 'a', '2', seen)).toBe(false); // NX: null mapped to false
    expect(await redis.get('a')).toBe('1');
    expect(seen.fallbacks).toEqual([]);

    await r.freeze();
    const started = performance.now();
    const frozen = await Promise.all([
      guard.execute(SET, redis, 'b', 'x', seen),
      guard.execute(SET, redis, 'c', 'y', seen),
    ]);
    const elapsed = performance.now() - started;
    expect(frozen).toEqual([false, false]);
    expect(elapsed).toBeGreaterThanOrEqual(150 * 0.85);
    expect(elapsed).toBeLessThan(150 + 100);
    expect(guard.breaker?.state).toBe('open');
    // Open circuit: run is not called, the fallback gets the arguments.
    expect(await guard.execute(SET, redis, 'd', 'z', seen)).toBe(false);
    expect(seen.runs).toBe(4);
    expect(seen.fallbacks).toEqual([
      ['timeout', redis, 'b', 'x'],
      ['timeout', redis, 'c', 'y'],
      ['open', redis, 'd', 'z'],
    ]);
    expect(guard.stats()).toMatchObject({
      requests: 5,
      successes: 2,
      timeouts: 2,
      rejects: 1,
      fallbacks: 3,
      pending: 0,
    });
    await r.resume();
  });

  it('without a fallback rejects with the typed errors; rethrows a command error unmapped', async () => {
    const r = await startRedis();
    const redis = await client(r.port);
    await redis.lpush('list', 'x');
    const guard = createGuard({ timeoutMs: 100, breaker: { maxFailures: 1 } });
    let maps = 0;
    const GET: GuardOperation<string, Redis, string, undefined, undefined, string | null> = {
      run: (c, key) => c.get(key),
      map: (value) => {
        maps++;
        return `got ${value}`;
      },
    };
    const wrongType = await settle(guard.execute(GET, redis, 'list'));
    expect((wrongType as Error).message).toMatch(/^WRONGTYPE /);
    expect(maps).toBe(0);
    expect(guard.breaker?.state).toBe('closed');
    expect(await guard.execute(GET, redis, 'missing')).toBe('got null');
    expect(maps).toBe(1);

    await r.freeze();
    const timeout = await settle(guard.execute(GET, redis, 'k'));
    expect(timeout).toMatchObject({ code: 'E_GUARD_TIMEOUT', timeoutMs: 100 });
    const open = await settle(guard.execute(GET, redis, 'k'));
    expect(open).toMatchObject({ code: 'E_BREAKER_OPEN', state: 'open' });
    expect(guard.stats()).toMatchObject({
      ignoredErrors: 1,
      timeouts: 1,
      rejects: 1,
      fallbacks: 0,
    });
    await r.resume();
  });

  it('handles a synchronous throw like a rejection; a throwing map or fallback rejects the call', async () => {
    const guard = createGuard({ timeoutMs: 100, breaker: { maxFailures: 10 } });
    const refused = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    const THROWS: GuardOperation<string, string, number> = {
      run: () => {
        throw refused;
      },
      fallback: (error, target, a) => `${target}:${a}:${(error as Error).message}`,
    };
    expect(await guard.execute(THROWS, 't', 7)).toBe('t:7:refused');
    const BAD_MAP: GuardOperation<number, undefined, undefined, undefined, undefined, number> = {
      run: () => Promise.resolve(1),
      map: () => {
        throw new TypeError('bad map');
      },
    };
    expect(await settle(guard.execute(BAD_MAP, undefined))).toMatchObject({ message: 'bad map' });
    const BAD_FALLBACK: GuardOperation<number, undefined> = {
      run: () => Promise.reject(refused),
      fallback: () => {
        throw new RangeError('bad fallback');
      },
    };
    expect(await settle(guard.execute(BAD_FALLBACK, undefined))).toMatchObject({
      message: 'bad fallback',
    });
    // Plain values and non-native thenables are accepted too.
    const PLAIN: GuardOperation<number, number, number> = { run: (t, a) => t + a };
    expect(await guard.execute(PLAIN, 40, 2)).toBe(42);
    const THENABLE: GuardOperation<string, undefined> = {
      run: () =>
        // biome-ignore lint/suspicious/noThenProperty: a thenable that is not a native promise, on purpose
        ({ then: (resolve: (v: string) => void) => resolve('thenable') }) as PromiseLike<string>,
    };
    expect(await guard.execute(THENABLE, undefined)).toBe('thenable');
    expect(guard.stats()).toMatchObject({ requests: 5, successes: 3, failures: 2, pending: 0 });
  });

  it('abortOnTimeout: run receives a signal that aborts at the deadline', async () => {
    const guard = createGuard({ timeoutMs: 60, breaker: false, abortOnTimeout: true });
    let signal: AbortSignal | undefined;
    const HANGS: GuardOperation<string, undefined> = {
      run: (_target, _a, _b, _c, s) => {
        signal = s;
        return never();
      },
      fallback: () => 'late',
    };
    expect(await guard.execute(HANGS, undefined)).toBe('late');
    expect(signal?.aborted).toBe(true);
    expect(isGuardTimeoutError(signal?.reason)).toBe(true);
  });
});

describe('guard.execute({ start }): the command settled by the guard itself', () => {
  const sent: string[] = [];
  // An ioredis Command is a settleable: its promise, and a reject the guard calls at the deadline.
  const SET: GuardSendOperation<boolean, Redis, string, string, undefined, 'OK' | null> = {
    start: (redis, key, value) => {
      sent.push(key);
      const command = new Command('set', [key, value, 'NX'], { replyEncoding: 'utf8' });
      redis.sendCommand(command);
      return command;
    },
    map: (reply) => reply === 'OK',
    fallback: () => false,
  };
  const GET: GuardSendOperation<string | null, Redis, string> = {
    start: (redis, key) => {
      const command = new Command('get', [key], { replyEncoding: 'utf8' });
      redis.sendCommand(command);
      return command;
    },
  };

  it('resolves the mapped reply; on a frozen server rejects the command at the deadline and serves the fallback', async () => {
    sent.length = 0;
    const r = await startRedis();
    const redis = await client(r.port);
    const guard = createGuard({
      timeoutMs: 150,
      breaker: { maxFailures: 2, resetTimeout: 60_000 },
    });
    expect(await guard.execute(SET, redis, 'a', '1')).toBe(true);
    expect(await guard.execute(SET, redis, 'a', '2')).toBe(false);
    expect(await guard.execute(GET, redis, 'a')).toBe('1');

    await r.freeze();
    const fallbacks: unknown[] = [];
    const FROZEN: GuardSendOperation<string, Redis, string, undefined, undefined, string | null> = {
      start: GET.start,
      map: (value) => `redis:${value}`,
      fallback: (error, target, key) => {
        fallbacks.push([error, target, key]);
        return `memory:${key}`;
      },
    };
    const started = performance.now();
    const frozen = await Promise.all([
      guard.execute(FROZEN, redis, 'b'),
      guard.execute(FROZEN, redis, 'c'),
    ]);
    const elapsed = performance.now() - started;
    expect(frozen).toEqual(['memory:b', 'memory:c']);
    expect(elapsed).toBeGreaterThanOrEqual(150 * 0.85);
    expect(elapsed).toBeLessThan(150 + 100);
    expect(fallbacks).toEqual([
      [expect.objectContaining({ code: 'E_GUARD_TIMEOUT' }), redis, 'b'],
      [expect.objectContaining({ code: 'E_GUARD_TIMEOUT' }), redis, 'c'],
    ]);
    expect(guard.breaker?.state).toBe('open');
    // Open: start is not called; the fallback gets the arguments; without one: BreakerOpenError.
    expect(await guard.execute(FROZEN, redis, 'd')).toBe('memory:d');
    expect(await settle(guard.execute(GET, redis, 'd'))).toMatchObject({ code: 'E_BREAKER_OPEN' });
    expect(sent).toEqual(['a', 'a']);
    expect(guard.stats()).toMatchObject({
      requests: 7,
      successes: 3,
      timeouts: 2,
      failures: 0,
      rejects: 2,
      fallbacks: 3,
      pending: 0,
    });
    await r.resume();
    // The replies that come after the deadline change nothing.
    await redis.ping();
    expect(guard.stats()).toMatchObject({ successes: 3, timeouts: 2, pending: 0 });
  });

  it('rethrows a command error as is; a failure without fallback rejects with its error; a throwing start or map', async () => {
    const r = await startRedis();
    const redis = await client(r.port, { retryStrategy: () => null });
    await redis.lpush('list', 'x');
    const guard = createGuard({ timeoutMs: 300, breaker: { maxFailures: 10 } });
    const wrongType = await settle(guard.execute(GET, redis, 'list'));
    expect((wrongType as Error).message).toMatch(/^WRONGTYPE /);
    expect(guard.stats()).toMatchObject({ ignoredErrors: 1, failures: 0, fallbacks: 0 });

    const refused = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    const THROWS: GuardSendOperation<string, string, number> = {
      start: () => {
        throw refused;
      },
      fallback: (error, target, a) => `${target}:${a}:${(error as Error).message}`,
    };
    expect(await guard.execute(THROWS, 't', 7)).toBe('t:7:refused');
    const BAD_MAP: GuardSendOperation<string, Redis, string, undefined, undefined, string | null> =
      {
        start: GET.start,
        map: () => {
          throw new TypeError('bad map');
        },
      };
    expect(await settle(guard.execute(BAD_MAP, redis, 'a'))).toMatchObject({ message: 'bad map' });

    await r.kill();
    await waitFor('the client to give up', () => redis.status === 'end');
    const closed = await settle(guard.execute(GET, redis, 'a'));
    expect((closed as Error).message).toMatch(/^Connection is closed/);
    expect(guard.stats()).toMatchObject({ requests: 4, successes: 1, failures: 2, pending: 0 });
  });
});

describe('createGuard: onFailure', () => {
  it('sees infrastructure failures and timeouts, not command errors nor refusals', async () => {
    const seen: string[] = [];
    const guard = createGuard({
      timeoutMs: 20,
      breaker: { maxFailures: 2 },
      onFailure: (error) => {
        seen.push((error as Error).message);
        throw new Error('an observer that throws changes nothing');
      },
    });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
      code: 'ECONNREFUSED',
    });
    // A command error first: it is not a failure (and would reset the count of failures).
    await expect(
      guard.execute(() => Promise.reject(new Error('WRONGTYPE Operation against a key'))),
    ).rejects.toThrow(/WRONGTYPE/);
    expect(
      await guard.execute(
        () => Promise.reject(refused),
        () => 'fallback',
      ),
    ).toBe('fallback');
    expect(
      await guard.execute(
        () => new Promise(() => {}),
        () => 'late',
      ),
    ).toBe('late');
    // The circuit is open now: refused without reaching Redis, not a failure of Redis.
    expect(
      await guard.execute(
        () => 'never',
        () => 'open',
      ),
    ).toBe('open');
    expect(seen).toEqual(['connect ECONNREFUSED 127.0.0.1:1', expect.stringMatching(/20 ms/)]);
    expect(() => createGuard({ timeoutMs: 1, onFailure: 42 as never })).toThrow(/onFailure/);
  });
});

describe('createGuard after an event-loop stall', () => {
  it('does not time out a call whose reply arrived during the stall', async () => {
    const r = await startRedis();
    const redis = new Redis(r.url);
    await redis.ping();
    const guard = createGuard({ timeoutMs: 50, breaker: { maxFailures: 1 } });
    const results: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      const call = guard.execute(
        () => redis.ping(),
        () => 'timed out',
      );
      // The process stalls longer than the deadline; the reply waits in the socket buffer.
      const until = performance.now() + 150;
      while (performance.now() < until) {
        // busy: a GC pause or a starved CPU
      }
      results.push(await call);
    }
    expect(results).toEqual(['PONG', 'PONG', 'PONG', 'PONG', 'PONG']);
    expect(guard.stats()).toMatchObject({ timeouts: 0, successes: 5 });
    expect(guard.breaker?.state).toBe('closed');
    // A call that really gets no answer still times out by its deadline.
    await r.freeze();
    const started = performance.now();
    expect(
      await guard.execute(
        () => redis.ping(),
        () => 'timed out',
      ),
    ).toBe('timed out');
    expect(performance.now() - started).toBeLessThan(50 + 60);
    await r.resume();
    redis.disconnect();
  });
  it('gives a call started at the end of a stall its whole deadline', async () => {
    const guard = createGuard({ timeoutMs: 100, breaker: { maxFailures: 1 } });
    // A call in flight before the stall keeps the deadline timer running (its clock read then).
    const before = guard.execute(
      () => new Promise(() => {}),
      () => 'timed out',
    );
    const until = performance.now() + 300;
    while (performance.now() < until) {
      // busy: longer than the deadline
    }
    // Started when the stall ends; its answer takes 20 ms, well within its 100 ms.
    const after = guard.execute(
      () => new Promise((resolve) => setTimeout(() => resolve('answered'), 20)),
      () => 'timed out',
    );
    expect(await before).toBe('timed out');
    expect(await after).toBe('answered');
    expect(guard.stats()).toMatchObject({ timeouts: 1, successes: 1 });
  });
});
