import { describe, expect, it } from 'vitest';
import { classifyRedisError } from './classify.js';
import {
  BreakerError,
  BreakerOpenError,
  BreakerOptionsError,
  GuardTimeoutError,
  isBreakerError,
  isBreakerOpenError,
  isGuardTimeoutError,
} from './errors.js';

describe('errors', () => {
  it('carry a name, a stable code, a cause and a prefixed message', () => {
    const cause = new Error('root');
    const open = new BreakerOpenError('half-open', cause);
    expect(open).toBeInstanceOf(BreakerError);
    expect(open).toMatchObject({ name: 'BreakerOpenError', code: 'E_BREAKER_OPEN', cause });
    expect(open.message).toBe(
      '[@x/breaker] circuit is half-open and its one probe call is in flight: this call was not sent (calls go through again once the probe succeeds; serve a fallback meanwhile)',
    );
    expect(new BreakerOpenError('open').message).toBe(
      '[@x/breaker] circuit is open after repeated Redis failures: the call was not sent (Redis is tried again after resetTimeout; serve a fallback meanwhile)',
    );
    expect(new BreakerOpenError('isolated').message).toBe(
      '[@x/breaker] circuit is isolated by isolate(): the call was not sent (dispose every isolation handle to close the circuit)',
    );
    const timeout = new GuardTimeoutError(250);
    expect(timeout).toMatchObject({ name: 'GuardTimeoutError', code: 'E_GUARD_TIMEOUT' });
    expect(timeout.message).toBe(
      '[@x/breaker] call did not settle within 250 ms: Redis did not answer in time (frozen, overloaded or unreachable); the call was abandoned and a late result is ignored',
    );
    const options = new BreakerOptionsError('maxFailures', 'x', 'an integer');
    expect(options.message).toBe(
      '[@x/breaker] invalid option maxFailures: "x" (expected an integer)',
    );
  });

  it('brand checks tell the errors apart', () => {
    const open = new BreakerOpenError('open');
    const timeout = new GuardTimeoutError(1);
    expect([isBreakerError(open), isBreakerOpenError(open), isGuardTimeoutError(open)]).toEqual([
      true,
      true,
      false,
    ]);
    expect(isGuardTimeoutError(timeout)).toBe(true);
    for (const other of [
      new Error('x'),
      null,
      undefined,
      'E_BREAKER_OPEN',
      { code: 'E_BREAKER_OPEN' },
    ]) {
      expect(isBreakerError(other)).toBe(false);
      expect(isBreakerOpenError(other)).toBe(false);
    }
  });

  it('recognise an error from another installed copy of the package (Symbol.for brand)', () => {
    const foreignPrototype = Object.create(Error.prototype, {
      [Symbol.for('@x/breaker.error')]: { value: true },
    });
    const foreign = Object.assign(Object.create(foreignPrototype), {
      code: 'E_GUARD_TIMEOUT',
      message: '[@x/breaker] call did not settle within 5 ms',
    });
    expect(foreign).not.toBeInstanceOf(BreakerError);
    expect(isBreakerError(foreign)).toBe(true);
    expect(isGuardTimeoutError(foreign)).toBe(true);
    expect(classifyRedisError(foreign)).toBe('timeout');
  });
});
