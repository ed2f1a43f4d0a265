import type { HealthChecker } from '@x/health';
import { readiness } from '@x/health';
import type { FastifyInstance } from 'fastify';

/**
 * `GET /health/live` (the process answers: never depends on Redis) and `GET /health/ready`
 * (`@x/health`'s readiness: 503 while Redis is unhealthy; with no Redis configured the demo
 * runs on memory by design and is ready).
 */
export function registerHealthRoutes(
  app: FastifyInstance,
  checker: HealthChecker | undefined,
): void {
  const started = Date.now();
  app.get('/health/live', { config: { rateLimit: 'ops' } }, async () => ({
    status: 'ok',
    uptimeSeconds: Math.round((Date.now() - started) / 1000),
  }));

  app.get('/health/ready', { config: { rateLimit: 'ops' } }, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    if (!checker) {
      return { ready: true, redis: 'not configured', status: 'memory-only' };
    }
    const result = readiness(checker, { exposeErrors: true });
    reply.code(result.status);
    return { ...result.body, redis: 'configured' };
  });
}
