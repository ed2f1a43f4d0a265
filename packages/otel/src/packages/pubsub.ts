import { ATTRIBUTES } from '../attributes.js';
import { num, type PackageTable, type Row } from './table.js';

/** The part of `PubSubStats` read here. */
export interface PubSubStatsShape {
  published?: number;
  publishErrors?: number;
  deliveredLocally?: number;
  received?: number;
  delivered?: number;
  dropped?: number;
  malformed?: number;
  gaps?: number;
  disconnects?: number;
  readyFailures?: number;
  subscriptions?: number;
  channels?: number;
  patterns?: number;
  connected?: boolean;
}

const rows: Row<PubSubStatsShape>[] = [
  {
    instrument: 'fallbackServed',
    attributes: { [ATTRIBUTES.source]: 'local' },
    read: (s) => num(s.deliveredLocally),
  },
  { instrument: 'pubsubPublished', read: (s) => num(s.published) },
  { instrument: 'pubsubPublishErrors', read: (s) => num(s.publishErrors) },
  { instrument: 'pubsubReceived', read: (s) => num(s.received) },
  { instrument: 'pubsubDelivered', read: (s) => num(s.delivered) },
  { instrument: 'pubsubDropped', read: (s) => num(s.dropped) },
  { instrument: 'pubsubMalformed', read: (s) => num(s.malformed) },
  { instrument: 'pubsubGaps', read: (s) => num(s.gaps) },
  { instrument: 'pubsubDisconnects', read: (s) => num(s.disconnects) },
  { instrument: 'pubsubReadyFailures', read: (s) => num(s.readyFailures) },
  { instrument: 'pubsubSubscriptions', read: (s) => num(s.subscriptions) },
  {
    instrument: 'pubsubChannels',
    attributes: { [ATTRIBUTES.state]: 'channel' },
    read: (s) => num(s.channels),
  },
  {
    instrument: 'pubsubChannels',
    attributes: { [ATTRIBUTES.state]: 'pattern' },
    read: (s) => num(s.patterns),
  },
  {
    instrument: 'pubsubConnected',
    read: (s) => (typeof s.connected === 'boolean' ? (s.connected ? 1 : 0) : undefined),
  },
];

/** `@x/pubsub`: publishes, deliveries (local ones too), drops, malformed payloads, gaps. */
export const PUBSUB_TABLE: PackageTable<PubSubStatsShape> = { package: '@x/pubsub', rows };
