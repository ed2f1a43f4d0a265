import { performance } from 'node:perf_hooks';
import type { HybridClient } from '@x/hybrid-client';
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics';
import type { SlowSource } from '../source';

/** Where an item answer came from. */
export type ItemOrigin = 'redis' | 'memory' | 'source';

/** Dependencies of the item routes. */
export interface ItemRoutesDeps {
  cache: HybridClient;
  source: SlowSource;
  metrics: Metrics;
  itemTtlMs: number;
}

const ID = '^[A-Za-z0-9_-]{1,64}$';

/**
 * `GET /items/:id`: cache-aside through `getOrSet` of `@x/hybrid-client` over the slow source.
 * The answer says where the item came from (`redis`, `memory` or `source`) and how long it took;
 * the same is in the `X-Cache` and `X-Response-Time-Ms` headers.
 */
export function registerItemRoutes(app: FastifyInstance, deps: ItemRoutesDeps): void {
  const { cache, source, metrics, itemTtlMs } = deps;

  app.get<{ Params: { id: string } }>(
    '/items/:id',
    {
      schema: {
        params: {
          type: 'object',
          properties: { id: { type: 'string', pattern: ID } },
          required: ['id'],
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const started = performance.now();
      // Set by the loader: only a miss reaches the source (concurrent misses share one load).
      const load = { called: false };
      let value: string;
      try {
        value = await cache.getOrSet(
          `x-demo:item:${id}`,
          async () => {
            load.called = true;
            return JSON.stringify(await source.load(id));
          },
          { ttl: itemTtlMs },
        );
      } catch (error) {
        metrics.operation(
          'getOrSet',
          cache.activeBackend,
          'error',
          (performance.now() - started) / 1000,
        );
        throw error;
      }
      const tookMs = performance.now() - started;
      const backend = cache.activeBackend;
      const from: ItemOrigin = load.called ? 'source' : backend === 'primary' ? 'redis' : 'memory';
      metrics.operation('getOrSet', backend, load.called ? 'miss' : 'hit', tookMs / 1000);
      if (from === 'memory') metrics.fallbackHit();
      const rounded = Math.round(tookMs * 100) / 100;
      reply.header('x-cache', from).header('x-response-time-ms', String(rounded));
      return { item: JSON.parse(value) as unknown, from, backend, tookMs: rounded };
    },
  );
}
