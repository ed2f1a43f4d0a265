import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { buildStatus, type StatusSources } from '../status';

// Read once at start-up: plain HTML with a little inline JS, no build step.
const PAGE = readFileSync(new URL('../status-page.html', import.meta.url), 'utf8');

/** `GET /status` (JSON) and `GET /` (the live status page, which polls `/status`). */
export function registerStatusRoutes(app: FastifyInstance, sources: StatusSources): void {
  app.get('/status', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return buildStatus(sources);
  });

  app.get('/', async (_request, reply) => {
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(PAGE);
  });
}
