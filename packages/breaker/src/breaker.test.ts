import { ReplyError } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type BreakerOptions, type CircuitState, createBreaker } from './breaker.js';
import { BreakerOpenError, isBreakerError, isBreakerOpenError } from './errors.js';

// Pure state-machine tests: fake clocks, no Redis. The errors are the shapes ioredis produces
// (classify.test.ts proves those against real servers).
const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
  code: 'ECONNREFUSED',
});
const wrongType = new ReplyError(
  'WRONGTYPE Operation against a key holding the wrong kind of value',
) as Error;

const fail = (): Promise<never> => Promise.reject(refused);
const ok = (): Promise<string> => Promise.resolve('ok');

async function settle(p: Promise<unknown>): Promise<unknown> {
  try {
    return await p;
  } catch (error) {
    return error;
  }
}

async function trip(breaker: ReturnType<typeof createBreaker>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) expect(await settle(breaker.execute(fail))).toBe(refused);
}

function recordStates(breaker: ReturnType<typeof createBreaker>): string[] {
  const seen: string[] = [];
  breaker.on('stateChange', ({ from, to }) => seen.push(`${from}->${to}`));
  return seen;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('createBreaker: consecutive failures', () => {
  it('opens after maxFailures consecutive failures and then rejects without running fn', async () => {
    const breaker = createBreaker({ maxFailures: 3, resetTimeout: 1000 });
    await trip(breaker, 2);
    expect(breaker.state).toBe('closed');
    await trip(breaker, 1);
    expect(breaker.state).toBe('open');

    let calls = 0;
    const error = await settle(breaker.execute(() => ++calls));
    expect(calls).toBe(0);
    expect(error).toBeInstanceOf(BreakerOpenError);
    expect(isBreakerOpenError(error)).toBe(true);
    expect((error as BreakerOpenError).code).toBe('E_BREAKER_OPEN');
    expect((error as BreakerOpenError).state).toBe('open');
    expect((error as Error).message).toMatch(/^\[@x\/breaker\] /);
    expect(breaker.stats()).toMatchObject({ requests: 4, failures: 3, rejects: 1, successes: 0 });
  });

  it('defaults to 5 consecutive failures; a success in between starts the count again', async () => {
    const breaker = createBreaker();
    await trip(breaker, 4);
    expect(await breaker.execute(ok)).toBe('ok');
    await trip(breaker, 4);
    expect(breaker.state).toBe('closed');
    await trip(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('does not count command errors (WRONGTYPE): they are rethrown untouched', async () => {
    const breaker = createBreaker({ maxFailures: 2 });
    for (let i = 0; i < 5; i++) {
      expect(await settle(breaker.execute(() => Promise.reject(wrongType)))).toBe(wrongType);
    }
    expect(breaker.state).toBe('closed');
    expect(breaker.stats()).toMatchObject({ failures: 0, ignoredErrors: 5 });
    // A command error proves Redis answered: it breaks a run of failures.
    await trip(breaker, 1);
    await settle(breaker.execute(() => Promise.reject(wrongType)));
    await trip(breaker, 1);
    expect(breaker.state).toBe('closed');
  });

  it('honours a custom isFailure', async () => {
    const breaker = createBreaker({ maxFailures: 1, isFailure: (e) => e === wrongType });
    await settle(breaker.execute(fail));
    expect(breaker.state).toBe('closed');
    await settle(breaker.execute(() => Promise.reject(wrongType)));
    expect(breaker.state).toBe('open');
  });

  it('counts an error as a failure when isFailure itself throws', async () => {
    const breaker = createBreaker({
      maxFailures: 1,
      isFailure: () => {
        throw new Error('predicate bug');
      },
    });
    expect(await settle(breaker.execute(fail))).toBe(refused);
    expect(breaker.state).toBe('open');
  });

  it('counts a synchronous throw from fn like a rejection', async () => {
    const breaker = createBreaker({ maxFailures: 1 });
    const error = await settle(
      breaker.execute(() => {
        throw refused;
      }),
    );
    expect(error).toBe(refused);
    expect(breaker.state).toBe('open');
  });
});

describe('createBreaker: open, half-open, closed', () => {
  it('goes half-open after resetTimeout and closes after successThreshold probes', async () => {
    const breaker = createBreaker({ maxFailures: 1, resetTimeout: 1000, successThreshold: 2 });
    const states = recordStates(breaker);
    await trip(breaker, 1);
    vi.advanceTimersByTime(999);
    expect(breaker.state).toBe('open');
    vi.advanceTimersByTime(1);
    expect(breaker.state).toBe('half-open');
    expect(await breaker.execute(ok)).toBe('ok');
    expect(breaker.state).toBe('half-open');
    expect(await breaker.execute(ok)).toBe('ok');
    expect(breaker.state).toBe('closed');
    expect(states).toEqual(['closed->open', 'open->half-open', 'half-open->closed']);
  });

  it('lets one probe at a time through in half-open; the others are rejected at once', async () => {
    const breaker = createBreaker({ maxFailures: 1, resetTimeout: 100, successThreshold: 1 });
    await trip(breaker, 1);
    vi.advanceTimersByTime(100);
    let release!: (v: string) => void;
    let runs = 0;
    const probe = breaker.execute(() => {
      runs++;
      return new Promise<string>((r) => {
        release = r;
      });
    });
    const second = await settle(breaker.execute(() => ++runs));
    expect(runs).toBe(1);
    expect(isBreakerOpenError(second)).toBe(true);
    expect((second as BreakerOpenError).state).toBe('half-open');
    release('probe');
    expect(await probe).toBe('probe');
    expect(breaker.state).toBe('closed');
    expect(await breaker.execute(() => ++runs)).toBe(2);
  });

  it('re-opens on a failed probe', async () => {
    const breaker = createBreaker({ maxFailures: 1, resetTimeout: 100 });
    const states = recordStates(breaker);
    await trip(breaker, 1);
    vi.advanceTimersByTime(100);
    await trip(breaker, 1);
    expect(breaker.state).toBe('open');
    expect(states).toEqual(['closed->open', 'open->half-open', 'half-open->open']);
  });

  it('frees the probe slot when the probe is aborted by its signal', async () => {
    const breaker = createBreaker({ maxFailures: 1, resetTimeout: 100, successThreshold: 1 });
    await trip(breaker, 1);
    vi.advanceTimersByTime(100);
    const controller = new AbortController();
    const probe = breaker.execute(
      (signal) =>
        new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason))),
      { signal: controller.signal },
    );
    controller.abort(new Error('caller gave up'));
    expect(((await settle(probe)) as Error).message).toBe('caller gave up');
    expect(breaker.state).toBe('half-open');
    expect(await breaker.execute(ok)).toBe('ok');
    expect(breaker.state).toBe('closed');
  });

  it('does not run fn when the signal is already aborted, and counts nothing', async () => {
    const breaker = createBreaker();
    const controller = new AbortController();
    controller.abort(new Error('early'));
    let runs = 0;
    const error = await settle(breaker.execute(() => ++runs, { signal: controller.signal }));
    expect((error as Error).message).toBe('early');
    expect(runs).toBe(0);
    expect(breaker.stats()).toMatchObject({ requests: 0, failures: 0 });
  });

  it('goes half-open on the next call when the open timer is late', async () => {
    const breaker = createBreaker({ maxFailures: 1, resetTimeout: 100, successThreshold: 1 });
    await trip(breaker, 1);
    // Move the clock without running timers (a blocked event loop).
    vi.setSystemTime(Date.now() + 150);
    expect(breaker.state).toBe('open');
    expect(await breaker.execute(ok)).toBe('ok');
    expect(breaker.state).toBe('closed');
  });

  it('doubles the open period on each consecutive re-open, up to maxResetTimeout', async () => {
    const breaker = createBreaker({ maxFailures: 1, resetTimeout: 100, maxResetTimeout: 350 });
    const periods: number[] = [];
    breaker.on('open', ({ resetTimeout }) => periods.push(resetTimeout));
    await trip(breaker, 1);
    for (const expected of [100, 200, 350, 350]) {
      expect(periods.at(-1)).toBe(expected);
      vi.advanceTimersByTime(expected - 1);
      expect(breaker.state).toBe('open');
      vi.advanceTimersByTime(1);
      expect(breaker.state).toBe('half-open');
      await trip(breaker, 1); // the probe fails
    }
    expect(periods).toEqual([100, 200, 350, 350, 350]);
    // A close resets the period.
    vi.advanceTimersByTime(350);
    await breaker.execute(ok);
    await breaker.execute(ok);
    expect(breaker.state).toBe('closed');
    await trip(breaker, 1);
    expect(periods.at(-1)).toBe(100);
  });

  it('keeps the open period fixed without maxResetTimeout', async () => {
    const breaker = createBreaker({ maxFailures: 1, resetTimeout: 100 });
    const periods: number[] = [];
    breaker.on('open', ({ resetTimeout }) => periods.push(resetTimeout));
    await trip(breaker, 1);
    for (let i = 0; i < 3; i++) {
      vi.advanceTimersByTime(100);
      await trip(breaker, 1);
    }
    expect(periods).toEqual([100, 100, 100, 100]);
  });

  it('ignores a late result of a call started before the circuit opened', async () => {
    const breaker = createBreaker({ maxFailures: 1, resetTimeout: 100, successThreshold: 1 });
    let release!: (v: string) => void;
    const slow = breaker.execute(() => new Promise<string>((r) => (release = r)));
    await trip(breaker, 1);
    vi.advanceTimersByTime(100);
    expect(breaker.state).toBe('half-open');
    release('late');
    expect(await slow).toBe('late');
    expect(breaker.state).toBe('half-open');
  });
});

describe('createBreaker: failure rate (SamplingBreaker semantics)', () => {
  const options: BreakerOptions = {
    failureRate: { threshold: 0.5, windowMs: 1000, minRequests: 10 },
    resetTimeout: 500,
  };

  it('does not open below minRequests, however many fail', async () => {
    const breaker = createBreaker(options);
    await trip(breaker, 9);
    expect(breaker.state).toBe('closed');
  });

  it('opens once the failure rate in the window exceeds the threshold', async () => {
    const breaker = createBreaker(options);
    for (let i = 0; i < 6; i++) await breaker.execute(ok);
    await trip(breaker, 6); // 6 / 12 = 0.5: not above the threshold
    expect(breaker.state).toBe('closed');
    await trip(breaker, 1); // 7 / 13 > 0.5
    expect(breaker.state).toBe('open');
  });

  it('forgets failures that left the window', async () => {
    const breaker = createBreaker(options);
    await trip(breaker, 8);
    vi.advanceTimersByTime(1500);
    for (let i = 0; i < 4; i++) await breaker.execute(ok);
    await trip(breaker, 4); // only 4 of the 8 in the window
    expect(breaker.state).toBe('closed');
    expect(breaker.stats().failures).toBe(12);
  });

  it('ignores more failures than consecutive mode would (maxFailures is not used)', async () => {
    const breaker = createBreaker({ ...options, maxFailures: 1 });
    await trip(breaker, 3);
    expect(breaker.state).toBe('closed');
  });
});

describe('createBreaker: isolate and reset', () => {
  it('isolate() holds the circuit open until every handle is disposed', async () => {
    const breaker = createBreaker({ resetTimeout: 100 });
    const states = recordStates(breaker);
    let isolated = 0;
    breaker.on('isolate', () => isolated++);
    const a = breaker.isolate();
    const b = breaker.isolate();
    expect(breaker.state).toBe('isolated');
    let runs = 0;
    const error = await settle(breaker.execute(() => ++runs));
    expect((error as BreakerOpenError).state).toBe('isolated');
    expect(runs).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(breaker.state).toBe('isolated');
    a.dispose();
    a.dispose(); // idempotent: does not release b
    expect(breaker.state).toBe('isolated');
    b.dispose();
    expect(breaker.state).toBe('closed');
    expect(await breaker.execute(() => ++runs)).toBe(1);
    expect(states).toEqual(['closed->isolated', 'isolated->closed']);
    expect(isolated).toBe(1);
  });

  it('isolate() from open cancels the half-open timer', async () => {
    const breaker = createBreaker({ maxFailures: 1, resetTimeout: 100 });
    await trip(breaker, 1);
    const handle = breaker.isolate();
    vi.advanceTimersByTime(500);
    expect(breaker.state).toBe('isolated');
    handle.dispose();
    expect(breaker.state).toBe('closed');
  });

  it('reset() closes the circuit, clears counters and ends isolations', async () => {
    const breaker = createBreaker({ maxFailures: 2, resetTimeout: 100 });
    await trip(breaker, 2);
    const handle = breaker.isolate();
    const closes: number[] = [];
    breaker.on('close', () => closes.push(1));
    breaker.reset();
    expect(breaker.state).toBe('closed');
    expect(closes).toHaveLength(1);
    expect(breaker.stats()).toMatchObject({ requests: 0, failures: 0, rejects: 0 });
    handle.dispose(); // a stale handle does nothing
    expect(breaker.state).toBe('closed');
    await trip(breaker, 1); // the failure history is fresh too
    expect(breaker.state).toBe('closed');
    vi.advanceTimersByTime(1000);
    expect(breaker.state).toBe('closed');
  });
});

describe('createBreaker: events and stats', () => {
  it('emits stateChange and the named event for every transition', async () => {
    const breaker = createBreaker({ maxFailures: 1, resetTimeout: 100, successThreshold: 1 });
    const events: string[] = [];
    for (const name of ['open', 'half-open', 'close', 'isolate'] as const) {
      breaker.on(name, () => events.push(name));
    }
    const changes: { from: CircuitState; to: CircuitState }[] = [];
    breaker.on('stateChange', (c) => changes.push(c));
    let opened: unknown;
    breaker.once('open', ({ error }) => {
      opened = error;
    });
    await trip(breaker, 1);
    vi.advanceTimersByTime(100);
    await breaker.execute(ok);
    breaker.isolate().dispose();
    expect(opened).toBe(refused);
    expect(events).toEqual(['open', 'half-open', 'close', 'isolate', 'close']);
    expect(changes).toEqual([
      { from: 'closed', to: 'open' },
      { from: 'open', to: 'half-open' },
      { from: 'half-open', to: 'closed' },
      { from: 'closed', to: 'isolated' },
      { from: 'isolated', to: 'closed' },
    ]);
  });

  it('swallows listener exceptions: the state machine and the result are intact', async () => {
    const breaker = createBreaker({ maxFailures: 1 });
    breaker.on('open', () => {
      throw new Error('listener bug');
    });
    expect(await settle(breaker.execute(fail))).toBe(refused);
    expect(breaker.state).toBe('open');
  });

  it('off() removes a listener', async () => {
    const breaker = createBreaker({ maxFailures: 1 });
    let seen = 0;
    const listener = (): void => {
      seen++;
    };
    breaker.on('open', listener).off('open', listener);
    await trip(breaker, 1);
    expect(seen).toBe(0);
  });

  it('reports counters and latency percentiles', async () => {
    vi.useRealTimers();
    const breaker = createBreaker({ maxFailures: 100 });
    expect(breaker.stats().latency).toEqual({ p50: 0, p99: 0, max: 0 });
    for (let i = 0; i < 64; i++) await breaker.execute(ok);
    await trip(breaker, 3);
    const stats = breaker.stats();
    expect(stats).toMatchObject({
      state: 'closed',
      requests: 67,
      successes: 64,
      failures: 3,
      rejects: 0,
      timeouts: 0,
      fallbacks: 0,
      ignoredErrors: 0,
    });
    expect(stats.latency.max).toBeGreaterThan(0);
    expect(stats.latency.p50).toBeLessThanOrEqual(stats.latency.p99);
    expect(stats.latency.p99).toBeLessThanOrEqual(stats.latency.max);
  });

  it('samples latency into the ring (one call in 8)', async () => {
    vi.useRealTimers();
    const breaker = createBreaker();
    const slow = (): Promise<string> => new Promise((r) => setTimeout(() => r('slow'), 20));
    for (let i = 0; i < 7; i++) await breaker.execute(ok);
    await breaker.execute(slow); // the 8th call is sampled
    expect(breaker.stats().latency.max).toBeGreaterThanOrEqual(15);
  });
});

describe('createBreaker: options', () => {
  it.each([
    ['maxFailures', { maxFailures: 0 }],
    ['maxFailures', { maxFailures: 1.5 }],
    ['resetTimeout', { resetTimeout: -1 }],
    ['resetTimeout', { resetTimeout: '30s' }],
    ['resetTimeout', { resetTimeout: 2 ** 31 }],
    ['maxResetTimeout', { resetTimeout: 1000, maxResetTimeout: 500 }],
    ['successThreshold', { successThreshold: 0 }],
    ['isFailure', { isFailure: 'yes' }],
    ['failureRate', { failureRate: 0.5 }],
    ['failureRate.threshold', { failureRate: { threshold: 1, windowMs: 1000 } }],
    ['failureRate.threshold', { failureRate: { threshold: 0, windowMs: 1000 } }],
    ['failureRate.windowMs', { failureRate: { threshold: 0.5, windowMs: 0 } }],
    ['failureRate.minRequests', { failureRate: { threshold: 0.5, windowMs: 10, minRequests: 0 } }],
  ])('rejects an invalid %s', (field, options) => {
    let error: unknown;
    try {
      createBreaker(options as BreakerOptions);
    } catch (e) {
      error = e;
    }
    expect(isBreakerError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'E_BREAKER_OPTIONS', field, name: 'BreakerOptionsError' });
    expect((error as Error).message).toContain(field);
  });
});
