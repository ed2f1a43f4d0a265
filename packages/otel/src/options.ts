import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { OtelOptionsError } from './errors.js';

/** Options of `instrument()`. */
export interface InstrumentOptions {
  /**
   * Where the metrics go.
   * @default the global MeterProvider of `@opentelemetry/api` (`metrics.getMeterProvider()`:
   * the one `NodeSDK` or `metrics.setGlobalMeterProvider()` registered)
   */
  meterProvider?: MeterProvider | undefined;
  /**
   * Where the spans go.
   * @default the global TracerProvider of `@opentelemetry/api` (`trace.getTracerProvider()`)
   */
  tracerProvider?: TracerProvider | undefined;
  /**
   * A span for each traced call (`<package> <operation>`, kind INTERNAL, child of the active
   * span), and span events for state changes.
   * @default true
   */
  spans?: boolean | undefined;
  /**
   * The metrics: every package's `stats()` read at collection time, and the
   * `db.client.operation.duration` and `x.lock.wait.duration` histograms.
   * @default true
   */
  metrics?: boolean | undefined;
  /**
   * Follow every traced call (the `x:connection:call` TracingChannel): the
   * `db.client.operation.duration` histogram, and the spans when `spans` is on. `false` keeps
   * only what costs nothing per call: the metrics read from `stats()` at collection time,
   * `x.lock.wait.duration` and the span events; the packages then take their untraced path.
   * @default true
   */
  calls?: boolean | undefined;
}

/** {@link InstrumentOptions} with their defaults. */
export interface ResolvedInstrumentOptions {
  meterProvider: MeterProvider | undefined;
  tracerProvider: TracerProvider | undefined;
  spans: boolean;
  metrics: boolean;
  calls: boolean;
}

/** The defaults of {@link InstrumentOptions}. */
export const INSTRUMENT_DEFAULTS = { spans: true, metrics: true, calls: true } as const;

const KNOWN = ['meterProvider', 'tracerProvider', 'spans', 'metrics', 'calls'] as const;

/**
 * Validates the options of `instrument()` and applies the defaults.
 * @throws OtelOptionsError naming the field and the value.
 */
export function resolveInstrumentOptions(options: unknown): ResolvedInstrumentOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new OtelOptionsError('options', options, 'an object or nothing');
  }
  const o = options as Record<string, unknown>;
  for (const name of Object.keys(o)) {
    if (!(KNOWN as readonly string[]).includes(name)) {
      const near = KNOWN.find((k) => k.toLowerCase() === name.toLowerCase());
      throw new OtelOptionsError(
        name,
        o[name],
        near === undefined
          ? `no such option: the options are ${KNOWN.join(', ')}`
          : `no such option: did you mean ${near}?`,
      );
    }
  }
  return {
    meterProvider: provider(o, 'meterProvider', 'getMeter') as MeterProvider | undefined,
    tracerProvider: provider(o, 'tracerProvider', 'getTracer') as TracerProvider | undefined,
    spans: flag(o, 'spans', INSTRUMENT_DEFAULTS.spans),
    metrics: flag(o, 'metrics', INSTRUMENT_DEFAULTS.metrics),
    calls: flag(o, 'calls', INSTRUMENT_DEFAULTS.calls),
  };
}

function flag(o: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const value = o[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new OtelOptionsError(name, value, 'true or false');
  return value;
}

function provider(o: Record<string, unknown>, name: string, method: string): unknown {
  const value = o[name];
  if (value === undefined) return undefined;
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as Record<string, unknown>)[method] !== 'function'
  ) {
    throw new OtelOptionsError(name, value, `an OpenTelemetry ${name} (with ${method}())`);
  }
  return value;
}
