import { metrics, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { isOtelError, OtelOptionsError } from './errors.js';
import { instrument } from './instrument.js';

describe('instrument() options', () => {
  it.each([
    [null, 'options'],
    ['yes', 'options'],
    [{ spans: 'no' }, 'spans'],
    [{ metrics: 1 }, 'metrics'],
    [{ calls: 'off' }, 'calls'],
    [{ meterProvider: {} }, 'meterProvider'],
    [{ tracerProvider: { getMeter() {} } }, 'tracerProvider'],
    [{ Metrics: true }, 'Metrics'],
    [{ exporter: {} }, 'exporter'],
  ])('%j: OtelOptionsError naming %s', (options, field) => {
    let caught: unknown;
    try {
      instrument(options as never);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(OtelOptionsError);
    expect(isOtelError(caught, 'E_OTEL_OPTIONS')).toBe(true);
    expect(caught).toMatchObject({ name: 'OtelOptionsError', code: 'E_OTEL_OPTIONS', field });
    expect((caught as Error).message).toMatch(new RegExp(`^\\[@x/otel\\] invalid ${field}: `));
  });

  it('a misspelt option is named with the right one', () => {
    expect(() => instrument({ Metrics: false } as never)).toThrow(
      /invalid Metrics: false \(expected no such option: did you mean metrics\?\)/,
    );
  });

  it('defaults: metrics and spans on, the global providers (no-op until an SDK registers)', () => {
    const otel = instrument();
    try {
      expect(otel.metrics).toBe(true);
      expect(otel.spans).toBe(true);
      expect(otel.calls).toBe(true);
      // No context manager registered: spans cannot be made active during the calls.
      expect(otel.nested).toBe(false);
      expect(metrics.getMeterProvider()).toBeDefined();
      expect(trace.getTracerProvider()).toBeDefined();
    } finally {
      otel.close();
    }
  });

  it('both off: a handle that does nothing; close() is idempotent, and `using` works', () => {
    const otel = instrument({ metrics: false, spans: false });
    expect([otel.metrics, otel.spans, otel.instances]).toEqual([false, false, 0]);
    otel.close();
    otel.close();
    {
      using scoped = instrument({ spans: false });
      expect(scoped.metrics).toBe(true);
    }
  });
});
