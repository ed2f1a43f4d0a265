import type { Breaker, BreakerOptions } from '@x/breaker';
import type { RedisSource } from '@x/config';
import type { Logger } from '@x/connection';
import { type BackoffOptions, toRetryStrategy } from '@x/reconnect';
import type { RedisOptions } from 'ioredis';
import { type Codec, jsonCodec } from './codec.js';
import { PubSubOptionsError } from './errors.js';
import type { OverflowPolicy, SubscribeOptions } from './subscription.js';

/** What a publish does while Redis cannot take it: `'none'` rejects, `'local'` delivers locally. */
export type PubSubFallback = 'local' | 'none';

/** Options of `createPubSub`. */
export interface PubSubOptions<T = unknown> {
  /**
   * Where Redis is: a `redis://` / `rediss://` URL, a config of `@x/config`, or an existing
   * ioredis `Redis` / `Cluster`. A given client publishes and is duplicated for the subscriber
   * connection; it is never closed. A client created from a URL or config is closed by `close()`.
   */
  redis: RedisSource;
  /**
   * ioredis options for the client created from a URL or config (ignored for a given client).
   * @default undefined
   */
  ioredis?: Partial<RedisOptions> | undefined;
  /**
   * Deadline in ms of one publish (also when Redis is frozen), of a subscription's `ready`, and of
   * `pubsub.ready()`: none of them waits longer, whatever Redis does.
   * @default 1000
   */
  timeoutMs?: number | undefined;
  /**
   * What a publish does when Redis cannot take it (down, frozen past `timeoutMs`, circuit open):
   * `'none'` rejects with `PubSubUnavailableError` (nothing is lost silently); `'local'` delivers
   * the message to this process' own matching subscriptions instead, and resolves with their
   * count (other processes do not get it).
   * @default 'none'
   */
  fallback?: PubSubFallback | undefined;
  /**
   * The circuit breaker of publishes: options for a new one, an existing `Breaker` of
   * `@x/breaker` (shareable between packages), or `false`. While it is open, publishes fail at
   * once without touching Redis.
   * @default { maxFailures: 5, resetTimeout: 5000 }
   */
  breaker?: Breaker | BreakerOptions | false | undefined;
  /**
   * Where the pub/sub logs (a subscriber connection lost and back, a subscription Redis did not
   * confirm in time) and where its connection logs a misconfiguration (once, error level): a
   * pino-compatible logger, `console`, a function `(msg, fields) => void`, or `false`.
   * @default console
   */
  logger?: Logger | undefined;
  /**
   * Encodes published messages and decodes received ones.
   * @default jsonCodec
   */
  codec?: Codec<T> | undefined;
  /**
   * Sharded pub/sub (`SPUBLISH` / `SSUBSCRIBE`, Redis 7+): every channel lives on the shard that
   * owns its hash slot, so traffic scales with the cluster. Patterns are not available then.
   * Works on Cluster (needed there to avoid broadcasting every message to every node) and on a
   * standalone Redis 7.
   * @default false
   */
  sharded?: boolean | undefined;
  /**
   * How often the subscriber connection is sent a PING, to notice a frozen server or node (SIGSTOP,
   * blackhole). On Cluster: the connection ioredis subscribes on (classic pub/sub), or every shard
   * subscriber connection (sharded pub/sub); also the period of the subscriber's slot-map refresh.
   * `0` disables both.
   * @default 5000
   */
  pingIntervalMs?: number | undefined;
  /**
   * How long a PING of the subscriber connection (and its handshake, or on Cluster the
   * re-subscribe on a replacement connection) may take before the connection is considered dead
   * and replaced.
   * @default 2000
   */
  pingTimeoutMs?: number | undefined;
  /**
   * Reconnection backoff of the subscriber connection (`@x/reconnect`); it never gives up while
   * the pub/sub is open.
   * @default { minDelayMs: 100, maxDelayMs: 5000, jitter: 'full' }
   */
  reconnect?: BackoffOptions | undefined;
}

/** @internal Every option of `createPubSub` with its default, computed once. */
export interface ResolvedPubSubOptions<T> {
  redis: RedisSource;
  ioredis: Partial<RedisOptions> | undefined;
  timeoutMs: number;
  fallback: PubSubFallback;
  breaker: Breaker | BreakerOptions | false | undefined;
  logger: Logger | undefined;
  codec: Codec<T>;
  sharded: boolean;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  reconnect: BackoffOptions;
}

/** The defaults of `createPubSub`. */
export const PUBSUB_DEFAULTS = Object.freeze({
  timeoutMs: 1_000,
  fallback: 'none' as PubSubFallback,
  pingIntervalMs: 5_000,
  pingTimeoutMs: 2_000,
  reconnect: Object.freeze({
    minDelayMs: 100,
    maxDelayMs: 5_000,
    jitter: 'full',
  }) as BackoffOptions,
  bufferSize: 100,
  overflow: 'drop-oldest' as OverflowPolicy,
  dropReportIntervalMs: 1_000,
});

/**
 * Validates the options of `createPubSub` that are its own and fills in the defaults (`redis`,
 * `ioredis`, `breaker` and `logger` are validated by `createConnection`, which reports them as
 * `PubSubOptionsError` through its `optionError`).
 * @throws PubSubOptionsError naming the invalid option and its value.
 */
export function resolvePubSubOptions<T>(options: PubSubOptions<T>): ResolvedPubSubOptions<T> {
  if (typeof options !== 'object' || options === null) {
    throw new PubSubOptionsError('options', options, 'an object with `redis`');
  }
  const codec = options.codec ?? (jsonCodec as Codec<T>);
  if (
    typeof codec !== 'object' ||
    codec === null ||
    typeof codec.encode !== 'function' ||
    typeof codec.decode !== 'function'
  ) {
    throw new PubSubOptionsError('codec', codec, 'an object with encode() and decode()');
  }
  const fallback = options.fallback ?? PUBSUB_DEFAULTS.fallback;
  if (fallback !== 'local' && fallback !== 'none') {
    throw new PubSubOptionsError('fallback', fallback, "'local' or 'none'");
  }
  if (options.sharded !== undefined && typeof options.sharded !== 'boolean') {
    throw new PubSubOptionsError('sharded', options.sharded, 'a boolean');
  }
  const reconnect = options.reconnect ?? PUBSUB_DEFAULTS.reconnect;
  toRetryStrategy(reconnect); // validates the backoff options now
  return {
    redis: options.redis,
    ioredis: options.ioredis,
    timeoutMs: ms('timeoutMs', options.timeoutMs, PUBSUB_DEFAULTS.timeoutMs, 1),
    fallback,
    breaker: options.breaker,
    logger: options.logger,
    codec,
    sharded: options.sharded ?? false,
    pingIntervalMs: ms('pingIntervalMs', options.pingIntervalMs, PUBSUB_DEFAULTS.pingIntervalMs, 0),
    pingTimeoutMs: ms('pingTimeoutMs', options.pingTimeoutMs, PUBSUB_DEFAULTS.pingTimeoutMs, 1),
    reconnect,
  };
}

/** What `subscribe` accepts: channel names, or channels and patterns. */
export type SubscribeTargets =
  | string
  | readonly string[]
  | { readonly channels?: readonly string[]; readonly patterns?: readonly string[] };

/**
 * Validates the targets of `subscribe`: a channel, channels, or `{ channels, patterns }`, each a
 * non-empty string, at least one in all; duplicates are dropped.
 * @throws PubSubOptionsError naming the invalid field and value.
 */
export function parseTargets(targets: SubscribeTargets): {
  channels: string[];
  patterns: string[];
} {
  let channels: readonly unknown[] = [];
  let patterns: readonly unknown[] = [];
  if (typeof targets === 'string') channels = [targets];
  else if (Array.isArray(targets)) channels = targets;
  else if (typeof targets === 'object' && targets !== null) {
    const t = targets as { channels?: unknown; patterns?: unknown };
    if (t.channels !== undefined && !Array.isArray(t.channels)) {
      throw new PubSubOptionsError('channels', t.channels, 'an array of strings');
    }
    if (t.patterns !== undefined && !Array.isArray(t.patterns)) {
      throw new PubSubOptionsError('patterns', t.patterns, 'an array of strings');
    }
    channels = (t.channels as unknown[] | undefined) ?? [];
    patterns = (t.patterns as unknown[] | undefined) ?? [];
  } else {
    throw new PubSubOptionsError(
      'targets',
      targets,
      'a channel, channels or { channels, patterns }',
    );
  }
  for (const [field, list] of [
    ['channels', channels],
    ['patterns', patterns],
  ] as const) {
    for (const name of list) {
      if (typeof name !== 'string' || name.length === 0) {
        throw new PubSubOptionsError(field, name, 'non-empty strings');
      }
    }
  }
  if (channels.length + patterns.length === 0) {
    throw new PubSubOptionsError('targets', targets, 'at least one channel or pattern');
  }
  return {
    channels: [...new Set(channels as string[])],
    patterns: [...new Set(patterns as string[])],
  };
}

/**
 * Validates the options of `subscribe` and fills in the defaults.
 * @throws PubSubOptionsError naming the invalid option and its value.
 */
export function resolveSubscribeOptions(
  options: SubscribeOptions,
): Required<Omit<SubscribeOptions, 'signal'>> & { signal?: AbortSignal } {
  if (typeof options !== 'object' || options === null) {
    throw new PubSubOptionsError('options', options, 'an object');
  }
  const bufferSize = options.bufferSize ?? PUBSUB_DEFAULTS.bufferSize;
  if (!Number.isSafeInteger(bufferSize) || bufferSize < 1) {
    throw new PubSubOptionsError('bufferSize', bufferSize, 'an integer >= 1');
  }
  const overflow = options.overflow ?? PUBSUB_DEFAULTS.overflow;
  if (overflow !== 'drop-oldest' && overflow !== 'drop-newest' && overflow !== 'error') {
    throw new PubSubOptionsError('overflow', overflow, "'drop-oldest' | 'drop-newest' | 'error'");
  }
  const dropReportIntervalMs = ms(
    'dropReportIntervalMs',
    options.dropReportIntervalMs,
    PUBSUB_DEFAULTS.dropReportIntervalMs,
    0,
  );
  const signal = options.signal;
  if (
    signal !== undefined &&
    !(typeof signal === 'object' && signal !== null && 'aborted' in signal)
  ) {
    throw new PubSubOptionsError('signal', signal, 'an AbortSignal');
  }
  return {
    bufferSize,
    overflow,
    dropReportIntervalMs,
    ...(signal === undefined ? {} : { signal }),
  };
}

function ms(field: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new PubSubOptionsError(field, value, `an integer >= ${min} (ms)`);
  }
  return value;
}
