export {
  PUBSUB_CHANNELS,
  type PubSubDropMessage,
  type PubSubGapMessage,
} from './channels.js';
export { bufferCodec, type Codec, jsonCodec, stringCodec } from './codec.js';
export {
  isPubSubError,
  PublishError,
  PubSubClosedError,
  type PubSubError,
  type PubSubErrorCode,
  PubSubOptionsError,
  PubSubUnavailableError,
  SubscribeError,
  SubscriptionOverflowError,
} from './errors.js';
export {
  PUBSUB_DEFAULTS,
  type PubSubFallback,
  type PubSubOptions,
  type SubscribeTargets,
} from './options.js';
export {
  createPubSub,
  type PubSub,
  type PubSubEvents,
  type PubSubStats,
} from './pubsub.js';
export type {
  DropReport,
  GapInfo,
  GapReason,
  MalformedReport,
  Message,
  OverflowPolicy,
  SubscribeOptions,
  Subscription,
  SubscriptionEvents,
  SubscriptionStats,
} from './subscription.js';
