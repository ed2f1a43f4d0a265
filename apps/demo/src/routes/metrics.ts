import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics';

/** `GET /metrics`: Prometheus text exposition of the demo's registry. */
export function registerMetricsRoute(app: FastifyInstance, metrics: Metrics): void {
  app.get('/metrics', { config: { rateLimit: 'ops' } }, async (_request, reply) => {
    const body = await metrics.render();
    reply.header('content-type', metrics.contentType).header('cache-control', 'no-store');
    return body;
  });
}
