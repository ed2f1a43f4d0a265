import { performance } from 'node:perf_hooks';
import type { HybridClient } from '@x/hybrid-client';
import type { FastifyInstance } from 'fastify';
import type { ItemOrigin, ItemStats } from '../item-stats';
import type { SlowSource } from '../source';

/** Dependencies of the item routes. */
export interface ItemRoutesDeps {
  cache: HybridClient;
  source: SlowSource;
  stats: ItemStats;
  itemTtlMs: number;
}

const ID = '^[A-Za-z0-9_-]{1,64}$';

/**
 * `GET /items/:id`: cache-aside through `getOrSet` of `@x/hybrid-client` over the slow source.
 * The answer says where the item came from (`redis`, `memory` or `source`) and how long it took;
 * the same is in the `X-Cache` and `X-Response-Time-Ms` headers.
 */
export function registerItemRoutes(app: FastifyInstance, deps: ItemRoutesDeps): void {
  const { cache, source, stats, itemTtlMs } = deps;

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
      const value = await cache.getOrSet(
        `x-demo:item:${id}`,
        async () => {
          load.called = true;
          return JSON.stringify(await source.load(id));
        },
        { ttl: itemTtlMs },
      );
      const tookMs = performance.now() - started;
      const backend = cache.activeBackend;
      const from: ItemOrigin = load.called ? 'source' : backend === 'primary' ? 'redis' : 'memory';
      const rounded = Math.round(tookMs * 100) / 100;
      stats.record(from, rounded);
      reply.header('x-cache', from).header('x-response-time-ms', String(rounded));
      return { item: JSON.parse(value) as unknown, from, backend, tookMs: rounded };
    },
  );
}
