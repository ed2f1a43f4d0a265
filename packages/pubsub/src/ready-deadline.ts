import type { Connection, Problem } from '@x/connection';
import type { Subscription } from './subscription.js';

type AnySubscription = Subscription<any>;

/** Called when a subscription's `ready` missed its deadline (or a misconfiguration was found). */
export type ReadyMiss = (subscription: AnySubscription, cause: unknown, problem: Problem) => void;

interface Pending {
  readonly controller: AbortController;
  readonly started: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The deadline of each subscription's `ready`: Redis confirms it within `timeoutMs`, or the
 * subscription is told why not, with the connection's diagnosis.
 *
 * It waits on `connection.ready({ timeoutMs })`, which rejects at once on a misconfiguration and
 * with the diagnosis (refused, no answer...) at the deadline; once the connection is usable, the
 * rest of the deadline is left for the subscriber connection to confirm. A misconfiguration found
 * meanwhile (e.g. on the subscriber connection) ends every pending wait at once.
 */
export class ReadyDeadlines {
  readonly #connection: Connection;
  readonly #timeoutMs: number;
  readonly #onMiss: ReadyMiss;
  readonly #pending = new Map<AnySubscription, Pending>();

  constructor(connection: Connection, timeoutMs: number, onMiss: ReadyMiss) {
    this.#connection = connection;
    this.#timeoutMs = timeoutMs;
    this.#onMiss = onMiss;
    connection.on('problem', this.#onProblem);
  }

  /** Starts the deadline of `subscription`'s `ready`. */
  start(subscription: AnySubscription): void {
    if (this.#pending.has(subscription)) return;
    const pending: Pending = {
      controller: new AbortController(),
      started: performance.now(),
      timer: undefined,
    };
    this.#pending.set(subscription, pending);
    this.#connection.ready({ timeoutMs: this.#timeoutMs, signal: pending.controller.signal }).then(
      () => {
        if (this.#pending.get(subscription) !== pending) return;
        const left = this.#timeoutMs - (performance.now() - pending.started);
        pending.timer = setTimeout(() => this.#miss(subscription, undefined), Math.max(0, left));
        pending.timer.unref();
      },
      (error: unknown) => {
        if (this.#pending.get(subscription) === pending) this.#miss(subscription, error);
      },
    );
  }

  /** `subscription` was confirmed or closed: its deadline no longer runs. */
  done(subscription: AnySubscription): void {
    const pending = this.#pending.get(subscription);
    if (pending === undefined) return;
    this.#pending.delete(subscription);
    clearTimeout(pending.timer);
    pending.controller.abort();
  }

  /** Ends every deadline (nothing is reported) and stops listening to the connection. */
  stop(): void {
    this.#connection.off('problem', this.#onProblem);
    for (const subscription of [...this.#pending.keys()]) this.done(subscription);
  }

  readonly #onProblem = (problem: Problem | null): void => {
    if (problem === null || !problem.misconfiguration) return;
    for (const subscription of [...this.#pending.keys()]) this.#miss(subscription, undefined);
  };

  #miss(subscription: AnySubscription, cause: unknown): void {
    this.done(subscription);
    const problem =
      (cause as { problem?: Problem } | undefined)?.problem ??
      this.#connection.diagnosis() ??
      unconfirmed(this.#timeoutMs);
    this.#onMiss(subscription, cause ?? new Error(problem.message), problem);
  }
}

/** The problem when Redis is usable but the subscriber connection did not confirm in time. */
function unconfirmed(timeoutMs: number): Problem {
  return {
    kind: 'timeout',
    message: `the subscriber connection did not confirm within ${timeoutMs} ms`,
    hint: 'Redis (or the Cluster node the subscriber connection uses) may be frozen or overloaded: the subscription is retried in the background',
    since: Date.now(),
    misconfiguration: false,
  };
}
