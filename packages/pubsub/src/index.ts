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
  createPubSub,
  type PubSub,
  type PubSubEvents,
  type PubSubOptions,
  type PubSubStats,
  type SubscribeTargets,
} from './pubsub.js';
export type {
  DropReport,
  GapInfo,
  MalformedReport,
  Message,
  OverflowPolicy,
  SubscribeOptions,
  Subscription,
  SubscriptionEvents,
  SubscriptionStats,
} from './subscription.js';
