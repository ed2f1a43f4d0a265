// Test helpers: the OpenTelemetry SDK with a reader we collect from and an in-memory span exporter.
import * as api from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  type MetricData,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { createRateLimiter, type RateLimiter, type RateLimiterOptions } from '@x/ratelimit';
import type { CloseList } from '@x/testkit';
import { type Instrumentation, instrument } from '../instrument.js';

/** A reader that exports only when the test asks (`collect()`). */
class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/** One collected series. */
export interface Series {
  attributes: Record<string, unknown>;
  value: number | Histogram;
}

/** The metrics of one collection, by instrument name. */
export class Collected {
  constructor(readonly metrics: Map<string, MetricData>) {}

  /** Every series of `name` whose attributes include `match`. */
  series(name: string, match: Record<string, unknown> = {}): Series[] {
    const metric = this.metrics.get(name);
    if (metric === undefined) return [];
    return (metric.dataPoints as DataPoint<number | Histogram>[])
      .filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))
      .map((p) => ({ attributes: p.attributes, value: p.value }));
  }

  /** The sum of the values of the matching series (`undefined` when there is none). */
  value(name: string, match: Record<string, unknown> = {}): number | undefined {
    const found = this.series(name, match);
    if (found.length === 0) return undefined;
    return found.reduce((total, s) => total + (typeof s.value === 'number' ? s.value : 0), 0);
  }

  /** Histogram points of the matching series. */
  histograms(name: string, match: Record<string, unknown> = {}): Histogram[] {
    return this.series(name, match)
      .map((s) => s.value)
      .filter((v): v is Histogram => typeof v === 'object');
  }

  /** Every attribute value of every series, for the "no key anywhere" checks. */
  attributeValues(): string[] {
    const values: string[] = [];
    for (const metric of this.metrics.values()) {
      for (const point of metric.dataPoints) {
        for (const value of Object.values(point.attributes)) values.push(String(value));
      }
    }
    return values;
  }
}

/** A MeterProvider with a reader that collects on demand. */
export function meterHarness(): {
  meterProvider: MeterProvider;
  collect(): Promise<Collected>;
  shutdown(): Promise<void>;
} {
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    meterProvider,
    async collect() {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw errors[0];
      const metrics = new Map<string, MetricData>();
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) metrics.set(metric.descriptor.name, metric);
      }
      return new Collected(metrics);
    },
    shutdown: () => meterProvider.shutdown(),
  };
}

/**
 * A TracerProvider exporting to memory, with OpenTelemetry's AsyncLocalStorage context manager
 * registered globally (what NodeSDK does), so that active spans propagate.
 */
export function traceHarness(): {
  tracerProvider: BasicTracerProvider;
  exporter: InMemorySpanExporter;
  spans(): ReadableSpan[];
  shutdown(): Promise<void>;
} {
  const manager = new AsyncLocalStorageContextManager().enable();
  api.context.setGlobalContextManager(manager);
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  return {
    tracerProvider,
    exporter,
    spans: () => exporter.getFinishedSpans(),
    async shutdown() {
      await tracerProvider.shutdown();
      api.context.disable();
    },
  };
}

/** Every attribute value of a span and of its events. */
export function spanAttributeValues(span: ReadableSpan): string[] {
  const values = Object.values(span.attributes).map(String);
  for (const event of span.events) {
    values.push(event.name, ...Object.values(event.attributes ?? {}).map(String));
  }
  if (span.status.message !== undefined) values.push(span.status.message);
  values.push(span.name);
  return values;
}

/** `instrument()` with metrics only, on a {@link meterHarness}; both closed by `open`. */
export function instrumentedMetrics(
  open: CloseList,
): ReturnType<typeof meterHarness> & { otel: Instrumentation } {
  const metrics = meterHarness();
  const otel = instrument({ meterProvider: metrics.meterProvider, spans: false });
  open.push(() => metrics.shutdown());
  open.push(() => otel.close());
  return { ...metrics, otel };
}

/** A silent fixed-window limiter of 1 000 per 10 minutes on `url` (unless `extra` says otherwise), closed by `open`. */
export function testLimiter(
  open: CloseList,
  url: string,
  extra: Partial<RateLimiterOptions> = {},
): RateLimiter {
  const rl = createRateLimiter({
    redis: url,
    algorithm: 'fixed-window',
    limit: 1_000,
    windowMs: 600_000,
    logger: false,
    ...extra,
  });
  open.push(() => rl.close());
  return rl;
}
