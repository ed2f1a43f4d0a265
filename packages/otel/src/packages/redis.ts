import type { RedisStats } from '@x/connection';
import { ATTRIBUTES } from '../attributes.js';
import { num, type Row, seconds, stateRows } from './table.js';

/** States of a connection (`RedisStats.state`). */
const CONNECTION_STATES = ['connecting', 'ready', 'unusable', 'closed'] as const;
/** States of a breaker (`RedisStats.breaker`). */
const BREAKER_STATES = ['closed', 'open', 'half-open', 'isolated'] as const;

/**
 * The `redis` block of every package's `stats()` (`RedisStats` of `@x/connection`), read for
 * each connection of an instance (a lock manager in quorum mode has one per server). Its lines
 * carry `x.connection` (the connection's name) besides the instance's attributes.
 */
export const REDIS_ROWS: readonly Row<RedisStats>[] = [
  { instrument: 'redisCalls', read: (r) => num(r.calls) },
  { instrument: 'redisFailures', read: (r) => num(r.failures) },
  { instrument: 'redisTimeouts', read: (r) => num(r.timeouts) },
  { instrument: 'redisRejects', read: (r) => num(r.rejects) },
  { instrument: 'redisFallbacks', read: (r) => num(r.fallbacks) },
  { instrument: 'redisOutages', read: (r) => num(r.outages) },
  { instrument: 'redisUnusableTime', read: (r) => seconds(r.unusableMs) },
  ...stateRows<RedisStats>('redisState', ATTRIBUTES.state, CONNECTION_STATES, (r) => r.state),
  ...stateRows<RedisStats>('breakerState', ATTRIBUTES.state, BREAKER_STATES, (r) => r.breaker),
  {
    instrument: 'redisProblem',
    // Only the current kind is observed; a kind seen before reads 0 once it cleared.
    attributes: (r) =>
      typeof r.problem?.kind === 'string'
        ? { [ATTRIBUTES.problemKind]: r.problem.kind }
        : undefined,
    read: () => 1,
  },
];

/**
 * The `redis` blocks of a `stats()`: one object, an array (lock quorum), or none (`null` for a
 * memory-only hybrid client, absent for a package without Redis).
 */
export function redisBlocks(stats: unknown): RedisStats[] {
  const redis = (stats as { redis?: unknown } | null)?.redis;
  if (Array.isArray(redis)) return redis.filter(isRedisStats);
  return isRedisStats(redis) ? [redis] : [];
}

function isRedisStats(value: unknown): value is RedisStats {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as RedisStats).name === 'string' &&
    typeof (value as RedisStats).calls === 'number'
  );
}
