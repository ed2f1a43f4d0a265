import diagnostics_channel from 'node:diagnostics_channel';
import { CONNECTION_CHANNELS } from '@x/connection';
import type { Api } from './_internal/api.js';
import { ATTRIBUTES, type Attributes, packageOf } from './attributes.js';

/** A channel whose messages become span events: the event's name and attributes. */
export interface SpanEventSpec {
  readonly channel: string;
  readonly event: string;
  /** The attributes of the event (no key, no user channel, no message text). */
  attributes(message: Record<string, unknown>): Attributes;
}

const kindOf = (problem: unknown): Attributes =>
  typeof (problem as { kind?: unknown } | null)?.kind === 'string'
    ? { [ATTRIBUTES.problemKind]: (problem as { kind: string }).kind }
    : {};

const text = (value: unknown): string => (typeof value === 'string' ? value : String(value));

/** Reason of a change (`x.reason`), from a fixed set chosen by the package. */
const REASON = 'x.reason';
/** The state or source before a change. */
const PREVIOUS = 'x.state.previous';

/**
 * The state changes and notable events of the x packages, as span events. Channel names are
 * those the packages publish on (`x:<package>:<event>`).
 */
export const SPAN_EVENTS: readonly SpanEventSpec[] = [
  {
    channel: CONNECTION_CHANNELS.state,
    event: 'x.connection.state',
    attributes: (m) => ({
      [ATTRIBUTES.package]: packageOf(text(m.connection)),
      [ATTRIBUTES.connection]: text(m.connection),
      [PREVIOUS]: text(m.from),
      [ATTRIBUTES.state]: text(m.to),
      [REASON]: text(m.reason),
      ...kindOf(m.problem),
    }),
  },
  {
    channel: 'x:hybrid-client:failover',
    event: 'x.hybrid.failover',
    attributes: (m) => ({
      [ATTRIBUTES.package]: '@x/hybrid-client',
      [REASON]: text(m.cause),
      ...kindOf(m.problem),
    }),
  },
  {
    channel: 'x:hybrid-client:recover',
    event: 'x.hybrid.recover',
    attributes: (m) => ({
      [ATTRIBUTES.package]: '@x/hybrid-client',
      [REASON]: text(m.reason),
    }),
  },
  {
    channel: 'x:ratelimit:source',
    event: 'x.ratelimit.source',
    attributes: (m) => ({
      [ATTRIBUTES.package]: '@x/ratelimit',
      [PREVIOUS]: text(m.from),
      [ATTRIBUTES.source]: text(m.to),
      ...kindOf(m.problem),
    }),
  },
  {
    channel: 'x:session:fail-closed',
    event: 'x.session.fail_closed',
    attributes: (m) => ({
      [ATTRIBUTES.package]: '@x/session',
      [ATTRIBUTES.operation]: text(m.operation),
      ...(typeof m.kind === 'string' ? { [ATTRIBUTES.problemKind]: m.kind } : {}),
    }),
  },
  {
    channel: 'x:pubsub:gap',
    event: 'x.pubsub.gap',
    attributes: (m) => ({ [ATTRIBUTES.package]: '@x/pubsub', [REASON]: text(m.reason) }),
  },
  {
    channel: 'x:pubsub:drop',
    event: 'x.pubsub.drop',
    attributes: (m) => ({ [ATTRIBUTES.package]: '@x/pubsub', [REASON]: text(m.overflow) }),
  },
  {
    channel: 'x:lock:lost',
    event: 'x.lock.lost',
    attributes: (m) => ({ [ATTRIBUTES.package]: '@x/lock', [REASON]: text(m.reason) }),
  },
];

/**
 * Turns the messages of {@link SPAN_EVENTS} into events on the active span, when there is one
 * that records (a change seen outside any span adds nothing).
 */
export class SpanEvents {
  readonly #listeners: [string, (message: unknown) => void][] = [];

  constructor(api: Api) {
    for (const spec of SPAN_EVENTS) {
      const listener = (message: unknown): void => {
        const span = api.trace.getActiveSpan();
        if (span === undefined || !span.isRecording()) return;
        if (typeof message !== 'object' || message === null) return;
        span.addEvent(spec.event, spec.attributes(message as Record<string, unknown>));
      };
      diagnostics_channel.subscribe(spec.channel, listener);
      this.#listeners.push([spec.channel, listener]);
    }
  }

  /** Unsubscribes. Idempotent. */
  close(): void {
    for (const [channel, listener] of this.#listeners.splice(0)) {
      diagnostics_channel.unsubscribe(channel, listener);
    }
  }
}
