import type { FastifyInstance } from 'fastify';
import { PROMETHEUS_CONTENT_TYPE, type Telemetry } from '../telemetry';

/**
 * `GET /metrics`: the Prometheus text exposition of the demo's OpenTelemetry metrics (`@x/otel`
 * for every x package, and the demo's own), collected at each scrape.
 */
export function registerMetricsRoute(app: FastifyInstance, telemetry: Telemetry): void {
  app.get('/metrics', async (_request, reply) => {
    const body = await telemetry.render();
    reply.header('content-type', PROMETHEUS_CONTENT_TYPE).header('cache-control', 'no-store');
    return body;
  });
}
