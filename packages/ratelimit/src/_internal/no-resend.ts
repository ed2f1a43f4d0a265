// A decision must never be re-sent after a reconnect. A script sent just before the link dropped
// may already have been answered by the fallback (its deadline passed): with ioredis'
// `autoResendUnfulfilledCommands` on (its default), the client would send it again once
// reconnected, and the request would be charged a second time, in Redis, after the fallback
// counted it. So the limiter's connection always has resend off:
// - a client created from a URL or config gets `autoResendUnfulfilledCommands: false` (the
//   fail-fast clients of `@x/config` already have it; the `ioredis` option cannot turn it on);
// - a client passed in with resend off is used as is;
// - a client passed in with resend on is left alone (it is the user's) and the limiter talks
//   through one duplicate of it with resend off (same options and credentials), created here and
//   closed by the limiter.

import { isCluster, isRedisClient, type RedisClient, type RedisSource } from '@x/config';
import type { Cluster, Redis, RedisOptions } from 'ioredis';

/** The ioredis options the limiter forces on a client it creates. */
export const NO_RESEND: Readonly<Partial<RedisOptions>> = Object.freeze({
  autoResendUnfulfilledCommands: false,
});

// On the duplicate, as on every client `@x/connection` creates: a command in flight when the link
// drops fails at once instead of waiting through reconnection attempts.
const DUPLICATE: Readonly<Partial<RedisOptions>> = Object.freeze({
  autoResendUnfulfilledCommands: false,
  maxRetriesPerRequest: 0,
});

/**
 * What the limiter's connection is made on: `redis` itself, or (a client with resend on) a
 * duplicate of it with resend off, which the caller must close.
 */
export function withoutResend(redis: RedisSource): {
  redis: RedisSource;
  duplicate: RedisClient | undefined;
} {
  if (!isRedisClient(redis)) return { redis, duplicate: undefined };
  let duplicate: RedisClient;
  if (isCluster(redis)) {
    const nodeOptions = (redis as Cluster).options.redisOptions;
    if (nodeOptions?.autoResendUnfulfilledCommands === false)
      return { redis, duplicate: undefined };
    duplicate = (redis as Cluster).duplicate(undefined, {
      redisOptions: { ...nodeOptions, ...DUPLICATE },
    });
  } else {
    if ((redis as Redis).options.autoResendUnfulfilledCommands === false) {
      return { redis, duplicate: undefined };
    }
    duplicate = (redis as Redis).duplicate(DUPLICATE);
  }
  // The connection listens for errors while it is open; this one keeps ioredis from reporting an
  // unhandled 'error' event before that and while the duplicate closes.
  duplicate.on('error', noop);
  return { redis: duplicate, duplicate };
}

function noop(): void {}
