import type { HealthChecker } from '@x/health';
import { readiness } from '@x/health';
import type { FastifyInstance } from 'fastify';
import type { Diagnosis } from '../diagnosis';

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
  diagnosis: () => Diagnosis | null,
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
    // The latest error stays out (`exposeErrors` off): the diagnosis says it better.
    const { status, body } = readiness(checker);
    const problem = diagnosis();
    // A wrong setup is not waited out: not ready as soon as it is found.
    const ready = body.ready && !problem?.misconfiguration;
    reply.code(ready ? status : 503);
    return { ...body, ready, redis: 'configured', problem };
  });
}
