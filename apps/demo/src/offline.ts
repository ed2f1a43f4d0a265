import { type Breaker, createBreaker } from '@x/breaker';
import { Redis } from 'ioredis';

/** What `@x/ratelimit` and `@x/session` get when the demo runs with no Redis at all. */
export interface OfflineRedis {
  /** A client that never connects (no command is ever sent through it). */
  readonly client: Redis;
  /** A breaker held open (`'isolated'`): every call goes straight to the package's fallback. */
  readonly breaker: Breaker;
  close(): void;
}

/**
 * With no Redis configured, the rate limiter and the session store still require a `redis`
 * option. They get a lazy client that is never connected and a breaker isolated by hand, so
 * every call is answered by their in-process fallback at once (`fallback: 'local'` for rate
 * limits, the opt-in `fallback: 'memory'` for sessions), and nothing ever dials out.
 */
export function createOfflineRedis(): OfflineRedis {
  const client = new Redis({
    lazyConnect: true,
    // Belt and braces: even if a command slipped through, it would fail at once, locally.
    path: '/nonexistent/x-demo-no-redis.sock',
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  const breaker = createBreaker();
  const isolation = breaker.isolate();
  return {
    client,
    breaker,
    close() {
      isolation.dispose();
      client.disconnect();
    },
  };
}
