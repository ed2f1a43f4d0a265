import type { HealthChecker, ReadinessProblem } from '@x/health';
import { readiness } from '@x/health';
import type { FastifyInstance } from 'fastify';

/**
 * `GET /health/live` (the process answers: never depends on Redis) and `GET /health/ready`
 * (`@x/health`'s readiness: 503 while Redis is unhealthy, and at once while the setup is wrong;
 * with no Redis configured the demo runs on memory by design and is ready). Readiness carries the
 * connection's diagnosis (`problem`: kind, the server's words, the hint, since when), never a raw
 * client error.
 */
export function registerHealthRoutes(
  app: FastifyInstance,
  checker: HealthChecker | undefined,
  problem: () => ReadinessProblem | null | undefined,
): void {
  const started = Date.now();
  app.get('/health/live', async () => ({
    status: 'ok',
    uptimeSeconds: Math.round((Date.now() - started) / 1000),
  }));

  app.get('/health/ready', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    if (!checker) {
      return { ready: true, status: 'memory-only', redis: 'not configured', problem: null };
    }
    // The latest error stays out (`exposeErrors` off): the diagnosis says it better, and a wrong
    // setup makes the instance not ready at once.
    const { status, body } = readiness(checker, { problem });
    reply.code(status);
    return { ...body, redis: 'configured' };
  });
}
