const BRAND: unique symbol = Symbol.for('@x/pubsub.error') as never;

/** Stable codes of every error this package throws or emits. */
export type PubSubErrorCode =
  | 'E_PUBSUB_OPTIONS'
  | 'E_PUBSUB_UNAVAILABLE'
  | 'E_PUBLISH'
  | 'E_PUBSUB_CLOSED'
  | 'E_SUBSCRIPTION_OVERFLOW'
  | 'E_SUBSCRIBE';

abstract class PubSubErrorBase extends Error {
  /** Stable machine-readable code. */
  abstract readonly code: PubSubErrorCode;
  /** Brand that survives two installed copies of the package. */
  readonly [BRAND] = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(`[@x/pubsub] ${message}`, options);
  }
}

/** An option passed to `createPubSub` or `subscribe` is invalid. */
export class PubSubOptionsError extends PubSubErrorBase {
  override readonly name = 'PubSubOptionsError';
  readonly code = 'E_PUBSUB_OPTIONS' as const;
  /** The option that was rejected, e.g. `bufferSize`. */
  readonly field: string;

  constructor(field: string, value: unknown, expected: string) {
    super(`invalid option "${field}": expected ${expected}, got ${describe(value)}`);
    this.field = field;
  }
}

/**
 * Redis could not take the message: the client is disconnected, the call missed its deadline,
 * or the circuit is open. The message was not published (no silent loss).
 */
export class PubSubUnavailableError extends PubSubErrorBase {
  override readonly name = 'PubSubUnavailableError';
  readonly code = 'E_PUBSUB_UNAVAILABLE' as const;
  /** The channel the message was meant for. */
  readonly channel: string;

  constructor(channel: string, cause: unknown) {
    super(`Redis is unavailable, message to "${channel}" not published`, { cause });
    this.channel = channel;
  }
}

/** Redis answered the publish with an error reply, or the codec could not encode the message. */
export class PublishError extends PubSubErrorBase {
  override readonly name = 'PublishError';
  readonly code = 'E_PUBLISH' as const;
  /** The channel the message was meant for. */
  readonly channel: string;

  constructor(channel: string, reason: string, cause: unknown) {
    super(`publish to "${channel}" failed: ${reason}`, { cause });
    this.channel = channel;
  }
}

/** The pub/sub instance or the subscription was closed. */
export class PubSubClosedError extends PubSubErrorBase {
  override readonly name = 'PubSubClosedError';
  readonly code = 'E_PUBSUB_CLOSED' as const;

  constructor(what: string) {
    super(`${what} is closed`);
  }
}

/** A subscription with `overflow: 'error'` received a message while its buffer was full. */
export class SubscriptionOverflowError extends PubSubErrorBase {
  override readonly name = 'SubscriptionOverflowError';
  readonly code = 'E_SUBSCRIPTION_OVERFLOW' as const;
  /** The buffer size that was exceeded. */
  readonly bufferSize: number;

  constructor(bufferSize: number, channel: string) {
    super(`subscription buffer full (${bufferSize} messages), message on "${channel}" dropped`);
    this.bufferSize = bufferSize;
  }
}

/** Redis refused a SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE command. */
export class SubscribeError extends PubSubErrorBase {
  override readonly name = 'SubscribeError';
  readonly code = 'E_SUBSCRIBE' as const;

  constructor(targets: readonly string[], cause: unknown) {
    super(`subscribe to ${targets.map((t) => `"${t}"`).join(', ')} failed`, { cause });
  }
}

/** Any error of this package. */
export type PubSubError =
  | PubSubOptionsError
  | PubSubUnavailableError
  | PublishError
  | PubSubClosedError
  | SubscriptionOverflowError
  | SubscribeError;

/**
 * Tells whether `error` comes from `@x/pubsub` (any installed copy). Narrow further on `code`.
 * @example if (isPubSubError(e) && e.code === 'E_PUBSUB_UNAVAILABLE') retryLater();
 */
export function isPubSubError(error: unknown): error is PubSubError {
  return typeof error === 'object' && error !== null && (error as never)[BRAND] === true;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
