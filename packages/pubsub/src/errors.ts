import { isXError, type Problem, XError, XOptionsError, XUnavailableError } from '@x/connection';

const PKG = '@x/pubsub';

/** Stable codes of every error this package throws or emits (unique across the x packages). */
export type PubSubErrorCode =
  | 'E_PUBSUB_OPTIONS'
  | 'E_PUBSUB_UNAVAILABLE'
  | 'E_PUBSUB_PUBLISH'
  | 'E_PUBSUB_CLOSED'
  | 'E_PUBSUB_OVERFLOW'
  | 'E_PUBSUB_SUBSCRIBE';

/**
 * An option of `createPubSub` or `subscribe`, or a subscribe target, is invalid (code
 * `E_PUBSUB_OPTIONS`). `field` names it, `value` is what was given.
 */
export class PubSubOptionsError extends XOptionsError {
  declare readonly code: 'E_PUBSUB_OPTIONS';

  constructor(field: string, value: unknown, expected: string) {
    super(PKG, 'E_PUBSUB_OPTIONS', field, value, expected);
    this.name = 'PubSubOptionsError';
  }
}

/**
 * Redis could not serve the pub/sub (code `E_PUBSUB_UNAVAILABLE`): refused, unreachable, frozen
 * past the deadline, the circuit is open, or misconfigured (wrong password, TLS mismatch...).
 * `problem` is the connection's diagnosis (what is wrong and what to do), `operation` what was
 * being done: `'publish'` (the message was **not** published: no silent loss), `'subscribe'`
 * (Redis did not confirm the subscription in time; it keeps trying) or `'ready'`.
 */
export class PubSubUnavailableError extends XUnavailableError {
  declare readonly code: 'E_PUBSUB_UNAVAILABLE';
  /** The channel a publish was meant for, or the channels and patterns of a subscription. */
  readonly channels: readonly string[];
  /** The channel of a failed publish (for a subscription: its first channel or pattern). */
  readonly channel: string;

  constructor(
    operation: 'publish' | 'subscribe' | 'ready',
    channels: readonly string[],
    cause: unknown,
    problem: Problem | undefined,
  ) {
    super(PKG, 'E_PUBSUB_UNAVAILABLE', operation, cause, problem);
    this.name = 'PubSubUnavailableError';
    this.channels = channels;
    this.channel = channels[0] ?? '';
  }
}

/**
 * A publish failed for a reason that waiting does not fix (code `E_PUBSUB_PUBLISH`): the codec
 * could not encode the message, the channel is not a non-empty string, or Redis replied with an
 * error (e.g. an ACL refusing the channel). The message was not published.
 */
export class PublishError extends XError {
  declare readonly code: 'E_PUBSUB_PUBLISH';
  /** The channel the message was meant for. */
  readonly channel: string;

  constructor(channel: string, reason: string, cause: unknown) {
    super(PKG, 'E_PUBSUB_PUBLISH', `publish to "${channel}" failed: ${reason}`, { cause });
    this.name = 'PublishError';
    this.channel = channel;
  }
}

/**
 * The pub/sub or the subscription is closed (code `E_PUBSUB_CLOSED`): `publish`/`subscribe` after
 * `pubsub.close()`, or the `ready` of a subscription closed before Redis confirmed it.
 */
export class PubSubClosedError extends XError {
  declare readonly code: 'E_PUBSUB_CLOSED';

  constructor(what: 'pub/sub' | 'subscription') {
    super(
      PKG,
      'E_PUBSUB_CLOSED',
      what === 'pub/sub'
        ? 'the pub/sub is closed: create a new one with createPubSub()'
        : 'the subscription is closed: subscribe again with pubsub.subscribe()',
    );
    this.name = 'PubSubClosedError';
  }
}

/**
 * A subscription with `overflow: 'error'` received a message while its buffer was full (code
 * `E_PUBSUB_OVERFLOW`); the subscription is closed.
 */
export class SubscriptionOverflowError extends XError {
  declare readonly code: 'E_PUBSUB_OVERFLOW';
  /** The buffer size that was exceeded. */
  readonly bufferSize: number;

  constructor(bufferSize: number, channel: string) {
    super(
      PKG,
      'E_PUBSUB_OVERFLOW',
      `subscription buffer full (${bufferSize} messages), message on "${channel}" dropped and the subscription closed: read faster, raise bufferSize, or use overflow 'drop-oldest' / 'drop-newest'`,
    );
    this.name = 'SubscriptionOverflowError';
    this.bufferSize = bufferSize;
  }
}

/**
 * Redis refused a SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE with an error reply (code
 * `E_PUBSUB_SUBSCRIBE`), e.g. an ACL that does not allow the channel. Final for that `ready`;
 * the server's words are in `cause`.
 */
export class SubscribeError extends XError {
  declare readonly code: 'E_PUBSUB_SUBSCRIBE';
  /** The channels or patterns Redis refused. */
  readonly channels: readonly string[];

  constructor(channels: readonly string[], cause: unknown) {
    super(
      PKG,
      'E_PUBSUB_SUBSCRIBE',
      `Redis refused to subscribe to ${channels.map((t) => `"${t}"`).join(', ')}: ${reasonOf(cause)}. Check the ACL of the Redis user (channel permissions, &pattern)`,
      { cause },
    );
    this.name = 'SubscribeError';
    this.channels = channels;
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
  return isXError(error) && error.package === PKG;
}

function reasonOf(cause: unknown): string {
  const text = cause instanceof Error ? cause.message : String(cause);
  return text.replace(/\.\s*$/, '');
}
