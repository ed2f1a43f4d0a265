import type { Histogram, Meter, Tracer } from '@opentelemetry/api';
import { loadApi } from './_internal/api.js';
import { activeContextStorage } from './_internal/context-binding.js';
import { CallTracing } from './call-tracing.js';
import {
  INSTRUMENTS,
  type InstrumentSpec,
  LOCK_WAIT_BUCKETS,
  OPERATION_DURATION_BUCKETS,
} from './instruments.js';
import { LockWait } from './lock-wait.js';
import { type InstrumentOptions, resolveInstrumentOptions } from './options.js';
import { SpanEvents } from './span-events.js';
import { StatsMetrics } from './stats-metrics.js';

/** The name of the meter and of the tracer (the instrumentation scope). */
export const INSTRUMENTATION_SCOPE = '@x/otel';

/** What `instrument()` returns: stop it with `close()` (or `using`). */
export interface Instrumentation {
  /** Whether metrics are recorded (the `metrics` option). */
  readonly metrics: boolean;
  /** Whether spans are made (the `spans` option). */
  readonly spans: boolean;
  /** Whether every traced call is followed (the `calls` option). */
  readonly calls: boolean;
  /**
   * Whether a traced call's span is the active span while the call runs, so spans created inside
   * it (`@opentelemetry/instrumentation-ioredis`' command spans) are its children: true when the
   * registered context manager is OpenTelemetry's `AsyncLocalStorageContextManager` (NodeSDK's),
   * registered before `instrument()`.
   */
  readonly nested: boolean;
  /** x instances followed now (announced on `x:instances` since `instrument()`, not closed). */
  readonly instances: number;
  /**
   * Unsubscribes from every channel, removes the metric callbacks and stops following instances.
   * Idempotent. The providers are the application's: they are not shut down.
   */
  close(): void;
  /** Same as {@link Instrumentation.close}. */
  [Symbol.dispose](): void;
}

/**
 * Records OpenTelemetry metrics and spans for every x package: one line, before the x clients
 * are created.
 *
 * - **Metrics** (default on), read when the metrics are collected: each package's `stats()`
 *   (instances are announced on `x:instances`: those created after `instrument()` are followed
 *   until they close), plus `db.client.operation.duration` for every traced call and
 *   `x.lock.wait.duration` for every lock acquisition.
 * - **Spans** (default on): one per traced call, `<package> <operation>` (kind INTERNAL), a child
 *   of the active span; state changes (connection state, failover, recover, rate-limit source)
 *   become events of the active span.
 * - With `calls: false`, nothing per call: no duration histogram and no call spans, so the
 *   packages keep their untraced path.
 *
 * Costs nothing until called: the packages publish only while someone listens.
 * @throws OtelApiMissingError (`E_OTEL_API_MISSING`) when `@opentelemetry/api` is not installed;
 * OtelOptionsError (`E_OTEL_OPTIONS`) for an invalid option.
 * @example
 * import { instrument } from '@x/otel';
 * const otel = instrument(); // after the OpenTelemetry SDK started, before the x clients
 * // ... on shutdown:
 * otel.close();
 */
export function instrument(options?: InstrumentOptions): Instrumentation {
  const o = resolveInstrumentOptions(options);
  const api = loadApi();
  const parts: { close(): void }[] = [];
  let histogram: Histogram | undefined;
  let tracer: Tracer | undefined;
  let stats: StatsMetrics | undefined;
  let nested = false;
  try {
    if (o.metrics) {
      const meter = (o.meterProvider ?? api.metrics.getMeterProvider()).getMeter(
        INSTRUMENTATION_SCOPE,
      );
      stats = new StatsMetrics(api, meter);
      parts.push(stats);
      if (o.calls) {
        histogram = createHistogram(
          api,
          meter,
          INSTRUMENTS.operationDuration,
          OPERATION_DURATION_BUCKETS,
        );
      }
      parts.push(
        new LockWait(createHistogram(api, meter, INSTRUMENTS.lockWaitDuration, LOCK_WAIT_BUCKETS)),
      );
    }
    if (o.spans) {
      if (o.calls) {
        const provider = o.tracerProvider ?? api.trace.getTracerProvider();
        tracer = provider.getTracer(INSTRUMENTATION_SCOPE);
      }
      parts.push(new SpanEvents(api));
    }
    if (histogram !== undefined || tracer !== undefined) {
      const storage = tracer === undefined ? undefined : activeContextStorage(api);
      const calls = new CallTracing(api, { histogram, tracer, storage });
      nested = calls.nested;
      parts.push(calls);
    }
  } catch (error) {
    for (const part of parts) part.close();
    throw error;
  }
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    for (const part of parts.splice(0)) part.close();
  };
  return {
    metrics: o.metrics,
    spans: o.spans,
    calls: o.calls,
    nested,
    get instances(): number {
      return closed ? 0 : (stats?.instances ?? 0);
    },
    close,
    [Symbol.dispose]: close,
  };
}

function createHistogram(
  api: ReturnType<typeof loadApi>,
  meter: Meter,
  spec: InstrumentSpec,
  buckets: readonly number[],
): Histogram {
  return meter.createHistogram(spec.name, {
    description: spec.description,
    unit: spec.unit,
    valueType: api.ValueType.DOUBLE,
    advice: { explicitBucketBoundaries: [...buckets] },
  });
}
