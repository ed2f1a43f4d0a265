import type { Guard } from '@x/breaker';
import {
  type CredentialsRefreshFailure,
  type CredentialsTracker,
  type RedisClient,
  trackCredentials,
} from '@x/config';

/**
 * The credential trackers of a connection (`trackCredentials` of `@x/config`) for the clients
 * that authenticate through a credentials provider: the main client and every duplicate. The
 * trackers the connection starts send their `AUTH` through its guard (deadline and breaker) and
 * are closed with it; the tracker of a client it was given is only observed. A failed refresh goes
 * to `onFailure` (the diagnosis): the connection keeps serving on its current credentials.
 */
export class CredentialTrackers {
  readonly #guard: Guard;
  readonly #refreshMs: number | undefined;
  readonly #onFailure: (failure: CredentialsRefreshFailure) => void;
  readonly #trackers: { tracker: CredentialsTracker; own: boolean }[] = [];

  constructor(guard: Guard, refreshMs: number | undefined, onFailure: (error: unknown) => void) {
    this.#guard = guard;
    this.#refreshMs = refreshMs;
    this.#onFailure = (failure) => onFailure(failure.error);
  }

  /**
   * Follows `client` when it authenticates through a credentials provider (does nothing
   * otherwise). `own`: replace its tracker with one whose `AUTH` goes through the guard.
   */
  follow(client: RedisClient, own: boolean): void {
    let tracker: CredentialsTracker;
    try {
      tracker = trackCredentials(client);
    } catch {
      return; // no credentials provider: nothing to refresh
    }
    if (own) {
      tracker.close();
      tracker = trackCredentials(client, {
        refreshMs: this.#refreshMs,
        authenticate: (connection, credentials) =>
          this.#guard.execute(() =>
            credentials.username === undefined
              ? connection.call('AUTH', credentials.password)
              : connection.call('AUTH', credentials.username, credentials.password),
          ),
      });
    }
    tracker.on('refresh-failed', this.#onFailure);
    this.#trackers.push({ tracker, own });
  }

  /** Stops following: closes the trackers the connection started. */
  close(): void {
    for (const { tracker, own } of this.#trackers) {
      tracker.off('refresh-failed', this.#onFailure);
      if (own) tracker.close();
    }
    this.#trackers.length = 0;
  }
}
