import type { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics_channel from 'node:diagnostics_channel';
import type { Context, Histogram, Span, Tracer } from '@opentelemetry/api';
import { CONNECTION_CHANNELS, type ConnectionCallContext } from '@x/connection';
import type { Api } from './_internal/api.js';
import { ATTRIBUTES, type Attributes, errorType, packageOf } from './attributes.js';

/** How a traced call ended: Redis answered, a fallback served it, or it failed. */
export type CallOutcome = 'redis' | 'fallback' | 'error';

/** What a traced call's context holds once Node's `tracePromise` has settled it. */
interface CallContext extends ConnectionCallContext {
  error?: unknown;
  /**
   * Set by `@x/connection` when the call's fallback served it (read when present: without it a
   * call served by its fallback counts as `'redis'`).
   */
  fallback?: boolean;
}

/** Attribute sets of the duration histogram kept for reuse at most (they are few). */
const MAX_ATTRIBUTE_SETS = 1_024;

/** Options of {@link CallTracing}. */
export interface CallTracingOptions {
  /** `db.client.operation.duration`, when metrics are on. */
  histogram: Histogram | undefined;
  /** The tracer of the spans, when spans are on. */
  tracer: Tracer | undefined;
  /** The storage of OpenTelemetry's active context, to make our span active during the call. */
  storage: AsyncLocalStorage<Context> | undefined;
}

// One storage bound by one instrumentation at a time (a channel keeps one transform per store).
const boundStorages = new WeakSet<object>();

/**
 * Follows the `x:connection:call` TracingChannel: every call a package makes through
 * `connection.execute` while someone listens. Records its duration in
 * `db.client.operation.duration`, and makes a span for it (kind INTERNAL, child of the active
 * span), ended when the call settles.
 */
export class CallTracing {
  readonly #api: Api;
  readonly #histogram: Histogram | undefined;
  readonly #tracer: Tracer | undefined;
  readonly #channel = diagnostics_channel.tracingChannel<unknown, CallContext>(
    CONNECTION_CHANNELS.call,
  );
  readonly #storage: AsyncLocalStorage<Context> | undefined;
  // Per instrumentation, so that two of them never read each other's marks.
  readonly #started = Symbol('started');
  readonly #span = Symbol('span');
  readonly #done = Symbol('done');
  readonly #attributeSets = new Map<string, Attributes>();
  readonly #handlers: diagnostics_channel.TracingChannelSubscribers<CallContext>;
  #closed = false;

  constructor(api: Api, options: CallTracingOptions) {
    this.#api = api;
    this.#histogram = options.histogram;
    this.#tracer = options.tracer;
    const storage = this.#tracer === undefined ? undefined : options.storage;
    if (storage !== undefined && !boundStorages.has(storage)) {
      boundStorages.add(storage);
      this.#storage = storage;
      this.#channel.start.bindStore(storage, this.#enter);
    }
    this.#handlers = {
      start: this.#start,
      end: this.#end,
      asyncStart: noop,
      asyncEnd: this.#asyncEnd,
      error: noop,
    };
    this.#channel.subscribe(this.#handlers);
  }

  /** Whether our span is the active one while a traced call runs (see `activeContextStorage`). */
  get nested(): boolean {
    return this.#storage !== undefined;
  }

  /** Unsubscribes (and unbinds the context storage). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#channel.unsubscribe(this.#handlers);
    if (this.#storage !== undefined) {
      this.#channel.start.unbindStore(this.#storage);
      boundStorages.delete(this.#storage);
    }
    this.#attributeSets.clear();
  }

  // Runs before the call, in the caller's context: the span starts as a child of the active
  // span, and the context returned is the one the call runs in. Must never throw (a throwing
  // transform becomes an uncaught exception in Node).
  readonly #enter = (ctx: CallContext): Context => {
    const active = this.#api.context.active();
    try {
      const span = this.#startSpan(ctx, active);
      return span === undefined ? active : this.#api.trace.setSpan(active, span);
    } catch {
      return active;
    }
  };

  readonly #start = (message: unknown): void => {
    const ctx = message as CallContext & Record<symbol, unknown>;
    if (this.#histogram !== undefined) ctx[this.#started] = performance.now();
    if (this.#tracer !== undefined && ctx[this.#span] === undefined) {
      this.#startSpan(ctx, this.#api.context.active());
    }
  };

  // A call that threw synchronously ends here (no asyncEnd follows).
  readonly #end = (message: unknown): void => {
    if ((message as CallContext).error !== undefined) this.#finish(message as CallContext);
  };

  readonly #asyncEnd = (message: unknown): void => {
    this.#finish(message as CallContext);
  };

  #startSpan(ctx: CallContext, parent: Context): Span | undefined {
    const tracer = this.#tracer;
    if (tracer === undefined) return undefined;
    const connection = String(ctx.connection);
    const operation = String(ctx.operation);
    const pkg = packageOf(connection);
    const span = tracer.startSpan(
      `${pkg} ${operation}`,
      {
        kind: this.#api.SpanKind.INTERNAL,
        attributes: {
          [ATTRIBUTES.dbSystem]: 'redis',
          [ATTRIBUTES.package]: pkg,
          [ATTRIBUTES.connection]: connection,
          [ATTRIBUTES.dbOperation]: operation,
        },
      },
      parent,
    );
    (ctx as unknown as Record<symbol, unknown>)[this.#span] = span;
    return span;
  }

  #finish(ctx: CallContext): void {
    const marks = ctx as unknown as Record<symbol, unknown>;
    if (marks[this.#done] === true) return;
    marks[this.#done] = true;
    const failed = ctx.error !== undefined;
    const outcome: CallOutcome = failed ? 'error' : ctx.fallback === true ? 'fallback' : 'redis';
    const type = failed ? errorType(ctx.error) : undefined;
    const started = marks[this.#started];
    if (this.#histogram !== undefined && typeof started === 'number') {
      this.#histogram.record(
        (performance.now() - started) / 1000,
        this.#attributes(String(ctx.connection), String(ctx.operation), outcome, type),
      );
    }
    const span = marks[this.#span] as Span | undefined;
    if (span !== undefined) {
      span.setAttribute(ATTRIBUTES.outcome, outcome);
      if (type !== undefined) {
        span.setAttribute(ATTRIBUTES.errorType, type);
        // The class and code only: a message may carry a key.
        span.recordException({ name: type });
        span.setStatus({ code: this.#api.SpanStatusCode.ERROR, message: type });
      }
      span.end();
    }
  }

  /** The histogram's attributes for a call, reused (a few combinations per service). */
  #attributes(
    connection: string,
    operation: string,
    outcome: CallOutcome,
    type: string | undefined,
  ): Attributes {
    const key = `${connection}\u0000${operation}\u0000${outcome}\u0000${type ?? ''}`;
    let attributes = this.#attributeSets.get(key);
    if (attributes !== undefined) return attributes;
    // As few attributes as the dashboards need: the SDK hashes them on every record (about
    // 0.3 µs each), so the connection's name (on the spans, and on the redis metrics) is left out.
    attributes = {
      [ATTRIBUTES.dbSystem]: 'redis',
      [ATTRIBUTES.dbOperation]: operation,
      [ATTRIBUTES.package]: packageOf(connection),
      [ATTRIBUTES.outcome]: outcome,
    };
    if (type !== undefined) attributes[ATTRIBUTES.errorType] = type;
    if (this.#attributeSets.size < MAX_ATTRIBUTE_SETS) this.#attributeSets.set(key, attributes);
    return attributes;
  }
}

function noop(): void {}
