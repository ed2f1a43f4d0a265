import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { type Instrumentation, instrument } from '@x/otel';
import type { ItemOrigin, ItemStats } from './item-stats';

/** Content type of the Prometheus text exposition (format 0.0.4). */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** The demo's OpenTelemetry metrics, exposed for Prometheus on `/metrics`. */
export interface Telemetry {
  /** The Prometheus text exposition of every metric now (collected at this moment). */
  render(): Promise<string>;
  /** Stops `@x/otel` and shuts the meter provider down. Idempotent. */
  close(): Promise<void>;
}

/**
 * Metrics the way a service wires them: an OpenTelemetry `MeterProvider` with the Prometheus
 * exporter as its reader (no server of its own: `/metrics` is a route of the demo), then
 * `instrument()` of `@x/otel`, before any x client is created, so every package's `stats()` is
 * read at each scrape (`x_redis_state`, `x_breaker_state`, `x_fallback_served_total`,
 * `x_hybrid_backend`, `x_ratelimit_decisions_total`, `db_client_operation_duration`...).
 *
 * The provider is this app's own (not the global one), so several demos can run in one process
 * (the tests do); `@x/otel` follows every x instance of the process all the same.
 *
 * Beside them, the demo's own metric through the same provider: `demo_items_served_total`
 * (`from`: `redis`, `memory` or `source`), read from the item route's counters at collection time.
 */
export function createTelemetry(items: ItemStats): Telemetry {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  // No tracing SDK in the demo: metrics only. `calls` stays on for db.client.operation.duration.
  const otel: Instrumentation = instrument({ meterProvider, spans: false });
  const serializer = new PrometheusSerializer();

  const served = meterProvider.getMeter('@x/demo').createObservableCounter('demo.items.served', {
    description: 'Answers of GET /items/:id by where the item came from (redis, memory or source).',
    unit: '{answer}',
  });
  served.addCallback((result) => {
    const counts = items.counts();
    for (const from of Object.keys(counts) as ItemOrigin[]) result.observe(counts[from], { from });
  });

  let closing: Promise<void> | undefined;
  return {
    async render() {
      const { resourceMetrics } = await exporter.collect();
      return serializer.serialize(resourceMetrics);
    },
    close() {
      closing ??= (async () => {
        otel.close();
        await meterProvider.shutdown();
      })();
      return closing;
    },
  };
}
