import { Redis, type RedisOptions } from 'ioredis';

/** ioredis' own bound on the connections it opens to sentinels (`sentinelMaxConnections`). */
const DEFAULT_MAX_SENTINELS = 10;
/** Longest wait between two reconnections to a sentinel, ms. */
const MAX_RETRY_DELAY_MS = 2_000;

/** Subscriptions to the sentinels' pub/sub; `close()` drops them. */
export interface SentinelSubscribers {
  close(): void;
}

/**
 * Subscribes to `channels` on every sentinel of `options` (a Sentinel client's options, at most
 * `sentinelMaxConnections` of them), with the sentinels' credentials and TLS as ioredis uses them,
 * and hands each message to `onMessage` with the sentinel's `host:port`. Each subscription
 * reconnects by itself and subscribes again once connected; errors are dropped (a sentinel that
 * is down is the sentinels' business, not a problem of the data connection).
 */
export function subscribeToSentinels(
  options: RedisOptions,
  channels: readonly string[],
  onMessage: (sentinel: string, channel: string, message: string) => void,
): SentinelSubscribers {
  const sentinels = (options.sentinels ?? []).slice(
    0,
    options.sentinelMaxConnections ?? DEFAULT_MAX_SENTINELS,
  );
  const retry = options.sentinelRetryStrategy;
  const subscribers = sentinels.map((address) => {
    const host = address.host ?? 'localhost';
    const port = address.port ?? 26_379;
    const name = `${host}:${port}`;
    const subscriber = new Redis({
      host,
      port,
      ...(address.family === undefined ? {} : { family: address.family }),
      username: options.sentinelUsername ?? undefined,
      password: options.sentinelPassword ?? undefined,
      ...(options.sentinelTLS === undefined ? {} : { tls: options.sentinelTLS }),
      ...(options.connectTimeout === undefined ? {} : { connectTimeout: options.connectTimeout }),
      ...(options.keepAlive === undefined ? {} : { keepAlive: options.keepAlive }),
      enableReadyCheck: false,
      enableOfflineQueue: false,
      // Subscribed again at every `ready` below (a failed SUBSCRIBE is not remembered by ioredis).
      autoResubscribe: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times: number) => {
        const delay = typeof retry === 'function' ? retry(times) : undefined;
        return Math.min(typeof delay === 'number' ? delay : times * 100, MAX_RETRY_DELAY_MS);
      },
    });
    subscriber.on('error', noop);
    subscriber.on('ready', () => {
      subscriber.subscribe(...channels).catch(noop);
    });
    subscriber.on('message', (channel: string, message: string) =>
      onMessage(name, channel, message),
    );
    return subscriber;
  });
  return {
    close: () => {
      for (const subscriber of subscribers) subscriber.disconnect();
    },
  };
}

function noop(): void {}
