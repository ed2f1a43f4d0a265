import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createBackoff } from './backoff.js';
import { isReconnectError, ReconnectOptionsError, RetryExhaustedError } from './errors.js';
import { retry } from './retry.js';

const fixed = { jitter: 'none', minDelayMs: 100, maxDelayMs: 100 } as const;

describe('retry (fake clock)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits the backoff delay between attempts and resolves with the value', async () => {
    const calls: number[] = [];
    const fn = vi.fn(async (attempt: number) => {
      calls.push(Date.now());
      if (attempt < 3) throw new Error(`fail ${attempt}`);
      return 'ok';
    });
    const start = Date.now();
    const result = retry(fn, {
      attempts: 5,
      backoff: { jitter: 'none', minDelayMs: 100, maxDelayMs: 1_000 },
    });
    await vi.advanceTimersByTimeAsync(99);
    expect(fn).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fn).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(200);
    await expect(result).resolves.toBe('ok');
    expect(calls.map((t) => t - start)).toEqual([0, 100, 300]);
    expect(fn.mock.calls.map((c) => c[0])).toEqual([1, 2, 3]);
  });

  it('respects attempts and rejects with the last error as cause', async () => {
    let n = 0;
    const result = retry(
      async () => {
        n += 1;
        throw new Error(`boom ${n}`);
      },
      { attempts: 3, backoff: fixed },
    );
    const settled = expect(result).rejects.toSatisfy((error: unknown) => {
      expect(error).toBeInstanceOf(RetryExhaustedError);
      expect(isReconnectError(error)).toBe(true);
      const e = error as RetryExhaustedError;
      expect(e.code).toBe('E_RETRY_EXHAUSTED');
      expect(e.attempts).toBe(3);
      expect((e.cause as Error).message).toBe('boom 3');
      expect(e.message).toBe(
        '[@x/reconnect] gave up after 3 attempts; the last one failed with: boom 3 (the error is the cause; raise attempts or fix what it says)',
      );
      return true;
    });
    await vi.advanceTimersByTimeAsync(1_000);
    await settled;
    expect(n).toBe(3);
  });

  it("stops early when the backoff's maxAttempts is reached", async () => {
    let n = 0;
    const result = retry(
      async () => {
        n += 1;
        throw new Error('no');
      },
      { attempts: 10, backoff: { ...fixed, maxAttempts: 1 } },
    );
    const settled = expect(result).rejects.toBeInstanceOf(RetryExhaustedError);
    await vi.advanceTimersByTimeAsync(1_000);
    await settled;
    expect(n).toBe(2);
  });

  it('rethrows at once when shouldRetry says no', async () => {
    const wrongType = new Error('WRONGTYPE');
    const fn = vi.fn(async () => {
      throw wrongType;
    });
    const shouldRetry = vi.fn(() => false);
    await expect(retry(fn, { attempts: 5, backoff: fixed, shouldRetry })).rejects.toBe(wrongType);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(shouldRetry).toHaveBeenCalledWith(wrongType, 1);
  });

  it('aborting during a wait rejects at once with the abort reason', async () => {
    const controller = new AbortController();
    const fn = vi.fn(async () => {
      throw new Error('down');
    });
    const result = retry(fn, {
      attempts: 5,
      backoff: { jitter: 'none', minDelayMs: 10_000, maxDelayMs: 10_000 },
      signal: controller.signal,
    });
    await vi.advanceTimersByTimeAsync(50);
    const reason = new Error('shutting down');
    controller.abort(reason);
    await expect(result).rejects.toBe(reason);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('aborting while fn runs rejects at once; fn gets the signal', async () => {
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const result = retry(
      (_attempt, signal) => {
        seen = signal;
        return new Promise<string>(() => {});
      },
      { signal: controller.signal },
    );
    controller.abort();
    await expect(result).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toBe(controller.signal);
    expect(seen?.aborted).toBe(true);
  });

  it('an already aborted signal never calls fn', async () => {
    const fn = vi.fn(async () => 1);
    await expect(retry(fn, { signal: AbortSignal.abort('early') })).rejects.toBe('early');
    expect(fn).not.toHaveBeenCalled();
  });

  it('accepts a Backoff instance and resets it first', async () => {
    const backoff = createBackoff(fixed);
    backoff.next();
    backoff.next();
    let n = 0;
    const result = retry(
      async () => {
        n += 1;
        if (n < 2) throw new Error('x');
        return n;
      },
      { backoff },
    );
    await vi.advanceTimersByTimeAsync(100);
    await expect(result).resolves.toBe(2);
    expect(backoff.attempt).toBe(1);
  });

  it('validates its options', async () => {
    await expect(retry(async () => 1, { attempts: 0 })).rejects.toBeInstanceOf(
      ReconnectOptionsError,
    );
    await expect(retry(async () => 1, { attempts: 0 })).rejects.toMatchObject({
      field: 'attempts',
      value: 0,
    });
    await expect(retry(async () => 1, { backoff: { multiplier: 0 } })).rejects.toMatchObject({
      field: 'multiplier',
    });
  });
});
