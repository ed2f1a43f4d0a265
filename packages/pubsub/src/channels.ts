import { eventChannel } from '@x/connection';
import type { GapInfo, OverflowPolicy } from './subscription.js';

/** Message of `x:pubsub:gap`: the subscriber connection is back after a loss. */
export interface PubSubGapMessage {
  /** Why it was lost (see `GapInfo.reason`). */
  reason: GapInfo['reason'];
  /** How long it was down, ms. */
  downtimeMs: number;
}

/** Message of `x:pubsub:drop`: a subscription's burst of drops ended (one message per burst). */
export interface PubSubDropMessage {
  /** The overflow policy that dropped them. */
  overflow: OverflowPolicy;
  /** Messages dropped in the burst. */
  count: number;
}

/**
 * The `node:diagnostics_channel` channels `@x/pubsub` publishes on (only when someone
 * subscribed). Messages carry no channel names (low cardinality). Counters are in `stats()`.
 */
export const PUBSUB_CHANNELS = {
  /** {@link PubSubGapMessage}, once per loss of the subscriber connection, when it is back. */
  gap: 'x:pubsub:gap',
  /** {@link PubSubDropMessage}, once per burst of drops of a subscription. */
  drop: 'x:pubsub:drop',
} as const;

/** @internal */
export const gapChannel = eventChannel<PubSubGapMessage>(PUBSUB_CHANNELS.gap);
/** @internal */
export const dropChannel = eventChannel<PubSubDropMessage>(PUBSUB_CHANNELS.drop);
